import type { Kysely } from 'kysely';

// Unread/undelivered deadlines and SMS/e-mail fallback (issue: receipts and fallback).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('delivered_within_ms', 'bigint').execute();
  await db.schema.alterTable('messages').addColumn('fallback', 'text', (c) => c.notNull().defaultTo('auto')).execute();
  await db.schema.alterTable('messages').addColumn('fallback_content', 'text', (c) => c.notNull().defaultTo('content')).execute();

  // The sender's rule: fall back automatically for this priority and above.
  await db.schema.alterTable('accounts').addColumn('fallback_min_priority', 'text', (c) => c.notNull().defaultTo('urgent')).execute();
  // The recipient's preference and quiet hours ("HH:MM" in their time zone; equal = none).
  await db.schema.alterTable('accounts').addColumn('fallback_channel', 'text', (c) => c.notNull().defaultTo('sms')).execute();
  await db.schema.alterTable('accounts').addColumn('quiet_start', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('quiet_end', 'text').execute();
  await db.schema.alterTable('accounts').addColumn('time_zone', 'text', (c) => c.notNull().defaultTo('UTC')).execute();

  await db.schema
    .createTable('fallbacks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    .addColumn('sender_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('channel_message_id', 'text')
    .addColumn('detail', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('fallbacks_message_recipient_uq', ['message_id', 'recipient_id'])
    .execute();
  await db.schema.createIndex('fallbacks_channel_message_idx').on('fallbacks').column('channel_message_id').execute();
  await db.schema.createIndex('fallbacks_recipient_idx').on('fallbacks').columns(['recipient_id', 'created_at']).execute();
  await db.schema.createIndex('fallbacks_sender_idx').on('fallbacks').columns(['sender_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('fallbacks').ifExists().execute();
  for (const column of ['fallback_min_priority', 'fallback_channel', 'quiet_start', 'quiet_end', 'time_zone']) {
    await db.schema.alterTable('accounts').dropColumn(column).execute();
  }
  for (const column of ['delivered_within_ms', 'fallback', 'fallback_content']) {
    await db.schema.alterTable('messages').dropColumn(column).execute();
  }
}
