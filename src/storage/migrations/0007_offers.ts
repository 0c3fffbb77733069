import { SqliteAdapter, sql, type Kysely } from 'kysely';

// Offers (issue 7): stored interests behind an inverted index of equality terms, offers with their
// deadline and sealed target data, who was offered and how they answered, signed vouchers, the
// devices' X25519 keys for share release, providers' credit and the server's voucher signing key.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('interests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('predicate', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('interests_account_idx').on('interests').columns(['account_id', 'name']).unique().execute();
  // Candidates are looked up by term alone, and each carries what confirming it needs, so phase one
  // reads one contiguous range of the primary key and joins nothing. On SQLite the table *is* that
  // key (WITHOUT ROWID): with a million interests, a lookup per candidate into the interests table
  // cost more than everything else in matching.
  let terms = db.schema
    .createTable('interest_terms')
    .addColumn('term', 'text', (c) => c.notNull())
    .addColumn('interest_id', 'text', (c) => c.notNull().references('interests.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('predicate', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('interest_terms_pk', ['term', 'interest_id']);
  if (db.getExecutor().adapter instanceof SqliteAdapter) terms = terms.modifyEnd(sql`without rowid`);
  await terms.execute();
  await db.schema.createIndex('interest_terms_interest_idx').on('interest_terms').column('interest_id').execute();

  await db.schema
    .createTable('offers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('descriptor', 'text', (c) => c.notNull())
    .addColumn('deadline', 'text', (c) => c.notNull())
    .addColumn('opens_at', 'bigint', (c) => c.notNull())
    .addColumn('closes_at', 'bigint', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('cap', 'integer')
    .addColumn('winners', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('shared', 'text', (c) => c.notNull())
    .addColumn('ciphertext', 'text')
    .addColumn('server_share', 'text')
    .addColumn('link', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('closed_at', 'bigint')
    .execute();
  await db.schema.createIndex('offers_provider_idx').on('offers').columns(['provider_id', 'id']).execute();

  await db.schema
    .createTable('offer_recipients')
    .addColumn('offer_id', 'text', (c) => c.notNull().references('offers.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('interest_id', 'text', (c) => c.notNull())
    .addColumn('offered_at', 'bigint', (c) => c.notNull())
    .addColumn('answer', 'text')
    .addColumn('answered_at', 'bigint')
    .addColumn('outcome', 'text')
    .addPrimaryKeyConstraint('offer_recipients_pk', ['offer_id', 'account_id'])
    .execute();
  await db.schema.createIndex('offer_recipients_account_idx').on('offer_recipients').columns(['account_id', 'offer_id']).execute();

  await db.schema
    .createTable('vouchers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('offer_id', 'text', (c) => c.notNull().references('offers.id').onDelete('cascade'))
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('holder_id', 'text', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('share_released_at', 'bigint')
    .addColumn('decided_at', 'bigint')
    .addUniqueConstraint('vouchers_offer_holder_uq', ['offer_id', 'holder_id'])
    .execute();
  await db.schema.createIndex('vouchers_holder_idx').on('vouchers').columns(['holder_id', 'id']).execute();

  await db.schema
    .createTable('device_keys')
    .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('device_keys_account_idx').on('device_keys').column('account_id').execute();

  await db.schema
    .createTable('provider_credit')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('points', 'integer', (c) => c.notNull())
    .addColumn('redemptions', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('server_keys')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('private_jwk', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['server_keys', 'provider_credit', 'device_keys', 'vouchers', 'offer_recipients', 'offers', 'interest_terms', 'interests']) {
    await db.schema.dropTable(table).execute();
  }
}
