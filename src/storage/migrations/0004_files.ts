import type { Kysely } from 'kysely';

// Deduplicated file transfer (issue 5): blobs stored once by SHA-256, transfers (challenge → upload →
// delivered), who proved possession of which bytes, and the attachment of a file message.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('blobs')
    .addColumn('sha256', 'text', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // Garbage collection counts the grace period from the last time the bytes were stored or used.
    .addColumn('last_used_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('transfers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('mime', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('client_id', 'text')
    .addColumn('reply_to', 'text')
    .addColumn('priority', 'text', (c) => c.notNull().defaultTo('normal'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text')
    .addColumn('ranges', 'text')
    .addColumn('proof_failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('source', 'text')
    .addColumn('message_id', 'text')
    .addColumn('failure', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('transfers_account_idx').on('transfers').columns(['account_id', 'created_at']).execute();
  await db.schema.createIndex('transfers_status_idx').on('transfers').columns(['status', 'updated_at']).execute();

  await db.schema
    .createTable('possessions')
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('possessions_pk', ['account_id', 'sha256'])
    .execute();

  for (const [column, type] of [
    ['attachment_id', 'text'],
    ['attachment_sha256', 'text'],
    ['attachment_name', 'text'],
    ['attachment_mime', 'text'],
    ['attachment_size', 'bigint'],
    ['attachment_source', 'text'],
  ] as const) {
    await db.schema.alterTable('messages').addColumn(column, type).execute();
  }
  await db.schema.createIndex('messages_attachment_idx').on('messages').column('attachment_sha256').execute();
  await db.schema.createIndex('messages_sender_attachment_idx').on('messages').columns(['sender_id', 'attachment_sha256']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('messages_sender_attachment_idx').ifExists().execute();
  await db.schema.dropIndex('messages_attachment_idx').ifExists().execute();
  for (const column of ['attachment_id', 'attachment_sha256', 'attachment_name', 'attachment_mime', 'attachment_size', 'attachment_source']) {
    await db.schema.alterTable('messages').dropColumn(column).execute();
  }
  for (const table of ['possessions', 'transfers', 'blobs']) await db.schema.dropTable(table).ifExists().execute();
}
