/**
 * Every timer in Parley goes through a Clock so tests can substitute a controllable one.
 * The durable scheduler (timers that survive restarts) builds on this.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): number;
  after(ms: number, fn: () => void): TimerHandle;
  every(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref?.();
    return { cancel: () => clearInterval(t) };
  },
};

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}
