import type { Channels } from '../../channels/index.js';
import { ConfigError, type Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Actor } from '../../lib/actor.js';
import { hmacHex, newNumericCode, safeEqualHex, sha256Hex } from '../../lib/secrets.js';
import type { AdjustmentBody, ConsentEntry, ProviderCreditEntry, ProviderCreditView, Gateway, InteractionChannel, OrderBody, OrderResult, OrderView } from '../../protocol/orders.js';
import { toIso, type Clock } from '../../scheduler/clock.js';
import type { FiredTimer, Scheduler } from '../../scheduler/scheduler.js';
import type { Db, Executor, Tx } from '../../storage/db.js';
import type { OrdersTable } from '../../storage/schema.js';
import type { Emit, EventLog } from '../events/index.js';
import { creditBand, creditInputs, creditScore, creditView } from './credit.js';
import { cancelledNotice, lockedNotice, orderedNotice, refusedNotice, verificationNotice } from './notices.js';
import { accountRefs, consentView, countOnRecord, emptyRecord, logConsent, orderView, providerRecord, providerRecords, serverSecret, type AccountRef } from './orders.repo.js';

export const ORDER_CODE_TIMER = 'order.code-expiry';
const QUICK_CANCEL_MS = 24 * 3600_000;
export const REFUSAL_CREDIT_LOW = 'PROVIDER_CREDIT_LOW';

type OrdersConfig = Pick<
  Config,
  'orderCreditHigh' | 'orderCreditLow' | 'orderCodeTtlMs' | 'orderCodeMaxAttempts' | 'orderCodeResends' | 'orderAccountFailureCap' | 'orderLockoutBaseMs'
>;

/** A notice for a channel outside the database (SMS, e-mail): sent after the commit that caused it. */
interface Outgoing {
  orderId: string;
  userId: string;
  channel: 'sms' | 'email';
  to: string;
  text: string;
}

/** Where one user's notices go, after falling back to im when the chosen channel is unavailable. */
interface Route {
  channel: InteractionChannel;
  to: string | null;
}

/** Collects a transaction's notices: im ones become stream events (or chat replies), the others are sent after commit. */
class Notices {
  readonly outgoing: Outgoing[] = [];
  /** im notices handed back to the chat gateway, which answers with them instead of a stream event. */
  readonly replies: string[] = [];
  constructor(private readonly replyInChat: boolean) {}

  /** `asEvent`: an im notice that must not ride on a chat reply (the reply is an error then). */
  add(emit: Emit, order: Pick<OrdersTable, 'id' | 'user_id'>, route: Route, text: string, asEvent = false): void {
    if (route.channel === 'im' || route.to === null) {
      if (this.replyInChat && !asEvent) this.replies.push(text);
      else emit(order.user_id, 'order.notice', { orderId: order.id, text });
    } else this.outgoing.push({ orderId: order.id, userId: order.user_id, channel: route.channel, to: route.to, text });
  }
}

type ConfirmOutcome = { kind: 'placed'; view: OrderView } | { kind: 'rejected' | 'locked' };

export interface Via {
  /** Where the step came in: HTTP, chat (im) or SMS. */
  gateway: Gateway;
  /** Who did it (the user, the provider, an operator); null for the system or the CLI. */
  actorId: string | null;
}

export interface GatewayOutcome<T> {
  value: T;
  /** im notices the chat gateway answers with. */
  replies: string[];
}

/**
 * Orders guarded by the provider's credit: the score read when the request arrives decides the
 * interaction — placed at once (high), placed only after the user returns a code (medium), or
 * refused (low). Codes are 6 digits from a CSPRNG, stored only as an HMAC bound to a hash of the
 * order, single use, expiring by a durable timer; every step lands in the append-only consent log.
 */
export class OrdersService {
  private secret: Buffer | undefined;

  constructor(
    private readonly db: Db,
    private readonly events: EventLog,
    private readonly scheduler: Scheduler,
    private readonly channels: Channels,
    private readonly clock: Clock,
    private readonly config: OrdersConfig,
  ) {
    if (config.orderCreditLow > config.orderCreditHigh) throw new ConfigError(`PARLEY_ORDER_CREDIT_LOW (${config.orderCreditLow}) is above PARLEY_ORDER_CREDIT_HIGH (${config.orderCreditHigh})`);
    scheduler.register(ORDER_CODE_TIMER, (t) => this.onCodeExpired(t));
  }

