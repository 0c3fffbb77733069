import type { Bus } from '../../bus/bus.js';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../../lib/actor.js';
import type { MessageReceipts, Presence, ReceiptState } from '../../protocol/views.js';
import { toIso, type Clock } from '../../scheduler/clock.js';
import type { Db, Tx } from '../../storage/db.js';
import { contactIds, findMember, memberIds, requireMember, type MemberRow } from '../conversations/index.js';
import { newestDeliveredPerConversation, messageEventSeqs, type Emit, type EventLog, type StreamHub } from '../events/index.js';

/**
 * Delivery and read receipts as watermarks (Matrix m.read, XEP-0333): a device acknowledging
 * stream seq N has received every message up to N; "read up to X" covers every earlier message.
 * Presence and typing are ephemeral: pushed to open sockets, never stored; who is online comes
 * from the presence registry (all nodes' sockets).
 */
export class ReceiptsService {
  constructor(
    private readonly db: Db,
    private readonly events: EventLog,
    private readonly hub: StreamHub,
    private readonly bus: Bus,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'typingTtlMs'>,
  ) {
    hub.onConnectionChange((accountId, online) => {
      void this.announcePresence(accountId, online).catch(() => {});
    });
  }

  /** The device has every event up to `seq`: its messages become `delivered` for this recipient. */
  async ack(actor: Actor, seq: number): Promise<{ ackedSeq: number }> {
    return this.events.transact(async (trx, emit, now) => {
      const device = await trx.selectFrom('devices').select(['acked_seq']).where('id', '=', actor.deviceId).executeTakeFirstOrThrow();
      const previous = Number(device.acked_seq);
      if (seq <= previous) return { ackedSeq: previous };
      const head = await trx.selectFrom('streams').select('last_seq').where('account_id', '=', actor.accountId).executeTakeFirstOrThrow();
      if (seq > Number(head.last_seq)) throw new AppError('SEQ_OUT_OF_RANGE', `The stream ends at ${head.last_seq}.`);
      await trx.updateTable('devices').set({ acked_seq: seq }).where('id', '=', actor.deviceId).execute();

      for (const { conversationId, seq: messageSeq } of await newestDeliveredPerConversation(trx, actor.accountId, previous, seq)) {
        const member = await findMember(trx, conversationId, actor.accountId);
        if (member) await this.advance(trx, emit, now, member, false, messageSeq);
      }
      return { ackedSeq: seq };
    });
  }

  /** Marks every message of the conversation up to `upTo` read (and so delivered). */
  async markRead(actor: Actor, conversationId: string, upTo: string): Promise<{ readSeq: number }> {
    return this.events.transact(async (trx, emit, now) => {
      const member = await requireMember(trx, conversationId, actor.accountId);
      const target = await trx.selectFrom('messages').select(['id', 'seq', 'conversation_id']).where('id', '=', upTo).executeTakeFirst();
      if (!target || target.conversation_id !== conversationId || Number(target.seq) <= Number(member.joined_seq)) throw new AppError('MESSAGE_NOT_FOUND');
      const seq = Number(target.seq);
      if (seq <= Number(member.read_seq)) return { readSeq: Number(member.read_seq) };
      await this.advance(trx, emit, now, member, true, seq, target.id);
      emit(actor.accountId, 'conversation.read', { conversationId, upToSeq: seq }, { conversationId });
      return { readSeq: seq };
    });
  }

  /** Per-recipient state of one of your messages, with per-device delivery. */
  async receipts(actor: Actor, messageId: string): Promise<MessageReceipts> {
    const message = await this.db.selectFrom('messages').select(['id', 'seq', 'sender_id', 'conversation_id']).where('id', '=', messageId).executeTakeFirst();
    if (!message) throw new AppError('MESSAGE_NOT_FOUND');
    await requireMember(this.db, message.conversation_id, actor.accountId);
    if (message.sender_id !== actor.accountId) throw new AppError('NOT_MESSAGE_SENDER', 'Only the sender sees the receipts of a message.');
    const seq = Number(message.seq);
    const [members, eventSeqs] = await Promise.all([
      this.db
        .selectFrom('members')
        .innerJoin('accounts', 'accounts.id', 'members.account_id')
        .select(['members.account_id', 'members.delivered_seq', 'members.read_seq', 'accounts.read_receipts'])
        .where('members.conversation_id', '=', message.conversation_id)
        .where('members.account_id', '!=', actor.accountId)
        // Members who joined after the message never received it: they are not its recipients.
        .where('members.joined_seq', '<', seq)
        .execute(),
      messageEventSeqs(this.db, messageId),
    ]);
    const ids = members.map((m) => m.account_id);
    const devices = ids.length
      ? await this.db.selectFrom('devices').select(['id', 'account_id', 'acked_seq']).where('account_id', 'in', ids).where('revoked_at', 'is', null).execute()
      : [];
    const counts = { sent: 0, delivered: 0, read: 0 };
    const recipients = members.map((m) => {
      const readVisible = m.read_receipts === 'public';
      const state: ReceiptState = readVisible && Number(m.read_seq) >= seq ? 'read' : Number(m.delivered_seq) >= seq ? 'delivered' : 'sent';
      counts[state]++;
      const eventSeq = eventSeqs.get(m.account_id);
      return {
        accountId: m.account_id,
        state,
        devices: devices
          .filter((d) => d.account_id === m.account_id)
          .map((d) => ({ deviceId: d.id, delivered: eventSeq !== undefined && Number(d.acked_seq) >= eventSeq })),
      };
    });
    return { messageId, recipients, counts };
  }

