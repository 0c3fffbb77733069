import { appendFileSync } from 'node:fs';
import Sqlite from 'better-sqlite3';
import pg from 'pg';

/**
 * Preloaded into the Parley server by `bench/messaging.ts --count-sql` (node --import) to count the
 * SQL statements it runs, by statement text, without touching the server's code: it wraps the
 * execution methods of better-sqlite3's statements (and times them: SQLite runs on the server's
 * main thread, so that time is the database's share of the server's CPU) and pg's Client.query
 * (counted only: its time is spent in another process). On SIGUSR2 it appends the cumulative
 * figures as one JSON line to $BENCH_SQL_COUNT_FILE; the benchmark signals at the start and the
 * end of the measured window and subtracts.
 */
export interface StatementStats {
  n: number;
  /** Microseconds spent executing (SQLite only). */
  us: number;
}

const outFile = process.env.BENCH_SQL_COUNT_FILE;
const stats: Record<string, StatementStats> = {};

function keyOf(sql: unknown): string {
  const text = typeof sql === 'string' ? sql : typeof (sql as { text?: unknown })?.text === 'string' ? (sql as { text: string }).text : '(other)';
  // `in (?, ?, …)` and multi-row `values (…), (…)` vary in length; one key per statement shape reads better.
  return text.replace(/\s+/g, ' ').replace(/\((?:\s*(?:\?|\$\d+)\s*,)+\s*(?:\?|\$\d+)\s*\)/g, '(…)').replace(/(\(…\))(?:, \(…\))+/g, '$1, …').trim();
}

function record(sql: unknown, us: number): void {
  const key = keyOf(sql);
  const entry = (stats[key] ??= { n: 0, us: 0 });
  entry.n++;
  entry.us += us;
}

if (outFile) {
  // Imported the way the server imports them (ESM), so both get the same module instances.
  // The Statement class is not exported: its prototype comes from a throw-away statement.
  const statementProto = Object.getPrototypeOf(new Sqlite(':memory:').prepare('select 1')) as Record<string, (...args: unknown[]) => unknown>;
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = statementProto[method]!;
    statementProto[method] = function (this: { source: string }, ...args: unknown[]) {
      const start = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        record(this.source, Number(process.hrtime.bigint() - start) / 1000);
      }
    };
  }
  const pgProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = pgProto.query;
  pgProto.query = function (this: unknown, ...args: unknown[]) {
    record(args[0], 0);
    return query.apply(this, args);
  };
  process.on('SIGUSR2', () => appendFileSync(outFile, JSON.stringify(stats) + '\n'));
}
