import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Actor } from '../../lib/actor.js';
import type { CreateConversationBody } from '../../protocol/requests.js';
import type { Conversation, Member, PublicAccount } from '../../protocol/views.js';
import { toIso } from '../../scheduler/clock.js';
import type { Db, Executor, Tx } from '../../storage/db.js';
import type { ConversationsTable } from '../../storage/schema.js';
import type { AccountsService } from '../accounts/index.js';
import type { Emit, EventLog } from '../events/index.js';
import { toMessageView } from './message-view.js';
import { findConversation, findMember, memberIds, membersWithAccounts, type MemberRow } from './conversations.repo.js';

/** Throws NOT_A_MEMBER unless `accountId` belongs to the conversation; returns the membership. */
export async function requireMember(db: Executor, conversationId: string, accountId: string): Promise<MemberRow> {
  const member = await findMember(db, conversationId, accountId);
  if (member) return member;
  // Same answer whether the conversation exists or not: non-members learn nothing about it.
  throw new AppError('NOT_A_MEMBER');
}

export class ConversationsService {
  constructor(
    private readonly db: Db,
    private readonly events: EventLog,
    private readonly accounts: AccountsService,
    private readonly config: Pick<Config, 'maxGroupMembers'>,
  ) {}

  /** Returns the one direct conversation of the pair, creating it on first use. */
  async create(actor: Actor, input: CreateConversationBody): Promise<{ conversation: Conversation; created: boolean }> {
    if (input.kind === 'direct') return this.openDirect(actor, input.with);
    return { conversation: await this.createGroup(actor, input.title, input.members ?? []), created: true };
  }

  private async openDirect(actor: Actor, withRef: string): Promise<{ conversation: Conversation; created: boolean }> {
    const other = await this.accounts.find(withRef);
    if (other.id === actor.accountId) throw new AppError('CANNOT_CHAT_WITH_SELF');
    const directKey = [actor.accountId, other.id].sort().join(':');
    const existing = await this.db.selectFrom('conversations').select('id').where('direct_key', '=', directKey).executeTakeFirst();
    if (existing) return { conversation: await this.get(actor, existing.id), created: false };
    const id = newId();
    try {
      await this.events.transact(async (trx, emit, now) => {
        await this.insertConversation(trx, { id, kind: 'direct', title: null, direct_key: directKey, created_by: actor.accountId, created_at: now, last_seq: 0, last_message_at: null });
        await this.insertMembers(trx, id, [actor.accountId, other.id], 'member', now, 0);
        await this.emitCreated(trx, emit, id);
      });
    } catch (err) {
      // Both sides opened the chat at the same moment: the unique direct_key let one win.
      const raced = await this.db.selectFrom('conversations').select('id').where('direct_key', '=', directKey).executeTakeFirst();
      if (raced) return { conversation: await this.get(actor, raced.id), created: false };
      throw err;
    }
    return { conversation: await this.get(actor, id), created: true };
  }

  private async createGroup(actor: Actor, title: string, refs: string[]): Promise<Conversation> {
    const others = await Promise.all(refs.map((ref) => this.accounts.find(ref)));
    const ids = [...new Set(others.map((a) => a.id))].filter((id) => id !== actor.accountId);
    if (ids.length + 1 > this.config.maxGroupMembers) throw new AppError('GROUP_TOO_LARGE');
    const id = newId();
    await this.events.transact(async (trx, emit, now) => {
      await this.insertConversation(trx, { id, kind: 'group', title, direct_key: null, created_by: actor.accountId, created_at: now, last_seq: 0, last_message_at: null });
      await this.insertMembers(trx, id, [actor.accountId], 'owner', now, 0);
      await this.insertMembers(trx, id, ids, 'member', now, 0);
      await this.emitCreated(trx, emit, id);
    });
    return this.get(actor, id);
  }

  async list(actor: Actor): Promise<Conversation[]> {
    const mine = await this.db.selectFrom('members').select('conversation_id').where('account_id', '=', actor.accountId).execute();
    const views = await this.views(this.db, actor.accountId, mine.map((m) => m.conversation_id));
    // Newest activity first; ids (time-sortable) break ties within the same millisecond.
    const activity = (c: Conversation) => c.lastMessage?.createdAt ?? c.createdAt;
    return views.sort((a, b) => activity(b).localeCompare(activity(a)) || (b.lastMessage?.id ?? b.id).localeCompare(a.lastMessage?.id ?? a.id));
  }

  async get(actor: Actor, conversationId: string): Promise<Conversation> {
    await requireMember(this.db, conversationId, actor.accountId);
    const [view] = await this.views(this.db, actor.accountId, [conversationId]);
    return view!;
  }

