import type { Tx } from '../../storage/db.js';

/**
 * The size of bytes `accountId` holds in this server's store — it sent or proved them through the
 * file transfer — marked as just used, or null. A hash alone never gets a file: without the holding
 * it is refused like bytes that are not here. Touching the blob's row serializes against garbage
 * collection of the same hash, which then finds it used (and soon referenced by a message).
 */
export async function useHeldFile(trx: Tx, accountId: string, sha256: string, now: number): Promise<number | null> {
  const held = await trx.selectFrom('possessions').select('size').where('account_id', '=', accountId).where('sha256', '=', sha256).executeTakeFirst();
  if (!held) return null;
  const touched = await trx.updateTable('blobs').set({ last_used_at: now }).where('sha256', '=', sha256).where('size', '=', held.size).executeTakeFirst();
  return Number(touched.numUpdatedRows) === 0 ? null : Number(held.size);
}
