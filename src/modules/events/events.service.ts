import type { Bus } from '../../bus/bus.js';
import type { EventData, EventType, StreamEvent } from '../../protocol/events.js';
import type { Clock } from '../../scheduler/clock.js';
import type { Db, Tx } from '../../storage/db.js';
import { appendEvents, headSeq, readEventsAfter, type PendingEvent } from './events.repo.js';

export type Emit = <T extends EventType>(accountId: string, type: T, data: EventData[T], refs?: { conversationId?: string; messageId?: string }) => void;

// PostgreSQL conflicts worth retrying: deadlock, serialization failure, and a unique violation
// raced by a concurrent identical request (e.g. the same client message id sent twice at once),
// which the retry then finds as already done.
const RETRYABLE = new Set(['40P01', '40001', '23505']);
const MAX_ATTEMPTS = 4;

/**
 * The transactional outbox: a state change and the stream events it causes commit together;
 * only after commit are the events published to the bus for live delivery. A crash between the
 * two loses nothing, because clients resume from the stored stream.
 */
export class EventLog {
  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly clock: Clock,
  ) {}

  async transact<T>(work: (trx: Tx, emit: Emit, now: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const now = this.clock.now();
        const { result, published } = await this.db.transaction().execute(async (trx) => {
          const pending: PendingEvent[] = [];
          const emit: Emit = (accountId, type, data, refs) => {
            pending.push({ accountId, type, data, conversationId: refs?.conversationId, messageId: refs?.messageId });
          };
          const result = await work(trx, emit, now);
          const published = pending.length ? await appendEvents(trx, pending, now) : new Map<string, StreamEvent[]>();
          return { result, published };
        });
        for (const [accountId, events] of published) this.bus.publish({ kind: 'events', accountId, events });
        return result;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (attempt >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
      }
    }
  }

  readAfter(accountId: string, after: number, limit: number): Promise<StreamEvent[]> {
    return readEventsAfter(this.db, accountId, after, limit);
  }

  head(accountId: string): Promise<number> {
    return headSeq(this.db, accountId);
  }
}
