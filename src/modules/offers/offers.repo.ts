import { toIso } from '../../scheduler/clock.js';
import type { Executor } from '../../storage/db.js';
import type { InterestsTable, InterestTermsTable, OfferRecipientsTable, OffersTable, VouchersTable } from '../../storage/schema.js';
import type { InterestView, OfferView, VoucherView, WinnerKeys } from '../../protocol/offers.js';

export interface Descriptor {
  name: string | null;
  identifier: string | null;
  tags: string[];
  attributes: Record<string, unknown>;
}

export interface Candidate {
  id: string;
  account_id: string;
  tags: string;
  predicate: string;
  expires_at: number | null;
}

// Well under SQLite's and PostgreSQL's bound-parameter limits.
const IN_CHUNK = 500;

/** Interests filed under any of `terms`, each once. */
export async function candidatesByTerms(ex: Executor, terms: string[]): Promise<Candidate[]> {
  const seen = new Set<string>();
  const out: Candidate[] = [];
  for (let i = 0; i < terms.length; i += IN_CHUNK) {
    const rows = await ex
      .selectFrom('interest_terms')
      .select(['interest_id as id', 'account_id', 'tags', 'predicate', 'expires_at'])
      .where('term', 'in', terms.slice(i, i + IN_CHUNK))
      .execute();
    for (const row of rows) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      out.push(row);
    }
  }
  return out;
}

export function termRows(interest: InterestsTable, terms: string[]): InterestTermsTable[] {
  const { id, account_id, tags, predicate, expires_at, updated_at } = interest;
  return terms.map((term) => ({ term, interest_id: id, account_id, tags, predicate, expires_at, updated_at }));
}

export async function replaceTerms(ex: Executor, interest: InterestsTable, terms: string[]): Promise<void> {
  await ex.deleteFrom('interest_terms').where('interest_id', '=', interest.id).execute();
  await ex.insertInto('interest_terms').values(termRows(interest, terms)).execute();
}

/** Each winner's registered device keys, for the provider's devices to seal their share to. */
export async function winnerKeys(ex: Executor, vouchers: Pick<VouchersTable, 'id' | 'holder_id'>[]): Promise<WinnerKeys[]> {
  if (vouchers.length === 0) return [];
  const keys = await ex
    .selectFrom('device_keys')
    .innerJoin('devices', 'devices.id', 'device_keys.device_id')
    .select(['device_keys.device_id', 'device_keys.account_id', 'device_keys.public_key'])
    .where('device_keys.account_id', 'in', [...new Set(vouchers.map((v) => v.holder_id))])
    .where('devices.revoked_at', 'is', null)
    .execute();
  return vouchers.map((v) => ({
    voucherId: v.id,
    accountId: v.holder_id,
    devices: keys.filter((k) => k.account_id === v.holder_id).map((k) => ({ deviceId: k.device_id, publicKey: k.public_key })),
  }));
}

export function interestView(row: InterestsTable): InterestView {
  return {
    id: row.id,
    name: row.name,
    tags: JSON.parse(row.tags) as string[],
    predicate: JSON.parse(row.predicate) as Record<string, unknown>,
    expiresAt: row.expires_at === null ? null : toIso(Number(row.expires_at)),
    createdAt: toIso(Number(row.created_at)),
    updatedAt: toIso(Number(row.updated_at)),
  };
}

export function offerView(row: OffersTable, provider: { id: string; handle: string; display_name: string }): OfferView {
  const descriptor = JSON.parse(row.descriptor) as Descriptor;
  const shared = JSON.parse(row.shared) as { contact?: string; location?: string };
  const deadline = JSON.parse(row.deadline) as Record<string, unknown>;
  return {
    id: row.id,
    provider: { id: provider.id, handle: provider.handle, displayName: provider.display_name },
    name: descriptor.name,
    identifier: descriptor.identifier,
    tags: descriptor.tags,
    attributes: descriptor.attributes,
    deadline: {
      kind: 'within' in deadline ? 'within' : 'from' in deadline ? 'window' : 'by',
      opensAt: toIso(Number(row.opens_at)),
      closesAt: toIso(Number(row.closes_at)),
      receivedAt: toIso(Number(row.received_at)),
    },
    cap: row.cap === null ? null : Number(row.cap),
    contact: shared.contact ?? null,
    location: shared.location ?? null,
    hasData: row.ciphertext !== null,
    link: row.link !== null,
    status: row.status,
  };
}

export function voucherView(row: VouchersTable): VoucherView {
  return {
    id: row.id,
    offerId: row.offer_id,
    providerId: row.provider_id,
    holderId: row.holder_id,
    token: row.token,
    status: row.status,
    issuedAt: toIso(Number(row.issued_at)),
    expiresAt: toIso(Number(row.expires_at)),
  };
}

export type RecipientRow = OfferRecipientsTable & { handle: string; voucher_id: string | null; share_released_at: number | null };

export async function recipientsOf(ex: Executor, offerId: string): Promise<RecipientRow[]> {
  return ex
    .selectFrom('offer_recipients')
    .innerJoin('accounts', 'accounts.id', 'offer_recipients.account_id')
    .leftJoin('vouchers', (j) => j.onRef('vouchers.offer_id', '=', 'offer_recipients.offer_id').onRef('vouchers.holder_id', '=', 'offer_recipients.account_id'))
    .selectAll('offer_recipients')
    .select(['accounts.handle', 'vouchers.id as voucher_id', 'vouchers.share_released_at'])
    .where('offer_recipients.offer_id', '=', offerId)
    .orderBy('offer_recipients.offered_at')
    .orderBy('offer_recipients.account_id')
    .execute();
}
