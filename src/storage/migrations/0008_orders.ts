import { SqliteAdapter, sql, type Kysely } from 'kysely';

// Orders (issue 8): providers' published services, orders with the credit band that decided their
// interaction, verification codes (hashes only), per-account lockouts, each provider's record
// (the inputs of its credit score) and the append-only consent log.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('catalogue')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    // Upper-cased, so ORDER abc and ORDER ABC name the same service.
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('price', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('period', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('catalogue_provider_idx').on('catalogue').columns(['provider_id', 'code']).execute();

  await db.schema
    .createTable('orders')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('service_id', 'text', (c) => c.notNull())
    .addColumn('service_code', 'text', (c) => c.notNull())
    .addColumn('service_name', 'text', (c) => c.notNull())
    .addColumn('price', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('period', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('band', 'text', (c) => c.notNull())
    .addColumn('score', 'integer', (c) => c.notNull())
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('refusal', 'text')
    // user:clientId when the request carried one: a repeat returns the same order.
    .addColumn('client_key', 'text', (c) => c.unique())
    // user:service while the order is pending or a running subscription: at most one such order.
    .addColumn('open_key', 'text', (c) => c.unique())
    .addColumn('requested_at', 'bigint', (c) => c.notNull())
    .addColumn('placed_at', 'bigint')
    .addColumn('closed_at', 'bigint')
    .addColumn('complained_at', 'bigint')
    .execute();
  await db.schema.createIndex('orders_user_idx').on('orders').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('orders_provider_idx').on('orders').columns(['provider_id', 'id']).execute();

  await db.schema
    .createTable('order_codes')
    .addColumn('order_id', 'text', (c) => c.primaryKey().references('orders.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('sends', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('order_codes_user_idx').on('order_codes').column('user_id').execute();

  await db.schema
    .createTable('order_lockouts')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('lockouts', 'integer', (c) => c.notNull())
    .addColumn('locked_until', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('provider_records')
    .addColumn('provider_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('orders_placed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('quick_cancellations', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('complaints', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failed_verifications', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('refunds', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('adjustment', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('adjustment_reason', 'text')
    .addColumn('adjusted_by', 'text')
    .addColumn('adjusted_at', 'bigint')
    .execute();

  // No foreign keys: the record of a dispute outlives the accounts and orders it names.
  await db.schema
    .createTable('consent_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('channel', 'text')
    .addColumn('code_hash', 'text')
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('consent_log_order_idx').on('consent_log').columns(['order_id', 'id']).execute();
  await db.schema.createIndex('consent_log_account_idx').on('consent_log').columns(['account_id', 'id']).execute();
  // Append-only, enforced by the database itself and not only by the code that writes it.
  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    await sql`CREATE TRIGGER consent_log_no_update BEFORE UPDATE ON consent_log BEGIN SELECT RAISE(ABORT, 'consent_log is append-only'); END`.execute(db);
    await sql`CREATE TRIGGER consent_log_no_delete BEFORE DELETE ON consent_log BEGIN SELECT RAISE(ABORT, 'consent_log is append-only'); END`.execute(db);
  } else {
    await sql`CREATE FUNCTION consent_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'consent_log is append-only'; END $$`.execute(db);
    await sql`CREATE TRIGGER consent_log_no_change BEFORE UPDATE OR DELETE ON consent_log FOR EACH ROW EXECUTE FUNCTION consent_log_append_only()`.execute(db);
  }

  await db.schema
    .createTable('server_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) await sql`DROP FUNCTION IF EXISTS consent_log_append_only() CASCADE`.execute(db);
  for (const table of ['server_secrets', 'consent_log', 'provider_records', 'order_lockouts', 'order_codes', 'orders', 'catalogue']) {
    await db.schema.dropTable(table).execute();
  }
}
