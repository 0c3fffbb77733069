import type { Kysely } from 'kysely';

// Service accounts (issue 6): a service's profile, menu and handler; its requests, queued durably
// with their acknowledgement; and the rich content of the replies it sends as messages.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('services')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('avatar_url', 'text')
    .addColumn('menu', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('handler', 'text', (c) => c.notNull())
    .addColumn('webhook_url', 'text')
    // Kept in clear: signing needs the secret itself, not a hash of it.
    .addColumn('webhook_secret', 'text')
    .addColumn('plugin', 'text')
    .addColumn('ack_deadline_ms', 'bigint', (c) => c.notNull())
    .addColumn('reply_window_ms', 'bigint', (c) => c.notNull())
    .addColumn('max_queue', 'integer', (c) => c.notNull())
    .addColumn('rate_per_minute', 'integer', (c) => c.notNull())
    .addColumn('lease_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('service_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('service_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('device_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('conversation_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text')
    .addColumn('message_id', 'text')
    .addColumn('menu_key', 'text')
    .addColumn('text', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('failure', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('acked_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'bigint')
    .addColumn('reply_token_hash', 'text')
    .addColumn('reply_uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reply_expires_at', 'bigint')
    .execute();
  // A retried request (same client id) is recorded, acknowledged and processed once.
  await db.schema.createIndex('service_requests_client_idx').on('service_requests').columns(['service_id', 'account_id', 'client_id']).unique().execute();
  await db.schema.createIndex('service_requests_queue_idx').on('service_requests').columns(['service_id', 'status', 'received_at']).execute();
  // A lease's end finds the requests its holder still has.
  await db.schema.createIndex('service_requests_lease_idx').on('service_requests').column('lease_owner').execute();
  await db.schema.createIndex('service_requests_user_idx').on('service_requests').columns(['service_id', 'account_id', 'received_at']).execute();

  await db.schema.alterTable('messages').addColumn('content', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').dropColumn('content').execute();
  await db.schema.dropTable('service_requests').execute();
  await db.schema.dropTable('services').execute();
}
