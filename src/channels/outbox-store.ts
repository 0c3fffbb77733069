import type { Clock } from '../scheduler/clock.js';
import type { Db } from '../storage/db.js';
import { newId } from '../ids.js';
import type { DeliveryReport } from './channel.js';

/**
 * What the SMS and e-mail outbox channels share: each message becomes an outbox row, and since
 * stored is as far as it goes, it is reported delivered — after the caller has the id — so the
 * default install shows the whole status flow.
 */
export class OutboxStore {
  private readonly reportHandlers: ((report: DeliveryReport) => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async store(row: { channel: 'sms' | 'email'; recipient: string; subject: string | null; body: string; purpose: string }): Promise<{ id: string }> {
    const id = newId();
    await this.db.insertInto('outbox').values({ id, ...row, created_at: this.clock.now() }).execute();
    this.clock.after(0, () => {
      for (const handler of this.reportHandlers) handler({ id, status: 'delivered', detail: 'stored in outbox', at: this.clock.now() });
    });
    return { id };
  }

  onDeliveryReport(handler: (report: DeliveryReport) => void): void {
    this.reportHandlers.push(handler);
  }
}
