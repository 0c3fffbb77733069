import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Actor } from '../../lib/actor.js';
import { parseDuration } from '../../protocol/duration.js';
import type { AnswerBody, AnswerOutcome, CreditView, InterestBody, InterestView, OfferBody, OfferDeadline, OfferView, ProviderOfferView, ReceivedOfferView, SharesBody, VoucherView, WinnerKeys } from '../../protocol/offers.js';
import { toIso, type Clock } from '../../scheduler/clock.js';
import type { FiredTimer, Scheduler } from '../../scheduler/scheduler.js';
import type { Db, Executor, Tx } from '../../storage/db.js';
import type { OfferRecipientsTable, OffersTable, VouchersTable } from '../../storage/schema.js';
import type { Emit, EventLog } from '../events/index.js';
import { OFFER_LIMITS } from './limits.js';
import { candidatesByTerms, interestView, offerView, recipientsOf, replaceTerms, voucherView, winnerKeys, type Descriptor } from './offers.repo.js';
import { compilePredicate, interestTerms, offerTerms, storedInterestMatches } from './predicate.js';
import { VoucherKey } from './voucher-key.js';

export const OFFER_CLOSE_TIMER = 'offer.close';
export const INTEREST_SWEEP_TIMER = 'offers.interest-sweep';
const INTEREST_SWEEP_KEY = 'offers-interest-sweep';
/** How often expired interests are deleted. Matching skips them from their expiry on; this only frees the space. */
export const INTEREST_SWEEP_MS = 10 * 60_000;
const SWEEP_BATCH = 1000;
const MAX_ATTRIBUTES_CHARS = OFFER_LIMITS.attributesChars;
const MAX_PREDICATE_CHARS = OFFER_LIMITS.predicateChars;

export interface AnswerResult {
  outcome: AnswerOutcome;
  answeredAt: string;
  voucher?: VoucherView;
}

/**
 * Interests, offers with response deadlines, answers and vouchers. An answer counts when the
 * server's receipt time lies within the offer's window, both ends included; the close timer only
 * tells people the offer ended, so a late timer never lets a late answer in. The cap is an
 * atomic conditional increment, so concurrent accepts on any engine yield at most `cap` vouchers.
 */
export class OffersService {
  private key: VoucherKey | undefined;

  constructor(
    private readonly db: Db,
    private readonly events: EventLog,
    private readonly scheduler: Scheduler,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'offerMaxDataBytes' | 'offerMaxInterests' | 'voucherTtlMs' | 'voucherRedeemPoints'>,
  ) {
    scheduler.register(OFFER_CLOSE_TIMER, (t) => this.onClose(t));
    scheduler.register(INTEREST_SWEEP_TIMER, async () => {
      await this.sweepExpiredInterests();
    });
  }

  async start(): Promise<void> {
    this.key = await VoucherKey.load(this.db, this.clock.now());
    // Scheduling the key again would move it: on frequent restarts it would never come due.
    const sweep = await this.db.selectFrom('timers').select('id').where('key', '=', INTEREST_SWEEP_KEY).executeTakeFirst();
    if (!sweep) await this.scheduler.schedule(this.db, { kind: INTEREST_SWEEP_TIMER, key: INTEREST_SWEEP_KEY, dueAt: this.clock.now() + INTEREST_SWEEP_MS });
  }

  /** Deletes interests whose expiry has passed (their terms go with them), in batches, then comes back in INTEREST_SWEEP_MS. */
  async sweepExpiredInterests(): Promise<number> {
    const now = this.clock.now();
    let deleted = 0;
    for (;;) {
      const expired = await this.db.selectFrom('interests').select('id').where('expires_at', 'is not', null).where('expires_at', '<=', now).limit(SWEEP_BATCH).execute();
      if (expired.length === 0) break;
      const ids = expired.map((r) => r.id);
      await this.db.deleteFrom('interests').where('id', 'in', ids).execute();
      deleted += ids.length;
      if (ids.length < SWEEP_BATCH) break;
    }
    await this.scheduler.schedule(this.db, { kind: INTEREST_SWEEP_TIMER, key: INTEREST_SWEEP_KEY, dueAt: this.clock.now() + INTEREST_SWEEP_MS });
    return deleted;
  }

