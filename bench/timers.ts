/**
 * npm run bench:timers [-- --engine sqlite|postgres --pending N --due N --warmup N --sms N --sms-window W
 *                         --sms-rounds R --postgres-url URL --quick --cpu-prof --cpu-prof-dir DIR
 *                         --only timers|sms]
 *
 * Issue 3's benchmark, three parts, in one process (the SMSC runs as a child process):
 *
 *  a. Memory with many pending timers: --pending (1,000,000) unread-deadline-like timers due in an
 *     hour are written into the real `timers` table of a fresh database (setup, not measured:
 *     multi-row INSERTs in transactions on SQLite, INSERT … SELECT FROM unnest($arrays) on
 *     PostgreSQL). Then the production Scheduler (src/scheduler/scheduler.ts, default options as
 *     src/app.ts uses them) starts on that database; process RSS and V8 heap used are reported
 *     before and after it started (after a forced GC), and the peak during part b.
 *  b. Burst precision: --due (100,000) timers due within one second, dueAt = T0 + random [0,1000) ms,
 *     stored through the real `Scheduler.schedule()` path (500 per transaction, like a message to
 *     many recipients) while the scheduler runs; T0 is chosen from a calibration so that every timer
 *     is stored before T0. The handler records Date.now() − dueAt. Reported: lateness p50/p99/max,
 *     the time from T0 until the last one fired, and firedOnce = each due timer's handler ran
 *     exactly once, no far-future timer ran, and once the scheduler has deleted the fired rows
 *     exactly the --pending timers are left. A warm-up of --warmup timers (default due/5, at most
 *     20,000; stored the same way) fires 3 s before T0, so the burst meets JIT-compiled code as on
 *     a server that has been running; --warmup 0 measures a cold start.
 *  c. Fallback SMS rate: --sms (5000) one-part fallback texts through SmppSmsChannel.send() to a
 *     loopback SMSC (test/channels/smsc.ts's TestSmsc, the `smpp` package's server, in a child
 *     process so the SMSC never shares the client's thread), against a baseline measured in the same
 *     run: the raw `smpp` client submitting the same texts to the same SMSC with the same window of
 *     outstanding submit_sm. Rounds alternate raw/channel after a warm-up; medians are reported.
 *     ratio = channel msgs/s ÷ raw msgs/s.
 *
 * --engine postgres runs a and b on a scratch database created on --postgres-url (loopback only) and
 * dropped afterwards. --quick is a smoke run (20k pending, 5k due, 500 SMS). --cpu-prof writes a
 * V8 CPU profile of the burst (node:inspector, from T0 − 1 s until the last timer fired) to
 * --cpu-prof-dir; summarise it with `npx tsx bench/profile-summary.ts FILE`.
 * Progress goes to stderr; a table and, as the last line, one JSON object go to stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import pg from 'pg';
import smpp from 'smpp';
import { SmppSmsChannel } from '../src/channels/sms/smpp.js';
import { segment } from '../src/channels/sms/encoding.js';
import { newId } from '../src/ids.js';
import { systemClock } from '../src/scheduler/clock.js';
import { settings } from '../src/config.js';
import { Scheduler, type FiredTimer } from '../src/scheduler/scheduler.js';
import { migrateToLatest, openStorage, type Storage } from '../src/storage/db.js';
import { TestSmsc } from '../test/channels/smsc.js';

const GOALS = { latenessP99Ms: 100, rssMB: 300, smsRatio: 0.8 } as const;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const KIND = 'bench';
const NODE_ID = 'bench-node';
const SMSC_READY = 'BENCH_SMSC_READY';

// ── options ──────────────────────────────────────────────────────────────────

interface Options {
  engine: 'sqlite' | 'postgres';
  pending: number;
  due: number;
  sms: number;
  warmup: number;
  smsWindow: number;
  smsRounds: number;
  postgresUrl: string;
  quick: boolean;
  cpuProf: boolean;
  cpuProfDir: string;
  only: 'timers' | 'sms' | undefined;
}

const USAGE = `usage: npm run bench:timers -- [--engine sqlite|postgres] [--pending N] [--due N] [--warmup N] [--sms N]
  [--sms-window W] [--sms-rounds R] [--postgres-url URL] [--quick] [--cpu-prof] [--cpu-prof-dir DIR]
  [--only timers|sms]   (parts a+b, or part c alone; the JSON then has null for the other)`;

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      engine: { type: 'string', default: 'sqlite' },
      pending: { type: 'string' },
      due: { type: 'string' },
      sms: { type: 'string' },
      warmup: { type: 'string' },
      'sms-window': { type: 'string', default: '10' },
      'sms-rounds': { type: 'string', default: '3' },
      'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
      quick: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'cpu-prof-dir': { type: 'string', default: tmpdir() },
      only: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const engine = values.engine;
  if (engine !== 'sqlite' && engine !== 'postgres') throw new UsageError(`--engine must be sqlite or postgres, got ${engine}`);
  const options: Options = {
    engine,
    pending: count('pending', values.pending ?? (quick ? '20000' : '1000000'), 0),
    due: count('due', values.due ?? (quick ? '5000' : '100000'), 1),
    sms: count('sms', values.sms ?? (quick ? '500' : '5000'), 1),
    warmup: 0,
    smsWindow: count('sms-window', values['sms-window'], 1),
    smsRounds: count('sms-rounds', values['sms-rounds'], 1),
    postgresUrl: values['postgres-url'],
    quick,
    cpuProf: values['cpu-prof'],
    cpuProfDir: values['cpu-prof-dir'],
    only: values.only === undefined ? undefined : values.only === 'timers' || values.only === 'sms' ? values.only : undefined,
  };
  if (values.only !== undefined && options.only === undefined) throw new UsageError(`--only must be timers or sms, got ${values.only}`);
  options.warmup = count('warmup', values.warmup ?? String(Math.min(20_000, Math.ceil(options.due / 5))), 0);
  if (!LOOPBACK.has(new URL(options.postgresUrl).hostname)) throw new UsageError('--postgres-url must point at a loopback address');
  return options;
}

function count(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${raw}`);
  return n;
}

// ── small helpers ────────────────────────────────────────────────────────────

const log = (line: string) => console.error(`[bench:timers] ${line}`);

/** Undo steps, run last-in first-out on every way out: normal end, error, Ctrl-C, watchdog. */
class Cleanup {
  private readonly steps: { what: string; run: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  add(what: string, run: () => Promise<void> | void): void {
    this.steps.push({ what, run });
  }

  /** Runs the steps added so far; concurrent calls share one run, later calls run what was added since. */
  run(): Promise<void> {
    if (this.running) return this.running;
    const running = (async () => {
      await Promise.resolve();
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await Promise.race([step.run(), sleep(15_000, undefined, { ref: false }).then(() => Promise.reject(new Error('timed out')))]);
        } catch (err) {
          log(`cleanup: ${step.what} failed: ${(err as Error).message}`);
        }
      }
    })().finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    return running;
  }
}