  async members(actor: Actor, conversationId: string): Promise<Member[]> {
    await requireMember(this.db, conversationId, actor.accountId);
    const rows = await membersWithAccounts(this.db, [conversationId]);
    return rows.map((r) => ({
      accountId: r.account_id,
      handle: r.handle,
      displayName: r.display_name,
      role: r.role,
      joinedAt: toIso(Number(r.joined_at)),
      deliveredSeq: Number(r.delivered_seq),
      readSeq: r.read_receipts === 'private' && r.account_id !== actor.accountId ? 0 : Number(r.read_seq),
    }));
  }

  async rename(actor: Actor, conversationId: string, title: string): Promise<Conversation> {
    await this.events.transact(async (trx, emit) => {
      await this.requireGroupOwner(trx, conversationId, actor.accountId);
      await trx.updateTable('conversations').set({ title }).where('id', '=', conversationId).execute();
      for (const id of await memberIds(trx, conversationId)) emit(id, 'conversation.updated', { conversationId, title, by: actor.accountId }, { conversationId });
    });
    return this.get(actor, conversationId);
  }

  async addMember(actor: Actor, conversationId: string, ref: string, role: 'owner' | 'member' = 'member'): Promise<Member[]> {
    const account = await this.accounts.find(ref);
    await this.events.transact(async (trx, emit, now) => {
      const conversation = await this.requireGroupOwner(trx, conversationId, actor.accountId);
      const ids = await memberIds(trx, conversationId);
      if (ids.includes(account.id)) throw new AppError('ALREADY_MEMBER');
      if (ids.length + 1 > this.config.maxGroupMembers) throw new AppError('GROUP_TOO_LARGE');
      // A new member sees the conversation from the moment they join, not its earlier history.
      await this.insertMembers(trx, conversationId, [account.id], role, now, Number(conversation.last_seq));
      for (const id of ids) emit(id, 'member.added', { conversationId, account, role, by: actor.accountId }, { conversationId });
      const [view] = await this.views(trx, account.id, [conversationId]);
      emit(account.id, 'conversation.created', { conversation: view! }, { conversationId });
    });
    return this.members(actor, conversationId);
  }

  async setRole(actor: Actor, conversationId: string, accountId: string, role: 'owner' | 'member'): Promise<Member[]> {
    await this.events.transact(async (trx, emit) => {
      await this.requireGroupOwner(trx, conversationId, actor.accountId);
      const target = await findMember(trx, conversationId, accountId);
      if (!target) throw new AppError('MEMBER_NOT_FOUND');
      if (target.role === role) return;
      if (role === 'member' && (await this.ownerCount(trx, conversationId)) === 1) throw new AppError('OWNER_MUST_REMAIN');
      await trx.updateTable('members').set({ role }).where('conversation_id', '=', conversationId).where('account_id', '=', accountId).execute();
      for (const id of await memberIds(trx, conversationId)) emit(id, 'member.role', { conversationId, accountId, role, by: actor.accountId }, { conversationId });
    });
    return this.members(actor, conversationId);
  }

  /** Owners remove others; anyone may remove themselves (same as leave). */
  async removeMember(actor: Actor, conversationId: string, accountId: string): Promise<void> {
    if (accountId === actor.accountId) return this.leave(actor, conversationId);
    await this.events.transact(async (trx, emit) => {
      await this.requireGroupOwner(trx, conversationId, actor.accountId);
      if (!(await findMember(trx, conversationId, accountId))) throw new AppError('MEMBER_NOT_FOUND');
      await this.deleteMember(trx, emit, conversationId, accountId, actor.accountId, 'removed');
    });
  }

  /** Leaving as the last owner hands ownership to the longest-standing member. */
  async leave(actor: Actor, conversationId: string): Promise<void> {
    await this.events.transact(async (trx, emit) => {
      const conversation = await findConversation(trx, conversationId);
      const me = await requireMember(trx, conversationId, actor.accountId);
      if (conversation!.kind !== 'group') throw new AppError('NOT_A_GROUP');
      await this.deleteMember(trx, emit, conversationId, actor.accountId, actor.accountId, 'left');
      if (me.role === 'owner' && (await this.ownerCount(trx, conversationId)) === 0) {
        const heir = await trx.selectFrom('members').select('account_id').where('conversation_id', '=', conversationId).orderBy('joined_at').orderBy('account_id').limit(1).executeTakeFirst();
        if (heir) {
          await trx.updateTable('members').set({ role: 'owner' }).where('conversation_id', '=', conversationId).where('account_id', '=', heir.account_id).execute();
          for (const id of await memberIds(trx, conversationId)) emit(id, 'member.role', { conversationId, accountId: heir.account_id, role: 'owner', by: actor.accountId }, { conversationId });
        }
      }
    });
  }

