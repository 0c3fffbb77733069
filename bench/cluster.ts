/**
 * npm run bench:cluster [-- --clients 200 --window 4 --duration 10 --warmup 2 --nodes 1,2,3
 *                         --postgres-url URL --redis-url URL --quiet-wait S --quick]
 *
 * The messaging benchmark's closed loop (bench/lib: the same clients, pairs and read receipts as
 * bench:messaging) against several configurations in one run:
 *   - one SQLite node (the baseline: the default install),
 *   - one PostgreSQL node without Redis (what PostgreSQL costs),
 *   - 1, 2, 3… PostgreSQL nodes sharing one database and one Redis (what the cluster costs, and
 *     how it scales). Clients are spread over the nodes: the two devices of a pair sit on
 *     different nodes when there are several, so every message crosses Redis.
 * Each node is a child process; this process is the load generator. Progress goes to stderr; the
 * table and, as the last line, one JSON object go to stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startParleyServer, type Child } from './lib/children.js';
import { cumulativeCpuSeconds, pidsWithCommandLine, waitForQuietMachine } from './lib/cpu.js';
import { Flow, type PhaseResult } from './lib/flow.js';
import { ParleyDriver } from './lib/parley-driver.js';
import { createScratchDatabase, type ScratchDatabase } from './lib/postgres.js';
import { round } from './lib/stats.js';

interface Options {
  clients: number;
  window: number;
  durationS: number;
  warmupS: number;
  nodes: number[];
  postgresUrl: string;
  redisUrl: string;
  quietWaitS: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      clients: { type: 'string' },
      window: { type: 'string', default: '4' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      nodes: { type: 'string', default: '1,2,3' },
      'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
      'quiet-wait': { type: 'string' },
      quick: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick;
  const int = (name: string, raw: string) => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
    return n;
  };
  const options: Options = {
    clients: int('clients', values.clients ?? (quick ? '20' : '200')),
    window: int('window', values.window),
    durationS: int('duration', values.duration ?? (quick ? '3' : '10')),
    warmupS: Number(values.warmup ?? (quick ? '1' : '2')),
    nodes: values.nodes.split(',').map((n) => int('nodes', n.trim())),
    postgresUrl: values['postgres-url'],
    redisUrl: values['redis-url'],
    quietWaitS: Number(values['quiet-wait'] ?? (quick ? '0' : '60')),
  };
  if (options.clients % 2 !== 0) throw new Error('--clients must be even (clients come in pairs)');
  return options;
}

const log = (line: string) => console.error(`[bench:cluster] ${line}`);

interface Configuration {
  name: string;
  engine: 'sqlite' | 'postgres';
  nodes: number;
  redis: boolean;
}

interface Measured {
  config: Configuration;
  peak: PhaseResult;
  /** CPU of the nodes and their PostgreSQL backends, in % of one core, during the window. */
  serverCpuPct: number | undefined;
}


function startNode(i: number, dataDir: string, databaseUrl: string, redisUrl: string): Promise<Child> {
  return startParleyServer({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, PARLEY_NODE_ID: `bench-${i}` }, { name: `parley node ${i}` });
}

