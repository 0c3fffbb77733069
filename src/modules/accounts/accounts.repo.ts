import type { Executor, Tx } from '../../storage/db.js';
import type { AccountsTable } from '../../storage/schema.js';
import { createStream } from '../events/index.js';

export type AccountRow = AccountsTable;

export function findAccountById(db: Executor, id: string): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findAccountByHandle(db: Executor, handle: string): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().where('handle', '=', handle.toLowerCase()).executeTakeFirst();
}

export function findAccountsByIds(db: Executor, ids: string[]): Promise<AccountRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.selectFrom('accounts').selectAll().where('id', 'in', ids).execute();
}

/** People and providers: service accounts (the built-in echo among them) do not make the first user an admin. */
export async function countAccounts(db: Executor): Promise<number> {
  const row = await db.selectFrom('accounts').where('kind', '!=', 'service').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export function findDeviceByTokenHash(db: Executor, tokenHash: string) {
  return db
    .selectFrom('devices')
    .innerJoin('accounts', 'accounts.id', 'devices.account_id')
    .select(['devices.id as device_id', 'devices.account_id', 'devices.revoked_at', 'devices.last_used_at', 'accounts.is_admin'])
    .where('devices.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

/** Stores a new account with the defaults every kind starts with, and its (empty) event stream. */
export async function insertAccount(
  trx: Tx,
  account: { id: string; handle: string; displayName: string; kind: AccountsTable['kind']; passwordHash: string; isAdmin: boolean; now: number },
): Promise<void> {
  await trx
    .insertInto('accounts')
    .values({
      id: account.id,
      handle: account.handle,
      display_name: account.displayName,
      kind: account.kind,
      password_hash: account.passwordHash,
      is_admin: account.isAdmin ? 1 : 0,
      phone: null,
      phone_verified_at: null,
      email: null,
      email_verified_at: null,
      read_receipts: 'public',
      last_seen_visible: account.kind === 'service' ? 0 : 1,
      last_seen_at: null,
      created_at: account.now,
      // A service never falls back to SMS on its own.
      fallback_min_priority: account.kind === 'service' ? 'never' : 'urgent',
      fallback_channel: 'sms',
      quiet_start: null,
      quiet_end: null,
      time_zone: 'UTC',
    })
    .execute();
  await createStream(trx, account.id);
}
