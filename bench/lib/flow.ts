import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuShares, cpuSnapshot, type CpuShares } from './cpu.js';
import { summarise, type LatencySummary } from './stats.js';

/**
 * The message flow both systems under test share: in every pair one side sends, the other side's
 * device receives ("delivered") and marks read, and a message completes when its sender has seen
 * a read receipt covering it. Drivers (Parley, the bare ws relay) only move bytes; this module
 * decides when to send, keeps the books and computes the figures, so both are measured alike.
 */

/** One message on its way; `id` doubles as the message's client id, unique within the run. */
export interface Flight {
  readonly id: string;
  readonly pair: number;
  /** Send start (closed loop) or the scheduled send time (open loop, so a late send counts against the system). */
  readonly t0: number;
  /** Sent (or, open loop, scheduled) inside the measurement window. */
  readonly measured: boolean;
  /** Per-conversation sequence number, known once the server accepted the message. */
  seq: number | undefined;
  deliveredAt: number | undefined;
}

/** How a driver reports progress back; every method may be called from any socket callback. */
export interface FlowSink {
  /** The send was accepted and got conversation sequence `seq`. */
  accepted(flight: Flight, seq: number): void;
  failed(flight: Flight, error: unknown): void;
  /** The recipient's device received the message with client id `flightId`. */
  delivered(flightId: string): void;
  /** The sender of `pair` saw a read receipt: every message with seq ≤ `upToSeq` is read. */
  readUpTo(pair: number, upToSeq: number): void;
}

export interface Driver {
  readonly name: string;
  readonly pairs: number;
  attach(sink: FlowSink): void;
  /** Starts sending; must end in sink.accepted or sink.failed. */
  send(flight: Flight, text: string): void;
}

export type LoadMode = { kind: 'closed'; window: number } | { kind: 'open'; ratePerSec: number; maxInFlightPerPair: number };

export interface PhaseOptions {
  warmupMs: number;
  durationMs: number;
  drainTimeoutMs: number;
  /** Cumulative CPU seconds of the server process, to show how busy it was. */
  serverCpuSeconds?: () => number | undefined;
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
}

export interface PhaseResult {
  mode: LoadMode;
  durationS: number;
  /** Messages whose read receipt reached the sender inside the window, per second. */
  throughput: number;
  completedInWindow: number;
  /** Messages sent inside the window, and how many of them never completed before the drain timeout. */
  sentMeasured: number;
  incomplete: number;
  /** Open loop: sends skipped because a pair already had maxInFlightPerPair outstanding. */
  shed: number;
  errors: number;
  lastError: string | undefined;
  delivered: LatencySummary;
  read: LatencySummary;
  perSecond: { min: number; max: number };
  /** Open loop: how late the load generator issued sends (its own CPU starvation shows here). */
  schedulerLag: LatencySummary | undefined;
  cpu: CpuShares;
}

interface PairState {
  inFlight: Set<Flight>;
  readSeq: number;
}

interface PhaseBooks {
  mode: LoadMode;
  measureStart: number;
  measureEnd: number;
  sending: boolean;
  completedInWindow: number;
  perSecond: number[];
  deliveredMs: number[];
  readMs: number[];
  sentMeasured: number;
  completedMeasured: number;
  shed: number;
  errors: number;
  lastError: string | undefined;
  lagMs: number[];
}

const TEXT_PAD = 'the quick brown fox jumps over the lazy dog';
const MAX_ERRORS_PER_PHASE = 1000;

export class Flow implements FlowSink {
  private readonly pairs: PairState[];
  private readonly flights = new Map<string, Flight>();
  private books: PhaseBooks | undefined;
  private counter = 0;

  constructor(private readonly driver: Driver) {
    this.pairs = Array.from({ length: driver.pairs }, () => ({ inFlight: new Set<Flight>(), readSeq: 0 }));
    driver.attach(this);
  }

  async run(mode: LoadMode, options: PhaseOptions): Promise<PhaseResult> {
    const start = performance.now();
    const books: PhaseBooks = {
      mode,
      measureStart: start + options.warmupMs,
      measureEnd: start + options.warmupMs + options.durationMs,
      sending: true,
      completedInWindow: 0,
      perSecond: new Array(Math.ceil(options.durationMs / 1000)).fill(0),
      deliveredMs: [],
      readMs: [],
      sentMeasured: 0,
      completedMeasured: 0,
      shed: 0,
      errors: 0,
      lastError: undefined,
      lagMs: [],
    };
    this.books = books;
    if (mode.kind === 'closed') this.pairs.forEach((_, pair) => this.refill(pair));
    else this.schedule(mode, start);

    await sleep(options.warmupMs);
    options.onMeasureStart?.();
    const cpuStart = cpuSnapshot(options.serverCpuSeconds);
    await this.sleepWhileHealthy(books, options.durationMs);
    const cpu = cpuShares(cpuStart, cpuSnapshot(options.serverCpuSeconds));
    options.onMeasureEnd?.();
    books.sending = false;
    await this.drain(options.drainTimeoutMs);
    this.books = undefined;
    if (books.errors >= MAX_ERRORS_PER_PHASE) throw new Error(`${this.driver.name}: ${books.errors} failed sends, last: ${books.lastError}`);

    const seconds = options.durationMs / 1000;
    const fullSeconds = books.perSecond.slice(0, Math.floor(seconds));
    return {
      mode,
      durationS: seconds,
      throughput: books.completedInWindow / seconds,
      completedInWindow: books.completedInWindow,
      sentMeasured: books.sentMeasured,
      incomplete: books.sentMeasured - books.completedMeasured,
      shed: books.shed,
      errors: books.errors,
      lastError: books.lastError,
      delivered: summarise(books.deliveredMs),
      read: summarise(books.readMs),
      perSecond: fullSeconds.length ? { min: Math.min(...fullSeconds), max: Math.max(...fullSeconds) } : { min: NaN, max: NaN },
      schedulerLag: mode.kind === 'open' ? summarise(books.lagMs) : undefined,
      cpu,
    };
  }

