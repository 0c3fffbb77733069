import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Actor } from '../../lib/actor.js';
import { parseDuration } from '../../protocol/duration.js';
import type { SendMessageBody } from '../../protocol/requests.js';
import type { Attachment, Message, MessagePage } from '../../protocol/views.js';
import type { Db, Executor, Tx } from '../../storage/db.js';
import type { MessagesTable } from '../../storage/schema.js';
import { memberIds, requireMember, toMessageView } from '../conversations/index.js';
import type { Emit, EventLog } from '../events/index.js';
import type { Scheduler } from '../../scheduler/scheduler.js';
import { deadlineTimer } from './deadlines.js';

const DEFAULT_PAGE = 50;

function findMessage(db: Executor, id: string): Promise<MessagesTable | undefined> {
  return db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
}

function parseCursor(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new AppError('INVALID_CURSOR');
  return Number(value);
}

/**
 * Runs inside the transaction that stored a new message, after its events: another module (service
 * accounts) commits what the message causes together with it.
 */
export type SentHook = (trx: Tx, emit: Emit, now: number, actor: Actor, message: MessagesTable, members: string[], kind: 'direct' | 'group') => Promise<void>;

export class MessagingService {
  private readonly sentHooks: SentHook[] = [];

  constructor(
    private readonly db: Db,
    private readonly events: EventLog,
    private readonly scheduler: Scheduler,
    private readonly config: Pick<Config, 'maxMessageChars' | 'maxReceiptWithinMs'>,
  ) {}

  onSent(hook: SentHook): void {
    this.sentHooks.push(hook);
  }

  /**
   * Persists a message ("sent") and appends it to every member's stream in the same transaction.
   * With a clientId the call is idempotent: resending it returns the stored message.
   */
  async send(actor: Actor, conversationId: string, input: SendMessageBody): Promise<{ message: Message; created: boolean }> {
    this.checkText(input.text);
    const result = await this.events.transact((trx, emit, now) => this.insert(trx, emit, now, actor, conversationId, input, null));
    if (!result.created) await this.events.republish(result.message.id, 'message.new');
    return result;
  }

  /**
   * A file message, inside the caller's transaction (the files module commits the transfer's state
   * with it). The text is an optional caption. Same checks, events and deadlines as `send`.
   */
  async sendAttachment(trx: Tx, emit: Emit, now: number, actor: Actor, conversationId: string, input: SendMessageBody, attachment: Attachment): Promise<{ message: Message; created: boolean }> {
    if (input.text.length > 0) this.checkText(input.text);
    return this.insert(trx, emit, now, actor, conversationId, input, attachment);
  }

  /** A message with rich content (a service's reply), and the file it shows if any, inside the caller's transaction. */
  async sendContent(trx: Tx, emit: Emit, now: number, actor: Actor, conversationId: string, text: string, content: unknown, attachment: Attachment | null = null): Promise<Message> {
    return (await this.insert(trx, emit, now, actor, conversationId, { text }, attachment, JSON.stringify(content))).message;
  }

  private async insert(trx: Tx, emit: Emit, now: number, actor: Actor, conversationId: string, input: SendMessageBody, attachment: Attachment | null, content: string | null = null): Promise<{ message: Message; created: boolean }> {
    const withinMs = this.deadline('receipt.within', input.receipt?.within);
    const deliveredWithinMs = this.deadline('receipt.deliveredWithin', input.receipt?.deliveredWithin);
    const clientId = input.clientId ?? null;

    const member = await requireMember(trx, conversationId, actor.accountId);
    if (clientId !== null) {
      const existing = await trx.selectFrom('messages').selectAll().where('sender_id', '=', actor.accountId).where('client_id', '=', clientId).executeTakeFirst();
      if (existing) {
        if (existing.conversation_id !== conversationId || existing.body !== input.text || existing.attachment_sha256 !== (attachment?.sha256 ?? null)) throw new AppError('CLIENT_ID_REUSED');
        return { message: toMessageView(existing), created: false };
      }
    }
    if (input.replyTo !== undefined) {
      const target = await findMessage(trx, input.replyTo);
      if (!target || target.conversation_id !== conversationId || Number(target.seq) <= Number(member.joined_seq)) {
        throw new AppError('MESSAGE_NOT_FOUND', 'replyTo must name a message of this conversation.');
      }
    }
    const { last_seq, kind } = await trx
      .updateTable('conversations')
      .set((eb) => ({ last_seq: eb('last_seq', '+', 1), last_message_at: now }))
      .where('id', '=', conversationId)
      .returning(['last_seq', 'kind'])
      .executeTakeFirstOrThrow();
    const row: MessagesTable = {
      id: newId(),
      conversation_id: conversationId,
      seq: Number(last_seq),
      sender_id: actor.accountId,
      client_id: clientId,
      body: input.text,
      reply_to: input.replyTo ?? null,
      receipt_read: input.receipt?.read || withinMs !== null ? 1 : 0,
      receipt_within_ms: withinMs,
      priority: input.priority ?? 'normal',
      created_at: now,
      edited_at: null,
      deleted_at: null,
      delivered_within_ms: deliveredWithinMs,
      fallback: input.fallback ?? 'auto',
      fallback_content: input.fallbackContent ?? 'content',
      attachment_id: attachment?.id ?? null,
      attachment_sha256: attachment?.sha256 ?? null,
      attachment_name: attachment?.name ?? null,
      attachment_mime: attachment?.mime ?? null,
      attachment_size: attachment?.size ?? null,
      attachment_source: attachment?.source ?? null,
      content,
    };
    await trx.insertInto('messages').values(row).execute();
    const message = toMessageView(row);
    const members = await memberIds(trx, conversationId);
    for (const id of members) emit(id, 'message.new', { message }, { conversationId, messageId: row.id });
    // One deadline per recipient, committed with the message so a crash cannot lose it.
    for (const recipient of members) {
      if (recipient === actor.accountId) continue;
      if (withinMs !== null) await this.scheduler.schedule(trx, deadlineTimer('read', row.id, recipient, now + withinMs));
      if (deliveredWithinMs !== null) await this.scheduler.schedule(trx, deadlineTimer('delivered', row.id, recipient, now + deliveredWithinMs));
    }
    for (const hook of this.sentHooks) await hook(trx, emit, now, actor, row, members, kind);
    return { message, created: true };
  }

