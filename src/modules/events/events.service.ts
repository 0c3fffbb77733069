import type { Bus } from '../../bus/bus.js';
import type { EventData, EventType, StreamEvent } from '../../protocol/events.js';
import type { Clock } from '../../scheduler/clock.js';
import type { Db, Tx } from '../../storage/db.js';
import { appendEvents, headSeq, readEventsAfter, readMessageEvents, type PendingEvent } from './events.repo.js';

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
  private liveOnly: (accountId: string) => boolean = () => false;

  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly clock: Clock,
  ) {}

  /**
   * Accounts whose events are not stored, only signalled to their live listeners (`stream.nudge`):
   * service accounts, whose inbox is their request queue. Every request and reply would otherwise
   * append to the one stream of the service, whose counter row would serialize their commits.
   */
  keepNoStreamFor(predicate: (accountId: string) => boolean): void {
    this.liveOnly = predicate;
  }

  async transact<T>(work: (trx: Tx, emit: Emit, now: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const now = this.clock.now();
        const { result, published, nudged } = await this.db.transaction().execute(async (trx) => {
          const pending: PendingEvent[] = [];
          const emit: Emit = (accountId, type, data, refs) => {
            pending.push({ accountId, type, data, conversationId: refs?.conversationId, messageId: refs?.messageId });
          };
          const result = await work(trx, emit, now);
          const stored = pending.filter((p) => !this.liveOnly(p.accountId));
          const published = stored.length ? await appendEvents(trx, stored, now) : new Map<string, StreamEvent[]>();
          const nudged = [...new Set(pending.filter((p) => this.liveOnly(p.accountId)).map((p) => p.accountId))];
          return { result, published, nudged };
        });
        for (const [accountId, events] of published) this.bus.publish({ kind: 'events', accountId, events });
        if (nudged.length) this.bus.publish({ kind: 'ephemeral', accountIds: nudged, event: { type: 'stream.nudge', at: new Date(this.clock.now()).toISOString(), data: {} } });
        return result;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (attempt >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
      }
    }
  }

  /**
   * Publishes a message's stored events again. A node killed between commit and publish leaves live
   * listeners elsewhere unaware of them; the sender's retry (which finds the message stored) is the
   * moment to tell them. A listener skips events it has already sent, so a repeat costs nothing.
   */
  async republish(messageId: string, type: EventType): Promise<void> {
    for (const [accountId, events] of await readMessageEvents(this.db, messageId, type)) this.bus.publish({ kind: 'events', accountId, events });
  }

  readAfter(accountId: string, after: number, limit: number): Promise<StreamEvent[]> {
    return readEventsAfter(this.db, accountId, after, limit);
  }

  head(accountId: string): Promise<number> {
    return headSeq(this.db, accountId);
  }
}
