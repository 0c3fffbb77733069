import type { Clock } from '../../scheduler/clock.js';
import type { Db } from '../../storage/db.js';
import { newId } from '../../ids.js';
import type { SmsChannel, SmsMessage, SendResult } from '../channel.js';

/** The default SMS channel: stores each SMS in the outbox table instead of sending it. */
export class OutboxSmsChannel implements SmsChannel {
  readonly name = 'outbox';

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async send(message: SmsMessage): Promise<SendResult> {
    const id = newId();
    await this.db
      .insertInto('outbox')
      .values({ id, channel: 'sms', recipient: message.to, subject: null, body: message.text, purpose: message.purpose, created_at: this.clock.now() })
      .execute();
    return { id };
  }

  async close(): Promise<void> {}
}

OutboxSmsChannel satisfies new (db: Db, clock: Clock) => SmsChannel;