/** Nearest-rank percentiles. */
function percentiles(samples: Float64Array): { p50: number; p99: number; max: number; mean: number } {
  if (samples.length === 0) return { p50: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  let total = 0;
  for (const v of sorted) total += v;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]!, mean: total / sorted.length };
}

function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  const digits = Math.abs(value) < 10 ? 100 : Math.abs(value) < 100 ? 10 : 1;
  return Math.round(value * digits) / digits;
}

const MB = 1024 * 1024;

/** A full GC, so heap figures are what is live, not what awaits collection. */
const forceGc: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    return () => {
      gc();
      gc();
    };
  } catch {
    return () => {};
  }
})();

interface Memory {
  rssMB: number;
  heapMB: number;
}

function memory(gc = true): Memory {
  if (gc) forceGc();
  const m = process.memoryUsage();
  return { rssMB: m.rss / MB, heapMB: m.heapUsed / MB };
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

// ── storage ──────────────────────────────────────────────────────────────────

interface BenchDb {
  storage: Storage;
  where: string;
  /** Size of the database file(s) or the timers table, MB. */
  sizeMB(): Promise<number>;
}

async function openBenchDb(options: Options, cleanup: Cleanup): Promise<BenchDb> {
  if (options.engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'parley-bench-timers-'));
    cleanup.add('remove scratch directory', () => rmSync(dir, { recursive: true, force: true }));
    const storage = openStorage({ databaseUrl: '', dataDir: dir, sqliteSynchronous: 'NORMAL', sqliteCacheMb: settings.sqliteCacheMb.default });
    cleanup.add('close SQLite', () => storage.close());
    await migrateToLatest(storage.db);
    const size = (file: string) => {
      try {
        return statSync(file).size;
      } catch {
        return 0;
      }
    };
    return {
      storage,
      where: storage.location,
      sizeMB: async () => (size(storage.location) + size(`${storage.location}-wal`)) / MB,
    };
  }
  const name = `parley_bench_timers_${process.pid}_${Date.now()}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: options.postgresUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  cleanup.add(`drop database ${name}`, () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(options.postgresUrl);
  url.pathname = `/${name}`;
  const storage = openStorage({ databaseUrl: url.toString(), dataDir: '', sqliteSynchronous: 'NORMAL', sqliteCacheMb: settings.sqliteCacheMb.default });
  cleanup.add('close PostgreSQL pool', () => storage.close());
  await migrateToLatest(storage.db);
  return {
    storage,
    where: `${url.host}/${name}`,
    sizeMB: async () => {
      const r = await sql<{ bytes: number }>`select pg_total_relation_size('timers')::bigint as bytes`.execute(storage.db);
      return Number(r.rows[0]?.bytes ?? 0) / MB;
    },
  };
}

/** What an unread deadline stores (see src/modules/messaging/deadlines.ts), under the bench kind. */
function deadlineRow(i: number, dueAt: number, now: number) {
  const messageId = newId();
  const recipientId = newId();
  return {
    id: newId(),
    kind: KIND,
    key: `read-deadline:${messageId}:${recipientId}`,
    due_at: dueAt,
    payload: JSON.stringify({ messageId, recipientId, kind: 'read', pending: i }),
    attempts: 0,
    lease_owner: null,
    lease_until: null,
    created_at: now,
  };
}

/** Setup for part a: real rows in the real timers table, as fast as each engine takes them. */
async function insertPending(db: BenchDb, n: number, dueAt: number): Promise<number> {
  const started = performance.now();
  const now = Date.now();
  const { storage } = db;
  const perStatement = storage.engine === 'sqlite' ? 2_000 : 10_000;
  const perTransaction = 50_000;
  let lastLog = started;
  for (let from = 0; from < n; from += perTransaction) {
    const to = Math.min(n, from + perTransaction);
    await storage.db.transaction().execute(async (trx) => {
      for (let i = from; i < to; i += perStatement) {
        const rows: ReturnType<typeof deadlineRow>[] = [];
        for (let j = i; j < Math.min(to, i + perStatement); j++) rows.push(deadlineRow(j, dueAt + (j % 60_000), now));
        if (storage.engine === 'sqlite') {
          await trx.insertInto('timers').values(rows).execute();
        } else {
          const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
          await sql`insert into timers (id, kind, key, due_at, payload, attempts, created_at)
            select * from unnest(${col('id')}::text[], ${col('kind')}::text[], ${col('key')}::text[], ${col('due_at')}::bigint[],
                                 ${col('payload')}::text[], ${col('attempts')}::int[], ${col('created_at')}::bigint[])`.execute(trx);
        }
      }
    });
    if (performance.now() - lastLog > 5_000) {
      lastLog = performance.now();
      log(`  … ${to.toLocaleString('en')} of ${n.toLocaleString('en')} pending timers stored`);
    }
  }
  return performance.now() - started;
}

// ── part a + b: the scheduler ────────────────────────────────────────────────

interface SchedulerResult {
  engine: string;
  where: string;
  pending: number;
  insertMs: number;
  dbMB: number;
  memStart: Memory;
  memBefore: Memory;
  memAfter: Memory;
  memPeakB: Memory;
  due: number;
  calibration: { perSec: number; leadMs: number };
  warmup: number;
  cpuInBurstMs: number;
  loadavg: { before: number; during: number };
  deletedAfterT0Ms: number;
  scheduleMs: number;
  storedBeforeT0Ms: number;
  lateness: { p50: number; p99: number; max: number; mean: number };
  firstFireAfterT0Ms: number;
  allFiredAfterT0Ms: number;
  allFiredAfterLastDueMs: number;
  firedOnce: boolean;
  firedOnceDetail: string;
  leftPending: number;
  handlerErrors: number;
  profile?: string;
}

async function runScheduler(options: Options, cleanup: Cleanup, memStart: Memory): Promise<SchedulerResult> {
  const db = await openBenchDb(options, cleanup);
  const { storage } = db;
  log(`${storage.engine} at ${db.where}`);

  // Part a: 1M pending timers, then the scheduler on top of them.
  log(`part a: storing ${options.pending.toLocaleString('en')} pending timers (setup)…`);
  const farDue = Date.now() + 3_600_000;
  const insertMs = await insertPending(db, options.pending, farDue);
  const stored = Number((await sql<{ n: number }>`select count(*) as n from timers`.execute(storage.db)).rows[0]?.n);
  if (stored !== options.pending) throw new Error(`expected ${options.pending} timers stored, found ${stored}`);
  log(`  stored in ${round(insertMs / 1000)} s`);
  if (storage.engine === 'postgres') await sql`analyze timers`.execute(storage.db);

  const memBefore = memory();
  const scheduler = new Scheduler(storage.db, storage.engine, systemClock, {
    nodeId: NODE_ID,
    onError: (err, timer) => {
      handlerErrors++;
      if (handlerErrors <= 5) log(`scheduler error${timer ? ` (timer ${timer.key})` : ''}: ${(err as Error).message}`);
    },
  });
  let handlerErrors = 0;
  cleanup.add('stop scheduler', () => scheduler.stop());

  // Handler: lateness per due timer, indexed by its number; anything else firing is a failure.
  const fireCount = new Uint16Array(options.due);
  const lateness = new Float64Array(options.due);
  const firedAt = new Float64Array(options.due);
  let fired = 0;
  let strayFires = 0;
  scheduler.register(KIND, async (t: FiredTimer) => {
    const now = Date.now();
    const i = (t.payload as { due?: number }).due;
    if (typeof i !== 'number') {
      strayFires++;
      return;
    }
    if (fireCount[i]! === 0) {
      lateness[i] = now - t.dueAt;
      firedAt[i] = now;
      fired++;
    }
    fireCount[i]!++;
  });

  let warmFired = 0;
  scheduler.register(`${KIND}-warmup`, async () => {
    warmFired++;
  });

  const startedAt = performance.now();
  await scheduler.start();
  const startMs = performance.now() - startedAt;
  // Two poll cycles with 1M pending in the table.
  await sleep(2_500);
  const memAfter = memory();
  const dbMB = await db.sizeMB();
  log(
    `  scheduler started in ${round(startMs)} ms; RSS ${round(memBefore.rssMB)} → ${round(memAfter.rssMB)} MB, heap ${round(memBefore.heapMB)} → ${round(memAfter.heapMB)} MB; db ${round(dbMB)} MB`,
  );

  // Part b: calibrate the schedule() rate, so T0 lies after the last timer is stored.
  const perTransaction = 500;
  const workers = storage.engine === 'postgres' ? 4 : 1;
  const scheduleRange = async (keys: (i: number) => string, from: number, to: number, dueOf: (i: number) => number, payloadOf: (i: number) => unknown) => {
    let next = from;
    const worker = async () => {
      while (next < to) {
        const start = next;
        const end = Math.min(to, start + perTransaction);
        next = end;
        await storage.db.transaction().execute(async (trx) => {
          for (let i = start; i < end; i++) await scheduler.schedule(trx, { kind: KIND, key: keys(i), dueAt: dueOf(i), payload: payloadOf(i) });
        });
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  };
  const scheduleWarmup = async (count: number, dueOf: () => number) => {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const start = next;
        const end = Math.min(count, start + perTransaction);
        next = end;
        await storage.db.transaction().execute(async (trx) => {
          for (let i = start; i < end; i++) await scheduler.schedule(trx, { kind: `${KIND}-warmup`, key: `warmup:${i}`, dueAt: dueOf(), payload: { warmup: i } });
        });
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  };
  const calN = Math.min(2_000, Math.max(200, Math.floor(options.due / 10)));
  const calStart = performance.now();
  await scheduleRange((i) => `calibration:${i}`, 0, calN, () => farDue + 1, () => ({ calibration: true }));
  const calMs = performance.now() - calStart;
  await storage.db.deleteFrom('timers').where('key', 'like', 'calibration:%').execute();
  const perSec = (calN / calMs) * 1000;
  const leadMs = Math.ceil(((options.due + options.warmup) / perSec) * 1000 * 1.5 + 5_000);
  log(`part b: schedule() runs at ~${Math.round(perSec)}/s (calibration, ${calN} timers); T0 = now + ${round(leadMs / 1000)} s`);

  const profile = options.cpuProf ? new InspectorSession() : undefined;
  if (profile) {
    profile.connect();
    await profile.post('Profiler.enable');
  }

  let memPeakB = memory(false);
  const sampler = setInterval(() => {
    const m = memory(false);
    if (m.rssMB > memPeakB.rssMB) memPeakB = { rssMB: m.rssMB, heapMB: Math.max(memPeakB.heapMB, m.heapMB) };
    else if (m.heapMB > memPeakB.heapMB) memPeakB = { ...memPeakB, heapMB: m.heapMB };
  }, 50);
  cleanup.add('stop memory sampler', () => clearInterval(sampler));

  const t0 = Date.now() + leadMs;
  const offsets = new Float64Array(options.due);
  for (let i = 0; i < options.due; i++) offsets[i] = Math.floor(Math.random() * 1000);
  // CPU this process got during the burst second, and the machine's load (other processes share its cores).
  let cpuAtT0 = process.cpuUsage();
  let cpuInBurstMs = NaN;
  let loadDuring = NaN;
  const cpuTimers = [
    setTimeout(() => (cpuAtT0 = process.cpuUsage()), Math.max(0, t0 - Date.now())),
    setTimeout(() => {
      const c = process.cpuUsage(cpuAtT0);
      cpuInBurstMs = (c.user + c.system) / 1000;
      loadDuring = loadavg()[0]!;
    }, Math.max(0, t0 + 1_000 - Date.now())),
  ];
  // The profile covers the burst: from 1 s before T0 until the last timer fired.
  if (profile) cpuTimers.push(setTimeout(() => void profile.post('Profiler.start'), Math.max(0, t0 - 1_000 - Date.now())));
  cleanup.add('clear CPU timers', () => cpuTimers.forEach(clearTimeout));
  const loadBefore = loadavg()[0]!;
  if (options.warmup > 0) await scheduleWarmup(options.warmup, () => t0 - 3_000 + Math.floor(Math.random() * 500));
  const scheduleStart = performance.now();
  await scheduleRange(
    (i) => `read-deadline:bench-due-${i}`,
    0,
    options.due,
    (i) => t0 + offsets[i]!,
    (i) => ({ messageId: `m${i}`, recipientId: `r${i}`, kind: 'read', due: i }),
  );
  const scheduleMs = performance.now() - scheduleStart;
  const storedBeforeT0Ms = t0 - Date.now();
  log(`  ${options.due.toLocaleString('en')} timers scheduled in ${round(scheduleMs / 1000)} s, ${storedBeforeT0Ms} ms before T0`);
  if (storedBeforeT0Ms < 0) log('  WARNING: scheduling finished after T0; early timers were stored late, their lateness includes that');

  await until('all due timers fired', () => fired >= options.due || handlerErrors > 1000, Math.max(0, t0 - Date.now()) + 1_000 + 120_000);
  if (warmFired < options.warmup) log(`  WARNING: only ${warmFired} of ${options.warmup} warm-up timers fired`);
  clearInterval(sampler);
  // The scheduler deletes fired timers lazily, after the burst: wait until only the pending ones are left.
  let leftPending = NaN;
  try {
    await until('fired timers deleted', async () => (leftPending = await scheduler.pendingCount()) <= options.pending, 180_000, 200);
  } catch (err) {
    log(`  ${(err as Error).message}`);
  }
  const deletedAfterT0Ms = Date.now() - t0;
  let profileFile: string | undefined;
  if (profile) {
    const { profile: data } = await profile.post('Profiler.stop');
    profile.disconnect();
    mkdirSync(options.cpuProfDir, { recursive: true });
    profileFile = join(options.cpuProfDir, `bench-timers-${options.engine}-${process.pid}.cpuprofile`);
    writeFileSync(profileFile, JSON.stringify(data));
    log(`  CPU profile from T0 − 1 s until the last timer fired: ${profileFile}`);
  }

  await scheduler.stop();
  let once = 0;
  let twice = 0;
  let never = 0;
  let lastFire = 0;
  let firstFire = Infinity;
  let lastDue = 0;
  for (let i = 0; i < options.due; i++) {
    const c = fireCount[i]!;
    if (c === 1) once++;
    else if (c === 0) never++;
    else twice++;
    if (firedAt[i]! > lastFire) lastFire = firedAt[i]!;
    if (c > 0 && firedAt[i]! < firstFire) firstFire = firedAt[i]!;
    if (t0 + offsets[i]! > lastDue) lastDue = t0 + offsets[i]!;
  }
  const firedOnce = once === options.due && strayFires === 0 && leftPending === options.pending;
  const firedOnceDetail = `${once} once, ${twice} more than once, ${never} never, ${strayFires} far-future fired, ${leftPending} left (expected ${options.pending})`;

  return {
    engine: storage.engine,
    where: db.where,
    pending: options.pending,
    insertMs,
    dbMB,
    memStart,
    memBefore,
    memAfter,
    memPeakB,
    due: options.due,
    calibration: { perSec, leadMs },
    warmup: options.warmup,
    cpuInBurstMs,
    loadavg: { before: loadBefore, during: loadDuring },
    deletedAfterT0Ms,
    scheduleMs,
    storedBeforeT0Ms,
    lateness: percentiles(lateness),
    firstFireAfterT0Ms: firstFire - t0,
    allFiredAfterT0Ms: lastFire - t0,
    allFiredAfterLastDueMs: lastFire - lastDue,
    firedOnce,
    firedOnceDetail,
    leftPending,
    handlerErrors,
    profile: profileFile,
  };
}

// ── part c: SMS ──────────────────────────────────────────────────────────────

interface SmscChild {
  port: number;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** The SMSC in its own process: this file with --smsc-child. */
async function startSmscChild(cleanup: Cleanup): Promise<SmscChild> {
  const self = fileURLToPath(import.meta.url);
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', self, '--smsc-child'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const killOnExit = () => proc.kill('SIGKILL');
  process.on('exit', killOnExit);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const tail: string[] = [];
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    process.off('exit', killOnExit);
  };
  cleanup.add('stop SMSC child', stop);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`SMSC child not ready in 30 s\n${tail.join('\n')}`)), 30_000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`SMSC child exited (code ${code}, signal ${signal})\n${tail.join('\n')}`));
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const m = new RegExp(`^${SMSC_READY} (\\d+)$`).exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const pid = proc.pid!;
  return { port, cpuSeconds: () => processCpuSeconds(pid), stop };
}

/** utime+stime of a process in seconds, from /proc (Linux; NaN elsewhere). */
function processCpuSeconds(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

async function smscChildMain(): Promise<void> {
  const smsc = await new TestSmsc('parley', 'secret').start();
  const quit = async () => {
    await Promise.race([smsc.stop(), sleep(2_000)]);
    process.exit(0);
  };
  // The parent holds our stdin; when it goes away, so do we.
  process.stdin.once('end', () => void quit());
  process.stdin.once('error', () => void quit());
  process.stdin.resume();
  process.on('SIGTERM', () => void quit());
  // Keep the recorded submits from growing without bound over many rounds.
  smsc.on('change', () => {
    if (smsc.received.length > 10_000) smsc.received.length = 0;
    if (smsc.stored.length > 10_000) smsc.stored.length = 0;
  });
  console.log(`${SMSC_READY} ${smsc.port}`);
}

/** Fallback-like one-part GSM-7 texts ("content truncated and labelled", with the sender's name). */
function smsMessages(n: number): { to: string; text: string }[] {
  const out: { to: string; text: string }[] = [];
  for (let i = 0; i < n; i++) {
    const text = `Parley: Alice Example (urgent, unread 5 min): "Please call me back about delivery #${i}, the driver is wai..." Open Parley to reply.`;
    if (segment(text).parts.length !== 1) throw new Error('bench SMS text must fit one part');
    out.push({ to: `+4915${String(10_000_000 + i).slice(1)}`, text });
  }
  return out;
}

interface SmsRun {
  perSec: number;
  ms: number;
  clientCpuUsPerMsg: number;
  smscCpuPct: number;
}

function measureWith(smsc: SmscChild, run: () => Promise<void>, n: number): Promise<SmsRun> {
  return (async () => {
    const cpu0 = process.cpuUsage();
    const smsc0 = smsc.cpuSeconds();
    const t0 = performance.now();
    await run();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const smscS = smsc.cpuSeconds() - smsc0;
    return { perSec: (n / ms) * 1000, ms, clientCpuUsPerMsg: (cpu.user + cpu.system) / n, smscCpuPct: (100 * smscS) / (ms / 1000) };
  })();
}

/** Baseline: the `smpp` package as a bare client, one bind, at most `window` submit_sm outstanding. */
async function rawSmpp(port: number, messages: { to: string; text: string }[], window: number, smsc: SmscChild): Promise<SmsRun> {
  const session = smpp.connect({ host: '127.0.0.1', port });
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('error', reject);
      session.on('connect', () =>
        session.bind_transceiver({ system_id: 'parley', password: 'secret', interface_version: 0x34 }, (pdu) =>
          pdu.command_status === 0 ? resolve() : reject(new Error(`raw bind refused: ${pdu.command_status}`)),
        ),
      );
    });
    session.on('deliver_sm', (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on('enquire_link', (pdu: smpp.PDU) => session.send(pdu.response()));
    return await measureWith(
      smsc,
      () =>
        new Promise<void>((resolve, reject) => {
          let next = 0;
          let acked = 0;
          let inflight = 0;
          const pump = () => {
            while (inflight < window && next < messages.length) {
              const m = messages[next++]!;
              inflight++;
              session.submit_sm(
                {
                  source_addr_ton: 5,
                  source_addr_npi: 0,
                  source_addr: 'Parley',
                  dest_addr_ton: 1,
                  dest_addr_npi: 1,
                  destination_addr: m.to.slice(1),
                  registered_delivery: 1,
                  short_message: m.text,
                },
                (resp) => {
                  inflight--;
                  if (resp.command_status !== 0) return reject(new Error(`raw submit_sm refused: ${resp.command_status}`));
                  if (++acked === messages.length) resolve();
                  else pump();
                },
              );
            }
          };
          session.once('close', () => reject(new Error('raw session closed')));
          pump();
        }),
      messages.length,
    );
  } finally {
    await new Promise<void>((resolve) => {
      if (session.socket.destroyed) return resolve();
      session.socket.once('close', () => resolve());
      session.destroy();
    });
  }
}

/** The product path: SmppSmsChannel.send() for every message at once (a fallback burst), window `window`. */
async function channelSmpp(port: number, messages: { to: string; text: string }[], window: number, smsc: SmscChild): Promise<SmsRun> {
  const channel = new SmppSmsChannel({ url: `smpp://parley:secret@127.0.0.1:${port}`, sourceAddr: 'Parley', window }, systemClock);
  try {
    await channel.ready();
    return await measureWith(
      smsc,
      async () => {
        const results = await Promise.all(messages.map((m) => channel.send({ to: m.to, text: m.text, purpose: 'fallback' })));
        if (results.some((r) => !r.id)) throw new Error('channel send without SMSC id');
      },
      messages.length,
    );
  } finally {
    await channel.close();
  }
}

