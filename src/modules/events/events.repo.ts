import type { EventData, EventType, StreamEvent } from '../../protocol/events.js';
import type { Executor, Tx } from '../../storage/db.js';
import { toIso } from '../../scheduler/clock.js';

export interface PendingEvent<T extends EventType = EventType> {
  accountId: string;
  type: T;
  data: EventData[T];
  conversationId?: string;
  messageId?: string;
}

/**
 * Appends events to their accounts' streams inside `trx`. Sequence numbers come from one counter
 * row per account, locked in account-id order so concurrent PostgreSQL transactions never deadlock
 * on them, and committed in sequence order per account (a reader never sees seq N+1 before N).
 */
export async function appendEvents(trx: Tx, pending: PendingEvent[], now: number): Promise<Map<string, StreamEvent[]>> {
  const byAccount = new Map<string, PendingEvent[]>();
  for (const item of pending) {
    const list = byAccount.get(item.accountId);
    if (list) list.push(item);
    else byAccount.set(item.accountId, [item]);
  }
  const out = new Map<string, StreamEvent[]>();
  const rows: { account_id: string; seq: number; type: string; data: string; conversation_id: string | null; message_id: string | null; created_at: number }[] = [];
  const at = toIso(now);
  for (const accountId of [...byAccount.keys()].sort()) {
    const items = byAccount.get(accountId)!;
    const { last_seq } = await trx
      .updateTable('streams')
      .set((eb) => ({ last_seq: eb('last_seq', '+', items.length) }))
      .where('account_id', '=', accountId)
      .returning('last_seq')
      .executeTakeFirstOrThrow();
    let seq = Number(last_seq) - items.length;
    const events: StreamEvent[] = [];
    for (const item of items) {
      seq += 1;
      events.push({ seq, type: item.type, at, data: item.data });
      rows.push({
        account_id: accountId,
        seq,
        type: item.type,
        data: JSON.stringify(item.data),
        conversation_id: item.conversationId ?? null,
        message_id: item.messageId ?? null,
        created_at: now,
      });
    }
    out.set(accountId, events);
  }
  // Chunked so a large group fan-out stays under SQLite's bound-parameter limit.
  for (let i = 0; i < rows.length; i += 500) {
    await trx.insertInto('events').values(rows.slice(i, i + 500)).execute();
  }
  return out;
}

export async function readEventsAfter(db: Executor, accountId: string, after: number, limit: number): Promise<StreamEvent[]> {
  const rows = await db
    .selectFrom('events')
    .select(['seq', 'type', 'data', 'created_at'])
    .where('account_id', '=', accountId)
    .where('seq', '>', after)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ seq: Number(r.seq), type: r.type as EventType, at: toIso(Number(r.created_at)), data: JSON.parse(r.data) }));
}

/** The stored events of one type about one message, by account (through the message index). */
export async function readMessageEvents(db: Executor, messageId: string, type: EventType): Promise<Map<string, StreamEvent[]>> {
  const rows = await db
    .selectFrom('events')
    .select(['account_id', 'seq', 'type', 'data', 'created_at'])
    .where('message_id', '=', messageId)
    .where('type', '=', type)
    .orderBy('seq')
    .execute();
  const out = new Map<string, StreamEvent[]>();
  for (const r of rows) {
    const event: StreamEvent = { seq: Number(r.seq), type: r.type as EventType, at: toIso(Number(r.created_at)), data: JSON.parse(r.data) };
    out.set(r.account_id, [...(out.get(r.account_id) ?? []), event]);
  }
  return out;
}

export async function headSeq(db: Executor, accountId: string): Promise<number> {
  const row = await db.selectFrom('streams').select('last_seq').where('account_id', '=', accountId).executeTakeFirst();
  return row ? Number(row.last_seq) : 0;
}

export async function createStream(trx: Executor, accountId: string): Promise<void> {
  await trx.insertInto('streams').values({ account_id: accountId, last_seq: 0 }).execute();
}

/**
 * For each conversation, the newest message from someone else that entered the stream of
 * `accountId` in (afterSeq, upToSeq]: what a device acknowledgement newly delivers.
 */
export async function newestDeliveredPerConversation(db: Executor, accountId: string, afterSeq: number, upToSeq: number) {
  const rows = await db
    .selectFrom('events')
    .innerJoin('messages', 'messages.id', 'events.message_id')
    .select(['messages.conversation_id', (eb) => eb.fn.max('messages.seq').as('seq')])
    .where('events.account_id', '=', accountId)
    .where('events.seq', '>', afterSeq)
    .where('events.seq', '<=', upToSeq)
    .where('events.type', '=', 'message.new')
    .where('messages.sender_id', '!=', accountId)
    .groupBy('messages.conversation_id')
    .execute();
  return rows.map((r) => ({ conversationId: r.conversation_id, seq: Number(r.seq) }));
}

/** The seq under which `messageId` entered the streams of the given accounts. */
export async function messageEventSeqs(db: Executor, messageId: string): Promise<Map<string, number>> {
  const rows = await db.selectFrom('events').select(['account_id', 'seq']).where('message_id', '=', messageId).where('type', '=', 'message.new').execute();
  return new Map(rows.map((r) => [r.account_id, Number(r.seq)]));
}