  accepted(flight: Flight, seq: number): void {
    if (!this.flights.has(flight.id)) return;
    flight.seq = seq;
    // The read receipt may overtake the answer to the send on another connection.
    if (seq <= this.pairs[flight.pair]!.readSeq) this.complete(flight, performance.now());
  }

  failed(flight: Flight, error: unknown): void {
    if (!this.forget(flight)) return;
    const books = this.books;
    if (!books) return;
    books.errors++;
    books.lastError = error instanceof Error ? error.message : String(error);
    // Back off so a failing server is not hammered in a tight loop.
    if (books.mode.kind === 'closed') setTimeout(() => this.refill(flight.pair), 50);
  }

  delivered(flightId: string): void {
    const flight = this.flights.get(flightId);
    if (flight && flight.deliveredAt === undefined) flight.deliveredAt = performance.now();
  }

  readUpTo(pair: number, upToSeq: number): void {
    const state = this.pairs[pair]!;
    if (upToSeq <= state.readSeq) return;
    state.readSeq = upToSeq;
    const now = performance.now();
    for (const flight of [...state.inFlight]) if (flight.seq !== undefined && flight.seq <= upToSeq) this.complete(flight, now);
  }

  private issue(pair: number, t0: number): void {
    const books = this.books!;
    const measured = t0 >= books.measureStart && t0 < books.measureEnd;
    const flight: Flight = { id: `m${pair}-${this.counter++}`, pair, t0, measured, seq: undefined, deliveredAt: undefined };
    if (measured) books.sentMeasured++;
    this.flights.set(flight.id, flight);
    this.pairs[pair]!.inFlight.add(flight);
    this.driver.send(flight, `${flight.id} ${TEXT_PAD}`);
  }

  private complete(flight: Flight, at: number): void {
    if (!this.forget(flight)) return;
    const books = this.books;
    if (!books) return;
    const inWindow = at >= books.measureStart && at < books.measureEnd;
    if (inWindow) {
      books.completedInWindow++;
      const second = Math.floor((at - books.measureStart) / 1000);
      if (second < books.perSecond.length) books.perSecond[second]!++;
    }
    if (flight.measured) books.completedMeasured++;
    // Closed loop: the latencies of what completed in the window (their mean obeys Little's law even
    // when the warm-up was shorter than the queueing). Open loop: of what was scheduled in the
    // window, late completions included, so an overloaded server cannot hide its slowest messages.
    if (books.mode.kind === 'closed' ? inWindow : flight.measured) {
      books.readMs.push(at - flight.t0);
      // A read receipt implies delivery; if the recipient's event was never seen, count delivery as late as read.
      books.deliveredMs.push((flight.deliveredAt ?? at) - flight.t0);
    }
    if (books.mode.kind === 'closed') this.refill(flight.pair);
  }

  private forget(flight: Flight): boolean {
    if (!this.flights.delete(flight.id)) return false;
    this.pairs[flight.pair]!.inFlight.delete(flight);
    return true;
  }

  /** Closed loop: keep `window` messages of this pair in flight while the phase sends. */
  private refill(pair: number): void {
    const books = this.books;
    if (!books?.sending || books.mode.kind !== 'closed' || books.errors >= MAX_ERRORS_PER_PHASE) return;
    const state = this.pairs[pair]!;
    while (state.inFlight.size < books.mode.window) this.issue(pair, performance.now());
  }

  /**
   * Open loop: sends at fixed instants start + k/rate, pairs taken round-robin so each pair sends
   * evenly spaced. A send is stamped with its scheduled instant, so when the load generator falls
   * behind the delay is counted (no coordinated omission).
   */
  private schedule(mode: Extract<LoadMode, { kind: 'open' }>, start: number): void {
    const books = this.books!;
    const interval = 1000 / mode.ratePerSec;
    let k = 0;
    const tick = () => {
      if (!books.sending || books.errors >= MAX_ERRORS_PER_PHASE) return;
      const now = performance.now();
      let due = start + k * interval;
      if (due <= now) books.lagMs.push(now - due);
      for (; due <= now && due < books.measureEnd; due = start + ++k * interval) {
        const pair = k % this.pairs.length;
        if (this.pairs[pair]!.inFlight.size >= mode.maxInFlightPerPair) books.shed++;
        else this.issue(pair, due);
      }
      if (due < books.measureEnd) setTimeout(tick, Math.max(0, due - performance.now()));
    };
    tick();
  }

  private async sleepWhileHealthy(books: PhaseBooks, ms: number): Promise<void> {
    const end = performance.now() + ms;
    while (performance.now() < end && books.errors < MAX_ERRORS_PER_PHASE) await sleep(Math.min(100, end - performance.now()));
  }

  /** Waits for the messages still in flight; gives up on them after `timeoutMs`. */
  private async drain(timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (this.flights.size > 0 && performance.now() < end) await sleep(20);
    for (const flight of [...this.flights.values()]) this.forget(flight);
  }
}
