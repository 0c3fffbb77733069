import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startParleyServer, type Child } from './children.js';
import { createScratchDatabase } from './postgres.js';

/** Cleanups run in order once the benchmark ends; what stops a process comes before what removes its files. */
export type Cleanups = (() => Promise<unknown>)[];

/**
 * `parley serve` on a data directory of its own (and, for PostgreSQL, a scratch database of its
 * own), with exactly `settings` on top. Registers in `cleanups` what undoes each step, also when a
 * later step fails.
 */
export async function startScratchServer(
  cleanups: Cleanups,
  options: { prefix: string; engine: 'sqlite' | 'postgres'; postgresUrl: string; settings: Record<string, string> },
): Promise<Child> {
  const scratch = mkdtempSync(join(tmpdir(), options.prefix));
  cleanups.push(async () => rmSync(scratch, { recursive: true, force: true }));
  let databaseUrl = '';
  if (options.engine === 'postgres') {
    const db = await createScratchDatabase(options.postgresUrl);
    cleanups.push(() => db.drop());
    databaseUrl = db.url;
  }
  const server = await startParleyServer({ DATA_DIR: join(scratch, 'data'), DATABASE_URL: databaseUrl, ...options.settings });
  cleanups.unshift(() => server.stop());
  return server;
}