interface SmsResult {
  n: number;
  window: number;
  rounds: number;
  raw: SmsRun;
  channel: SmsRun;
  ratio: number;
  rawRuns: number[];
  channelRuns: number[];
}

async function runSms(options: Options, cleanup: Cleanup): Promise<SmsResult> {
  const smsc = await startSmscChild(cleanup);
  const messages = smsMessages(options.sms);
  log(`part c: ${options.sms} SMS per run, window ${options.smsWindow}, SMSC child on 127.0.0.1:${smsc.port}`);
  const warm = messages.slice(0, Math.min(messages.length, 1_000));
  await rawSmpp(smsc.port, warm, options.smsWindow, smsc);
  await channelSmpp(smsc.port, warm, options.smsWindow, smsc);
  const raws: SmsRun[] = [];
  const channels: SmsRun[] = [];
  for (let r = 0; r < options.smsRounds; r++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    if (r % 2 === 0) {
      raws.push(await rawSmpp(smsc.port, messages, options.smsWindow, smsc));
      channels.push(await channelSmpp(smsc.port, messages, options.smsWindow, smsc));
    } else {
      channels.push(await channelSmpp(smsc.port, messages, options.smsWindow, smsc));
      raws.push(await rawSmpp(smsc.port, messages, options.smsWindow, smsc));
    }
    log(`  round ${r + 1}: raw ${Math.round(raws.at(-1)!.perSec)}/s, channel ${Math.round(channels.at(-1)!.perSec)}/s`);
  }
  await smsc.stop();
  const median = (runs: SmsRun[]) => [...runs].sort((a, b) => a.perSec - b.perSec)[Math.floor((runs.length - 1) / 2)]!;
  const raw = median(raws);
  const channel = median(channels);
  return {
    n: options.sms,
    window: options.smsWindow,
    rounds: options.smsRounds,
    raw,
    channel,
    ratio: channel.perSec / raw.perSec,
    rawRuns: raws.map((r) => Math.round(r.perSec)),
    channelRuns: channels.map((r) => Math.round(r.perSec)),
  };
}

