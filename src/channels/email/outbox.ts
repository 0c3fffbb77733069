import type { Clock } from '../../scheduler/clock.js';
import type { Db } from '../../storage/db.js';
import { newId } from '../../ids.js';
import type { DeliveryReport, EmailChannel, EmailMessage, SendResult } from '../channel.js';

/** The default e-mail channel: stores each e-mail in the outbox table instead of sending it. */
export class OutboxEmailChannel implements EmailChannel {
  readonly name = 'outbox';
  private readonly reportHandlers: ((report: DeliveryReport) => void)[] = [];

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
    // Stored in the outbox is as far as this channel goes: report it delivered, after the caller
    // has the id, so the default install shows the whole status flow.
    this.clock.after(0, () => {
      for (const handler of this.reportHandlers) handler({ id, status: 'delivered', detail: 'stored in outbox', at: this.clock.now() });
    });
    return { id };
  }

  onDeliveryReport(handler: (report: DeliveryReport) => void): void {
    this.reportHandlers.push(handler);
  }

  async close(): Promise<void> {}
}

OutboxEmailChannel satisfies new (db: Db, clock: Clock) => EmailChannel;
