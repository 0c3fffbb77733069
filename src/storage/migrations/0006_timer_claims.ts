import { sql, type Kysely } from 'kysely';

// Claiming looks for free timers by due time and for expired leases by lease end. With one index on
// due_at every claim also walked the timers already claimed (100,000 in a burst), so each looks in an
// index of its own rows only (the free one holds the ids too: a claim reads no table row to find
// them). Partial indexes exist on both SQLite and PostgreSQL.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('timers_free_due_idx').on('timers').columns(['due_at', 'id']).where(sql.ref('lease_owner'), 'is', null).execute();
  await db.schema.createIndex('timers_leased_until_idx').on('timers').column('lease_until').where(sql.ref('lease_owner'), 'is not', null).execute();
  await db.schema.dropIndex('timers_due_idx').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('timers_due_idx').on('timers').column('due_at').execute();
  await db.schema.dropIndex('timers_leased_until_idx').execute();
  await db.schema.dropIndex('timers_free_due_idx').execute();
}
