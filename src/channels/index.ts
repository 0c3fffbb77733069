import type { Config } from '../config.js';
import type { Clock } from '../scheduler/clock.js';
import type { Db } from '../storage/db.js';
import type { Channels } from './channel.js';
import { OutboxEmailChannel } from './email/outbox.js';
import { OutboxSmsChannel } from './sms/outbox.js';

export type { Channels, SmsChannel, EmailChannel, SmsMessage, EmailMessage } from './channel.js';

export function createChannels(config: Pick<Config, 'smsChannel' | 'emailChannel'>, db: Db, clock: Clock): Channels {
  // Only the outbox exists so far; config validation already rejects any other value.
  return { sms: new OutboxSmsChannel(db, clock), email: new OutboxEmailChannel(db, clock) };
}
