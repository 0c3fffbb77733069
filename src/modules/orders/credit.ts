import type { CreditBand, CreditInputs, ProviderCreditView } from '../../protocol/orders.js';
import { toIso } from '../../scheduler/clock.js';
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

/** A provider's credit as shown to itself and to operators: the score, its band, every input and term. */
export function creditView(provider: { id: string; created_at: number }, record: ProviderRecordsTable | undefined, now: number, thresholds: { high: number; low: number }): ProviderCreditView {
  const inputs = creditInputs(record, Number(provider.created_at), now);
  const adjustment = Number(record?.adjustment ?? 0);
  const { score, terms } = creditScore(inputs, adjustment);
  return {
    providerId: provider.id,
    score,
    band: creditBand(score, thresholds),
    inputs,
    terms,
    adjustment: { points: adjustment, reason: record?.adjustment_reason ?? null, by: record?.adjusted_by ?? null, at: record?.adjusted_at ? toIso(Number(record.adjusted_at)) : null },
    thresholds,
  };
}
