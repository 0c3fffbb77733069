/**
 * npm run bench:tasks [-- --users 100 --workers 4 --concurrency 100 --work-ms 200 --step 4
 *                        --start 50 --factor 1.25 --attempts 3 --max-rate 5000 --engine sqlite|postgres --quick]
 *
 * Issue 6's benchmark: how many requests per second a service account takes while every one is
 * acknowledged at once. Parley (`parley serve`) and the service's workers (bench/task-workers.ts:
 * WebSocket workers, each request taking --work-ms) run as child processes; this process is the
 * load generator, with --users users, each on its own stream socket.
 *
 * Two ramps of the same shape, interleaved (at each rate one, then the other, so both see the same
 * machine), open loop (each send at a fixed instant; latency counts from that instant, so a late
 * send counts against the server), --step seconds per rate, the rate growing by --factor from
 * --start until a step has a miss (an answer later than the set time, or none):
 *  1. baseline — plain messages from the users to a person; latency = send → the server's answer
 *     (the message stored). The core messaging send rate.
 *  2. requests — the same messages into the users' chats with a service (handler: workers);
 *     latency = send → `task.ack` on the user's stream. A miss is a request not acknowledged
 *     within the set time (5 s), or answered with task.failed.
 * A step meets the goal when its p99 is under 50 ms and it has no miss; a near miss (p99 under
 * 200 ms) is tried up to --attempts (3) times, since on a shared machine one try may meet another
 * process's burst. Reported: the highest rate meeting the goal in each ramp and ratio = requests /
 * plain messages; the highest rate with no miss in each ramp (and its ratio); where
 * acknowledgements started to miss the set time; the second replies' latency (send → the worker's
 * reply on the user's stream), which shows whether the workers kept up.
 * Progress goes to stderr; a table and, as the last line, one JSON object go to stdout.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createNodeClient, type EventData, type ParleyClient, type StreamEvent } from '../sdk/node.js';
import type { ParleyStream } from '../sdk/stream.js';
import { childEnv, startChild } from './lib/children.js';
import { startScratchServer, type Cleanups } from './lib/scratch-server.js';
import { forEachLimited } from './lib/pool.js';
import { round, summarise, type LatencySummary } from './lib/stats.js';

const GOAL_P99_MS = 50;
const SET_TIME_MS = 5000;
const PASSWORD = 'bench-password';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string' },
    workers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '100' },
    'work-ms': { type: 'string', default: '200' },
    step: { type: 'string' },
    start: { type: 'string', default: '50' },
    attempts: { type: 'string', default: '3' },
    factor: { type: 'string', default: '1.25' },
    'max-rate': { type: 'string', default: '5000' },
    engine: { type: 'string', default: 'sqlite' },
    'postgres-url': { type: 'string', default: process.env.PARLEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    quick: { type: 'boolean', default: false },
  },
});
const options = {
  users: Number(args.users ?? (args.quick ? 20 : 100)),
  workers: Number(args.workers),
  concurrency: Number(args.concurrency),
  workMs: Number(args['work-ms']),
  stepS: Number(args.step ?? (args.quick ? 2 : 4)),
  start: Number(args.start),
  attempts: Number(args.attempts),
  factor: Number(args.factor),
  maxRate: Number(args['max-rate']),
  engine: args.engine === 'postgres' ? ('postgres' as const) : ('sqlite' as const),
};
const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);

interface StepResult {
  rate: number;
  sent: number;
  /** Sends that left later than 5 ms after their instant: the load generator fell behind. */
  lateSends: number;
  latency: LatencySummary;
  misses: number;
  /** Requests only: send → the worker's reply on the user's stream. */
  answer?: LatencySummary;
  unanswered?: number;
  meetsGoal: boolean;
  /** Tries this rate took (see ramp). */
  attempts?: number;
}

interface User {
  client: ParleyClient;
  stream: ParleyStream;
  toPeer: string;
  toService: string;
}