  async start(): Promise<void> {
    this.secret = await serverSecret(this.db, 'order-codes', this.clock.now());
  }

  // ── requests ─────────────────────────────────────────────────────────────

  async request(actor: Actor, input: OrderBody): Promise<OrderResult> {
    return (await this.requestVia(actor.accountId, input, { gateway: 'http', actorId: actor.accountId })).value;
  }

  /** An order request from any gateway. A repeat (same clientId, or the same service still open) returns the order it made. */
  async requestVia(userId: string, input: OrderBody, via: Via): Promise<GatewayOutcome<OrderResult>> {
    const serviceCode = input.service.toUpperCase();
    const requested = input.channel ?? (via.gateway === 'sms' ? 'sms' : 'im');
    const clientKey = input.clientId ? `${userId}:${input.clientId}` : null;
    let notices = new Notices(via.gateway === 'im');
    const result = await this.events.transact(async (trx, emit, now) => {
      notices = new Notices(via.gateway === 'im');
      if (clientKey) {
        const existing = await trx.selectFrom('orders').selectAll().where('client_key', '=', clientKey).executeTakeFirst();
        if (existing) return this.duplicate(trx, existing);
      }
      const service = await trx.selectFrom('catalogue').selectAll().where('code', '=', serviceCode).where('active', '=', 1).executeTakeFirst();
      if (!service) throw new AppError('CATALOGUE_SERVICE_NOT_FOUND', undefined, { code: serviceCode });
      const openKey = `${userId}:${service.id}`;
      const open = await trx.selectFrom('orders').selectAll().where('open_key', '=', openKey).executeTakeFirst();
      if (open) return this.duplicate(trx, open);

      const provider = await trx.selectFrom('accounts').select(['id', 'handle', 'display_name', 'created_at']).where('id', '=', service.provider_id).executeTakeFirstOrThrow();
      const record = await providerRecord(trx, provider.id);
      const credit = creditScore(creditInputs(record, Number(provider.created_at), now), Number(record?.adjustment ?? 0));
      const band = creditBand(credit.score, this.thresholds);
      const route = await this.route(trx, userId, requested);
      const placedStatus = service.period === 'monthly' ? 'active' : 'completed';
      const order: OrdersTable = {
        id: newId(),
        user_id: userId,
        provider_id: provider.id,
        service_id: service.id,
        service_code: service.code,
        service_name: service.name,
        price: Number(service.price),
        currency: service.currency,
        period: service.period,
        status: band === 'high' ? placedStatus : band === 'medium' ? 'pending' : 'refused',
        band,
        score: credit.score,
        gateway: via.gateway,
        channel: route.channel,
        refusal: band === 'low' ? REFUSAL_CREDIT_LOW : null,
        client_key: clientKey,
        open_key: band === 'medium' || (band === 'high' && service.period === 'monthly') ? openKey : null,
        requested_at: now,
        placed_at: band === 'high' ? now : null,
        closed_at: band === 'low' ? now : null,
        complained_at: null,
      };
      await trx.insertInto('orders').values(order).execute();
      const step = { orderId: order.id, accountId: userId, actorId: via.actorId };
      await logConsent(trx, { ...step, action: 'requested', channel: via.gateway, detail: { service: service.code, price: order.price, currency: order.currency, period: order.period, score: credit.score, band, requestedChannel: requested } }, now);
      if (route.channel !== requested) await logConsent(trx, { ...step, action: 'channel_fallback', channel: route.channel, detail: { from: requested, reason: 'unavailable' } }, now);
      const facts = { ...order, providerName: provider.display_name };
      let expiresAt: number | null = null;
      if (band === 'high') {
        await countOnRecord(trx, provider.id, 'orders_placed');
        await logConsent(trx, { ...step, actorId: null, action: 'ordered', channel: route.channel, detail: { frictionless: true } }, now);
        notices.add(emit, order, route, orderedNotice(facts));
      } else if (band === 'medium') {
        const code = newNumericCode();
        expiresAt = now + this.config.orderCodeTtlMs;
        const codeHash = this.codeHash(order, code);
        await trx.insertInto('order_codes').values({ order_id: order.id, user_id: userId, code_hash: codeHash, attempts: 0, sends: 1, expires_at: expiresAt }).execute();
        await this.scheduler.schedule(trx, { kind: ORDER_CODE_TIMER, key: codeTimerKey(order.id), dueAt: expiresAt, payload: { orderId: order.id } });
        await logConsent(trx, { ...step, actorId: null, action: 'verification_sent', channel: route.channel, codeHash, detail: { expiresAt: toIso(expiresAt) } }, now);
        notices.add(emit, order, route, verificationNotice(facts, code, this.config.orderCodeTtlMs));
      } else {
        await logConsent(trx, { ...step, actorId: null, action: 'refused', channel: route.channel, detail: { reason: REFUSAL_CREDIT_LOW, score: credit.score } }, now);
        notices.add(emit, order, route, refusedNotice(facts, REFUSAL_CREDIT_LOW));
      }
      const view = orderView(order, provider, expiresAt === null ? undefined : { expires_at: expiresAt });
      if (band === 'high') {
        emit(userId, 'order.placed', { order: view });
        emit(provider.id, 'order.placed', { order: view });
      } else if (band === 'medium') emit(userId, 'order.verification', { order: view, expiresAt: toIso(expiresAt!) });
      else emit(userId, 'order.refused', { order: view, reason: REFUSAL_CREDIT_LOW });
      const interaction = band === 'high' ? 'ordered' : band === 'medium' ? 'verification' : 'refused';
      return { order: view, interaction, duplicate: false } satisfies OrderResult;
    });
    await this.send(notices.outgoing);
    return { value: result, replies: notices.replies };
  }

