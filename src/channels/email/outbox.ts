import type { Clock } from '../../scheduler/clock.js';
import type { Db } from '../../storage/db.js';
import type { DeliveryReport, EmailChannel, EmailMessage, SendResult } from '../channel.js';
import { OutboxStore } from '../outbox-store.js';

/** The default e-mail channel: stores each e-mail in the outbox table instead of sending it. */
export class OutboxEmailChannel implements EmailChannel {
  readonly name = 'outbox';
  private readonly store: OutboxStore;

  constructor(db: Db, clock: Clock) {
    this.store = new OutboxStore(db, clock);
  }

  send(message: EmailMessage): Promise<SendResult> {
    return this.store.store({ channel: 'email', recipient: message.to, subject: message.subject, body: message.text, purpose: message.purpose });
  }

  onDeliveryReport(handler: (report: DeliveryReport) => void): void {
    this.store.onDeliveryReport(handler);
  }

  async close(): Promise<void> {}
}

OutboxEmailChannel satisfies new (db: Db, clock: Clock) => EmailChannel;