/** One request or message on its way, by client id. */
interface Flight {
  t0: number;
  done: boolean;
  latency?: number;
  missed?: boolean;
  requestId?: string;
  answeredIn?: number;
}


const flights = new Map<string, Flight>();
const byRequest = new Map<string, Flight>();

function listen(user: User): void {
  user.stream.on('event', (event: StreamEvent) => {
    const now = performance.now();
    if (event.type === 'task.ack' || event.type === 'task.failed') {
      const data = event.data as EventData['task.ack'];
      const flight = data.clientId ? flights.get(data.clientId) : undefined;
      if (!flight || flight.done) return;
      flight.done = true;
      flight.latency = now - flight.t0;
      flight.missed = event.type === 'task.failed' || flight.latency > SET_TIME_MS;
      flight.requestId = data.requestId;
      byRequest.set(data.requestId, flight);
    } else if (event.type === 'message.new') {
      const { message } = event.data as EventData['message.new'];
      const flight = message.content ? byRequest.get(message.content.requestId) : undefined;
      if (flight && flight.answeredIn === undefined) flight.answeredIn = now - flight.t0;
    }
  });
}

/** Sends at `rate` per second for the step's length, round robin over the users; then waits for the answers. */
async function step(users: User[], rate: number, kind: 'message' | 'request', tag: string): Promise<StepResult> {
  const count = Math.max(1, Math.round(rate * options.stepS));
  const mine: Flight[] = [];
  let lateSends = 0;
  const started = performance.now() + 20;
  for (let i = 0; i < count; i++) {
    const at = started + (i * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 1) await sleep(wait);
    if (performance.now() - at > 5) lateSends++;
    const user = users[i % users.length]!;
    const clientId = `${tag}-${i}`;
    const flight: Flight = { t0: at, done: false };
    flights.set(clientId, flight);
    mine.push(flight);
    const sent = user.stream.send(kind === 'message' ? user.toPeer : user.toService, { text: `${tag} ${i}`, clientId });
    sent.then(
      () => {
        if (kind !== 'message' || flight.done) return;
        flight.done = true;
        flight.latency = performance.now() - flight.t0;
        flight.missed = flight.latency > SET_TIME_MS;
      },
      () => {
        flight.done = true;
        flight.missed = true;
      },
    );
  }
  // Every acknowledgement is due within the set time of its send.
  const deadline = performance.now() + SET_TIME_MS + 1000;
  while (mine.some((f) => !f.done) && performance.now() < deadline) await sleep(50);
  if (kind === 'request') {
    const answerDeadline = performance.now() + 10_000;
    while (mine.some((f) => f.done && !f.missed && f.answeredIn === undefined) && performance.now() < answerDeadline) await sleep(50);
  }
  for (let i = 0; i < count; i++) flights.delete(`${tag}-${i}`);
  for (const f of mine) if (f.requestId) byRequest.delete(f.requestId);
  const latency = summarise(mine.filter((f) => f.latency !== undefined).map((f) => f.latency!));
  const misses = mine.filter((f) => !f.done || f.missed).length;
  const result: StepResult = { rate, sent: count, lateSends, latency, misses, meetsGoal: misses === 0 && latency.p99 < GOAL_P99_MS };
  if (kind === 'request') {
    result.answer = summarise(mine.filter((f) => f.answeredIn !== undefined).map((f) => f.answeredIn!));
    result.unanswered = mine.filter((f) => f.done && !f.missed && f.answeredIn === undefined).length;
  }
  return result;
}

let tag = 0;
/**
 * One rate of one kind. A near miss of the goal is tried again, up to --attempts times, keeping the
 * first try that meets it (else the best): on a machine shared with other work one try may meet
 * another process's burst; far beyond the goal another try would not meet it.
 */
