import type { Clock } from '../../scheduler/clock.js';
import type { Db } from '../../storage/db.js';
import { newId } from '../../ids.js';
import type { EmailChannel, EmailMessage, SendResult } from '../channel.js';

/** The default e-mail channel: stores each e-mail in the outbox table instead of sending it. */
export class OutboxEmailChannel implements EmailChannel {
  readonly name = 'outbox';

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async send(message: EmailMessage): Promise<SendResult> {
    const id = newId();
    await this.db
      .insertInto('outbox')
      .values({ id, channel: 'email', recipient: message.to, subject: message.subject, body: message.text, purpose: message.purpose, created_at: this.clock.now() })
      .execute();
    return { id };
  }

  async close(): Promise<void> {}
}

OutboxEmailChannel satisfies new (db: Db, clock: Clock) => EmailChannel;
