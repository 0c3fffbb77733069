import type { Tx } from './db.js';

/**
 * Holds the accounts' rows until the transaction ends, so checks that count and then insert (a
 * rate limit, a cap) run one at a time for those accounts, on every node. Counting alone would let
 * concurrent requests all see the same count under READ COMMITTED; PostgreSQL locks the rows, and
 * SQLite's write lock, taken by the same statement, serializes as well. Rows are taken in id order,
 * so two transactions locking the same pair cannot deadlock.
 */
export async function lockAccounts(trx: Tx, accountIds: string[]): Promise<void> {
  for (const id of [...new Set(accountIds)].sort()) {
    // A no-op write of a column no key or foreign key uses: the row lock without blocking inserts that reference the account.
    await trx.updateTable('accounts').set((eb) => ({ display_name: eb.ref('display_name') })).where('id', '=', id).execute();
  }
}
