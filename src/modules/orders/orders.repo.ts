import { newId } from '../../ids.js';
import { newSecret } from '../../lib/secrets.js';
import type { CatalogueServiceView, ConsentEntry, CreditBand, OrderView } from '../../protocol/orders.js';
import { toIso } from '../../scheduler/clock.js';
import type { Db, Executor } from '../../storage/db.js';
import type { CatalogueTable, ConsentLogTable, OrderCodesTable, OrdersTable, ProviderRecordsTable } from '../../storage/schema.js';

export interface AccountRef {
  id: string;
  handle: string;
  display_name: string;
}

export type RecordCounter = 'orders_placed' | 'quick_cancellations' | 'complaints' | 'failed_verifications' | 'refunds';

const EMPTY_RECORD = { orders_placed: 0, quick_cancellations: 0, complaints: 0, failed_verifications: 0, refunds: 0, adjustment: 0, adjustment_reason: null, adjusted_by: null, adjusted_at: null };

export function emptyRecord(providerId: string): ProviderRecordsTable {
  return { ...EMPTY_RECORD, provider_id: providerId };
}

/** One more of `counter` in the provider's record: a single upsert, so concurrent orders never lose a count. */
export async function countOnRecord(ex: Executor, providerId: string, counter: RecordCounter): Promise<void> {
  await ex
    .insertInto('provider_records')
    .values({ ...EMPTY_RECORD, provider_id: providerId, [counter]: 1 })
    .onConflict((oc) => oc.column('provider_id').doUpdateSet((eb) => ({ [counter]: eb(`provider_records.${counter}`, '+', 1) })))
    .execute();
}

export function providerRecord(ex: Executor, providerId: string): Promise<ProviderRecordsTable | undefined> {
  return ex.selectFrom('provider_records').selectAll().where('provider_id', '=', providerId).executeTakeFirst();
}

/** The records of several providers at once, by provider id (a provider with no record yet is missing). */
export async function providerRecords(ex: Executor, providerIds: string[]): Promise<Map<string, ProviderRecordsTable>> {
  if (providerIds.length === 0) return new Map();
  const rows = await ex.selectFrom('provider_records').selectAll().where('provider_id', 'in', [...new Set(providerIds)]).execute();
  return new Map(rows.map((r) => [r.provider_id, r]));
}

export interface ConsentStep {
  orderId: string;
  accountId: string;
  actorId: string | null;
  action: string;
  channel?: string | null;
  codeHash?: string | null;
  detail?: Record<string, unknown>;
}

/** Appends to the consent log (the table refuses updates and deletes). */
export async function logConsent(ex: Executor, step: ConsentStep, at: number): Promise<void> {
  await ex
    .insertInto('consent_log')
    .values({
      id: newId(),
      order_id: step.orderId,
      account_id: step.accountId,
      actor_id: step.actorId,
      action: step.action,
      channel: step.channel ?? null,
      code_hash: step.codeHash ?? null,
      detail: JSON.stringify(step.detail ?? {}),
      at,
    })
    .execute();
}

export function consentView(row: ConsentLogTable): ConsentEntry {
  return {
    id: row.id,
    orderId: row.order_id,
    accountId: row.account_id,
    actorId: row.actor_id,
    action: row.action,
    channel: row.channel,
    codeHash: row.code_hash,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
    at: toIso(Number(row.at)),
  };
}

export function catalogueView(row: CatalogueTable, provider: AccountRef, providerBand: CreditBand): CatalogueServiceView {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    description: row.description,
    price: Number(row.price),
    currency: row.currency,
    period: row.period,
    provider: { id: provider.id, handle: provider.handle, displayName: provider.display_name },
    providerBand,
    active: row.active === 1,
    createdAt: toIso(Number(row.created_at)),
  };
}

export function orderView(row: OrdersTable, provider: AccountRef, code: Pick<OrderCodesTable, 'expires_at'> | undefined): OrderView {
  return {
    id: row.id,
    userId: row.user_id,
    provider: { id: provider.id, handle: provider.handle, displayName: provider.display_name },
    service: { id: row.service_id, code: row.service_code, name: row.service_name },
    price: Number(row.price),
    currency: row.currency,
    period: row.period,
    status: row.status,
    band: row.band,
    score: Number(row.score),
    gateway: row.gateway,
    channel: row.channel,
    refusal: row.refusal,
    requestedAt: toIso(Number(row.requested_at)),
    placedAt: row.placed_at === null ? null : toIso(Number(row.placed_at)),
    closedAt: row.closed_at === null ? null : toIso(Number(row.closed_at)),
    codeExpiresAt: row.status === 'pending' && code ? toIso(Number(code.expires_at)) : null,
    complained: row.complained_at !== null,
  };
}

export function accountRefs(ex: Executor, ids: string[]): Promise<AccountRef[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return ex.selectFrom('accounts').select(['id', 'handle', 'display_name']).where('id', 'in', [...new Set(ids)]).execute();
}

/** The named server secret, created by whichever node asks first. */
export async function serverSecret(db: Db, name: string, now: number): Promise<Buffer> {
  await db
    .insertInto('server_secrets')
    .values({ name, secret: newSecret(), created_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('server_secrets').select('secret').where('name', '=', name).executeTakeFirstOrThrow();
  return Buffer.from(row.secret, 'base64url');
}