  private get voucherKey(): VoucherKey {
    if (!this.key) throw new AppError('UNAVAILABLE');
    return this.key;
  }

  publicKey(): { keys: unknown[] } {
    return { keys: [this.voucherKey.publicJwk] };
  }

  // ── interests ────────────────────────────────────────────────────────────

  async putInterest(actor: Actor, input: InterestBody): Promise<{ interest: InterestView; created: boolean }> {
    const predicate = input.predicate ?? {};
    if (JSON.stringify(predicate).length > MAX_PREDICATE_CHARS) throw new AppError('INVALID_PREDICATE', `The predicate is longer than ${MAX_PREDICATE_CHARS} characters.`);
    compilePredicate(predicate);
    const tags = input.tags ?? [];
    const now = this.clock.now();
    const expiresAt = input.expiresAt === undefined ? null : parseInstant(input.expiresAt);
    if (expiresAt !== null && expiresAt <= now) throw new AppError('DEADLINE_PASSED', 'The interest would expire in the past.');
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('interests').select(['id', 'created_at']).where('account_id', '=', actor.accountId).where('name', '=', input.name).executeTakeFirst();
      if (!existing) {
        const count = await trx.selectFrom('interests').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', actor.accountId).executeTakeFirstOrThrow();
        if (Number(count.n) >= this.config.offerMaxInterests) throw new AppError('TOO_MANY_INTERESTS', undefined, { max: this.config.offerMaxInterests });
      }
      const row = {
        id: existing?.id ?? newId(),
        account_id: actor.accountId,
        name: input.name,
        tags: JSON.stringify(tags),
        predicate: JSON.stringify(predicate),
        expires_at: expiresAt,
        created_at: existing ? Number(existing.created_at) : now,
        updated_at: now,
      };
      if (existing) await trx.updateTable('interests').set(row).where('id', '=', row.id).execute();
      else await trx.insertInto('interests').values(row).execute();
      await replaceTerms(trx, row, interestTerms(tags, predicate));
      return { interest: interestView(row), created: !existing };
    });
  }

  async listInterests(actor: Actor): Promise<InterestView[]> {
    const rows = await this.db.selectFrom('interests').selectAll().where('account_id', '=', actor.accountId).orderBy('name').execute();
    return rows.map(interestView);
  }

  async deleteInterest(actor: Actor, id: string): Promise<void> {
    const result = await this.db.deleteFrom('interests').where('id', '=', id).where('account_id', '=', actor.accountId).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw new AppError('INTEREST_NOT_FOUND');
  }

  /** The live interests an offer matches, at most one per account (the first found). */
  async match(ex: Executor, descriptor: Pick<Descriptor, 'tags' | 'attributes'>, now: number, excludeAccount?: string): Promise<{ interestId: string; accountId: string }[]> {
    const candidates = await candidatesByTerms(ex, offerTerms(descriptor.attributes, descriptor.tags));
    const offerTags = new Set(descriptor.tags);
    const byAccount = new Map<string, string>();
    for (const c of candidates) {
      if (c.account_id === excludeAccount || byAccount.has(c.account_id)) continue;
      if (c.expires_at !== null && Number(c.expires_at) <= now) continue;
      if (storedInterestMatches(c.tags, c.predicate, offerTags, descriptor.attributes)) byAccount.set(c.account_id, c.id);
    }
    return [...byAccount].map(([accountId, interestId]) => ({ accountId, interestId }));
  }

  // ── offers ───────────────────────────────────────────────────────────────

  async publish(actor: Actor, input: OfferBody): Promise<ProviderOfferView> {
    if (!input.name && !input.identifier) throw new AppError('OFFER_INCOMPLETE', 'An offer needs a name or an identifier.');
    if (!input.sealed === !input.link) throw new AppError('OFFER_INCOMPLETE', 'An offer carries either sealed data or a link.');
    if (input.sealed) {
      if (base64UrlBytes(input.sealed.ciphertext) > this.config.offerMaxDataBytes) throw new AppError('OFFER_DATA_TOO_LARGE', undefined, { maxBytes: this.config.offerMaxDataBytes });
      if (base64UrlBytes(input.sealed.ciphertext) < OFFER_LIMITS.minCiphertextBytes) throw new AppError('OFFER_INCOMPLETE', 'The sealed data is too short to be IV ‖ ciphertext ‖ tag.');
      if (base64UrlBytes(input.sealed.serverShare) !== OFFER_LIMITS.shareBytes) throw new AppError('OFFER_INCOMPLETE', `The server share must be ${OFFER_LIMITS.shareBytes} bytes.`);
    }
    const attributes = input.attributes ?? {};
    if (JSON.stringify(attributes).length > MAX_ATTRIBUTES_CHARS) throw new AppError('VALIDATION_FAILED', `Offer attributes may be at most ${MAX_ATTRIBUTES_CHARS} characters of JSON.`);
    const receivedAt = actor.origin?.receivedAt ?? this.clock.now();
    const { opensAt, closesAt } = resolveDeadline(input.deadline, receivedAt);
    const descriptor: Descriptor = { name: input.name ?? null, identifier: input.identifier ?? null, tags: input.tags ?? [], attributes };
    const shared = { ...(input.contact ? { contact: input.contact } : {}), ...(input.location ? { location: input.location } : {}) };
    const id = newId();
    await this.events.transact(async (trx, emit, now) => {
      const row: OffersTable = {
        id,
        provider_id: actor.accountId,
        descriptor: JSON.stringify(descriptor),
        deadline: JSON.stringify(input.deadline),
        opens_at: opensAt,
        closes_at: closesAt,
        received_at: receivedAt,
        cap: input.cap ?? null,
        winners: 0,
        shared: JSON.stringify(shared),
        ciphertext: input.sealed?.ciphertext ?? null,
        server_share: input.sealed?.serverShare ?? null,
        link: input.link ?? null,
        status: 'open',
        closed_at: null,
      };
      await trx.insertInto('offers').values(row).execute();
      const matched = await this.match(trx, descriptor, now, actor.accountId);
      if (matched.length > 0) {
        await trx
          .insertInto('offer_recipients')
          .values(matched.map((m) => ({ offer_id: id, account_id: m.accountId, interest_id: m.interestId, offered_at: now, answer: null, answered_at: null, outcome: null })))
          .execute();
        const provider = await this.provider(trx, actor.accountId);
        const view = offerView(row, provider);
        for (const m of matched) emit(m.accountId, 'offer', { offer: view, interestId: m.interestId });
      }
      // The end is inclusive: the offer closes once that millisecond is over.
      await this.scheduler.schedule(trx, { kind: OFFER_CLOSE_TIMER, key: `offer:${id}`, dueAt: closesAt + 1, payload: { offerId: id } });
    });
    return this.providerView(this.db, (await this.offerRow(this.db, id))!);
  }

  async get(actor: Actor, offerId: string): Promise<ReceivedOfferView | ProviderOfferView> {
    const row = await this.offerRow(this.db, offerId);
    if (!row) throw new AppError('OFFER_NOT_FOUND');
    if (row.provider_id === actor.accountId) return this.providerView(this.db, row);
    const mine = await this.db.selectFrom('offer_recipients').select(['answer', 'answered_at', 'outcome']).where('offer_id', '=', offerId).where('account_id', '=', actor.accountId).executeTakeFirst();
    if (!mine) throw new AppError('OFFER_NOT_FOUND');
    return { ...offerView(row, await this.provider(this.db, row.provider_id)), myAnswer: myAnswer(mine) };
  }

  /** Offers you published, or offers made to you with your recorded answer (newest first, at most 200). */
  async list(actor: Actor, role: 'provider' | 'recipient'): Promise<(OfferView | ReceivedOfferView)[]> {
    const providers = new Map<string, Awaited<ReturnType<OffersService['provider']>>>();
    const providerOf = async (id: string) => {
      if (!providers.has(id)) providers.set(id, await this.provider(this.db, id));
      return providers.get(id)!;
    };
    if (role === 'provider') {
      const rows = await this.db.selectFrom('offers').selectAll().where('provider_id', '=', actor.accountId).orderBy('id', 'desc').limit(200).execute();
      const out: OfferView[] = [];
      for (const row of rows) out.push(offerView(row, await providerOf(row.provider_id)));
      return out;
    }
    const rows = await this.db
      .selectFrom('offers')
      .innerJoin('offer_recipients', 'offer_recipients.offer_id', 'offers.id')
      .selectAll('offers')
      .select(['offer_recipients.answer', 'offer_recipients.answered_at', 'offer_recipients.outcome'])
      .where('offer_recipients.account_id', '=', actor.accountId)
      .orderBy('offers.id', 'desc')
      .limit(200)
      .execute();
    const out: ReceivedOfferView[] = [];
    for (const row of rows) out.push({ ...offerView(row, await providerOf(row.provider_id)), myAnswer: myAnswer(row) });
    return out;
  }

  /**
   * Accept or decline. A refused accept (too late, over the cap) is recorded before it is refused,
   * so the provider sees who answered when; an early one is not, so it can be sent again in time.
   */
  async answer(actor: Actor, offerId: string, input: AnswerBody): Promise<AnswerResult> {
    const receivedAt = actor.origin?.receivedAt ?? this.clock.now();
    const result = await this.events.transact(async (trx, emit, now) => {
      const offer = await this.offerRow(trx, offerId);
      const recipient =
        offer && (await trx.selectFrom('offer_recipients').selectAll().where('offer_id', '=', offerId).where('account_id', '=', actor.accountId).executeTakeFirst());
      if (!offer || !recipient) throw new AppError('OFFER_NOT_FOUND');
      if (recipient.answer !== null) throw new AppError('ALREADY_ANSWERED', undefined, { answer: recipient.answer, answeredAt: toIso(Number(recipient.answered_at)), outcome: recipient.outcome });
      const times = { receivedAt: toIso(receivedAt), opensAt: toIso(Number(offer.opens_at)), closesAt: toIso(Number(offer.closes_at)) };
      if (offer.status === 'withdrawn') throw new AppError('OFFER_CLOSED', 'The provider withdrew this offer.', times);
      let outcome: AnswerOutcome;
      if (input.answer === 'decline') outcome = 'declined';
      else if (receivedAt < Number(offer.opens_at)) throw new AppError('ANSWER_TOO_EARLY', `Your answer arrived at ${times.receivedAt}; the offer opens at ${times.opensAt}.`, times);
      else if (receivedAt > Number(offer.closes_at)) outcome = 'too_late';
      else outcome = (await this.takeSlot(trx, offerId)) ? 'voucher' : 'cap_reached';

      const claimed = await trx
        .updateTable('offer_recipients')
        .set({ answer: input.answer, answered_at: receivedAt, outcome })
        .where('offer_id', '=', offerId)
        .where('account_id', '=', actor.accountId)
        .where('answer', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) throw new AppError('ALREADY_ANSWERED');
      emit(offer.provider_id, 'offer.answered', { offerId, accountId: actor.accountId, answer: input.answer, answeredAt: times.receivedAt, outcome });
      const voucher = outcome === 'voucher' ? await this.issue(trx, emit, offer, actor.accountId, now) : undefined;
      return { outcome, answeredAt: times.receivedAt, voucher, times };
    });
    if (result.outcome === 'too_late') throw new AppError('ANSWER_TOO_LATE', `Your answer arrived at ${result.times.receivedAt}, after the deadline ${result.times.closesAt}.`, result.times);
    if (result.outcome === 'cap_reached') throw new AppError('OFFER_CAP_REACHED', undefined, result.times);
    return { outcome: result.outcome, answeredAt: result.answeredAt, voucher: result.voucher };
  }

  /** One of the `cap` voucher slots, if any is left: a single conditional update, atomic on both engines. */
  private async takeSlot(trx: Tx, offerId: string): Promise<boolean> {
    const r = await trx
      .updateTable('offers')
      .set((eb) => ({ winners: eb('winners', '+', 1) }))
      .where('id', '=', offerId)
      .where((eb) => eb.or([eb('cap', 'is', null), eb('winners', '<', eb.ref('cap'))]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  private async issue(trx: Tx, emit: Emit, offer: OffersTable, holderId: string, now: number): Promise<VoucherView> {
    const id = newId();
    const expiresAt = now + this.config.voucherTtlMs;
    const token = await this.voucherKey.sign(
      {
        jti: id,
        offer: offer.id,
        provider: offer.provider_id,
        sub: holderId,
        exp: Math.floor(expiresAt / 1000),
        ...(offer.server_share ? { share: offer.server_share } : {}),
        ...(offer.link ? { link: offer.link } : {}),
      },
      now,
    );
    const row: VouchersTable = { id, offer_id: offer.id, provider_id: offer.provider_id, holder_id: holderId, token, status: 'issued', issued_at: now, expires_at: expiresAt, share_released_at: null, decided_at: null };
    await trx.insertInto('vouchers').values(row).execute();
    const view = voucherView(row);
    emit(holderId, 'voucher', { voucher: view });
    if (offer.ciphertext !== null) {
      const [keys] = await winnerKeys(trx, [row]);
      emit(offer.provider_id, 'offer.winner', { offerId: offer.id, ...keys! });
    }
    return view;
  }

  async withdraw(actor: Actor, offerId: string): Promise<ProviderOfferView> {
    await this.events.transact(async (trx, emit, now) => {
      const offer = await this.ownOffer(trx, actor, offerId);
      if (offer.status !== 'open') throw new AppError('OFFER_CLOSED');
      await this.close(trx, emit, offer, 'withdrawn', now);
      await this.scheduler.cancel(trx, `offer:${offerId}`);
    });
    return this.providerView(this.db, (await this.offerRow(this.db, offerId))!);
  }

  private async onClose(timer: FiredTimer): Promise<void> {
    const { offerId } = timer.payload as { offerId: string };
    await this.events.transact(async (trx, emit, now) => {
      const offer = await this.offerRow(trx, offerId);
      if (!offer || offer.status !== 'open' || now <= Number(offer.closes_at)) return;
      await this.close(trx, emit, offer, 'expired', now);
    });
  }

  private async close(trx: Tx, emit: Emit, offer: OffersTable, reason: 'expired' | 'withdrawn', now: number): Promise<void> {
    const moved = await trx
      .updateTable('offers')
      .set({ status: reason === 'expired' ? 'closed' : 'withdrawn', closed_at: now })
      .where('id', '=', offer.id)
      .where('status', '=', 'open')
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) === 0) return;
    const waiting = await trx.selectFrom('offer_recipients').select('account_id').where('offer_id', '=', offer.id).where('answer', 'is', null).execute();
    emit(offer.provider_id, 'offer.closed', { offerId: offer.id, reason });
    for (const r of waiting) emit(r.account_id, 'offer.closed', { offerId: offer.id, reason });
  }

  // ── share release ────────────────────────────────────────────────────────

  async registerDeviceKey(actor: Actor, publicKey: string): Promise<{ deviceId: string; publicKey: string }> {
    if (base64UrlBytes(publicKey) !== OFFER_LIMITS.shareBytes) throw new AppError('INVALID_PUBLIC_KEY');
    const now = this.clock.now();
    await this.db
      .insertInto('device_keys')
      .values({ device_id: actor.deviceId, account_id: actor.accountId, public_key: publicKey, created_at: now })
      .onConflict((oc) => oc.column('device_id').doUpdateSet({ public_key: publicKey, created_at: now }))
      .execute();
    return { deviceId: actor.deviceId, publicKey };
  }

  /** Winners still waiting for the provider's share (a provider device asks on reconnect). */
  async pendingShares(actor: Actor): Promise<(WinnerKeys & { offerId: string })[]> {
    const vouchers = await this.db
      .selectFrom('vouchers')
      .innerJoin('offers', 'offers.id', 'vouchers.offer_id')
      .select(['vouchers.id', 'vouchers.holder_id', 'vouchers.offer_id'])
      .where('vouchers.provider_id', '=', actor.accountId)
      .where('vouchers.share_released_at', 'is', null)
      .where('vouchers.status', 'in', ['issued', 'accepted'])
      .where('offers.ciphertext', 'is not', null)
      .orderBy('vouchers.id')
      .limit(1000)
      .execute();
    const keys = await winnerKeys(this.db, vouchers);
    return keys.map((k, i) => ({ ...k, offerId: vouchers[i]!.offer_id }));
  }

  /** Relays the provider's share, sealed on its device to each winner device's key; the server cannot open it. */
  async releaseShares(actor: Actor, input: SharesBody): Promise<{ released: number }> {
    return this.events.transact(async (trx, emit, now) => {
      for (const share of input.shares) {
        const voucher = await trx.selectFrom('vouchers').selectAll().where('id', '=', share.voucherId).executeTakeFirst();
        if (!voucher || voucher.provider_id !== actor.accountId) throw new AppError('VOUCHER_NOT_FOUND', undefined, { voucherId: share.voucherId });
        const key = await trx.selectFrom('device_keys').select('account_id').where('device_id', '=', share.deviceId).executeTakeFirst();
        if (!key || key.account_id !== voucher.holder_id) throw new AppError('DEVICE_NOT_FOUND', 'That device has no key registered by the voucher holder.', { deviceId: share.deviceId });
        await trx.updateTable('vouchers').set({ share_released_at: now }).where('id', '=', voucher.id).execute();
        emit(voucher.holder_id, 'voucher.share', { voucherId: voucher.id, offerId: voucher.offer_id, deviceId: share.deviceId, sealed: share.sealed });
      }
      return { released: input.shares.length };
    });
  }

  // ── vouchers ─────────────────────────────────────────────────────────────

  async vouchers(actor: Actor): Promise<VoucherView[]> {
    const rows = await this.db.selectFrom('vouchers').selectAll().where('holder_id', '=', actor.accountId).orderBy('id', 'desc').limit(500).execute();
    return rows.map(voucherView);
  }

  async voucher(actor: Actor, id: string): Promise<VoucherView> {
    const row = await this.visibleVoucher(this.db, actor, id);
    return voucherView(row);
  }

  /** The sealed target data, for the holder only: useless without the provider's share. */
  async voucherData(actor: Actor, id: string): Promise<{ ciphertext: string | null; link: string | null }> {
    const row = await this.visibleVoucher(this.db, actor, id);
    if (row.holder_id !== actor.accountId) throw new AppError('VOUCHER_NOT_YOURS');
    if (row.status === 'rejected') throw new AppError('VOUCHER_CLOSED');
    const offer = (await this.offerRow(this.db, row.offer_id))!;
    return { ciphertext: offer.ciphertext, link: offer.link };
  }

  async decide(actor: Actor, id: string, decision: 'accept' | 'reject'): Promise<VoucherView> {
    return this.events.transact(async (trx, emit, now) => {
      const row = await this.visibleVoucher(trx, actor, id);
      if (row.holder_id !== actor.accountId) throw new AppError('VOUCHER_NOT_YOURS');
      if (row.status !== 'issued' && !(row.status === 'accepted' && decision === 'accept')) throw new AppError('VOUCHER_CLOSED', undefined, { status: row.status });
      const status = decision === 'accept' ? 'accepted' : 'rejected';
      await trx.updateTable('vouchers').set({ status, decided_at: now }).where('id', '=', id).execute();
      emit(row.provider_id, 'voucher.status', { voucherId: id, offerId: row.offer_id, accountId: row.holder_id, status, credit: await this.creditOf(trx, row.provider_id) });
      return voucherView({ ...row, status, decided_at: now });
    });
  }

  /** Redeems a voucher by its signed token: only its holder may, once, before it expires; the provider earns credit. */
  async redeem(actor: Actor, token: string): Promise<VoucherView> {
    const claims = await this.voucherKey.verify(token);
    if (claims.sub !== actor.accountId) throw new AppError('VOUCHER_NOT_YOURS');
    return this.events.transact(async (trx, emit, now) => {
      if (claims.exp * 1000 < now) throw new AppError('VOUCHER_EXPIRED');
      const row = await trx.selectFrom('vouchers').selectAll().where('id', '=', claims.jti).executeTakeFirst();
      if (!row || row.token !== token) throw new AppError('VOUCHER_INVALID');
      const moved = await trx
        .updateTable('vouchers')
        .set({ status: 'redeemed', decided_at: now })
        .where('id', '=', row.id)
        .where('status', 'in', ['issued', 'accepted'])
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 0) throw new AppError('VOUCHER_CLOSED', undefined, { status: row.status });
      const points = this.config.voucherRedeemPoints;
      await trx
        .insertInto('provider_credit')
        .values({ account_id: row.provider_id, points, redemptions: 1 })
        .onConflict((oc) => oc.column('account_id').doUpdateSet((eb) => ({ points: eb('provider_credit.points', '+', points), redemptions: eb('provider_credit.redemptions', '+', 1) })))
        .execute();
      emit(row.provider_id, 'voucher.status', { voucherId: row.id, offerId: row.offer_id, accountId: row.holder_id, status: 'redeemed', credit: await this.creditOf(trx, row.provider_id) });
      return voucherView({ ...row, status: 'redeemed', decided_at: now });
    });
  }

  credit(actor: Actor): Promise<CreditView> {
    return this.creditOf(this.db, actor.accountId);
  }

  // ── helpers ──────────────────────────────────────────────────────────────

  private async creditOf(ex: Executor, accountId: string): Promise<CreditView> {
    const row = await ex.selectFrom('provider_credit').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    return { points: Number(row?.points ?? 0), redemptions: Number(row?.redemptions ?? 0) };
  }

  private async visibleVoucher(ex: Executor, actor: Actor, id: string): Promise<VouchersTable> {
    const row = await ex.selectFrom('vouchers').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (row.holder_id !== actor.accountId && row.provider_id !== actor.accountId)) throw new AppError('VOUCHER_NOT_FOUND');
    return row;
  }

  private offerRow(ex: Executor, id: string): Promise<OffersTable | undefined> {
    return ex.selectFrom('offers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  private async ownOffer(ex: Executor, actor: Actor, id: string): Promise<OffersTable> {
    const row = await this.offerRow(ex, id);
    if (!row) throw new AppError('OFFER_NOT_FOUND');
    if (row.provider_id !== actor.accountId) {
      const offered = await ex.selectFrom('offer_recipients').select('account_id').where('offer_id', '=', id).where('account_id', '=', actor.accountId).executeTakeFirst();
      throw new AppError(offered ? 'NOT_OFFER_PROVIDER' : 'OFFER_NOT_FOUND');
    }
    return row;
  }

  private provider(ex: Executor, id: string): Promise<{ id: string; handle: string; display_name: string }> {
    return ex.selectFrom('accounts').select(['id', 'handle', 'display_name']).where('id', '=', id).executeTakeFirstOrThrow();
  }

  private async providerView(ex: Executor, row: OffersTable): Promise<ProviderOfferView> {
    const recipients = await recipientsOf(ex, row.id);
    return {
      ...offerView(row, await this.provider(ex, row.provider_id)),
      winners: Number(row.winners),
      recipients: recipients.map((r) => ({
        accountId: r.account_id,
        handle: r.handle,
        offeredAt: toIso(Number(r.offered_at)),
        answer: r.answer,
        answeredAt: r.answered_at === null ? null : toIso(Number(r.answered_at)),
        outcome: r.outcome,
        voucherId: r.voucher_id,
        shareReleased: r.share_released_at !== null,
      })),
    };
  }
}