  private async duplicate(ex: Executor, row: OrdersTable): Promise<OrderResult> {
    const interaction = row.status === 'refused' ? 'refused' : row.status === 'pending' || row.placed_at === null ? 'verification' : 'ordered';
    return { order: await this.view(ex, row), interaction, duplicate: true };
  }

  // ── verification ─────────────────────────────────────────────────────────

  async confirm(actor: Actor, orderId: string, code: string): Promise<OrderView> {
    const row = await this.visibleOrder(this.db, actor, orderId);
    if (row.user_id !== actor.accountId) throw new AppError('NOT_ORDER_USER');
    return (await this.confirmVia(actor.accountId, orderId, code, { gateway: 'http', actorId: actor.accountId })).value;
  }

  /**
   * A code answered in chat or by SMS, without naming the order: it is tried against the user's
   * pending orders; when none matches, the newest pending order takes the failed attempt.
   */
  async confirmAny(userId: string, code: string, via: Via): Promise<GatewayOutcome<OrderView>> {
    const pending = await this.db
      .selectFrom('orders')
      .selectAll()
      .where('user_id', '=', userId)
      .where('status', '=', 'pending')
      .orderBy('id', 'desc')
      .limit(20)
      .execute();
    if (pending.length === 0) throw new AppError('ORDER_CODE_REJECTED');
    const codes = await this.db.selectFrom('order_codes').select(['order_id', 'code_hash']).where('order_id', 'in', pending.map((o) => o.id)).execute();
    const match = pending.find((o) => {
      const stored = codes.find((c) => c.order_id === o.id);
      return stored !== undefined && safeEqualHex(stored.code_hash, this.codeHash(o, code.trim()));
    });
    return this.confirmVia(userId, (match ?? pending[0]!).id, code, via);
  }

