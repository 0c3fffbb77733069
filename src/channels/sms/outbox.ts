import type { Clock } from '../../scheduler/clock.js';
import type { Db } from '../../storage/db.js';
import { newId } from '../../ids.js';
import type { DeliveryReport, InboundSms, SmsChannel, SmsMessage, SendResult } from '../channel.js';

/** The default SMS channel: stores each SMS in the outbox table instead of sending it. */
export class OutboxSmsChannel implements SmsChannel {
  readonly name = 'outbox';
  private readonly reportHandlers: ((report: DeliveryReport) => void)[] = [];

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

  /** Nothing arrives through the outbox; inbound SMS need a real SMSC or gateway. */
  onInbound(_handler: (sms: InboundSms) => void): void {}

  async close(): Promise<void> {}
}

OutboxSmsChannel satisfies new (db: Db, clock: Clock) => SmsChannel;
