/**
 * npm run bench:orders [-- --users 16 --seconds 10 --engine sqlite|postgres --quick]
 *
 * Issue 8's benchmark. Parley (`parley serve`, SMS to the outbox channel) runs as a child process;
 * this process is the load generator: --users users over HTTP (keep-alive), closed loop (each user
 * sends its next request when the previous one is answered), --seconds per phase, in one run:
 *
 *  1. baseline — plain messages from each user to a person: POST → stored. The core messaging send rate.
 *  2. frictionless — POST /v1/orders for a high-credit provider's service → the placed order.
 *  3. verified — POST /v1/orders for a medium-credit provider's service with channel sms → the
 *     code goes out on the outbox SMS channel → the harness reads it there (one poller reading
 *     GET /v1/outbox as the administrator for all users) → POST /v1/orders/:id/confirm → placed.
 *     Latency is the whole of it, the poller's wait included; the two HTTP calls are also shown alone.
 *
 * Reported: orders/s and p50/p99 per path, and ratio = orders/s ÷ plain messages/s of the same run.
 * Progress goes to stderr; a table and, as the last line, one JSON object go to stdout.
 */
import http from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { OrdersApi, type OutboxItem } from '../sdk/index.js';
import { createNodeClient, type ParleyClient } from '../sdk/node.js';
import { keepAliveFetch } from './lib/http-fetch.js';
import { forEachLimited } from './lib/pool.js';
import { startScratchServer, type Cleanups } from './lib/scratch-server.js';
import { round, summarise, type LatencySummary } from './lib/stats.js';

const PASSWORD = 'bench-password';
const { values: args } = parseArgs({
  options: {
    users: { type: 'string' },
    seconds: { type: 'string' },
    engine: { type: 'string', default: 'sqlite' },
    'postgres-url': { type: 'string', default: process.env.PARLEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    quick: { type: 'boolean', default: false },
  },
});
const options = {
  users: Number(args.users ?? (args.quick ? 8 : 16)),
  seconds: Number(args.seconds ?? (args.quick ? 3 : 10)),
  engine: args.engine === 'postgres' ? ('postgres' as const) : ('sqlite' as const),
};
const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);

interface User {
  client: ParleyClient;
  orders: OrdersApi;
  phone: string;
  toPeer: string;
}

interface PhaseResult {
  name: string;
  done: number;
  errors: number;
  perSec: number;
  latency: LatencySummary;
  /** Verified path: the order request and the confirmation alone, without waiting for the code. */
  http?: LatencySummary;
}


/**
 * Reads codes from the outbox SMS channel for everyone: one administrator poll serves all waiting
 * users, so reading codes costs the server one request per round, not one per user.
 */
class OutboxCodes {
  private readonly waiting = new Map<string, (code: string) => void>();
  private readonly seen = new Set<string>();
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly admin: ParleyClient) {
    this.loop = this.poll();
  }

  /** The next code sent to `phone` (each user has its own number; codes taken once are skipped). */
  next(phone: string): Promise<string> {
    return new Promise((resolve) => this.waiting.set(phone, resolve));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async poll(): Promise<void> {
    while (this.running) {
      if (this.waiting.size === 0) {
        await sleep(2);
        continue;
      }
      const items = await this.admin.request<{ items: OutboxItem[] }>('GET', '/v1/outbox', undefined, { channel: 'sms', limit: 500 });
      for (const item of items.items.reverse()) {
        if (this.seen.has(item.id)) continue;
        const waiter = this.waiting.get(item.recipient);
        const code = /(?:code is )(\d{6})/.exec(item.body)?.[1];
        if (!waiter || !code) continue;
        this.seen.add(item.id);
        this.waiting.delete(item.recipient);
        waiter(code);
      }
      await sleep(5);
    }
  }
}

