import { Type, type Static } from '@sinclair/typebox';

/** Provider services, orders, verification codes and provider credit on the wire (issue 8). Times are ISO-8601 UTC. */

export const ServiceCode = Type.String({ minLength: 2, maxLength: 20, pattern: '^[A-Za-z0-9]+$', description: 'What users type after ORDER (letters and digits; matched case-insensitively).' });
export const InteractionChannel = Type.Union([Type.Literal('im'), Type.Literal('sms'), Type.Literal('email')], {
  description: 'Where the confirmation or verification code goes; unavailable channels (no verified phone or e-mail) fall back to im.',
});
export type InteractionChannel = Static<typeof InteractionChannel>;
const Price = Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'All-in price in minor units (cents).' });
const Currency = Type.String({ minLength: 3, maxLength: 3, pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. EUR.' });
const Period = Type.Union([Type.Literal('once'), Type.Literal('monthly')]);
const Code = Type.String({ minLength: 6, maxLength: 6, pattern: '^[0-9]{6}$', description: 'The 6-digit code as received.' });

export const CatalogueBody = Type.Object(
  {
    code: ServiceCode,
    name: Type.String({ minLength: 1, maxLength: 100 }),
    price: Price,
    currency: Type.Optional(Currency),
    period: Period,
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type CatalogueBody = Static<typeof CatalogueBody>;

export const CatalogueUpdateBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    price: Type.Optional(Price),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    active: Type.Optional(Type.Boolean({ description: 'false withdraws the service: no new orders; existing ones stay.' })),
  },
  { additionalProperties: false },
);
export type CatalogueUpdateBody = Static<typeof CatalogueUpdateBody>;

export const OrderBody = Type.Object(
  {
    service: ServiceCode,
    channel: Type.Optional(InteractionChannel),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Idempotency key: the same key returns the same order.' })),
  },
  { additionalProperties: false },
);
export type OrderBody = Static<typeof OrderBody>;

export const ConfirmBody = Type.Object({ code: Code }, { additionalProperties: false });
export type ConfirmBody = Static<typeof ConfirmBody>;

export const ComplaintBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false });
export type ComplaintBody = Static<typeof ComplaintBody>;

export const AdjustmentBody = Type.Object(
  {
    adjustment: Type.Integer({ minimum: -100, maximum: 100, description: 'Points added to the computed score (the operator\'s judgement).' }),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export type AdjustmentBody = Static<typeof AdjustmentBody>;

export const OrdersQuery = Type.Object({ role: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('provider')])) }, { additionalProperties: false });
export type OrdersQuery = Static<typeof OrdersQuery>;

export const CatalogueQuery = Type.Object(
  {
    provider: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    withdrawn: Type.Optional(Type.Boolean({ description: 'Include withdrawn services too; only for the provider itself (or an administrator) asking about one provider.' })),
  },
  { additionalProperties: false },
);
export type CatalogueQuery = Static<typeof CatalogueQuery>;

export const CodeParams = Type.Object({ code: ServiceCode }, { additionalProperties: false });
export type CodeParams = Static<typeof CodeParams>;

export type Period = Static<typeof Period>;
export type Gateway = 'http' | 'im' | 'sms';
export type CreditBand = 'high' | 'medium' | 'low';
export type OrderStatus = 'pending' | 'active' | 'completed' | 'cancelled' | 'refused' | 'expired' | 'failed' | 'refunded';
/** What the server answered an order request with. */
export type Interaction = 'ordered' | 'verification' | 'refused';

export interface CatalogueServiceView {
  id: string;
  code: string;
  name: string;
  description: string;
  price: number;
  currency: string;
  period: Period;
  provider: { id: string; handle: string; displayName: string };
  /** The provider's credit band now: what ordering it will lead to (placed at once, a code, refused). */
  providerBand: CreditBand;
  active: boolean;
  createdAt: string;
}

export interface OrderView {
  id: string;
  userId: string;
  provider: { id: string; handle: string; displayName: string };
  service: { id: string; code: string; name: string };
  price: number;
  currency: string;
  period: Period;
  status: OrderStatus;
  /** The provider's credit band when the order was requested, which decided the interaction. */
  band: CreditBand;
  score: number;
  gateway: Gateway;
  /** Where notices and codes for this order go (after any fallback to im). */
  channel: InteractionChannel;
  refusal: string | null;
  requestedAt: string;
  placedAt: string | null;
  closedAt: string | null;
  /** While status is pending: when the current code expires. */
  codeExpiresAt: string | null;
  complained: boolean;
}

export interface OrderResult {
  order: OrderView;
  interaction: Interaction;
  /** A repeat of a request already handled (same clientId, or the same service still open). */
  duplicate: boolean;
}

export interface CreditInputs {
  ordersPlaced: number;
  completedOrders: number;
  cancellationsWithin24h: number;
  complaints: number;
  failedVerifications: number;
  refunds: number;
  accountAgeDays: number;
}

export interface ProviderCreditView {
  providerId: string;
  score: number;
  band: CreditBand;
  inputs: CreditInputs;
  /** Each term of the formula, so the operator sees why (docs/orders.md). */
  terms: { base: number; experience: number; tenure: number; penalty: number; adjustment: number };
  adjustment: { points: number; reason: string | null; by: string | null; at: string | null };
  thresholds: { high: number; low: number };
}

export interface ConsentEntry {
  id: string;
  orderId: string;
  accountId: string;
  actorId: string | null;
  action: string;
  channel: string | null;
  /** HMAC of the code that was sent or tried, never the code. */
  codeHash: string | null;
  detail: Record<string, unknown>;
  at: string;
}

/** One provider in the operator's credit view (GET /v1/providers). */
export interface ProviderCreditEntry {
  provider: { id: string; handle: string; displayName: string };
  credit: ProviderCreditView;
}
