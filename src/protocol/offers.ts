import { Type, type Static } from '@sinclair/typebox';
import { Duration } from './requests.js';

/** Offers, interests and vouchers on the wire (issue 7). Times are ISO-8601 UTC with milliseconds. */

const Tag = Type.String({ minLength: 1, maxLength: 64 });
const Tags = Type.Array(Tag, { maxItems: 20, uniqueItems: true });
const Instant = Type.String({ minLength: 1, maxLength: 40, description: 'ISO-8601 date-time with a time zone, e.g. 2026-05-01T09:00:00.000Z.' });
const Base64Url = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+$', description });

export const InterestBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'Your label; PUT with the same name replaces that interest.' }),
    tags: Type.Optional(Tags),
    predicate: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'MongoDB query over offer attributes, e.g. {"category":"doc","price":{"$lte":100}}.' })),
    expiresAt: Type.Optional(Instant),
  },
  { additionalProperties: false },
);
export type InterestBody = Static<typeof InterestBody>;

export const OfferDeadline = Type.Union(
  [
    Type.Object({ by: Instant }, { additionalProperties: false }),
    Type.Object({ from: Instant, to: Instant }, { additionalProperties: false }),
    Type.Object({ within: Duration }, { additionalProperties: false }),
  ],
  { description: 'An instant, a window (both bounds inclusive), or a duration from the server\'s receipt of the offer.' },
);
export type OfferDeadline = Static<typeof OfferDeadline>;

export const OfferBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    identifier: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    tags: Type.Optional(Tags),
    attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    deadline: OfferDeadline,
    cap: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'At most this many vouchers, first come first served; absent: everyone who answers in time.' })),
    contact: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    location: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    sealed: Type.Optional(
      Type.Object(
        {
          // The real bound is PARLEY_OFFER_MAX_DATA_BYTES (the service, and the route's body limit); this lets its largest value through.
          ciphertext: Base64Url(Math.ceil((64 * 1024 * 1024 * 4) / 3), 'base64url of IV (12 bytes) ‖ AES-256-GCM ciphertext+tag, sealed on the provider\'s device.'),
          serverShare: Base64Url(64, 'base64url of the 32-byte share the server keeps and puts in each voucher.'),
        },
        { additionalProperties: false },
      ),
    ),
    link: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, pattern: '^https?://', description: 'Instead of sealed data: a page the voucher points to.' })),
  },
  { additionalProperties: false },
);
export type OfferBody = Static<typeof OfferBody>;

export const AnswerBody = Type.Object({ answer: Type.Union([Type.Literal('accept'), Type.Literal('decline')]) }, { additionalProperties: false });
export type AnswerBody = Static<typeof AnswerBody>;

export const DeviceKeyBody = Type.Object({ publicKey: Base64Url(64, 'base64url of the raw 32-byte X25519 public key of this device.') }, { additionalProperties: false });
export type DeviceKeyBody = Static<typeof DeviceKeyBody>;

export const SharesBody = Type.Object(
  {
    shares: Type.Array(
      Type.Object({ voucherId: Type.String({ minLength: 1, maxLength: 64 }), deviceId: Type.String({ minLength: 1, maxLength: 64 }), sealed: Base64Url(512, 'The provider\'s share sealed to the device key.') }, { additionalProperties: false }),
      { minItems: 1, maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);
export type SharesBody = Static<typeof SharesBody>;

export const VoucherTokenBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 8000 }) }, { additionalProperties: false });
export type VoucherTokenBody = Static<typeof VoucherTokenBody>;

export const VoucherDecisionBody = Type.Object({ decision: Type.Union([Type.Literal('accept'), Type.Literal('reject')]) }, { additionalProperties: false });
export type VoucherDecisionBody = Static<typeof VoucherDecisionBody>;

export interface InterestView {
  id: string;
  name: string;
  tags: string[];
  predicate: Record<string, unknown>;
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface OfferDeadlineView {
  /** The form the provider used. */
  kind: 'by' | 'window' | 'within';
  /** Answers received from this instant on count (inclusive). */
  opensAt: string;
  /** …up to and including this one. */
  closesAt: string;
  /** The server's receipt of the offer (the start of a "within" duration). */
  receivedAt: string;
}

/** What a matched user sees: only what the provider chose to share. */
export interface OfferView {
  id: string;
  provider: { id: string; handle: string; displayName: string };
  name: string | null;
  identifier: string | null;
  tags: string[];
  attributes: Record<string, unknown>;
  deadline: OfferDeadlineView;
  cap: number | null;
  contact: string | null;
  location: string | null;
  hasData: boolean;
  link: boolean;
  status: 'open' | 'closed' | 'withdrawn';
}

export type AnswerOutcome = 'voucher' | 'declined' | 'too_early' | 'too_late' | 'cap_reached' | 'withdrawn';

/** What a recipient sees of an offer made to them: the offer and their own recorded answer, if any. */
export interface ReceivedOfferView extends OfferView {
  myAnswer: { answer: 'accept' | 'decline'; answeredAt: string; outcome: AnswerOutcome | null } | null;
}

export interface OfferRecipientView {
  accountId: string;
  handle: string;
  offeredAt: string;
  answer: 'accept' | 'decline' | null;
  answeredAt: string | null;
  outcome: AnswerOutcome | null;
  voucherId: string | null;
  shareReleased: boolean;
}

/** The provider's dashboard of one offer. */
export interface ProviderOfferView extends OfferView {
  winners: number;
  recipients: OfferRecipientView[];
}

export interface VoucherView {
  id: string;
  offerId: string;
  providerId: string;
  holderId: string;
  /** Compact JWS (EdDSA) signed by the server: offer, provider, holder, expiry, server share or link. */
  token: string;
  status: 'issued' | 'accepted' | 'rejected' | 'redeemed';
  issuedAt: string;
  expiresAt: string;
}

/** The signed claims of a voucher token. */
export interface VoucherClaims {
  jti: string;
  offer: string;
  provider: string;
  sub: string;
  exp: number;
  iat: number;
  /** base64url server share (sealed-data offers). */
  share?: string;
  link?: string;
}

export interface WinnerKeys {
  voucherId: string;
  accountId: string;
  devices: { deviceId: string; publicKey: string }[];
}

export interface CreditView {
  points: number;
  redemptions: number;
}