  /**
   * One try of a code. Each try first claims an attempt in a single statement, so parallel guesses
   * cannot exceed the limit; a wrong, expired, used or foreign code gets the same error, and the
   * failure is committed (attempt, account failure, consent entry) before the error is thrown.
   */
  async confirmVia(userId: string, orderId: string, code: string, via: Via): Promise<GatewayOutcome<OrderView>> {
    await this.checkLockout(userId);
    let notices = new Notices(via.gateway === 'im');
    const outcome = await this.events.transact<ConfirmOutcome>(async (trx, emit, now) => {
      notices = new Notices(via.gateway === 'im');
      const order = await trx.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
      if (!order || order.user_id !== userId) return { kind: 'rejected' };
      const claimed = await trx
        .updateTable('order_codes')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('order_id', '=', orderId)
        .where('used_at', 'is', null)
        .where('attempts', '<', this.config.orderCodeMaxAttempts)
        .returning(['code_hash', 'expires_at', 'attempts'])
        .executeTakeFirst();
      const tried = this.codeHash(order, code.trim());
      const step = { orderId, accountId: userId, actorId: via.actorId, channel: via.gateway, codeHash: tried };
      if (!claimed) {
        const stored = await trx.selectFrom('order_codes').select(['attempts', 'used_at']).where('order_id', '=', orderId).executeTakeFirst();
        const locked = stored !== undefined && stored.used_at === null && Number(stored.attempts) >= this.config.orderCodeMaxAttempts;
        await logConsent(trx, { ...step, action: 'code_rejected', detail: { locked } }, now);
        await this.countFailure(trx, userId, now);
        return { kind: locked ? 'locked' : 'rejected' };
      }
      const right = order.status === 'pending' && Number(claimed.expires_at) >= now && safeEqualHex(claimed.code_hash, tried);
      if (!right) {
        await logConsent(trx, { ...step, action: 'code_rejected', detail: { attempt: Number(claimed.attempts) } }, now);
        await this.countFailure(trx, userId, now);
        if (Number(claimed.attempts) >= this.config.orderCodeMaxAttempts && order.status === 'pending') {
          await this.close(trx, emit, order, 'failed', 'locked', now, { ...step, codeHash: null, actorId: null, action: 'locked' });
          await countOnRecord(trx, order.provider_id, 'failed_verifications');
          notices.add(emit, order, await this.routeOf(trx, order), lockedNotice(await this.facts(trx, order)), true);
        }
        return { kind: 'rejected' };
      }
      await trx.updateTable('order_codes').set({ used_at: now }).where('order_id', '=', orderId).execute();
      const status = order.period === 'monthly' ? 'active' : 'completed';
      const placed = await trx
        .updateTable('orders')
        .set({ status, placed_at: now, open_key: order.period === 'monthly' ? order.open_key : null })
        .where('id', '=', orderId)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (Number(placed.numUpdatedRows) === 0) return { kind: 'rejected' };
      await countOnRecord(trx, order.provider_id, 'orders_placed');
      await trx.deleteFrom('order_lockouts').where('account_id', '=', userId).execute();
      await this.scheduler.cancel(trx, codeTimerKey(orderId));
      await logConsent(trx, { ...step, action: 'code_accepted' }, now);
      const route = await this.routeOf(trx, order);
      await logConsent(trx, { orderId, accountId: userId, actorId: null, action: 'ordered', channel: route.channel, detail: { verified: true } }, now);
      const view = await this.view(trx, { ...order, status, placed_at: now });
      emit(userId, 'order.placed', { order: view });
      emit(order.provider_id, 'order.placed', { order: view });
      notices.add(emit, order, route, orderedNotice(await this.facts(trx, order)));
      return { kind: 'placed', view };
    });
    await this.send(notices.outgoing);
    if (outcome.kind === 'placed') return { value: outcome.view, replies: notices.replies };
    if (outcome.kind === 'locked') throw new AppError('TOO_MANY_ATTEMPTS', 'Too many wrong codes for this order; order again for a new code.');
    throw new AppError('ORDER_CODE_REJECTED');
  }

  async resend(actor: Actor, orderId: string): Promise<OrderView> {
    const row = await this.visibleOrder(this.db, actor, orderId);
    if (row.user_id !== actor.accountId) throw new AppError('NOT_ORDER_USER');
    return (await this.resendVia(actor.accountId, orderId, { gateway: 'http', actorId: actor.accountId })).value;
  }