// ── report ───────────────────────────────────────────────────────────────────

function report(options: Options, s: SchedulerResult | undefined, sms: SmsResult | undefined): void {
  const ok = (met: boolean) => (met ? 'met' : 'MISSED');
  const n = (x: number) => x.toLocaleString('en');
  const rows: [string, string][] = [];
  if (s) {
    rows.push(
      ['engine', `${s.engine} (${s.where})`],
      ['— a. pending timers', ''],
      ['pending timers', `${n(s.pending)} (stored in ${round(s.insertMs / 1000)} s by multi-row INSERTs; ${s.engine === 'sqlite' ? 'database file' : 'timers table'} ${round(s.dbMB)} MB)`],
      ['memory at process start', `RSS ${round(s.memStart.rssMB)} MB, heap used ${round(s.memStart.heapMB)} MB`],
      ['memory before scheduler', `RSS ${round(s.memBefore.rssMB)} MB, heap used ${round(s.memBefore.heapMB)} MB`],
      ['memory, scheduler running', `RSS ${round(s.memAfter.rssMB)} MB, heap used ${round(s.memAfter.heapMB)} MB   goal < ${GOALS.rssMB} MB: ${ok(s.memAfter.rssMB < GOALS.rssMB)}`],
      ['memory peak during b', `RSS ${round(s.memPeakB.rssMB)} MB, heap used ${round(s.memPeakB.heapMB)} MB`],
      ['— b. burst', ''],
      ['due within one second', `${n(s.due)} via Scheduler.schedule() (500 per transaction), ${round(s.scheduleMs / 1000)} s, done ${n(s.storedBeforeT0Ms)} ms before T0`],
      ['lateness p50 / p99 / max', `${round(s.lateness.p50)} / ${round(s.lateness.p99)} / ${round(s.lateness.max)} ms (mean ${round(s.lateness.mean)})   goal p99 < ${GOALS.latenessP99Ms} ms: ${ok(s.lateness.p99 < GOALS.latenessP99Ms)}`],
      ['all fired', `${round(s.allFiredAfterT0Ms)} ms after T0 (${round(s.allFiredAfterLastDueMs)} ms after the last due time); first ${round(s.firstFireAfterT0Ms)} ms after T0`],
      ['fired exactly once', `${s.firedOnce} (${s.firedOnceDetail}; fired rows deleted ${round(s.deletedAfterT0Ms / 1000)} s after T0)`],
      ['warm-up', s.warmup > 0 ? `${n(s.warmup)} timers fired 3 s before T0` : 'none (cold start)'],
      ['CPU in the burst second', `${Math.round(s.cpuInBurstMs)} ms of this process; load average ${round(s.loadavg.before)} before, ${round(s.loadavg.during)} during (${availableParallelism()} cores)`],
      ['handler/claim errors', String(s.handlerErrors)],
    );
    if (s.profile) rows.push(['CPU profile (part b)', s.profile]);
  }
  if (sms) {
    rows.push(
      ['— c. fallback SMS', ''],
      ['messages, window, rounds', `${n(sms.n)} one-part GSM-7, window ${sms.window}, ${sms.rounds} rounds (median reported)`],
      ['raw smpp client', `${Math.round(sms.raw.perSec)} msgs/s  (runs ${sms.rawRuns.join(', ')}; ${round(sms.raw.clientCpuUsPerMsg)} µs client CPU/msg; SMSC CPU ${Math.round(sms.raw.smscCpuPct)}%)`],
      ['SmppSmsChannel.send()', `${Math.round(sms.channel.perSec)} msgs/s  (runs ${sms.channelRuns.join(', ')}; ${round(sms.channel.clientCpuUsPerMsg)} µs client CPU/msg; SMSC CPU ${Math.round(sms.channel.smscCpuPct)}%)`],
      ['ratio channel/raw', `${round(sms.ratio)}   goal ≥ ${GOALS.smsRatio}: ${ok(sms.ratio >= GOALS.smsRatio)}`],
    );
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nbench:timers${options.quick ? ' (quick)' : ''}`);
  for (const [k, v] of rows) console.log(v === '' ? k : `  ${k.padEnd(width)}  ${v}`);
  console.log('');
  console.log(
    JSON.stringify({
      bench: 'timers',
      engine: s?.engine ?? options.engine,
      pending: s ? s.pending : null,
      rssMB: s ? round(s.memAfter.rssMB) : null,
      heapMB: s ? round(s.memAfter.heapMB) : null,
      due: s ? s.due : null,
      latenessMs: s ? { p50: round(s.lateness.p50), p99: round(s.lateness.p99), max: round(s.lateness.max) } : null,
      firedOnce: s ? s.firedOnce : null,
      sms: sms ? { channelPerSec: Math.round(sms.channel.perSec), rawPerSec: Math.round(sms.raw.perSec), ratio: round(sms.ratio) } : null,
      allFiredAfterT0Ms: s ? round(s.allFiredAfterT0Ms) : null,
      peakRssMB: s ? round(s.memPeakB.rssMB) : null,
      quick: options.quick,
    }),
  );
}

// ── main ─────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  if (process.argv.includes('--smsc-child')) return smscChildMain();

  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? `${(err as Error).message}\n${USAGE}` : err);
    process.exit(2);
  }
  const memStart = memory();
  const cleanup = new Cleanup();
  const bail = (code: number, why: string) => {
    log(why);
    void cleanup.run().finally(() => process.exit(code));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => bail(130, `${signal}: cleaning up`));
  // Everything stops by itself, even if something hangs.
  const watchdogMs = options.quick ? 120_000 : Math.max(900_000, options.pending / 100 + options.due * 5);
  setTimeout(() => bail(1, `watchdog: still running after ${watchdogMs / 1000} s, giving up`), watchdogMs).unref();

  try {
    const s = options.only === 'sms' ? undefined : await runScheduler(options, cleanup, memStart);
    await cleanup.run(); // database closed and removed before the SMS part
    const sms = options.only === 'timers' ? undefined : await runSms(options, cleanup);
    report(options, s, sms);
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
  process.exit();
}

await main();