  /** Presence of accounts you share a conversation with (others are silently left out). */
  async presence(actor: Actor, requested: string[]): Promise<Presence[]> {
    const allowed = new Set([actor.accountId, ...(await contactIds(this.db, actor.accountId))]);
    const accountIds = requested.filter((id) => allowed.has(id));
    const rows = accountIds.length
      ? await this.db.selectFrom('accounts').select(['id', 'last_seen_at', 'last_seen_visible']).where('id', 'in', accountIds).execute()
      : [];
    const online = await this.hub.online(rows.map((r) => r.id));
    return rows.map((r) => this.presenceOf(r.id, online.has(r.id), r.last_seen_visible === 1 || r.id === actor.accountId, r.last_seen_at));
  }

  async typing(actor: Actor, conversationId: string, typing: boolean): Promise<void> {
    await requireMember(this.db, conversationId, actor.accountId);
    const others = (await memberIds(this.db, conversationId)).filter((id) => id !== actor.accountId);
    this.bus.publish({
      kind: 'ephemeral',
      accountIds: others,
      event: { type: 'typing', at: toIso(this.clock.now()), data: { conversationId, accountId: actor.accountId, typing, ttlMs: this.config.typingTtlMs } },
    });
  }

  /**
   * Moves a member's watermarks forward to `seq` (a read implies delivered) and tells the senders
   * of the newly covered messages. Read receipts of a member who keeps them private are recorded
   * but not announced.
   */
  private async advance(trx: Tx, emit: Emit, now: number, member: MemberRow, read: boolean, seq: number, messageId?: string): Promise<void> {
    const { conversation_id: conversationId, account_id: accountId } = member;
    const fromDelivered = Number(member.delivered_seq);
    const fromRead = Number(member.read_seq);
    const moveDelivered = seq > fromDelivered;
    const moveRead = read && seq > fromRead;
    if (!moveDelivered && !moveRead) return;
    await trx
      .updateTable('members')
      .set({ ...(moveDelivered ? { delivered_seq: seq, delivered_at: now } : {}), ...(moveRead ? { read_seq: seq, read_at: now } : {}) })
      .where('conversation_id', '=', conversationId)
      .where('account_id', '=', accountId)
      .execute();
    const announceRead = moveRead && (await trx.selectFrom('accounts').select('read_receipts').where('id', '=', accountId).executeTakeFirstOrThrow()).read_receipts === 'public';
    if (!moveDelivered && !announceRead) return;
    // Read watermarks never pass delivered ones, so the read range contains the delivered range.
    const senders = await trx
      .selectFrom('messages')
      .select(['sender_id', (eb) => eb.fn.max('seq').as('top')])
      .where('conversation_id', '=', conversationId)
      .where('seq', '>', announceRead ? fromRead : fromDelivered)
      .where('seq', '<=', seq)
      .where('sender_id', '!=', accountId)
      .groupBy('sender_id')
      .execute();
    if (senders.length === 0) return;
    const upToMessageId =
      messageId ?? (await trx.selectFrom('messages').select('id').where('conversation_id', '=', conversationId).where('seq', '=', seq).executeTakeFirstOrThrow()).id;
    const receipt = (state: 'delivered' | 'read') => ({ conversationId, accountId, state, upToSeq: seq, upToMessageId });
    for (const { sender_id, top } of senders) {
      if (moveDelivered && Number(top) > fromDelivered) emit(sender_id, 'receipt', receipt('delivered'), { conversationId });
      if (announceRead) emit(sender_id, 'receipt', receipt('read'), { conversationId });
    }
  }

  private presenceOf(accountId: string, online: boolean, lastSeenVisible: boolean, lastSeenAt: number | null): Presence {
    return {
      accountId,
      status: online ? 'online' : 'offline',
      lastSeenAt: online || !lastSeenVisible || lastSeenAt === null ? null : toIso(Number(lastSeenAt)),
    };
  }

  private async announcePresence(accountId: string, online: boolean): Promise<void> {
    const now = this.clock.now();
    if (!online) await this.db.updateTable('accounts').set({ last_seen_at: now }).where('id', '=', accountId).execute();
    const account = await this.db.selectFrom('accounts').select(['last_seen_visible']).where('id', '=', accountId).executeTakeFirst();
    if (!account) return;
    const contacts = await contactIds(this.db, accountId);
    if (contacts.length === 0) return;
    const data: Presence = {
      accountId,
      status: online ? 'online' : 'offline',
      lastSeenAt: online || account.last_seen_visible !== 1 ? null : toIso(now),
    };
    this.bus.publish({ kind: 'ephemeral', accountIds: contacts, event: { type: 'presence', at: toIso(now), data } });
  }
}