  async resendVia(userId: string, orderId: string, via: Via): Promise<GatewayOutcome<OrderView>> {
    let notices = new Notices(via.gateway === 'im');
    const view = await this.events.transact(async (trx, emit, now) => {
      notices = new Notices(via.gateway === 'im');
      const order = await trx.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
      if (!order || order.user_id !== userId) throw new AppError('ORDER_NOT_FOUND');
      const stored = await trx.selectFrom('order_codes').selectAll().where('order_id', '=', orderId).executeTakeFirst();
      if (order.status !== 'pending' || !stored) throw new AppError('ORDER_NOT_PENDING');
      if (Number(stored.sends) > this.config.orderCodeResends) throw new AppError('RESEND_LIMIT_REACHED', undefined, { sends: Number(stored.sends) });
      const code = newNumericCode();
      const expiresAt = now + this.config.orderCodeTtlMs;
      const codeHash = this.codeHash(order, code);
      await trx.updateTable('order_codes').set({ code_hash: codeHash, attempts: 0, sends: Number(stored.sends) + 1, expires_at: expiresAt }).where('order_id', '=', orderId).execute();
      await this.scheduler.schedule(trx, { kind: ORDER_CODE_TIMER, key: codeTimerKey(orderId), dueAt: expiresAt, payload: { orderId } });
      const route = await this.routeOf(trx, order);
      await logConsent(trx, { orderId, accountId: userId, actorId: via.actorId, action: 'verification_resent', channel: route.channel, codeHash, detail: { expiresAt: toIso(expiresAt), send: Number(stored.sends) + 1 } }, now);
      const view = await this.view(trx, order, expiresAt);
      emit(userId, 'order.verification', { order: view, expiresAt: toIso(expiresAt) });
      notices.add(emit, order, route, verificationNotice(await this.facts(trx, order), code, this.config.orderCodeTtlMs));
      return view;
    });
    await this.send(notices.outgoing);
    return { value: view, replies: notices.replies };
  }

  /** Timer: the code's time is up. A code answered or replaced meanwhile leaves nothing to do. */
  private async onCodeExpired(timer: FiredTimer): Promise<void> {
    const { orderId } = timer.payload as { orderId: string };
    await this.events.transact(async (trx, emit, now) => {
      const order = await trx.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
      const stored = await trx.selectFrom('order_codes').select('expires_at').where('order_id', '=', orderId).executeTakeFirst();
      if (order?.status !== 'pending' || !stored || Number(stored.expires_at) > now) return;
      if (await this.close(trx, emit, order, 'expired', 'expired', now, { orderId, accountId: order.user_id, actorId: null, action: 'expired', channel: order.channel })) {
        await countOnRecord(trx, order.provider_id, 'failed_verifications');
      }
    });
  }

  // ── cancel, complain, refund ─────────────────────────────────────────────

  async cancel(actor: Actor, orderId: string): Promise<OrderView> {
    const row = await this.visibleOrder(this.db, actor, orderId);
    if (row.user_id !== actor.accountId && !actor.isAdmin) throw new AppError('NOT_ORDER_USER');
    return (await this.cancelVia(orderId, { gateway: 'http', actorId: actor.accountId })).value;
  }

  /** STOP: a pending order is declined (an abandoned verification), a placed one cancelled. */
  async cancelVia(orderId: string, via: Via): Promise<GatewayOutcome<OrderView>> {
    let notices = new Notices(via.gateway === 'im');
    const view = await this.events.transact(async (trx, emit, now) => {
      notices = new Notices(via.gateway === 'im');
      const order = await trx.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
      if (!order) throw new AppError('ORDER_NOT_FOUND');
      if (!['pending', 'active', 'completed'].includes(order.status)) throw new AppError('ORDER_CLOSED', undefined, { status: order.status });
      const step = { orderId, accountId: order.user_id, actorId: via.actorId, channel: via.gateway };
      const wasPending = order.status === 'pending';
      if (!(await this.close(trx, emit, order, 'cancelled', 'cancelled', now, { ...step, action: wasPending ? 'declined' : 'cancelled' }))) throw new AppError('ORDER_CLOSED');
      if (wasPending) await countOnRecord(trx, order.provider_id, 'failed_verifications');
      else if (now - Number(order.placed_at) <= QUICK_CANCEL_MS) await countOnRecord(trx, order.provider_id, 'quick_cancellations');
      notices.add(emit, order, await this.routeOf(trx, order), cancelledNotice(await this.facts(trx, order)));
      return this.view(trx, { ...order, status: 'cancelled', closed_at: now, open_key: null });
    });
    await this.send(notices.outgoing);
    return { value: view, replies: notices.replies };
  }

  /** The user's open orders (pending, or a running subscription), optionally of one service code: what STOP applies to. */
  async openOrders(userId: string, serviceCode: string | null): Promise<OrdersTable[]> {
    let query = this.db.selectFrom('orders').selectAll().where('user_id', '=', userId).where('status', 'in', ['pending', 'active']);
    if (serviceCode) query = query.where('service_code', '=', serviceCode.toUpperCase());
    return query.orderBy('id', 'desc').limit(100).execute();
  }

