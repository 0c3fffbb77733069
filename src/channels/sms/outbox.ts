import type { Clock } from '../../scheduler/clock.js';
import type { Db } from '../../storage/db.js';
import type { DeliveryReport, InboundSms, SendResult, SmsChannel, SmsMessage } from '../channel.js';
import { OutboxStore } from '../outbox-store.js';

/** The default SMS channel: stores each SMS in the outbox table instead of sending it. */
export class OutboxSmsChannel implements SmsChannel {
  readonly name = 'outbox';
  private readonly store: OutboxStore;

  constructor(db: Db, clock: Clock) {
    this.store = new OutboxStore(db, clock);
  }

  send(message: SmsMessage): Promise<SendResult> {
    return this.store.store({ channel: 'sms', recipient: message.to, subject: null, body: message.text, purpose: message.purpose });
  }

  onDeliveryReport(handler: (report: DeliveryReport) => void): void {
    this.store.onDeliveryReport(handler);
  }

  /** Nothing arrives through the outbox; inbound SMS need a real SMSC or gateway. */
  onInbound(_handler: (sms: InboundSms) => void): void {}

  async close(): Promise<void> {}
}

OutboxSmsChannel satisfies new (db: Db, clock: Clock) => SmsChannel;
