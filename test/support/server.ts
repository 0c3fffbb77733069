import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/scheduler/clock.js';
import { createNodeClient, type ParleyClient } from '../../sdk/node.js';
import { postgresAdminUrl, testEngine } from './services.js';

export interface TestServer {
  app: App;
  url: string;
  config: Config;
  /** A client that is not logged in. */
  client(): ParleyClient;
  /** Registers `handle` (password "password-<handle>") and returns a logged-in client. */
  user(handle: string, displayName?: string): Promise<ParleyClient & { accountId: string; handle: string }>;
  close(): Promise<void>;
}

let counter = 0;

/** A new, empty PostgreSQL database (whatever engine the suite runs on), and how to drop it. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `parley_t_${process.pid}_${Date.now()}_${counter++}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: postgresAdminUrl });
      await c.connect();
      // pg's pool.end() resolves before its connections have closed: forcing the drop at once
      // would kill them mid-goodbye (an unhandled 57P01 in the test). Give them a moment first.
      for (let i = 0; ; i++) {
        try {
          await c.query(i < 20 ? `DROP DATABASE IF EXISTS ${name}` : `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          break;
        } catch (err) {
          if ((err as { code?: string }).code !== '55006') throw err;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      await c.end();
    },
  };
}

/** A fresh database for one test server: a temp SQLite file or a new PostgreSQL database. */
export async function freshStorage(): Promise<{ overrides: Partial<Config>; drop: () => Promise<void> }> {
  if (testEngine === 'postgres') {
    const database = await freshPostgresDatabase();
    // Files (blobs, uploads) still live on disk: each server gets its own directory.
    const dir = mkdtempSync(join(tmpdir(), 'parley-test-'));
    return {
      overrides: { databaseUrl: database.url, dataDir: dir },
      drop: async () => {
        await database.drop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  return { overrides: { dataDir: dir, databaseUrl: '' }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startTestServer(overrides: Partial<Config> = {}, clock?: Clock): Promise<TestServer> {
  const storage = await freshStorage();
  const { config } = loadConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent', redisUrl: '', ...storage.overrides, ...overrides }, {});
  const app = await startApp(config, clock);
  const server: TestServer = {
    app,
    url: app.url,
    config,
    client: () => createNodeClient({ baseUrl: app.url }),
    async user(handle, displayName) {
      const client = createNodeClient({ baseUrl: app.url });
      const account = await client.register({ handle, displayName: displayName ?? handle, password: `password-${handle}` });
      await client.login(handle, `password-${handle}`, `${handle}-device`);
      return Object.assign(client, { accountId: account.id, handle });
    },
    async close() {
      await app.close();
      await storage.drop();
    },
  };
  return server;
}