async function measure(users: User[], rate: number, kind: 'message' | 'request'): Promise<StepResult> {
  let r = await step(users, rate, kind, `${kind[0]}${tag++}`);
  r.attempts = 1;
  for (let attempt = 2; attempt <= options.attempts && !r.meetsGoal && r.misses === 0 && r.latency.p99 < 4 * GOAL_P99_MS; attempt++) {
    await sleep(500);
    const tried = await step(users, rate, kind, `${kind[0]}${tag++}`);
    tried.attempts = attempt;
    if (tried.meetsGoal || (tried.misses <= r.misses && tried.latency.p99 < r.latency.p99)) r = tried;
  }
  log(
    `${kind} ${rate}/s: p50 ${round(r.latency.p50)} ms, p99 ${round(r.latency.p99)} ms, max ${round(r.latency.max)} ms, misses ${r.misses}${r.answer ? `, answer p50 ${round(r.answer.p50)} ms p99 ${round(r.answer.p99)} ms, unanswered ${r.unanswered}` : ''}${r.lateSends ? `, ${r.lateSends} late sends` : ''} ${r.meetsGoal ? '✓' : '✗'} (try ${r.attempts})`,
  );
  // Let the queue and the workers settle before the next step.
  await sleep(500);
  return r;
}

/**
 * Both ramps together: at each rate plain messages, then requests, so the baseline is measured
 * under the same conditions as what it is compared with. Each kind's ramp ends at its first miss.
 */
async function ramps(users: User[]): Promise<{ baseline: StepResult[]; requests: StepResult[] }> {
  const baseline: StepResult[] = [];
  const requests: StepResult[] = [];
  const ended = (list: StepResult[]) => (list.at(-1)?.misses ?? 0) > 0;
  for (let rate = options.start; rate <= options.maxRate && !(ended(baseline) && ended(requests)); rate = Math.round(rate * options.factor)) {
    if (!ended(baseline)) baseline.push(await measure(users, rate, 'message'));
    if (!ended(requests)) requests.push(await measure(users, rate, 'request'));
  }
  return { baseline, requests };
}

const best = (results: StepResult[]) => results.filter((r) => r.meetsGoal).reduce((m, r) => Math.max(m, r.rate), 0);
/** The highest rate whose every send was answered within the set time, whatever the p99. */
const sustained = (results: StepResult[]) => results.filter((r) => r.misses === 0).reduce((m, r) => Math.max(m, r.rate), 0);

