import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EphemeralEvent, ParleyStream } from '../../sdk/node.js';
import { startChildServer, type ChildServer } from '../support/child.js';
import { freshPostgresDatabase } from '../support/server.js';
import { postgresAdminUrl, redisUrl, requireService, testEngine } from '../support/services.js';

/**
 * Whether the cluster suites run. Every node uses PostgreSQL whatever engine the suite runs on,
 * so they run once, in `npm run test:pg`, not again in the SQLite run.
 */
export async function clusterSuiteRuns(): Promise<boolean> {
  if (testEngine !== 'postgres') {
    console.warn('SKIPPED here: the cluster tests run on PostgreSQL + Redis in npm run test:pg.');
    return false;
  }
  // Scale-out needs both: PostgreSQL holds the state all nodes share, Redis carries live events between them.
  return (await requireService('PostgreSQL', postgresAdminUrl)) && (await requireService('Redis', redisUrl));
}

export function until(check: () => boolean | Promise<boolean>, what: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = async () => {
      try {
        if (await check()) return resolve();
      } catch (err) {
        return reject(err as Error);
      }
      if (Date.now() > deadline) return reject(new Error(`not within ${timeoutMs} ms: ${what()}`));
      setTimeout(() => void attempt(), 50);
    };
    void attempt();
  });
}

/** Runs `work` over `items` with at most `limit` at once, so a 2-core machine is not flooded with requests. */
export async function pooled<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** Several nodes (each compiling its TypeScript) start at once, beside other test files' nodes. */
export const NODE_START_TIMEOUT_MS = 60_000;

/** Nodes sharing one fresh PostgreSQL database and one data directory, as child processes. */
export interface Cluster {
  nodes: ChildServer[];
  databaseUrl: string;
  /** kill -9 of node `i` (no shutdown hook runs). */
  crash(i: number): Promise<void>;
  /** Starts a further node on the same database and directory; returns its index. */
  add(env?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** `env` for every node, or per node (by index). */
export async function startCluster(count: number, env: Record<string, string> | ((i: number) => Record<string, string>) = {}): Promise<Cluster> {
  const envOf = typeof env === 'function' ? env : () => env;
  const database = await freshPostgresDatabase();
  // Blobs live on disk: nodes behind one address must share the directory (NFS or the like in production).
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-cluster-'));
  const nodes: ChildServer[] = [];
  const start = async (i: number, extra: Record<string, string>) => {
    nodes[i] = await startChildServer({ DATABASE_URL: database.url, DATA_DIR: dataDir, REDIS_URL: redisUrl, PARLEY_NODE_ID: `node-${i}`, ...envOf(i), ...extra }, NODE_START_TIMEOUT_MS);
  };
  const close = async () => {
    for (const node of nodes) if (node && node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill('SIGKILL');
    await Promise.all(nodes.filter(Boolean).map((n) => n.exited));
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // All nodes start at once, as a deployment would: migrations must not trip over each other.
    await Promise.all(Array.from({ length: count }, (_, i) => start(i, {})));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    nodes,
    databaseUrl: database.url,
    async crash(i) {
      await nodes[i]!.crash();
    },
    async add(extra = {}) {
      const i = nodes.length;
      await start(i, extra);
      return i;
    },
    close,
  };
}

/** Every ephemeral event (typing, presence) a stream hands over, to look back on. */
export function recordEphemeral(stream: ParleyStream): EphemeralEvent[] {
  const seen: EphemeralEvent[] = [];
  stream.on('ephemeral', (event) => seen.push(event));
  return seen;
}