  private async deleteMember(trx: Tx, emit: Emit, conversationId: string, accountId: string, by: string, reason: 'removed' | 'left'): Promise<void> {
    const before = await memberIds(trx, conversationId);
    await trx.deleteFrom('members').where('conversation_id', '=', conversationId).where('account_id', '=', accountId).execute();
    for (const id of before) emit(id, 'member.removed', { conversationId, accountId, by, reason }, { conversationId });
  }

  private async ownerCount(trx: Tx, conversationId: string): Promise<number> {
    const row = await trx
      .selectFrom('members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('conversation_id', '=', conversationId)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private async requireGroupOwner(trx: Tx, conversationId: string, accountId: string) {
    const member = await requireMember(trx, conversationId, accountId);
    const conversation = (await findConversation(trx, conversationId))!;
    if (conversation.kind !== 'group') throw new AppError('NOT_A_GROUP');
    if (member.role !== 'owner') throw new AppError('NOT_GROUP_OWNER');
    return conversation;
  }

  private async insertConversation(trx: Tx, row: ConversationsTable): Promise<void> {
    await trx.insertInto('conversations').values(row).execute();
  }

  private async insertMembers(trx: Tx, conversationId: string, accountIds: string[], role: 'owner' | 'member', now: number, joinedSeq: number): Promise<void> {
    if (accountIds.length === 0) return;
    const rows = accountIds.map((account_id) => ({
      conversation_id: conversationId,
      account_id,
      role,
      joined_at: now,
      joined_seq: joinedSeq,
      delivered_seq: joinedSeq,
      delivered_at: null,
      read_seq: joinedSeq,
      read_at: null,
    }));
    for (let i = 0; i < rows.length; i += 500) await trx.insertInto('members').values(rows.slice(i, i + 500)).execute();
  }

  private async emitCreated(trx: Tx, emit: Emit, conversationId: string): Promise<void> {
    for (const id of await memberIds(trx, conversationId)) {
      const [view] = await this.views(trx, id, [conversationId]);
      emit(id, 'conversation.created', { conversation: view! }, { conversationId });
    }
  }

  /** Builds conversation views for `accountId` with a fixed number of queries, however many. */
  private async views(db: Executor, accountId: string, conversationIds: string[]): Promise<Conversation[]> {
    if (conversationIds.length === 0) return [];
    const [conversations, members, lastMessages, unread] = await Promise.all([
      db.selectFrom('conversations').selectAll().where('id', 'in', conversationIds).execute(),
      membersWithAccounts(db, conversationIds),
      db
        .selectFrom('messages')
        .innerJoin('conversations', (join) => join.onRef('conversations.id', '=', 'messages.conversation_id').onRef('conversations.last_seq', '=', 'messages.seq'))
        .selectAll('messages')
        .where('messages.conversation_id', 'in', conversationIds)
        .execute(),
      db
        .selectFrom('messages')
        .innerJoin('members', (join) => join.onRef('members.conversation_id', '=', 'messages.conversation_id').on('members.account_id', '=', accountId))
        .select(['messages.conversation_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('messages.conversation_id', 'in', conversationIds)
        .whereRef('messages.seq', '>', 'members.read_seq')
        .where('messages.sender_id', '!=', accountId)
        .where('messages.deleted_at', 'is', null)
        .groupBy('messages.conversation_id')
        .execute(),
    ]);
    const lastById = new Map(lastMessages.map((m) => [m.conversation_id, m]));
    const unreadById = new Map(unread.map((u) => [u.conversation_id, Number(u.n)]));
    return conversations.map((c) => {
      const convMembers = members.filter((m) => m.conversation_id === c.id);
      const me = convMembers.find((m) => m.account_id === accountId);
      const last = lastById.get(c.id);
      const visibleLast = last && me && Number(last.seq) > Number(me.joined_seq) ? last : undefined;
      return {
        id: c.id,
        kind: c.kind,
        title: c.title,
        createdAt: toIso(Number(c.created_at)),
        role: me?.role ?? 'member',
        members: convMembers.map((m): PublicAccount => ({ id: m.account_id, handle: m.handle, displayName: m.display_name, kind: m.kind })),
        lastMessage: visibleLast ? toMessageView(visibleLast) : null,
        unreadCount: unreadById.get(c.id) ?? 0,
        readSeq: me ? Number(me.read_seq) : 0,
      };
    });
  }
}
