/** Formatting helpers: times, durations, names. */

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function shortTime(iso: string): string {
  const d = new Date(iso);
  const now = new Date();
  return d.toDateString() === now.toDateString() ? timeFmt.format(d) : dayFmt.format(d);
}

/** "14:05" today, "Mar 3, 14:05" before. */
export function lastSeen(iso: string): string {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? timeFmt.format(d) : `${dayFmt.format(d)}, ${timeFmt.format(d)}`;
}

export function clockTime(iso: string): string {
  return timeFmt.format(new Date(iso));
}

export function fullTime(iso: string): string {
  return fullFmt.format(new Date(iso));
}

/** Milliseconds in an ISO-8601 duration (PT5M, P1DT2H, PT1.5S) or a millisecond count. */
export function durationMs(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (/^\d+$/.test(value)) return Number(value);
  const m = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
  if (!m) return null;
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
}

/** "5 min", "1 s", "2 h", "1 day": how people say a deadline. */
export function humanDuration(ms: number | null): string {
  if (ms === null) return '';
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return name === 'day' ? `${n} day${n === 1 ? '' : 's'}` : `${n} ${name}`;
    }
  }
  if (ms >= 1000) return `${Math.round(ms / 100) / 10} s`;
  return `${ms} ms`;
}

/**
 * What a person types for a deadline: "90s", "5m", "5 min", "2h", "1d", or ISO "PT5M".
 * Returns milliseconds, or null when it cannot be read.
 */
export function parseDeadline(input: string): number | null {
  const text = input.trim().toLowerCase();
  if (!text) return null;
  if (/^p/.test(text)) return durationMs(text.toUpperCase());
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)?$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 'min';
  const factor = unit === 'ms' ? 1 : unit.startsWith('s') ? 1000 : unit.startsWith('m') ? 60_000 : unit.startsWith('h') ? 3_600_000 : 86_400_000;
  const ms = Math.round(n * factor);
  return ms > 0 ? ms : null;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/);
  const chars = [...(parts[0] ?? '')];
  // CJK names: the first character reads best on its own.
  if (chars[0] && /[\u3000-\u9fff\uac00-\ud7af]/.test(chars[0])) return chars[0];
  return ((chars[0] ?? '?') + ([...(parts[1] ?? '')][0] ?? '')).toUpperCase();
}

/** 1536 → "1.5 KB" (powers of 1024, as file managers show them). */
export function fileSize(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
