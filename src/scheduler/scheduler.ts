import { sql } from 'kysely';
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
  claim: ClaimChunk;
}

/** The timers one statement claimed: neighbours in storage, so they are deleted together too. */
interface ClaimChunk {
  /** The lease it set: a timer moved and claimed again since has another one. */
  leaseUntil: number;
  /** SQLite: writeVersion() just before the claim. */
  seen: string | undefined;
  /** Its timers fired and not deleted yet (the chunk is in `toReap` while there are any). */
  fired: string[];
}

/**
 * Timer writes through each database handle by Scheduler methods. SQLite's `data_version` counts
 * other connections' commits only, and two Schedulers may share a handle (a CLI, a test).
 */
const localWrites = new WeakMap<Db, number>();

/**
 * Lets due timers fire between the statements of a long pass: better-sqlite3 runs each statement
 * synchronously, so awaiting it alone never gives the event loop's timers a turn.
 */
const yieldToTimers = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Timers a claim pass collects before claiming them; a pass that finds this many is followed by another. */
const MAX_FOUND = 100_000;
/**
 * Timers claimed by one statement (and deleted by one, once fired): bounded so no statement holds
 * the thread for long.
 */
const CLAIM_CHUNK = 500;
/** Deleting waits while a claimed timer is due this soon: firing on time comes first. */
const REAP_SLACK_MS = 50;