function myAnswer(r: Pick<OfferRecipientsTable, 'answer' | 'answered_at' | 'outcome'>): ReceivedOfferView['myAnswer'] {
  return r.answer === null ? null : { answer: r.answer, answeredAt: toIso(Number(r.answered_at)), outcome: r.outcome };
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseInstant(value: string): number {
  const ms = INSTANT.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw new AppError('INVALID_DEADLINE', `"${value}" is not an ISO-8601 instant with a time zone (e.g. 2026-05-01T09:00:00.000Z).`);
  return ms;
}

/** The inclusive [opensAt, closesAt] window of a deadline, checked against the server's receipt time. */
export function resolveDeadline(deadline: OfferDeadline, receivedAt: number): { opensAt: number; closesAt: number } {
  let opensAt = receivedAt;
  let closesAt: number;
  if ('by' in deadline) closesAt = parseInstant(deadline.by);
  else if ('within' in deadline) {
    try {
      closesAt = receivedAt + parseDuration(deadline.within);
    } catch (err) {
      if (err instanceof AppError) throw new AppError('INVALID_DEADLINE', err.message);
      throw err;
    }
  } else {
    opensAt = parseInstant(deadline.from);
    closesAt = parseInstant(deadline.to);
    if (opensAt > closesAt) throw new AppError('INVALID_WINDOW', undefined, { from: deadline.from, to: deadline.to });
  }
  if (closesAt < receivedAt) throw new AppError('DEADLINE_PASSED', `The deadline ${toIso(closesAt)} is before the server received the offer (${toIso(receivedAt)}).`, { closesAt: toIso(closesAt), receivedAt: toIso(receivedAt) });
  return { opensAt, closesAt };
}

function base64UrlBytes(s: string): number {
  return Math.floor((s.length * 3) / 4);
}
