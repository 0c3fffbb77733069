import type { Clock } from '../../src/scheduler/clock.js';
import { systemClock } from '../../src/scheduler/clock.js';
import { OffersApi, type ParleyClient, type StreamEvent } from '../../sdk/index.js';
import type { ParleyStream } from '../../sdk/stream.js';
import type { TestServer } from '../support/server.js';

export type User = ParleyClient & { accountId: string; handle: string; offers: OffersApi };

/**
 * "Now" is whatever the test set, frozen there (so bounds can be hit to the millisecond) until
 * `flow()` lets it run on in real time. Timers are real.
 */
export class SettableClock implements Clock {
  private offset = 0;
  private frozen: number | null = null;
  now(): number {
    return this.frozen ?? Date.now() + this.offset;
  }
  set(iso: string): void {
    this.frozen = Date.parse(iso);
  }
  flow(): void {
    if (this.frozen !== null) this.offset = this.frozen - Date.now();
    this.frozen = null;
  }
  after(ms: number, fn: () => void) {
    return systemClock.after(ms, fn);
  }
  every(ms: number, fn: () => void) {
    return systemClock.every(ms, fn);
  }
}

let n = 0;
export async function user(server: TestServer, prefix = 'u'): Promise<User> {
  const u = await server.user(`${prefix}${++n}_${process.pid % 1000}`);
  return Object.assign(u, { offers: new OffersApi(u) });
}

export async function openStream(client: ParleyClient): Promise<ParleyStream> {
  const stream = client.stream();
  await stream.waitForState('open');
  return stream;
}

export async function eventsOf<T extends StreamEvent['type']>(client: ParleyClient, type: T): Promise<StreamEvent<T>[]> {
  const { events } = await client.events({ after: 0 });
  return events.filter((e): e is StreamEvent<T> => e.type === type);
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Stable error code of a rejected SDK call. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'OK';
}
