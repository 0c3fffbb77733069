import type { Engine, Executor, Db } from '../storage/db.js';
import { newId } from '../ids.js';
import type { Clock, TimerHandle } from './clock.js';
import { TimerHeap } from './timer-heap.js';

export interface TimerSpec {
  /** Which handler runs it. */
  kind: string;
  /** Identity chosen by the caller; scheduling the same key again moves the timer. */
  key: string;
  dueAt: number;
  payload?: unknown;
}

export interface FiredTimer {
  id: string;
  kind: string;
  key: string;
  dueAt: number;
  payload: unknown;
  attempts: number;
}

/**
 * Runs when a timer is due. Delivery is at least once (a node can die after the handler's effects
 * but before the timer is deleted), so a handler re-checks its condition and is idempotent.
 */
export type TimerHandler = (timer: FiredTimer) => Promise<void>;

export interface SchedulerOptions {
  nodeId: string;
  /** Timers due within this window are claimed into memory and fired by a precise local timer. */
  horizonMs?: number;
  /** A claim outlives the horizon by this much; a dead node's timers are taken over after it. */
  leaseMs?: number;
  pollMs?: number;
  batchSize?: number;
  concurrency?: number;
  maxAttempts?: number;
  /** A handler failed (timer given) or claiming failed (no timer). */
  onError?: (err: unknown, timer: FiredTimer | undefined) => void;
}

interface Claimed {
  id: string;
  kind: string;
  key: string;
  dueAt: number;
  payload: string;
  attempts: number;
}

/**
 * Durable timers: one table, claimed by leases (FOR UPDATE SKIP LOCKED on PostgreSQL, so each
 * due timer goes to exactly one node), with an in-memory heap for the ones due soon so they fire
 * on time instead of on the next poll. Timers survive restarts: a restarted node first takes back
 * its own claims, and a timer due while the server was down fires right after start.
 */
export class Scheduler {
  private readonly handlers = new Map<string, TimerHandler>();
  private readonly heap = new TimerHeap<Claimed>();
  /** Keys currently in the heap, so moving or cancelling a timer only scans the heap when needed. */
  private readonly heapKeys = new Set<string>();
  private readonly options: Required<SchedulerOptions>;
  private running = false;
  private pollTimer: TimerHandle | undefined;
  private wakeTimer: TimerHandle | undefined;
  private wakeAt = Infinity;
  private claimTimer: TimerHandle | undefined;
  private claimAt = Infinity;
  private claiming: Promise<void> | undefined;
  private claimAgain = false;
  private firing: Promise<void> | undefined;
  private fired = 0;

  constructor(
    private readonly db: Db,
    private readonly engine: Engine,
    private readonly clock: Clock,
    options: SchedulerOptions,
  ) {
    this.options = {
      horizonMs: 5_000,
      leaseMs: 30_000,
      pollMs: 1_000,
      batchSize: 2_000,
      concurrency: 64,
      maxAttempts: 8,
      onError: () => {},
      ...options,
    };
  }

  register(kind: string, handler: TimerHandler): void {
    if (this.handlers.has(kind)) throw new Error(`timer handler ${kind} registered twice`);
    this.handlers.set(kind, handler);
  }

  /**
   * Stores a timer with `ex` — pass the transaction of the state change that needs it, so both
   * commit together. Scheduling an existing key moves it (and resets its attempts).
   */
  async schedule(ex: Executor, spec: TimerSpec): Promise<void> {
    const row = {
      id: newId(),
      kind: spec.kind,
      key: spec.key,
      due_at: spec.dueAt,
      payload: JSON.stringify(spec.payload ?? null),
      attempts: 0,
      lease_owner: null,
      lease_until: null,
      created_at: this.clock.now(),
    };
    await ex
      .insertInto('timers')
      .values(row)
      .onConflict((oc) => oc.column('key').doUpdateSet({ kind: row.kind, due_at: row.due_at, payload: row.payload, attempts: 0, lease_owner: null, lease_until: null }))
      .execute();
    this.forget(spec.key);
    this.nudge(spec.dueAt);
  }

  /** Removes a timer; returns whether it existed. */
  async cancel(ex: Executor, key: string): Promise<boolean> {
    const result = await ex.deleteFrom('timers').where('key', '=', key).executeTakeFirst();
    this.forget(key);
    return Number(result.numDeletedRows) > 0;
  }

  private forget(key: string): void {
    if (this.heapKeys.delete(key)) this.heap.removeWhere((t) => t.key === key);
  }

