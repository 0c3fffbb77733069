import type { CreditBand, CreditInputs } from '../../protocol/orders.js';
import type { ProviderRecordsTable } from '../../storage/schema.js';

const DAY_MS = 24 * 3600_000;

export interface CreditTerms {
  base: number;
  experience: number;
  tenure: number;
  penalty: number;
  adjustment: number;
}

/**
 * The provider credit score, 0–100 (docs/orders.md explains each term). A new provider starts in
 * the middle (verified orders); a clean record of completed orders and time raises it, while
 * complaints, refunds, quick cancellations and failed verifications lower it in proportion to the
 * provider's volume, so one complaint matters more to a newcomer than to a provider of thousands.
 */
export function creditScore(inputs: CreditInputs, adjustment: number): { score: number; terms: CreditTerms } {
  const base = 50;
  const experience = (25 * inputs.completedOrders) / (inputs.completedOrders + 20);
  const tenure = (15 * Math.min(inputs.accountAgeDays, 365)) / 365;
  const bad = 10 * inputs.complaints + 5 * inputs.refunds + 3 * inputs.cancellationsWithin24h + 2 * inputs.failedVerifications;
  const penalty = (100 * bad) / (inputs.ordersPlaced + 50);
  const raw = base + experience + tenure - penalty + adjustment;
  const score = Math.max(0, Math.min(100, Math.round(raw)));
  const round2 = (n: number) => Math.round(n * 100) / 100;
  return { score, terms: { base, experience: round2(experience), tenure: round2(tenure), penalty: round2(penalty), adjustment } };
}

export function creditBand(score: number, thresholds: { high: number; low: number }): CreditBand {
  if (score >= thresholds.high) return 'high';
  if (score < thresholds.low) return 'low';
  return 'medium';
}

export function creditInputs(record: ProviderRecordsTable | undefined, accountCreatedAt: number, now: number): CreditInputs {
  const placed = Number(record?.orders_placed ?? 0);
  const quick = Number(record?.quick_cancellations ?? 0);
  const refunds = Number(record?.refunds ?? 0);
  return {
    ordersPlaced: placed,
    completedOrders: Math.max(0, placed - quick - refunds),
    cancellationsWithin24h: quick,
    complaints: Number(record?.complaints ?? 0),
    failedVerifications: Number(record?.failed_verifications ?? 0),
    refunds,
    accountAgeDays: Math.max(0, Math.floor((now - accountCreatedAt) / DAY_MS)),
  };
}