/** Each user runs `work` back to back for the phase's length; latencies from its start to its end. */
async function phase(name: string, users: User[], work: (user: User, i: number) => Promise<number | void>): Promise<PhaseResult> {
  const samples: number[] = [];
  const httpSamples: number[] = [];
  let errors = 0;
  const end = performance.now() + options.seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    users.map(async (user, u) => {
      for (let i = 0; performance.now() < end; i++) {
        const start = performance.now();
        try {
          const httpMs = await work(user, u * 1_000_000 + i);
          samples.push(performance.now() - start);
          if (typeof httpMs === 'number') httpSamples.push(httpMs);
        } catch (err) {
          errors++;
          if (errors <= 3) log(`${name}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const result: PhaseResult = { name, done: samples.length, errors, perSec: samples.length / elapsed, latency: summarise(samples) };
  if (httpSamples.length) result.http = summarise(httpSamples);
  log(`${name}: ${samples.length} in ${elapsed.toFixed(1)} s = ${result.perSec.toFixed(0)}/s, p50 ${round(result.latency.p50)} ms, p99 ${round(result.latency.p99)} ms, ${errors} errors`);
  return result;
}

async function main(): Promise<void> {
  const cleanups: Cleanups = [];
  try {
    const server = await startScratchServer(cleanups, { prefix: 'parley-bench-orders-', engine: options.engine, postgresUrl: args['postgres-url']!, settings: { PARLEY_ECHO_SERVICE: 'false' } });
    log(`Parley (${options.engine}) at ${server.url}; registering ${options.users} users with verified phones`);

    const login = async (handle: string, register = true) => {
      const client = createNodeClient({ baseUrl: server.url, fetch: keepAliveFetch(new http.Agent({ keepAlive: true, maxSockets: 4 })) });
      if (register) await client.register({ handle, displayName: handle, password: PASSWORD });
      await client.login(handle, PASSWORD);
      return client;
    };
    const admin = await login('benchadmin');
    await login('benchpeer');
    const codes = new OutboxCodes(admin);
    cleanups.unshift(() => codes.stop());
    const provider = async (handle: string, adjustment: number, code: string) => {
      await admin.request('POST', '/v1/accounts', { handle, displayName: handle, password: PASSWORD, kind: 'provider' });
      await new OrdersApi(admin).adjust(handle, { adjustment, reason: 'benchmark' });
      await new OrdersApi(await login(handle, false)).publish({ code, name: code, price: 199, period: 'once' });
    };
    // High stays high whatever its record; medium stays medium (its score can only reach 30 + 25).
    await provider('benchhigh', 100, 'FAST');
    await provider('benchmedium', -20, 'SURE');

    const users: User[] = [];
    await forEachLimited(
      Array.from({ length: options.users }, (_, i) => i),
      4,
      async (i) => {
        const client = await login(`benchuser${i}`);
        const phone = `+4915112${String(340000 + i).padStart(6, '0')}`;
        const code = codes.next(phone);
        await client.bindPhone(phone);
        await client.verifyPhone(await code);
        users.push({ client, orders: new OrdersApi(client), phone, toPeer: (await client.openDirect('benchpeer')).id });
      },
    );

    const load = loadavg();
    const baseline = await phase('baseline: plain messages', users, async (u, i) => {
      await u.client.send(u.toPeer, { text: `bench message ${i}`, clientId: `m-${i}` });
    });
    await sleep(500);
    const frictionless = await phase('frictionless orders', users, async (u, i) => {
      const result = await u.orders.order({ service: 'FAST', clientId: `f-${i}` });
      if (result.interaction !== 'ordered') throw new Error(`expected ordered, got ${result.interaction}`);
    });
    await sleep(500);
    const verified = await phase('verified orders', users, async (u, i) => {
      const codeArrives = codes.next(u.phone);
      const t0 = performance.now();
      const { order, interaction } = await u.orders.order({ service: 'SURE', channel: 'sms', clientId: `v-${i}` });
      const requestMs = performance.now() - t0;
      if (interaction !== 'verification') throw new Error(`expected verification, got ${interaction}`);
      const code = await codeArrives;
      const t1 = performance.now();
      const placed = await u.orders.confirm(order.id, code);
      if (placed.status !== 'completed') throw new Error(`expected completed, got ${placed.status}`);
      return requestMs + (performance.now() - t1);
    });
    const loadAfter = loadavg();

    const ratio = (r: PhaseResult) => round(r.perSec / baseline.perSec);
    const row = (r: PhaseResult) =>
      `${r.name.padEnd(26)} ${r.perSec.toFixed(0).padStart(8)} ${round(r.latency.p50).toString().padStart(8)} ${round(r.latency.p99).toString().padStart(8)} ${round(r.latency.max).toString().padStart(8)} ${String(r.errors).padStart(6)} ${r === baseline ? '' : String(ratio(r)).padStart(6)}`;
    console.log(
      [
        `Orders benchmark — ${options.engine}; ${options.users} users over HTTP, closed loop, ${options.seconds} s per phase; SMS to the outbox channel; ${availableParallelism()} cores; load average ${load.map((l) => l.toFixed(2)).join(' ')} → ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
        '',
        `${'phase'.padEnd(26)} ${'per s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'errors'.padStart(6)} ${'ratio'.padStart(6)}`,
        row(baseline),
        row(frictionless),
        row(verified),
        '',
        `verified: the two HTTP calls alone (order request + confirmation) p50 ${round(verified.http?.p50 ?? NaN)} ms, p99 ${round(verified.http?.p99 ?? NaN)} ms; the rest is the code's way through the outbox and the harness's poll`,
      ].join('\n'),
    );
    console.log(
      JSON.stringify({
        engine: options.engine,
        users: options.users,
        seconds: options.seconds,
        loadavg: load,
        messagesPerSec: round(baseline.perSec),
        messageP99: round(baseline.latency.p99),
        frictionlessPerSec: round(frictionless.perSec),
        frictionlessP99: round(frictionless.latency.p99),
        frictionlessRatio: ratio(frictionless),
        verifiedPerSec: round(verified.perSec),
        verifiedP99: round(verified.latency.p99),
        verifiedHttpP99: round(verified.http?.p99 ?? NaN),
        verifiedRatio: ratio(verified),
        errors: baseline.errors + frictionless.errors + verified.errors,
      }),
    );
  } catch (err) {
    console.error(`[bench] failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err: Error) => log(`cleanup failed: ${err.message}`));
  }
  process.exit();
}

await main();