async function measure(config: Configuration, options: Options): Promise<Measured> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-cluster-'));
  let database: ScratchDatabase | undefined;
  const nodes: Child[] = [];
  let driver: ParleyDriver | undefined;
  try {
    if (config.engine === 'postgres') database = await createScratchDatabase(options.postgresUrl);
    // The first node migrates; the others start after it, as a rolling deployment would.
    nodes.push(await startNode(0, dataDir, database?.url ?? '', config.redis ? options.redisUrl : ''));
    for (let i = 1; i < config.nodes; i++) nodes.push(await startNode(i, dataDir, database!.url, options.redisUrl));
    const socketsPerDevice = options.window;
    const setUp = await ParleyDriver.setUp({ baseUrl: nodes[0]!.url, baseUrls: nodes.map((n) => n.url), clients: options.clients, authConcurrency: 8, socketsPerDevice, transport: 'socket', log });
    driver = setUp.driver;
    const backends = database ? cumulativeCpuSeconds(() => pidsWithCommandLine(database!.name)) : () => 0;
    const serverCpuSeconds = () => nodes.reduce((sum, n) => sum + (n.cpuSeconds() ?? 0), 0) + backends();
    if (options.quietWaitS > 0) await waitForQuietMachine(serverCpuSeconds, options.quietWaitS, log);
    await driver.warmConnections(socketsPerDevice);
    log(`${config.name}: closed loop, window ${options.window}, ${options.durationS} s`);
    const peak = await new Flow(driver).run(
      { kind: 'closed', window: options.window },
      { warmupMs: options.warmupS * 1000, durationMs: options.durationS * 1000, drainTimeoutMs: 15_000, serverCpuSeconds },
    );
    log(`${config.name}: ${round(peak.throughput)} msgs/s`);
    return { config, peak, serverCpuPct: peak.cpu.server };
  } finally {
    await driver?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Messages per CPU-second of the server side: throughput divided by the cores it used. */
function perCpuSecond(r: Measured): string {
  return r.serverCpuPct ? (r.peak.throughput / (r.serverCpuPct / 100)).toFixed(0) : '-';
}

function report(results: Measured[], options: Options, load: number[]): void {
  const sqlite = results.find((r) => r.config.engine === 'sqlite')!;
  const pgOne = results.find((r) => r.config.engine === 'postgres' && r.config.redis && r.config.nodes === 1);
  const ms = (v: number) => (Number.isFinite(v) ? round(v).toFixed(1).padStart(9) : '        -');
  const lines = [
    '',
    `Cluster benchmark — ${options.clients} clients = ${options.clients / 2} pairs (one-way, send and mark read over the stream socket), closed loop window ${options.window}, ${options.durationS} s measured after ${options.warmupS} s warm-up; ${availableParallelism()} cores shared by every node, PostgreSQL, Redis and the load generator; load average before ${load.map((l) => l.toFixed(2)).join(' ')}`,
    '',
    `${'configuration'.padEnd(34)} ${'msgs/s'.padStart(8)} ${'vs SQLite'.padStart(9)} ${'vs 1 PG'.padStart(8)} ${'deliv p50'.padStart(9)} ${'deliv p99'.padStart(9)} ${'read p99'.padStart(9)} ${'server'.padStart(7)} ${'per CPU-s'.padStart(9)} ${'other'.padStart(6)} ${'unfinished'.padStart(10)}`,
    ...results.map((r) => {
      const p = r.peak;
      const vsSqlite = (p.throughput / sqlite.peak.throughput).toFixed(2);
      const vsPg = pgOne && r.config.engine === 'postgres' && r.config.redis ? (p.throughput / pgOne.peak.throughput).toFixed(2) : '-';
      const pct = (v: number | undefined) => (v === undefined ? '-' : `${Math.round(v)}%`);
      return `${r.config.name.padEnd(34)} ${round(p.throughput).toFixed(0).padStart(8)} ${vsSqlite.padStart(9)} ${vsPg.padStart(8)} ${ms(p.delivered.p50)} ${ms(p.delivered.p99)} ${ms(p.read.p99)} ${pct(r.serverCpuPct).padStart(7)} ${perCpuSecond(r).padStart(9)} ${pct(p.cpu.rest).padStart(6)} ${String(p.errors + p.incomplete).padStart(10)}`;
    }),
    '(latencies in ms; server = every node plus its PostgreSQL backends, % of one core; per CPU-s = messages per second of that CPU, the cost that holds on a machine busy with other work; other = the rest of the machine; unfinished = sends that failed or whose read receipt had not come back 15 s after the window)',
  ];
  if (pgOne) lines.push('', `ratio one PostgreSQL node (with Redis) / one SQLite node: ${round(pgOne.peak.throughput / sqlite.peak.throughput)}`);
  console.log(lines.join('\n'));
  console.log(
    JSON.stringify({
      bench: 'cluster',
      clients: options.clients,
      window: options.window,
      durationS: options.durationS,
      cores: availableParallelism(),
      loadAverage: load.map((l) => round(l)),
      results: results.map((r) => ({
        name: r.config.name,
        engine: r.config.engine,
        nodes: r.config.nodes,
        redis: r.config.redis,
        throughput: round(r.peak.throughput),
        p50DeliveredMs: round(r.peak.delivered.p50),
        p99DeliveredMs: round(r.peak.delivered.p99),
        p99ReadMs: round(r.peak.read.p99),
        serverCpuPct: r.serverCpuPct === undefined ? null : Math.round(r.serverCpuPct),
        messagesPerServerCpuSecond: r.serverCpuPct ? round(r.peak.throughput / (r.serverCpuPct / 100)) : null,
        otherCpuPct: r.peak.cpu.rest === undefined ? null : Math.round(r.peak.cpu.rest),
        failed: r.peak.errors,
        unfinished: r.peak.incomplete,
      })),
      ratioPostgresToSqlite: pgOne ? round(pgOne.peak.throughput / sqlite.peak.throughput) : null,
    }),
  );
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const load = loadavg();
  const configurations: Configuration[] = [
    { name: 'SQLite, 1 node (baseline)', engine: 'sqlite', nodes: 1, redis: false },
    { name: 'PostgreSQL, 1 node, no Redis', engine: 'postgres', nodes: 1, redis: false },
    ...options.nodes.map((n): Configuration => ({ name: `PostgreSQL + Redis, ${n} node${n > 1 ? 's' : ''}`, engine: 'postgres', nodes: n, redis: true })),
  ];
  const results: Measured[] = [];
  for (const config of configurations) results.push(await measure(config, options));
  report(results, options, load);
  process.exit(0);
}

await main();
