/** How orders, prices and credit read on the page. */
import type { CreditBand, InteractionChannel, OrderStatus, Period } from '../../../sdk/index.js';

/** A price in minor units (cents), with the currency's own number of decimals. */
export function money(price: number, currency: string): string {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(price / 10 ** decimalsOf(currency));
  } catch {
    return `${currency} ${(price / 100).toFixed(2)}`;
  }
}

/** "€4.99 per month" or "€4.99 once": the all-in price. */
export function priceText(p: { price: number; currency: string; period: Period }): string {
  return `${money(p.price, p.currency)} ${p.period === 'monthly' ? 'per month' : 'once'}`;
}

export const BAND_TEXT: Record<CreditBand, string> = {
  high: 'High credit: ordered at once',
  medium: 'Medium credit: you confirm with a code',
  low: 'Low credit: orders are refused',
};

export const CHANNEL_TEXT: Record<InteractionChannel, string> = {
  im: 'here in Parley',
  sms: 'by SMS',
  email: 'by e-mail',
};

export const STATUS_TEXT: Record<OrderStatus, string> = {
  pending: 'Waiting for the code',
  active: 'Active subscription',
  completed: 'Ordered',
  cancelled: 'Cancelled',
  refused: 'Refused',
  expired: 'Code expired',
  failed: 'Locked: too many wrong codes',
  refunded: 'Refunded',
};

const REFUSALS: Record<string, string> = {
  PROVIDER_CREDIT_LOW: 'the provider’s credit is too low for orders',
};

/** A refusal reason code, said for people, with the code kept for support. */
export function refusalText(reason: string | null | undefined): string {
  const code = reason ?? 'REFUSED';
  return `${REFUSALS[code] ?? 'the server refused it'} (${code})`;
}

function decimalsOf(currency: string): number {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** "4.99" typed for EUR → 499 (minor units); null when it is not an amount. */
export function toMinor(text: string, currency: string): number | null {
  const decimals = decimalsOf(currency);
  const m = /^\s*(\d+)(?:[.,](\d+))?\s*$/.exec(text);
  if (!m || (m[2]?.length ?? 0) > decimals) return null;
  return Number(m[1]) * 10 ** decimals + Number((m[2] ?? '').padEnd(decimals, '0') || 0);
}

/** 499 for EUR → "4.99", as typed into a price field. */
export function fromMinor(price: number, currency: string): string {
  const decimals = decimalsOf(currency);
  return decimals === 0 ? String(price) : (price / 10 ** decimals).toFixed(decimals);
}

/** A wait as people say it, to the second: "45 s", "1 min 30 s", "8 min". */
export function waitText(ms: number): string {
  const total = Math.max(1, Math.ceil(ms / 1000));
  const min = Math.floor(total / 60);
  const s = total % 60;
  return min === 0 ? `${s} s` : s === 0 ? `${min} min` : `${min} min ${s} s`;
}