async function main(): Promise<void> {
  const cleanups: Cleanups = [];
  try {
    const server = await startScratchServer(cleanups, { prefix: 'parley-bench-tasks-', engine: options.engine, postgresUrl: args['postgres-url']!, settings: { PARLEY_ECHO_SERVICE: 'false' } });
    log(`Parley (${options.engine}) at ${server.url}; registering ${options.users} users`);

    const register = async (handle: string) => {
      const client = createNodeClient({ baseUrl: server.url });
      await client.register({ handle, displayName: handle, password: PASSWORD });
      await client.login(handle, PASSWORD);
      return client;
    };
    const admin = await register('benchadmin');
    await register('benchpeer');
    const created = await admin.createService({ handle: 'benchsvc', displayName: 'Bench service', handler: { type: 'workers' }, ackDeadline: SET_TIME_MS, ratePerMinute: 1_000_000, maxQueue: 1_000_000 });
    const users: User[] = [];
    await forEachLimited(
      Array.from({ length: options.users }, (_, i) => i),
      4,
      async (i) => {
        const client = await register(`benchuser${i}`);
        const [peer, service] = await Promise.all([client.openDirect('benchpeer'), client.openDirect(created.service.id)]);
        // Sending and watching only: the devices' delivery acknowledgements are the messaging benchmark's business.
        const stream = client.stream({ autoAck: false });
        await stream.waitForState('open', 30_000);
        const user = { client, stream, toPeer: peer.id, toService: service.id };
        listen(user);
        users.push(user);
      },
    );
    const workers = await startChild({
      name: 'workers',
      script: 'bench/task-workers.ts',
      args: ['--url', server.url, '--token', created.token, '--workers', String(options.workers), '--concurrency', String(options.concurrency), '--work-ms', String(options.workMs)],
      env: childEnv({}),
      readyUrl: (line) => (line.includes('"ready":true') ? 'ready' : undefined),
      readyTimeoutMs: 30_000,
    });
    cleanups.unshift(() => workers.stop());
    log(`${options.workers} workers × ${options.concurrency} in flight, ${options.workMs} ms per request (capacity ${Math.round((options.workers * options.concurrency * 1000) / options.workMs)} requests/s)`);

    const load = loadavg();
    const { baseline, requests } = await ramps(users);
    const loadAfter = loadavg();

    const baselineRate = best(baseline);
    const requestRate = best(requests);
    const missedAt = requests.find((r) => r.misses > 0)?.rate ?? null;
    const sustainedRequests = sustained(requests);
    const sustainedMessages = sustained(baseline);
    const atBest = requests.find((r) => r.rate === requestRate);
    const ratio = baselineRate > 0 ? requestRate / baselineRate : NaN;
    const workerCapacity = (options.workers * options.concurrency * 1000) / options.workMs;

    const row = (r: StepResult) =>
      `${String(r.rate).padStart(7)} ${String(r.sent).padStart(6)} ${round(r.latency.p50).toString().padStart(8)} ${round(r.latency.p99).toString().padStart(8)} ${round(r.latency.max).toString().padStart(8)} ${String(r.misses).padStart(6)} ${r.answer ? `${round(r.answer.p50).toString().padStart(9)} ${round(r.answer.p99).toString().padStart(9)}` : ''.padStart(19)} ${r.meetsGoal ? 'yes' : 'no'} ${r.attempts}`;
    const header = `${'rate/s'.padStart(7)} ${'sent'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'misses'.padStart(6)} ${'answer50'.padStart(9)} ${'answer99'.padStart(9)} goal tries`;
    console.log(
      [
        `Service requests benchmark — ${options.engine}; ${options.users} users on stream sockets; ${options.workers} WebSocket workers × ${options.concurrency}, ${options.workMs} ms per request; ${options.stepS} s per step; set time ${SET_TIME_MS} ms; ${availableParallelism()} cores; load average ${load.map((l) => l.toFixed(2)).join(' ')} → ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
        '',
        'baseline: plain messages to a person (latency: send → stored)',
        header,
        ...baseline.map(row),
        '',
        'service requests (latency: send → task.ack; answer: send → the worker\'s reply)',
        header,
        ...requests.map(row),
        '',
        `highest rate with p99 < ${GOAL_P99_MS} ms and no miss: requests ${requestRate}/s, plain messages ${baselineRate}/s, ratio ${round(ratio)}`,
        `highest rate with every answer within the set time: requests ${sustainedRequests}/s, plain messages ${sustainedMessages}/s, ratio ${round(sustainedRequests / sustainedMessages)}`,
        `acknowledgements past the set time from: ${missedAt === null ? 'not reached' : `${missedAt}/s`}; worker capacity ${Math.round(workerCapacity)}/s${atBest?.answer ? `; at ${requestRate}/s answers p99 ${round(atBest.answer.p99)} ms (work ${options.workMs} ms)` : ''}`,
      ].join('\n'),
    );
    console.log(
      JSON.stringify({
        engine: options.engine,
        users: options.users,
        workers: options.workers,
        concurrency: options.concurrency,
        workMs: options.workMs,
        loadavg: load,
        requestsPerSec: requestRate,
        baselineMessagesPerSec: baselineRate,
        ratio: round(ratio),
        missedSetTimeFrom: missedAt,
        sustainedRequestsPerSec: sustainedRequests,
        sustainedMessagesPerSec: sustainedMessages,
        ackP99AtBest: atBest ? round(atBest.latency.p99) : null,
        answerP99AtBest: atBest?.answer ? round(atBest.answer.p99) : null,
      }),
    );
    for (const u of users) u.stream.close();
  } catch (err) {
    console.error(`[bench] failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err: Error) => log(`cleanup failed: ${err.message}`));
  }
  process.exit();
}

await main();