  async edit(actor: Actor, messageId: string, text: string): Promise<Message> {
    this.checkText(text);
    return this.events.transact(async (trx, emit, now) => {
      const row = await this.ownMessage(trx, actor, messageId);
      await trx.updateTable('messages').set({ body: text, edited_at: now }).where('id', '=', messageId).execute();
      const message = toMessageView({ ...row, body: text, edited_at: now });
      for (const id of await memberIds(trx, row.conversation_id)) emit(id, 'message.edited', { message }, { conversationId: row.conversation_id, messageId });
      return message;
    });
  }

  /** Deletes for everyone: the message stays as a tombstone so ordering and replies still hold. */
  async delete(actor: Actor, messageId: string): Promise<void> {
    await this.events.transact(async (trx, emit, now) => {
      const row = await this.ownMessage(trx, actor, messageId);
      await trx.updateTable('messages').set({ body: '', deleted_at: now }).where('id', '=', messageId).execute();
      const data = { conversationId: row.conversation_id, messageId, seq: Number(row.seq) };
      for (const id of await memberIds(trx, row.conversation_id)) emit(id, 'message.deleted', data, { conversationId: row.conversation_id, messageId });
    });
  }

  async get(actor: Actor, messageId: string): Promise<Message> {
    const row = await findMessage(this.db, messageId);
    if (!row) throw new AppError('MESSAGE_NOT_FOUND');
    const member = await requireMember(this.db, row.conversation_id, actor.accountId);
    if (Number(row.seq) <= Number(member.joined_seq)) throw new AppError('MESSAGE_NOT_FOUND');
    return toMessageView(row);
  }

  /**
   * A page of history. `before` pages backwards (older), `after` forwards (newer); neither gives the
   * newest page. Cursors are conversation sequence numbers, stable under edits and deletes.
   */
  async history(actor: Actor, conversationId: string, query: { before?: string; after?: string; limit?: number }): Promise<MessagePage> {
    const member = await requireMember(this.db, conversationId, actor.accountId);
    const before = parseCursor(query.before);
    const after = parseCursor(query.after);
    if (before !== undefined && after !== undefined) throw new AppError('INVALID_CURSOR', 'Give before or after, not both.');
    const limit = query.limit ?? DEFAULT_PAGE;
    const floor = Number(member.joined_seq);

    let q = this.db.selectFrom('messages').selectAll().where('conversation_id', '=', conversationId).where('seq', '>', Math.max(floor, after ?? 0));
    if (before !== undefined) q = q.where('seq', '<', before);
    const forward = after !== undefined;
    const rows = await q.orderBy('seq', forward ? 'asc' : 'desc').limit(limit + 1).execute();
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    if (!forward) page.reverse();
    const messages = page.map(toMessageView);
    const first = messages[0]?.seq;
    const last = messages.at(-1)?.seq;
    const hasOlder = forward ? first !== undefined && first > floor + 1 : more;
    const hasNewer = forward ? more : before !== undefined;
    return {
      messages,
      prevCursor: hasOlder && first !== undefined ? String(first) : null,
      nextCursor: hasNewer && last !== undefined ? String(last) : null,
    };
  }

  private deadline(field: string, value: string | number | undefined): number | null {
    if (value === undefined) return null;
    const ms = parseDuration(value);
    if (ms > this.config.maxReceiptWithinMs) throw new AppError('DURATION_TOO_LONG', `${field} may be at most ${this.config.maxReceiptWithinMs} ms.`);
    return ms;
  }

  private checkText(text: string): void {
    if (text.length > this.config.maxMessageChars) throw new AppError('MESSAGE_TOO_LONG', `Messages may have at most ${this.config.maxMessageChars} characters.`);
    if (text.trim().length === 0) throw new AppError('VALIDATION_FAILED', 'The message text is empty.');
  }

  private async ownMessage(trx: Executor, actor: Actor, messageId: string): Promise<MessagesTable> {
    const row = await findMessage(trx, messageId);
    if (!row) throw new AppError('MESSAGE_NOT_FOUND');
    const member = await requireMember(trx, row.conversation_id, actor.accountId);
    if (Number(row.seq) <= Number(member.joined_seq)) throw new AppError('MESSAGE_NOT_FOUND');
    if (row.sender_id !== actor.accountId) throw new AppError('NOT_MESSAGE_SENDER');
    if (row.deleted_at !== null) throw new AppError('MESSAGE_DELETED');
    return row;
  }
}
