import { AppError } from '../../errors.js';

const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function parseTimeOfDay(value: string): number {
  const m = TIME_OF_DAY.exec(value);
  if (!m) throw new AppError('INVALID_TIME_OF_DAY', `"${value}" is not HH:MM.`);
  return Number(m[1]) * 60 + Number(m[2]);
}

export function checkTimeZone(zone: string): string {
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new AppError('INVALID_TIME_ZONE', `"${zone}" is not a known time zone.`);
  }
}

function minuteOfDay(at: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

/**
 * When the recipient's quiet hours end, if `at` falls inside them; undefined otherwise.
 * Windows may wrap midnight (22:00–07:00); start = end means no quiet hours.
 */
export function quietUntil(at: number, start: string | null, end: string | null, zone: string): number | undefined {
  if (!start || !end) return undefined;
  const from = parseTimeOfDay(start);
  const to = parseTimeOfDay(end);
  if (from === to) return undefined;
  const now = minuteOfDay(at, zone);
  const inside = from < to ? now >= from && now < to : now >= from || now < to;
  if (!inside) return undefined;
  const minutesLeft = (to - now + 1440) % 1440;
  const startOfMinute = at - (at % 60_000);
  return startOfMinute + minutesLeft * 60_000;
}