  async complain(actor: Actor, orderId: string, reason: string): Promise<OrderView> {
    return this.events.transact(async (trx, emit, now) => {
      const order = await this.visibleOrder(trx, actor, orderId);
      if (order.user_id !== actor.accountId) throw new AppError('NOT_ORDER_USER');
      if (order.placed_at === null) throw new AppError('ORDER_NOT_PENDING', 'Only a placed order can be complained about.');
      const marked = await trx.updateTable('orders').set({ complained_at: now }).where('id', '=', orderId).where('complained_at', 'is', null).executeTakeFirst();
      if (Number(marked.numUpdatedRows) === 0) throw new AppError('ALREADY_COMPLAINED');
      await countOnRecord(trx, order.provider_id, 'complaints');
      await logConsent(trx, { orderId, accountId: order.user_id, actorId: actor.accountId, action: 'complained', channel: 'http', detail: { reason } }, now);
      const view = await this.view(trx, { ...order, complained_at: now });
      emit(order.provider_id, 'order.complaint', { order: view, reason });
      return view;
    });
  }

  async refund(actor: Actor, orderId: string): Promise<OrderView> {
    return this.events.transact(async (trx, emit, now) => {
      const order = await this.visibleOrder(trx, actor, orderId);
      if (order.provider_id !== actor.accountId && !actor.isAdmin) throw new AppError('NOT_ORDER_PROVIDER');
      if (order.status !== 'active' && order.status !== 'completed') throw new AppError('ORDER_CLOSED', 'Only a placed order that is not cancelled can be refunded.', { status: order.status });
      const step = { orderId, accountId: order.user_id, actorId: actor.accountId, channel: 'http', action: 'refunded' };
      if (!(await this.close(trx, emit, order, 'refunded', 'refunded', now, step))) throw new AppError('ORDER_CLOSED');
      await countOnRecord(trx, order.provider_id, 'refunds');
      return this.view(trx, { ...order, status: 'refunded', closed_at: now, open_key: null });
    });
  }

