import { AppError } from '../errors.js';

// Days, hours, minutes and seconds only: years and months have no fixed length, so a deadline
// written with them would be ambiguous.
const ISO_DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;

/** Parses `PT5M`-style durations or millisecond integers into milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new AppError('INVALID_DURATION');
    return value;
  }
  const m = ISO_DURATION.exec(value);
  if (!m || value === 'P' || value.endsWith('T')) throw new AppError('INVALID_DURATION', `"${value}" is not an ISO-8601 duration such as PT5M or P1DT2H.`);
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  return Math.round(((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s) * 1000);
}

/** Formats milliseconds as the shortest ISO-8601 duration (PT5M, PT1.5S, P2DT3H). */
export function formatDuration(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1000;
  let time = '';
  if (hours) time += `${hours}H`;
  if (minutes) time += `${minutes}M`;
  if (seconds) time += `${seconds}S`;
  if (!days && !time) return 'PT0S';
  return `P${days ? `${days}D` : ''}${time ? `T${time}` : ''}`;
}
