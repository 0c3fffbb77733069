import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type SqliteDialectConfig, type Transaction } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';

export type Engine = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: repos accept both. */
export type Executor = Db | Tx;

export interface Storage {
  db: Db;
  engine: Engine;
  /** Where the data lives, for logs and `config check` (never includes a password). */
  location: string;
  close(): Promise<void>;
}

// PostgreSQL returns bigint (int8) as a string; our bigints are epoch ms and sequence numbers,
// far below 2^53, so numbers are safe and keep one type across both engines.
pg.types.setTypeParser(20, (value) => Number(value));

export function openStorage(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'sqliteSynchronous' | 'sqliteCacheMb'>): Storage {
  if (config.databaseUrl.startsWith('postgres://') || config.databaseUrl.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const url = new URL(config.databaseUrl);
    url.password = '';
    return { db, engine: 'postgres', location: url.toString(), close: () => db.destroy() };
  }
  if (config.databaseUrl) {
    throw new Error(`DATABASE_URL must start with postgres:// (got ${config.databaseUrl.split(':')[0]}:…); leave it empty for SQLite`);
  }
  const dir = resolve(config.dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'parley.db');
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${config.sqliteSynchronous}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma(`cache_size = -${config.sqliteCacheMb * 1024}`);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, engine: 'sqlite', location: file, close: () => db.destroy() };
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew; our queries come from a small fixed set, so reusing prepared
 * statements (keyed by SQL text, least recently used evicted) saves a parse per query on the hot path.
 */
function withStatementCache(sqlite: SqliteDatabase.Database): SqliteDialectConfig['database'] {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql);
      } else {
        statement = sqlite.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}

export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