  /** Pending timers in storage (for tests, metrics and `config check`). */
  async pendingCount(): Promise<number> {
    const row = await this.db.selectFrom('timers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  get firedCount(): number {
    return this.fired;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // Claims held by this node before a restart are ours to fire now, not after their lease runs out.
    await this.db.updateTable('timers').set({ lease_owner: null, lease_until: null }).where('lease_owner', '=', this.options.nodeId).execute();
    this.pollTimer = this.clock.every(this.options.pollMs, () => this.requestClaim(this.clock.now()));
    await this.claim();
  }

  /** Stops firing and hands this node's claims back so another node (or the next start) takes them. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.pollTimer?.cancel();
    this.wakeTimer?.cancel();
    this.claimTimer?.cancel();
    await this.claiming;
    await this.firing;
    this.heap.drain();
    this.heapKeys.clear();
    await this.db.updateTable('timers').set({ lease_owner: null, lease_until: null }).where('lease_owner', '=', this.options.nodeId).execute();
  }

  /** A timer due before the next poll would be claimed too late: claim shortly before it is due. */
  private nudge(dueAt: number): void {
    if (!this.running) return;
    // Not at once: the caller's transaction may not have committed yet.
    this.requestClaim(Math.max(this.clock.now() + 10, dueAt - 50));
  }

  private requestClaim(at: number): void {
    if (!this.running) return;
    const now = this.clock.now();
    if (at <= now) {
      void this.claim();
      return;
    }
    if (at >= this.claimAt) return;
    this.claimTimer?.cancel();
    this.claimAt = at;
    this.claimTimer = this.clock.after(at - now, () => {
      this.claimAt = Infinity;
      void this.claim();
    });
  }

  /** Claims due timers; calls made while a claim runs are folded into one more pass after it. */
  private claim(): Promise<void> {
    if (this.claiming) {
      this.claimAgain = true;
      return this.claiming;
    }
    const run = (async () => {
      do {
        this.claimAgain = false;
        try {
          for (;;) {
            const batch = await this.claimBatch(this.clock.now());
            for (const t of batch) {
              this.forget(t.key);
              this.heap.push(t);
              this.heapKeys.add(t.key);
            }
            if (batch.length < this.options.batchSize || !this.running) break;
          }
        } catch (err) {
          this.options.onError(err, undefined);
        }
      } while (this.claimAgain && this.running);
      this.claiming = undefined;
      this.arm();
    })();
    this.claiming = run;
    return run;
  }

  private async claimBatch(now: number): Promise<Claimed[]> {
    const horizon = now + this.options.horizonMs;
    const rows = await this.db
      .updateTable('timers')
      .set({ lease_owner: this.options.nodeId, lease_until: horizon + this.options.leaseMs })
      .where('id', 'in', (eb) => {
        let q = eb
          .selectFrom('timers')
          .select('id')
          .where('due_at', '<=', horizon)
          .where((w) => w.or([w('lease_until', 'is', null), w('lease_until', '<', now)]))
          .orderBy('due_at')
          .limit(this.options.batchSize);
        if (this.engine === 'postgres') q = q.forUpdate().skipLocked();
        return q;
      })
      .returning(['id', 'kind', 'key', 'due_at', 'payload', 'attempts'])
      .execute();
    return rows.map((r) => ({ id: r.id, kind: r.kind, key: r.key, dueAt: Number(r.due_at), payload: r.payload, attempts: r.attempts }));
  }

  /** Sets the one local timer for the earliest claimed timer. */
  private arm(): void {
    if (!this.running) return;
    const next = this.heap.peek();
    if (!next) return;
    if (next.dueAt >= this.wakeAt) return;
    this.wakeTimer?.cancel();
    this.wakeAt = next.dueAt;
    this.wakeTimer = this.clock.after(Math.max(0, next.dueAt - this.clock.now()), () => {
      this.wakeAt = Infinity;
      void this.fireDue();
    });
  }

  private async fireDue(): Promise<void> {
    if (this.firing) {
      await this.firing;
      return this.fireDue();
    }
    const run = (async () => {
      while (this.running) {
        const now = this.clock.now();
        const due: Claimed[] = [];
        while (due.length < this.options.batchSize && (this.heap.peek()?.dueAt ?? Infinity) <= now) {
          const t = this.heap.pop()!;
          this.heapKeys.delete(t.key);
          due.push(t);
        }
        if (due.length === 0) break;
        await this.fireBatch(due);
      }
    })();
    this.firing = run;
    try {
      await run;
    } finally {
      this.firing = undefined;
      this.arm();
    }
  }

  private async fireBatch(due: Claimed[]): Promise<void> {
    // Skip timers cancelled or moved by another node since we claimed them.
    const stillOurs = new Set<string>();
    for (let i = 0; i < due.length; i += 500) {
      const ids = due.slice(i, i + 500).map((t) => t.id);
      const rows = await this.db.selectFrom('timers').select('id').where('id', 'in', ids).where('lease_owner', '=', this.options.nodeId).execute();
      for (const r of rows) stillOurs.add(r.id);
    }
    const runnable = due.filter((t) => stillOurs.has(t.id));
    const done: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < runnable.length) {
        const t = runnable[next++]!;
        const timer: FiredTimer = { id: t.id, kind: t.kind, key: t.key, dueAt: t.dueAt, payload: JSON.parse(t.payload), attempts: t.attempts };
        try {
          const handler = this.handlers.get(t.kind);
          if (!handler) throw new Error(`no handler for timer kind ${t.kind}`);
          await handler(timer);
          done.push(t.id);
          this.fired++;
        } catch (err) {
          this.options.onError(err, timer);
          await this.retryLater(t);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, runnable.length) }, worker));
    for (let i = 0; i < done.length; i += 500) {
      await this.db.deleteFrom('timers').where('id', 'in', done.slice(i, i + 500)).where('lease_owner', '=', this.options.nodeId).execute();
    }
  }

  /** Exponential backoff from 1 s; after maxAttempts the timer is dropped (onError reported each failure). */
  private async retryLater(t: Claimed): Promise<void> {
    const attempts = t.attempts + 1;
    if (attempts >= this.options.maxAttempts) {
      await this.db.deleteFrom('timers').where('id', '=', t.id).where('lease_owner', '=', this.options.nodeId).execute();
      return;
    }
    const dueAt = this.clock.now() + 1000 * 2 ** (attempts - 1);
    await this.db
      .updateTable('timers')
      .set({ attempts, due_at: dueAt, lease_owner: null, lease_until: null })
      .where('id', '=', t.id)
      .where('lease_owner', '=', this.options.nodeId)
      .execute();
    this.nudge(dueAt);
  }
}
