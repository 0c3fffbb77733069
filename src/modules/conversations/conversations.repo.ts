import type { Executor } from '../../storage/db.js';
import type { MembersTable } from '../../storage/schema.js';

export type MemberRow = MembersTable;

export function findConversation(db: Executor, id: string) {
  return db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findMember(db: Executor, conversationId: string, accountId: string): Promise<MemberRow | undefined> {
  return db.selectFrom('members').selectAll().where('conversation_id', '=', conversationId).where('account_id', '=', accountId).executeTakeFirst();
}

export async function memberIds(db: Executor, conversationId: string): Promise<string[]> {
  const rows = await db.selectFrom('members').select('account_id').where('conversation_id', '=', conversationId).execute();
  return rows.map((r) => r.account_id);
}

export function membersWithAccounts(db: Executor, conversationIds: string[]) {
  if (conversationIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('members')
    .innerJoin('accounts', 'accounts.id', 'members.account_id')
    .select([
      'members.conversation_id',
      'members.account_id',
      'members.role',
      'members.joined_at',
      'members.joined_seq',
      'members.delivered_seq',
      'members.read_seq',
      'accounts.handle',
      'accounts.display_name',
      'accounts.kind',
      'accounts.read_receipts',
    ])
    .where('members.conversation_id', 'in', conversationIds)
    .orderBy('members.joined_at')
    .execute();
}

/** Everyone who shares at least one conversation with `accountId` (presence goes to them). */
export async function contactIds(db: Executor, accountId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('members as mine')
    .innerJoin('members as other', 'other.conversation_id', 'mine.conversation_id')
    .select('other.account_id')
    .distinct()
    .where('mine.account_id', '=', accountId)
    .where('other.account_id', '!=', accountId)
    .execute();
  return rows.map((r) => r.account_id);
}