/**
 * Durable timers: one table, claimed by leases (FOR UPDATE SKIP LOCKED on PostgreSQL, so each
 * due timer goes to exactly one node), with an in-memory heap for the ones due soon so they fire
 * on time instead of on the next poll. Timers survive restarts: a restarted node first takes back
 * its own claims, and a timer due while the server was down fires right after start.
 *
 * Fired timers are deleted later, in chunks, whenever no timer is about to be due: on a large table
 * each deletion touches several index pages, and doing it between firings made a burst of 100,000
 * timers due in one second fire seconds late (bench/timers.ts). Until deleted they stay leased by
 * this node; a crash before that fires them again, which at-least-once delivery allows.
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
  /** Claims with fired timers still to be deleted, oldest first. */
  private toReap: ClaimChunk[] = [];
  private reaping: Promise<void> | undefined;
  /** When the oldest fired timer still to be deleted fired. */
  private oldestUnreaped = Infinity;
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
    this.wrote();
    this.forget(spec.key);
    this.nudge(spec.dueAt);
  }

  /** Removes a timer; returns whether it existed. */
  async cancel(ex: Executor, key: string): Promise<boolean> {
    const result = await ex.deleteFrom('timers').where('key', '=', key).executeTakeFirst();
    this.wrote();
    this.forget(key);
    return Number(result.numDeletedRows) > 0;
  }

  /** Counts a write that may change timers another Scheduler on this handle has claimed. */
  private wrote(): void {
    localWrites.set(this.db, (localWrites.get(this.db) ?? 0) + 1);
  }

  /**
   * SQLite: a value that changes whenever anyone else may have written timers: another connection
   * (`data_version`) or another Scheduler on this handle. PostgreSQL: undefined (always check).
   */
  private async writeVersion(): Promise<string | undefined> {
    if (this.engine !== 'sqlite') return undefined;
    const { rows } = await sql<{ data_version: number }>`pragma data_version`.execute(this.db);
    return `${rows[0]?.data_version}/${localWrites.get(this.db) ?? 0}`;
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
    this.pollTimer = this.clock.every(this.options.pollMs, () => {
      this.requestClaim(this.clock.now());
      this.reap();
    });
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
    // What fired is deleted before the claims are handed back, or it would fire again.
    await this.reaping;
    await this.reap(true);
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
          while ((await this.claimPass(this.clock.now())) === MAX_FOUND && this.running);
        } catch (err) {
          this.options.onError(err, undefined);
        }
      } while (this.claimAgain && this.running);
      this.claiming = undefined;
      this.arm();
      void this.reap();
    })();
    this.claiming = run;
    return run;
  }

  /**
   * Claims the timers due by the horizon that are free or whose lease ran out (a dead node's); returns
   * how many were found. Each kind is found through its own partial index (migration 0006), so timers
   * claimed already are not walked again. They are claimed in id order, which is storage order:
   * claiming a burst in due order would touch a different page for nearly every timer (in SQLite's
   * write-ahead log too) and took seconds for 100,000 timers.
   */
  private async claimPass(now: number): Promise<number> {
    const horizon = now + this.options.horizonMs;
    const expired = await this.db
      .selectFrom('timers')
      .select('id')
      .where('lease_owner', 'is not', null)
      .where('lease_until', '<', now)
      .where('due_at', '<=', horizon)
      .limit(MAX_FOUND)
      .execute();
    const free = await this.db
      .selectFrom('timers')
      .select('id')
      .where('lease_owner', 'is', null)
      .where('due_at', '<=', horizon)
      .orderBy('due_at')
      .limit(MAX_FOUND - expired.length)
      .execute();
    const ids = [...expired, ...free].map((r) => r.id).sort();
    for (let i = 0; i < ids.length && this.running; i += CLAIM_CHUNK) {
      if (i > 0) await yieldToTimers();
      await this.claimChunk(ids.slice(i, i + CLAIM_CHUNK), now);
    }
    return ids.length;
  }

  /** Claims those of `ids` still free or expired (another node may have taken some meanwhile). */
  private async claimChunk(ids: string[], now: number): Promise<void> {
    const claim: ClaimChunk = { leaseUntil: now + this.options.horizonMs + this.options.leaseMs, seen: await this.writeVersion(), fired: [] };
    const rows = await this.db
      .updateTable('timers')
      .set({ lease_owner: this.options.nodeId, lease_until: claim.leaseUntil })
      .where('id', 'in', (eb) => {
        let q = eb
          .selectFrom('timers')
          .select('id')
          .where('id', 'in', ids)
          .where((w) => w.or([w('lease_owner', 'is', null), w('lease_until', '<', now)]));
        if (this.engine === 'postgres') q = q.forUpdate().skipLocked();
        return q;
      })
      .returning(['id', 'kind', 'key', 'due_at', 'payload', 'attempts'])
      .execute();
    for (const r of rows) {
      this.forget(r.key);
      this.heap.push({ id: r.id, kind: r.kind, key: r.key, dueAt: Number(r.due_at), payload: r.payload, attempts: r.attempts, claim });
      this.heapKeys.add(r.key);
    }
    // Fire what is due as it arrives, not once the whole pass is in.
    this.arm();
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
      void this.reap();
    }
  }

  /**
   * Deletes fired timers, those of one claim statement at a time (neighbours in storage, so one
   * statement touches few pages), while no claim pass runs and no claimed timer is due within
   * REAP_SLACK_MS. Timers fired longer ago than a third of the lease are deleted regardless, so a
   * steady stream of due timers cannot hold deletion off until the lease runs out (they would be
   * claimed again).
   */
  private reap(force = false): Promise<void> {
    if (this.reaping || this.toReap.length === 0) return this.reaping ?? Promise.resolve();
    // Called after every firing: most calls find the scheduler busy and must cost nothing.
    const mayDelete = () => {
      const now = this.clock.now();
      if (force || this.oldestUnreaped < now - this.options.leaseMs / 3) return true;
      return this.claiming === undefined && (this.heap.peek()?.dueAt ?? Infinity) > now + REAP_SLACK_MS;
    };
    if (!mayDelete()) return Promise.resolve();
    const run = (async () => {
      try {
        do {
          const claim = this.toReap.shift()!;
          const ids = claim.fired;
          claim.fired = [];
          await this.db.deleteFrom('timers').where('id', 'in', ids).where('lease_owner', '=', this.options.nodeId).where('lease_until', '=', claim.leaseUntil).execute();
          await yieldToTimers();
        } while (this.toReap.length > 0 && mayDelete());
      } catch (err) {
        // Left in the table, still leased: taken back after a restart or once the lease runs out.
        this.options.onError(err, undefined);
      } finally {
        if (this.toReap.length === 0) this.oldestUnreaped = Infinity;
      }
    })().finally(() => {
      this.reaping = undefined;
    });
    this.reaping = run;
    return run;
  }

  private async fireBatch(due: Claimed[]): Promise<void> {
    // Skip timers cancelled or moved since we claimed them (a moved one may carry a newer claim of
    // ours). On SQLite, what nobody else can have written since it was claimed needs no look.
    const version = await this.writeVersion();
    const unchanged = (t: Claimed) => version !== undefined && t.claim.seen === version;
    const toCheck = due.filter((t) => !unchanged(t));
    const stillOurs = new Map<string, number>();
    const chunks = Array.from({ length: Math.ceil(toCheck.length / 500) }, (_, i) => toCheck.slice(i * 500, i * 500 + 500).map((t) => t.id));
    // At once: on PostgreSQL each is a round trip on its own pooled connection.
    const found = await Promise.all(chunks.map((ids) => this.db.selectFrom('timers').select(['id', 'lease_until']).where('id', 'in', ids).where('lease_owner', '=', this.options.nodeId).execute()));
    for (const r of found.flat()) stillOurs.set(r.id, Number(r.lease_until));
    const runnable = due.filter((t) => unchanged(t) || stillOurs.get(t.id) === t.claim.leaseUntil);
    let next = 0;
    const worker = async () => {
      while (next < runnable.length) {
        const t = runnable[next++]!;
        // Behind on its work, this node could outlive its claims and another node fire the timers too.
        // What is still waiting in this batch is renewed with it: those timers' leases run out meanwhile.
        const held = t.claim.leaseUntil;
        const now = this.clock.now();
        if (held - now < this.options.leaseMs / 2) {
          await this.renewLeases(runnable.slice(next - 1).filter((w) => w.claim.leaseUntil - now < this.options.leaseMs / 2));
          // Unchanged: the claim was lost (another node holds it now, or it was cancelled).
          if (t.claim.leaseUntil === held) continue;
        }
        const timer: FiredTimer = { id: t.id, kind: t.kind, key: t.key, dueAt: t.dueAt, payload: JSON.parse(t.payload), attempts: t.attempts };
        try {
          const handler = this.handlers.get(t.kind);
          if (!handler) throw new Error(`no handler for timer kind ${t.kind}`);
          await handler(timer);
          if (this.toReap.length === 0) this.oldestUnreaped = Math.min(this.oldestUnreaped, this.clock.now());
          if (t.claim.fired.push(t.id) === 1) this.toReap.push(t.claim);
          this.fired++;
        } catch (err) {
          this.options.onError(err, timer);
          await this.retryLater(t);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, runnable.length) }, worker));
  }

  /**
   * Extends this node's claims on timers about to fire late, one statement per lease they carry;
   * a timer whose claim was lost meanwhile keeps its old claim, and the caller skips it.
   */
  private async renewLeases(timers: Claimed[]): Promise<void> {
    const leaseUntil = this.clock.now() + this.options.horizonMs + this.options.leaseMs;
    const byLease = new Map<number, Claimed[]>();
    for (const t of timers) byLease.set(t.claim.leaseUntil, [...(byLease.get(t.claim.leaseUntil) ?? []), t]);
    // Deleted together once fired: the lease they now carry is no longer their old chunk's.
    const renewed: ClaimChunk = { leaseUntil, seen: undefined, fired: [] };
    for (const [held, group] of byLease) {
      for (let at = 0; at < group.length; at += CLAIM_CHUNK) {
        const chunk = group.slice(at, at + CLAIM_CHUNK);
        const rows = await this.db
          .updateTable('timers')
          .set({ lease_until: leaseUntil })
          .where('id', 'in', chunk.map((t) => t.id))
          .where('lease_owner', '=', this.options.nodeId)
          .where('lease_until', '=', held)
          .returning('id')
          .execute();
        const ids = new Set(rows.map((r) => r.id));
        for (const t of chunk) if (ids.has(t.id)) t.claim = renewed;
      }
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
