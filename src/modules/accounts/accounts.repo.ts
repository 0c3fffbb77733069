import type { Executor } from '../../storage/db.js';
import type { AccountsTable } from '../../storage/schema.js';

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