  /** Moves an open order to a closed status once (a conditional update), logs it and tells both sides. */
  private async close(
    trx: Tx,
    emit: Emit,
    order: OrdersTable,
    status: 'cancelled' | 'expired' | 'failed' | 'refunded',
    reason: 'cancelled' | 'expired' | 'locked' | 'refunded',
    now: number,
    step: Parameters<typeof logConsent>[1],
  ): Promise<boolean> {
    const moved = await trx
      .updateTable('orders')
      .set({ status, closed_at: now, open_key: null })
      .where('id', '=', order.id)
      .where('status', '=', order.status)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) === 0) return false;
    if (order.status === 'pending') await this.scheduler.cancel(trx, codeTimerKey(order.id));
    await logConsent(trx, step, now);
    const view = await this.view(trx, { ...order, status, closed_at: now, open_key: null });
    emit(order.user_id, 'order.closed', { order: view, reason });
    if (order.placed_at !== null) emit(order.provider_id, 'order.closed', { order: view, reason });
    return true;
  }

  // ── reading ──────────────────────────────────────────────────────────────

  async list(actor: Actor, role: 'user' | 'provider'): Promise<OrderView[]> {
    const rows = await this.db
      .selectFrom('orders')
      .selectAll()
      .where(role === 'user' ? 'user_id' : 'provider_id', '=', actor.accountId)
      .orderBy('id', 'desc')
      .limit(500)
      .execute();
    return this.views(this.db, rows);
  }

  async get(actor: Actor, orderId: string): Promise<OrderView> {
    return this.view(this.db, await this.visibleOrder(this.db, actor, orderId));
  }

  /** The consent log of one order: its user, its provider and administrators may read it. */
  async consent(actor: Actor, orderId: string): Promise<ConsentEntry[]> {
    await this.visibleOrder(this.db, actor, orderId);
    const rows = await this.db.selectFrom('consent_log').selectAll().where('order_id', '=', orderId).orderBy('id').execute();
    return rows.map(consentView);
  }

  /** Every consent entry about one account (CLI and administrators), oldest first. */
  async consentOfAccount(accountId: string, limit = 1000): Promise<ConsentEntry[]> {
    const rows = await this.db.selectFrom('consent_log').selectAll().where('account_id', '=', accountId).orderBy('id').limit(limit).execute();
    return rows.map(consentView);
  }

  // ── credit ───────────────────────────────────────────────────────────────

  get thresholds(): { high: number; low: number } {
    return { high: this.config.orderCreditHigh, low: this.config.orderCreditLow };
  }

  /** A provider's credit with every input; the provider itself and administrators (actor null: the CLI). */
  async credit(actor: Actor | null, providerRef: string): Promise<ProviderCreditView> {
    const provider = await this.providerAccount(providerRef);
    if (actor && !actor.isAdmin && actor.accountId !== provider.id) throw new AppError('FORBIDDEN', 'Only the provider itself and administrators see its credit.');
    return this.creditOf(this.db, provider);
  }

  async adjust(actor: Actor | null, providerRef: string, input: AdjustmentBody): Promise<ProviderCreditView> {
    if (actor && !actor.isAdmin) throw new AppError('ADMIN_ONLY');
    const provider = await this.providerAccount(providerRef);
    const set = { adjustment: input.adjustment, adjustment_reason: input.reason, adjusted_by: actor?.accountId ?? 'cli', adjusted_at: this.clock.now() };
    await this.db
      .insertInto('provider_records')
      .values({ ...emptyRecord(provider.id), ...set })
      .onConflict((oc) => oc.column('provider_id').doUpdateSet(set))
      .execute();
    return this.creditOf(this.db, provider);
  }

  /** Every provider's credit with its inputs, by handle: the operator's view (administrators; actor null: the CLI). */
  async credits(actor: Actor | null): Promise<ProviderCreditEntry[]> {
    if (actor && !actor.isAdmin) throw new AppError('ADMIN_ONLY');
    const providers = await this.db.selectFrom('accounts').select(['id', 'handle', 'display_name', 'created_at']).where('kind', '=', 'provider').orderBy('handle').limit(1000).execute();
    const records = await providerRecords(this.db, providers.map((p) => p.id));
    const now = this.clock.now();
    return providers.map((p) => ({ provider: { id: p.id, handle: p.handle, displayName: p.display_name }, credit: creditView(p, records.get(p.id), now, this.thresholds) }));
  }

  private async creditOf(ex: Executor, provider: { id: string; created_at: number }): Promise<ProviderCreditView> {
    return creditView(provider, await providerRecord(ex, provider.id), this.clock.now(), this.thresholds);
  }

  private async providerAccount(ref: string): Promise<{ id: string; created_at: number }> {
    const row = await this.db
      .selectFrom('accounts')
      .select(['id', 'created_at', 'kind'])
      .where((eb) => eb.or([eb('id', '=', ref), eb('handle', '=', ref.toLowerCase())]))
      .executeTakeFirst();
    if (!row || row.kind !== 'provider') throw new AppError('PROVIDER_NOT_FOUND');
    return row;
  }

  // ── helpers ──────────────────────────────────────────────────────────────

  /**
   * The code's stored form: HMAC under the server secret of a hash of the order (its id, user,
   * service, price, currency and period) and the code, so a code confirms exactly one order.
   */
  private codeHash(order: Pick<OrdersTable, 'id' | 'user_id' | 'service_id' | 'price' | 'currency' | 'period'>, code: string): string {
    if (!this.secret) throw new AppError('UNAVAILABLE');
    const orderHash = sha256Hex(JSON.stringify([order.id, order.user_id, order.service_id, Number(order.price), order.currency, order.period]));
    return hmacHex(this.secret, `${orderHash}:${code}`);
  }

  /** Counts a wrong code against the account; at the cap it must wait, twice as long each time. */
  private async countFailure(trx: Tx, userId: string, now: number): Promise<void> {
    const row = await trx
      .insertInto('order_lockouts')
      .values({ account_id: userId, failures: 1, lockouts: 0, locked_until: 0 })
      .onConflict((oc) => oc.column('account_id').doUpdateSet((eb) => ({ failures: eb('order_lockouts.failures', '+', 1) })))
      .returning(['failures', 'lockouts'])
      .executeTakeFirstOrThrow();
    if (Number(row.failures) < this.config.orderAccountFailureCap) return;
    const wait = this.config.orderLockoutBaseMs * 2 ** Math.min(Number(row.lockouts), 20);
    await trx.updateTable('order_lockouts').set({ failures: 0, lockouts: Number(row.lockouts) + 1, locked_until: now + wait }).where('account_id', '=', userId).execute();
  }

  private async checkLockout(userId: string): Promise<void> {
    const row = await this.db.selectFrom('order_lockouts').select('locked_until').where('account_id', '=', userId).executeTakeFirst();
    const until = Number(row?.locked_until ?? 0);
    const now = this.clock.now();
    if (until > now) throw new AppError('ORDER_CODES_LOCKED', undefined, { retryAfter: toIso(until), retryAfterMs: until - now });
  }

  /** The chosen channel when the user can be reached there (a verified number or address), else im. */
  private async route(ex: Executor, userId: string, requested: InteractionChannel): Promise<Route> {
    if (requested === 'im') return { channel: 'im', to: null };
    const account = await ex.selectFrom('accounts').select(['phone', 'phone_verified_at', 'email', 'email_verified_at']).where('id', '=', userId).executeTakeFirstOrThrow();
    if (requested === 'sms' && account.phone && account.phone_verified_at !== null) return { channel: 'sms', to: account.phone };
    if (requested === 'email' && account.email && account.email_verified_at !== null) return { channel: 'email', to: account.email };
    return { channel: 'im', to: null };
  }

  private routeOf(ex: Executor, order: OrdersTable): Promise<Route> {
    return this.route(ex, order.user_id, order.channel);
  }

  /** Sends SMS and e-mail notices after commit; one that cannot go out is logged and falls back to im. */
  private async send(outgoing: Outgoing[]): Promise<void> {
    for (const n of outgoing) {
      try {
        if (n.channel === 'sms') await this.channels.sms.send({ to: n.to, text: n.text, purpose: 'order' });
        else await this.channels.email.send({ to: n.to, subject: 'Your order', text: n.text, purpose: 'order' });
      } catch (err) {
        await this.events.transact(async (trx, emit, now) => {
          await logConsent(trx, { orderId: n.orderId, accountId: n.userId, actorId: null, action: 'channel_fallback', channel: 'im', detail: { from: n.channel, reason: (err as Error).message } }, now);
          emit(n.userId, 'order.notice', { orderId: n.orderId, text: n.text });
        });
      }
    }
  }

  private async facts(ex: Executor, order: OrdersTable): Promise<OrdersTable & { providerName: string }> {
    const [provider] = await accountRefs(ex, [order.provider_id]);
    return { ...order, providerName: provider?.display_name ?? order.provider_id };
  }

  private async visibleOrder(ex: Executor, actor: Actor, orderId: string): Promise<OrdersTable> {
    const row = await ex.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
    if (!row || (row.user_id !== actor.accountId && row.provider_id !== actor.accountId && !actor.isAdmin)) throw new AppError('ORDER_NOT_FOUND');
    return row;
  }

  private async view(ex: Executor, row: OrdersTable, expiresAt?: number): Promise<OrderView> {
    const [provider] = await accountRefs(ex, [row.provider_id]);
    let code: { expires_at: number } | undefined;
    if (row.status === 'pending') code = expiresAt !== undefined ? { expires_at: expiresAt } : await ex.selectFrom('order_codes').select('expires_at').where('order_id', '=', row.id).executeTakeFirst();
    return orderView(row, provider as AccountRef, code);
  }

  private async views(ex: Executor, rows: OrdersTable[]): Promise<OrderView[]> {
    const providers = new Map((await accountRefs(ex, rows.map((r) => r.provider_id))).map((a) => [a.id, a]));
    const pending = rows.filter((r) => r.status === 'pending').map((r) => r.id);
    const codes = pending.length ? await ex.selectFrom('order_codes').select(['order_id', 'expires_at']).where('order_id', 'in', pending).execute() : [];
    return rows.map((r) => orderView(r, providers.get(r.provider_id)!, codes.find((c) => c.order_id === r.id)));
  }
}

function codeTimerKey(orderId: string): string {
  return `order-code:${orderId}`;
}
