import { randomBytes } from 'node:crypto';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Actor } from '../../lib/actor.js';
import { newToken, safeEqualHex, sha256Hex } from '../../lib/secrets.js';
import { parseDuration } from '../../protocol/duration.js';
import type { TaskEventBase } from '../../protocol/events.js';
import {
  ReplyContent,
  type ClickBody,
  type CreateServiceBody,
  type CreatedService,
  type LeasedTask,
  type MenuItem,
  type ProgressBody,
  type PullBody,
  type ReplyBody,
  type ServiceAdminView,
  type ServiceStats,
  type ServiceView,
  type TaskFailure,
  type TaskView,
  type UpdateServiceBody,
  type UpdatedService,
} from '../../protocol/services.js';
import { compileStrict } from '../../protocol/validate.js';
import type { Attachment, Message } from '../../protocol/views.js';
import { signWebhook } from '../../protocol/webhook-signature.js';
import type { Clock } from '../../scheduler/clock.js';
import type { FiredTimer, Scheduler } from '../../scheduler/scheduler.js';
import type { SelectQueryBuilder } from 'kysely';
import type { Db, Engine, Tx } from '../../storage/db.js';
import { lockAccounts } from '../../storage/locks.js';
import type { Database, MessagesTable, ServicesTable } from '../../storage/schema.js';
import type { Bus } from '../../bus/bus.js';
import type { ConversationsService } from '../conversations/index.js';
import { insertAccount } from '../accounts/index.js';
import type { Emit, EventLog, StreamHub } from '../events/index.js';
import { useHeldFile } from '../files/index.js';
import type { MessagingService } from '../messaging/index.js';
import { createServiceMetrics, type ServiceMetrics } from './metrics.js';
import { ECHO_MENU, echoPlugin, type ServicePlugin } from './plugins.js';
import { countRequests, findRequest, findService, toLeasedTasks, toServiceView, toTaskView, type RequestRow, type ServiceRow } from './services.repo.js';

export const SERVICE_DISPATCH_TIMER = 'service.dispatch';
export const SERVICE_LEASE_TIMER = 'service.lease';
const FAILURE_TEXT = 'Request failed, try again.';
const OPEN: RequestRow['status'][] = ['queued', 'leased', 'waiting'];
const HELD: RequestRow['status'][] = ['leased', 'waiting'];
const MINUTE = 60_000;
const PULL_LINGER_MS = 25;
// A dispatch (webhook call, plugin run) holds its request this much longer than the call may take,
// so only a crashed node's dispatch returns it to the queue.
const DISPATCH_SLACK_MS = 5_000;
const validReply = compileStrict<ReplyContent>(ReplyContent);

type Config_ = Pick<
  Config,
  | 'echoService'
  | 'serviceAckDeadlineMs'
  | 'serviceReplyWindowMs'
  | 'serviceMaxQueue'
  | 'serviceMaxQueueTotal'
  | 'serviceRatePerMinute'
  | 'serviceLeaseMs'
  | 'serviceMaxAttempts'
  | 'serviceRetryBaseMs'
  | 'serviceWebhookTimeoutMs'
  | 'serviceReplyTokenTtlMs'
  | 'serviceReplyTokenUses'
  | 'publicUrl'
>;

interface Intake {
  conversationId: string;
  kind: RequestRow['kind'];
  clientId: string | null;
  messageId: string | null;
  menuKey: string | null;
  text: string;
}

/**
 * Service accounts: a request (a message into a direct chat with the service, or a menu click) is
 * stored and acknowledged in one transaction — `task.ack`, or `task.failed` when it came too late,
 * the user is over their rate or the service's queue is full. Its handler then answers it: an
 * in-process plugin or a webhook, called by a durable timer with retries and a dead-letter list, or
 * workers that pull it under a lease that returns it to the queue when it runs out. Replies need the
 * holder's reply token, arrive as messages from the service, and are refused outside the reply window.
 */
export class ServiceAccountsService {
  private readonly plugins = new Map<string, ServicePlugin>();
  /** Service accounts known here; their events are not stored (see EventLog.keepNoStreamFor). */
  private readonly serviceIds = new Set<string>();
  /**
   * Accounts known not to be services: a direct message to one needs no lookup. An account never
   * becomes a service (a service is a new account), so this never goes stale; it is only bounded.
   */
  private readonly notServices = new Set<string>();
  private baseUrl: string;
  /** All services' open requests, as last counted, plus those this node queued since (see openTotal). */
  private total = { n: 0, countedAt: -Infinity };
  readonly metrics: ServiceMetrics;

  constructor(
    private readonly db: Db,
    private readonly engine: Engine,
    private readonly events: EventLog,
    private readonly hub: StreamHub,
    private readonly messaging: MessagingService,
    private readonly conversations: ConversationsService,
    private readonly scheduler: Scheduler,
    private readonly clock: Clock,
    private readonly config: Config_,
    private readonly bus: Bus,
  ) {
    this.baseUrl = config.publicUrl.replace(/\/$/, '');
    this.metrics = createServiceMetrics(() => this.queueDepths());
    messaging.onSent((trx, emit, now, actor, message, members, kind) => (kind === 'direct' ? this.onMessage(trx, emit, now, actor, message, members) : Promise.resolve()));
    scheduler.register(SERVICE_DISPATCH_TIMER, (t) => this.dispatch(t));
    scheduler.register(SERVICE_LEASE_TIMER, (t) => this.leaseEnded(t));
    this.registerPlugin('echo', echoPlugin);
    events.keepNoStreamFor((accountId) => this.serviceIds.has(accountId));
  }

  /** The plugin API: an in-process handler that services created with `{ type: 'plugin', name }` use. */
  registerPlugin(name: string, plugin: ServicePlugin): void {
    this.plugins.set(name, plugin);
  }

  /** Where webhook receivers send replies, unless PARLEY_PUBLIC_URL says otherwise. */
  listeningAt(url: string): void {
    if (!this.config.publicUrl) this.baseUrl = url.replace(/\/$/, '');
  }

  async start(): Promise<void> {
    for (const row of await this.db.selectFrom('services').select('account_id').execute()) this.serviceIds.add(row.account_id);
    if (!this.config.echoService) return;
    if (await this.db.selectFrom('accounts').select('id').where('handle', '=', 'echo').executeTakeFirst()) return;
    try {
      await this.create(null, { handle: 'echo', displayName: 'Echo', description: 'Built-in demo service: answers every message and menu click.', menu: ECHO_MENU, handler: { type: 'plugin', name: 'echo' } });
    } catch (err) {
      // Another node created it at the same moment.
      if (!(err instanceof AppError && err.code === 'HANDLE_TAKEN')) throw err;
    }
  }

  // ── administration ───────────────────────────────────────────────────────────────────────────

  /** Admins over the API; `actor` null is the CLI. */
  async create(actor: Actor | null, input: CreateServiceBody): Promise<CreatedService> {
    if (actor && !actor.isAdmin) throw new AppError('ADMIN_ONLY', 'Only an administrator may create service accounts.');
    checkMenu(input.menu ?? []);
    if (input.handler.type === 'plugin' && !this.plugins.has(input.handler.name)) throw new AppError('UNKNOWN_PLUGIN', `No in-process handler named ${JSON.stringify(input.handler.name)}.`);
    const ackDeadline = bounded('ackDeadline', input.ackDeadline, this.config.serviceAckDeadlineMs, 100, 60_000);
    const replyWindow = bounded('replyWindow', input.replyWindow, this.config.serviceReplyWindowMs, 1000, 30 * 24 * 3600_000);
    const lease = bounded('lease', input.lease, this.config.serviceLeaseMs, 500, 3600_000);
    const handle = input.handle.toLowerCase();
    const token = newToken();
    const secret = input.handler.type === 'webhook' ? (input.handler.secret ?? webhookSecret()) : null;
    const id = newId();
    const now = this.clock.now();
    try {
      await this.db.transaction().execute(async (trx) => {
        if (await trx.selectFrom('accounts').select('id').where('handle', '=', handle).executeTakeFirst()) throw new AppError('HANDLE_TAKEN');
        // No password: a service signs in with its token only.
        await insertAccount(trx, { id, handle, displayName: input.displayName, kind: 'service', passwordHash: '!', isAdmin: false, now });
        await trx
          .insertInto('services')
          .values({
            account_id: id,
            description: input.description ?? '',
            avatar_url: input.avatarUrl ?? null,
            menu: JSON.stringify(input.menu ?? []),
            handler: input.handler.type,
            webhook_url: input.handler.type === 'webhook' ? input.handler.url : null,
            webhook_secret: secret,
            plugin: input.handler.type === 'plugin' ? input.handler.name : null,
            ack_deadline_ms: ackDeadline,
            reply_window_ms: replyWindow,
            max_queue: input.maxQueue ?? this.config.serviceMaxQueue,
            rate_per_minute: input.ratePerMinute ?? this.config.serviceRatePerMinute,
            lease_ms: lease,
            created_at: now,
          })
          .execute();
        await trx
          .insertInto('devices')
          .values({ id: newId(), account_id: id, name: 'service token', token_hash: sha256Hex(token), acked_seq: 0, created_at: now, last_used_at: now, revoked_at: null })
          .execute();
      });
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (await this.db.selectFrom('accounts').select('id').where('handle', '=', handle).executeTakeFirst()) throw new AppError('HANDLE_TAKEN');
      throw err;
    }
    this.serviceIds.add(id);
    const service = toServiceView((await findService(this.db, id))!);
    return secret && input.handler.type === 'webhook' && !input.handler.secret ? { service, token, webhookSecret: secret } : { service, token };
  }

  /**
   * Administrators (`actor` null is the CLI): changes the fields given. A switch from workers to a
   * webhook or plugin hands it the requests already queued, which have no dispatch timer yet.
   */
  async update(actor: Actor | null, ref: string, input: UpdateServiceBody): Promise<UpdatedService> {
    if (actor && !actor.isAdmin) throw new AppError('ADMIN_ONLY', 'Only an administrator may edit service accounts.');
    const service = await this.service(ref);
    if (input.menu) checkMenu(input.menu);
    const handler = input.handler;
    if (handler?.type === 'plugin' && !this.plugins.has(handler.name)) throw new AppError('UNKNOWN_PLUGIN', `No in-process handler named ${JSON.stringify(handler.name)}.`);
    const patch: Partial<ServicesTable> = {};
    if (input.description !== undefined) patch.description = input.description;
    if (input.avatarUrl !== undefined) patch.avatar_url = input.avatarUrl;
    if (input.menu) patch.menu = JSON.stringify(input.menu);
    if (input.ackDeadline !== undefined) patch.ack_deadline_ms = bounded('ackDeadline', input.ackDeadline, 0, 100, 60_000);
    if (input.replyWindow !== undefined) patch.reply_window_ms = bounded('replyWindow', input.replyWindow, 0, 1000, 30 * 24 * 3600_000);
    if (input.lease !== undefined) patch.lease_ms = bounded('lease', input.lease, 0, 500, 3600_000);
    if (input.maxQueue !== undefined) patch.max_queue = input.maxQueue;
    if (input.ratePerMinute !== undefined) patch.rate_per_minute = input.ratePerMinute;
    let generated: string | undefined;
    if (handler) {
      // A webhook keeps its secret unless given a new one; only one that had none gets a new one.
      const secret = handler.type === 'webhook' ? (handler.secret ?? service.webhook_secret ?? (generated = webhookSecret())) : null;
      Object.assign(patch, { handler: handler.type, webhook_url: handler.type === 'webhook' ? handler.url : null, webhook_secret: secret, plugin: handler.type === 'plugin' ? handler.name : null });
    }
    await this.db.transaction().execute(async (trx) => {
      if (input.displayName !== undefined) await trx.updateTable('accounts').set({ display_name: input.displayName }).where('id', '=', service.account_id).execute();
      if (Object.keys(patch).length) await trx.updateTable('services').set(patch).where('account_id', '=', service.account_id).execute();
      if (service.handler !== 'workers' || !handler || handler.type === 'workers') return;
      const queued = await trx.selectFrom('service_requests').select('id').where('service_id', '=', service.account_id).where('status', '=', 'queued').execute();
      const now = this.clock.now();
      for (const { id } of queued) await this.scheduler.schedule(trx, { kind: SERVICE_DISPATCH_TIMER, key: `service.dispatch:${id}`, dueAt: now, payload: { requestId: id } });
    });
    const view = toServiceView((await findService(this.db, service.account_id))!);
    return generated ? { service: view, webhookSecret: generated } : { service: view };
  }

  /**
   * Administrators (`actor` null is the CLI): a new token for the service. Every earlier token stops
   * working at once, and the sockets opened with them (workers) are closed on every node the bus reaches.
   */
  async rotateToken(actor: Actor | null, ref: string): Promise<{ token: string }> {
    if (actor && !actor.isAdmin) throw new AppError('ADMIN_ONLY', 'Only an administrator may rotate a service\'s token.');
    const service = await this.service(ref);
    const token = newToken();
    const now = this.clock.now();
    const revoked = await this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('devices').select('id').where('account_id', '=', service.account_id).where('revoked_at', 'is', null).execute();
      await trx.updateTable('devices').set({ revoked_at: now }).where('account_id', '=', service.account_id).where('revoked_at', 'is', null).execute();
      await trx
        .insertInto('devices')
        .values({ id: newId(), account_id: service.account_id, name: 'service token', token_hash: sha256Hex(token), acked_seq: 0, created_at: now, last_used_at: now, revoked_at: null })
        .execute();
      return current;
    });
    for (const device of revoked) this.bus.publish({ kind: 'device.revoked', accountId: service.account_id, deviceId: device.id });
    return { token };
  }

  async list(): Promise<ServiceView[]> {
    const rows = await this.db
      .selectFrom('services')
      .innerJoin('accounts', 'accounts.id', 'services.account_id')
      .selectAll('services')
      .select(['accounts.handle', 'accounts.display_name'])
      .orderBy('accounts.handle')
      .execute();
    return rows.map((r) => publicView(toServiceView(r)));
  }

  /** The profile and menu; its administrator and the service itself also see how it is handled. */
  async get(actor: Actor, ref: string): Promise<ServiceView | ServiceAdminView> {
    const view = toServiceView(await this.service(ref));
    return actor.isAdmin || actor.accountId === view.id ? view : publicView(view);
  }

  async stats(actor: Actor, ref: string): Promise<ServiceStats> {
    const service = await this.manageable(actor, ref);
    const counts = await this.db
      .selectFrom('service_requests')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('service_id', '=', service.account_id)
      .groupBy('status')
      .execute();
    const by = Object.fromEntries(counts.map((c) => [c.status, Number(c.n)]));
    const span = (from: 'received_at' | 'acked_at', to: 'acked_at' | 'finished_at', onlyDone: boolean) => {
      let q = this.db
        .selectFrom('service_requests')
        .select((eb) => [eb.fn.avg<number>(eb(to, '-', eb.ref(from))).as('avg'), eb.fn.max<number>(eb(to, '-', eb.ref(from))).as('max')])
        .where('service_id', '=', service.account_id)
        .where(to, 'is not', null);
      if (onlyDone) q = q.where('status', '=', 'done');
      return q.executeTakeFirstOrThrow();
    };
    const [timing, processing] = await Promise.all([span('received_at', 'acked_at', false), span('acked_at', 'finished_at', true)]);
    const num = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);
    return {
      queued: by.queued ?? 0,
      leased: by.leased ?? 0,
      waiting: by.waiting ?? 0,
      done: by.done ?? 0,
      failed: by.failed ?? 0,
      dead: by.dead ?? 0,
      ackLatencyMs: { avg: num(timing.avg), max: num(timing.max) },
      processingMs: { avg: num(processing.avg), max: num(processing.max) },
    };
  }

  async deadLetters(actor: Actor, ref: string, limit = 100): Promise<TaskView[]> {
    const service = await this.manageable(actor, ref);
    const rows = await this.db.selectFrom('service_requests').selectAll().where('service_id', '=', service.account_id).where('status', '=', 'dead').orderBy('received_at', 'desc').limit(limit).execute();
    return rows.map(toTaskView);
  }

  /** Puts a dead-lettered request back in the queue with fresh attempts. */
  async retry(actor: Actor, requestId: string): Promise<TaskView> {
    const found = await findRequest(this.db, requestId);
    if (!found) throw new AppError('TASK_NOT_FOUND');
    const service = await this.manageable(actor, found.service_id, 'TASK_NOT_FOUND');
    return this.events.transact(async (trx, emit, now) => {
      const row = await findRequest(trx, requestId);
      if (row?.status !== 'dead') throw new AppError('TASK_NOT_DEAD');
      await trx.updateTable('service_requests').set({ status: 'queued', attempts: 0, failure: null, finished_at: null }).where('id', '=', requestId).execute();
      await this.enqueued(trx, emit, now, service, row);
      return toTaskView({ ...row, status: 'queued', attempts: 0, failure: null, finished_at: null });
    });
  }

  /** A request as its user, its service or an administrator sees it. */
  async task(actor: Actor, requestId: string): Promise<TaskView> {
    const row = await findRequest(this.db, requestId);
    if (!row || (row.account_id !== actor.accountId && row.service_id !== actor.accountId && !actor.isAdmin)) throw new AppError('TASK_NOT_FOUND');
    return toTaskView(row);
  }

  // ── requests ─────────────────────────────────────────────────────────────────────────────────

  private async onMessage(trx: Tx, emit: Emit, now: number, actor: Actor, message: MessagesTable, members: string[]): Promise<void> {
    if (members.length !== 2) return;
    const other = members.find((m) => m !== actor.accountId);
    if (!other || this.notServices.has(other)) return;
    const service = await findService(trx, other);
    if (!service) {
      if (this.notServices.size >= 100_000) this.notServices.clear();
      this.notServices.add(other);
      return;
    }
    // Created on another node since this one started.
    this.serviceIds.add(service.account_id);
    await this.intake(trx, emit, now, service, actor, {
      conversationId: message.conversation_id,
      kind: 'message',
      clientId: message.client_id,
      messageId: message.id,
      menuKey: null,
      text: message.attachment_name !== null && message.body === '' ? `[file] ${message.attachment_name}` : message.body,
    });
  }

  /** A menu click: answered like a message, in the user's direct chat with the service. */
  async click(actor: Actor, ref: string, input: ClickBody): Promise<TaskView> {
    const service = await this.service(ref);
    const label = menuLabels(JSON.parse(service.menu) as MenuItem[]).get(input.key);
    if (label === undefined) throw new AppError('UNKNOWN_MENU_KEY', `${service.handle} has no menu item ${JSON.stringify(input.key)}.`);
    const { conversation } = await this.conversations.create(actor, { kind: 'direct', with: service.account_id });
    return this.events.transact(async (trx, emit, now) => {
      const clientId = input.clientId ?? null;
      if (clientId !== null) {
        const existing = await trx
          .selectFrom('service_requests')
          .selectAll()
          .where('service_id', '=', service.account_id)
          .where('account_id', '=', actor.accountId)
          .where('client_id', '=', clientId)
          .executeTakeFirst();
        if (existing) {
          if (existing.kind !== 'menu' || existing.menu_key !== input.key) throw new AppError('CLIENT_ID_REUSED');
          return toTaskView(existing);
        }
      }
      const row = await this.intake(trx, emit, now, service, actor, { conversationId: conversation.id, kind: 'menu', clientId, messageId: null, menuKey: input.key, text: label });
      return toTaskView(row);
    });
  }

  /** Records the request and sends the first reply, in the caller's transaction. */
  private async intake(trx: Tx, emit: Emit, now: number, service: ServiceRow, actor: Actor, input: Intake): Promise<RequestRow> {
    const receivedAt = Math.min(actor.origin?.receivedAt ?? now, now);
    let failure: TaskFailure | null = null;
    // Requests of one user racing on several nodes must not all pass the same count.
    await lockAccounts(trx, [actor.accountId]);
    if ((await countRequests(trx, service.account_id, { accountId: actor.accountId, since: now - MINUTE })) >= service.rate_per_minute) failure = 'rate_limited';
    else if ((await countRequests(trx, service.account_id, { statuses: OPEN })) >= service.max_queue) failure = 'overloaded';
    else if ((await this.openTotal(trx, now)) >= this.config.serviceMaxQueueTotal) failure = 'overloaded';
    // The acknowledgement's send time is taken after the work before it (the message's writes, the
    // checks), not at the transaction's start: a stalled database makes it late, and then it fails.
    const ackAt = Math.max(now, this.clock.now());
    if (!failure && ackAt - receivedAt > Number(service.ack_deadline_ms)) failure = 'ack_timeout';
    const row: RequestRow = {
      id: newId(),
      service_id: service.account_id,
      account_id: actor.accountId,
      device_id: actor.deviceId || null,
      ip: actor.origin?.ip ?? null,
      conversation_id: input.conversationId,
      kind: input.kind,
      client_id: input.clientId,
      message_id: input.messageId,
      menu_key: input.menuKey,
      text: input.text,
      status: failure ? 'failed' : 'queued',
      failure,
      attempts: 0,
      received_at: receivedAt,
      acked_at: failure ? null : ackAt,
      finished_at: failure ? ackAt : null,
      lease_owner: null,
      lease_until: null,
      reply_token_hash: null,
      reply_uses: 0,
      reply_expires_at: null,
    };
    await trx.insertInto('service_requests').values(row).execute();
    if (failure === null) this.total.n++;
    if (failure) {
      emit(row.account_id, 'task.failed', { ...eventBase(row), reason: failure, message: FAILURE_TEXT }, refs(row));
      this.metrics.failures.labels(service.handle, failure).inc();
      return row;
    }
    emit(row.account_id, 'task.ack', { ...eventBase(row), receivedAt: new Date(receivedAt).toISOString(), ackedAt: new Date(ackAt).toISOString() }, refs(row));
    this.metrics.ackLatency.labels(service.handle).observe((ackAt - receivedAt) / 1000);
    await this.enqueued(trx, emit, now, service, row, true);
    return row;
  }

  /** A request (new or back in the queue) waits for its handler: wake the workers, or call the webhook/plugin. */
  private async enqueued(trx: Tx, emit: Emit, dueAt: number, service: ServiceRow, row: RequestRow, fresh = false): Promise<void> {
    // A new message request has already nudged the service's listeners with the message itself.
    if (!(fresh && row.kind === 'message')) emit(service.account_id, 'task.new', { requestId: row.id, kind: row.kind });
    if (service.handler !== 'workers') await this.scheduler.schedule(trx, { kind: SERVICE_DISPATCH_TIMER, key: `service.dispatch:${row.id}`, dueAt, payload: { requestId: row.id } });
  }

  // ── workers ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Leases up to `max` waiting requests to the calling worker (the service's token), waiting up to
   * `waitMs` for one when none waits. Requests leased together share a reply token.
   */
  async pull(actor: Actor, input: PullBody, aborted?: AbortSignal): Promise<LeasedTask[]> {
    const service = await this.ownService(actor);
    const deadline = this.clock.now() + (input.waitMs ?? 0);
    let signalled = false;
    let wake = () => {};
    const onEvent = () => {
      signalled = true;
      wake();
    };
    // Attached before looking, so a request queued while we look is not missed.
    const detach = this.hub.attach(service.account_id, { deviceId: `pull:${actor.deviceId}`, onEvents: onEvent, onEphemeral: onEvent, onRevoked: onEvent, onMissed: onEvent }, false);
    try {
      for (;;) {
        signalled = false;
        const tasks = await this.lease(service, input.max ?? 10, `worker:${actor.deviceId}:${newId()}`);
        const remaining = deadline - this.clock.now();
        if (tasks.length > 0 || remaining <= 0 || aborted?.aborted) return tasks;
        if (!signalled) await new Promise<void>((resolve) => {
          const timer = this.clock.after(remaining, resolve);
          wake = () => {
            timer.cancel();
            resolve();
          };
          aborted?.addEventListener('abort', wake, { once: true });
        });
        wake = () => {};
        // Requests arrive in bursts: gathering them for a moment leases many per transaction
        // instead of one each, which would compete with the acknowledgements for the database.
        if (signalled && !aborted?.aborted) await new Promise<void>((resolve) => this.clock.after(PULL_LINGER_MS, resolve));
      }
    } finally {
      detach();
    }
  }

  private async lease(service: ServiceRow, max: number, owner: string): Promise<LeasedTask[]> {
    const token = replyToken();
    const rows = await this.db.transaction().execute(async (trx) => {
      let pick = trx.selectFrom('service_requests').select('id').where('service_id', '=', service.account_id).where('status', '=', 'queued').orderBy('received_at').limit(max);
      // Several nodes' workers pull at once: each takes rows the others have not locked.
      if (this.engine === 'postgres') pick = pick.forUpdate().skipLocked();
      const now = this.clock.now();
      return this.take(trx, pick, owner, now + Number(service.lease_ms), token, now);
    });
    return toLeasedTasks(this.db, rows, token, this.baseUrl);
  }

  /**
   * Hands queued requests to `owner` until `until`: one statement and one timer for the lease's end
   * whatever their number. Requests leased together share their reply token.
   */
  private async take(trx: Tx, pick: SelectQueryBuilder<Database, 'service_requests', { id: string }> | string[], owner: string, until: number, token: string, now: number): Promise<RequestRow[]> {
    const rows = await trx
      .updateTable('service_requests')
      .set((eb) => ({
        status: 'leased',
        attempts: eb('attempts', '+', 1),
        lease_owner: owner,
        lease_until: until,
        reply_token_hash: sha256Hex(token),
        reply_uses: 0,
        reply_expires_at: now + this.config.serviceReplyTokenTtlMs,
      }))
      .where('id', 'in', pick)
      .where('status', '=', 'queued')
      .returningAll()
      .execute();
    if (rows.length > 0) await this.scheduler.schedule(trx, { kind: SERVICE_LEASE_TIMER, key: leaseKey(owner), dueAt: until, payload: { owner } });
    return rows.sort((a, b) => Number(a.received_at) - Number(b.received_at));
  }

  /** Timer: the holder neither finished nor was heard from in time. */
  private async leaseEnded(timer: FiredTimer): Promise<void> {
    const { owner } = timer.payload as { owner: string };
    await this.events.transact(async (trx, emit, now) => {
      const held = await trx.selectFrom('service_requests').selectAll().where('lease_owner', '=', owner).where('status', 'in', HELD).execute();
      if (held.length === 0) return;
      const service = (await findService(trx, held[0]!.service_id))!;
      let next = Infinity;
      for (const row of held) {
        // Extended by a reply or progress report since the timer was set.
        if (Number(row.lease_until) > now) next = Math.min(next, Number(row.lease_until));
        // A webhook that accepted the request and answered through its reply URL has had its say.
        else if (row.status === 'waiting') await this.finish(trx, emit, now, service, row);
        else await this.retryOrDeadLetter(trx, emit, now, service, row, 'lease expired');
      }
      if (next < Infinity) await this.scheduler.schedule(trx, { kind: SERVICE_LEASE_TIMER, key: leaseKey(owner), dueAt: next, payload: { owner } });
    });
  }

  private async retryOrDeadLetter(trx: Tx, emit: Emit, now: number, service: ServiceRow, row: RequestRow, why: string): Promise<void> {
    const released = { lease_owner: null, lease_until: null, reply_token_hash: null, failure: why.slice(0, 500) };
    if (row.attempts >= this.config.serviceMaxAttempts) {
      await trx.updateTable('service_requests').set({ ...released, status: 'dead', finished_at: now }).where('id', '=', row.id).execute();
      emit(row.account_id, 'task.failed', { ...eventBase(row), reason: 'handler_failed', message: FAILURE_TEXT }, refs(row));
      this.metrics.failures.labels(service.handle, 'dead_lettered').inc();
      return;
    }
    await trx.updateTable('service_requests').set({ ...released, status: 'queued' }).where('id', '=', row.id).execute();
    this.metrics.failures.labels(service.handle, 'retried').inc();
    const backoff = service.handler === 'workers' ? 0 : this.config.serviceRetryBaseMs * 2 ** Math.max(0, row.attempts - 1);
    await this.enqueued(trx, emit, now + backoff, service, row);
  }

  // ── answers ──────────────────────────────────────────────────────────────────────────────────

  /** A second reply: a message from the service in the user's chat. `done` also finishes the request. */
  async reply(requestId: string, input: ReplyBody): Promise<{ message: Message }> {
    return this.events.transact(async (trx, emit, now) => {
      const { row, service } = await this.holder(trx, requestId, input.token, now);
      if (row.reply_uses >= this.config.serviceReplyTokenUses) throw new AppError('REPLY_TOKEN_EXPIRED', `A reply token allows ${this.config.serviceReplyTokenUses} replies.`);
      await this.checkWindow(trx, service, row, now);
      const message = await this.deliver(trx, emit, now, service, row, input.content);
      await trx
        .updateTable('service_requests')
        .set({ reply_uses: row.reply_uses + 1, lease_until: Math.max(Number(row.lease_until), now + Number(service.lease_ms)) })
        .where('id', '=', row.id)
        .execute();
      if (input.done) await this.finish(trx, emit, now, service, row);
      return { message };
    });
  }

  async progress(requestId: string, input: ProgressBody): Promise<void> {
    await this.events.transact(async (trx, emit, now) => {
      const { row, service } = await this.holder(trx, requestId, input.token, now);
      await trx.updateTable('service_requests').set({ lease_until: Math.max(Number(row.lease_until), now + Number(service.lease_ms)) }).where('id', '=', row.id).execute();
      emit(row.account_id, 'task.progress', { ...eventBase(row), text: input.text ?? null, percent: input.percent ?? null }, refs(row));
    });
  }

  async done(requestId: string, token: string): Promise<TaskView> {
    return this.events.transact(async (trx, emit, now) => {
      const { row, service } = await this.holder(trx, requestId, token, now);
      await this.finish(trx, emit, now, service, row);
      return toTaskView({ ...row, status: 'done', finished_at: now });
    });
  }

  /** The request, if `token` is its current holder's and still valid. */
  private async holder(trx: Tx, requestId: string, token: string, now: number): Promise<{ row: RequestRow; service: ServiceRow }> {
    const row = await findRequest(trx, requestId);
    if (!row) throw new AppError('TASK_NOT_FOUND');
    if (row.reply_token_hash === null || !safeEqualHex(sha256Hex(token), row.reply_token_hash)) throw new AppError('REPLY_TOKEN_INVALID');
    if (!HELD.includes(row.status)) throw new AppError('TASK_CLOSED');
    if (now > Number(row.reply_expires_at)) throw new AppError('REPLY_TOKEN_EXPIRED');
    return { row, service: (await findService(trx, row.service_id))! };
  }

  private async checkWindow(trx: Tx, service: ServiceRow, row: RequestRow, now: number): Promise<void> {
    // The user's last request is no older than this one: within its window, no need to look.
    if (now <= Number(row.received_at) + Number(service.reply_window_ms)) return;
    const accountId = row.account_id;
    const last = await trx
      .selectFrom('service_requests')
      .select((eb) => eb.fn.max<number>('received_at').as('at'))
      .where('service_id', '=', service.account_id)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    const at = last?.at === null || last?.at === undefined ? null : Number(last.at);
    if (at === null || now > at + Number(service.reply_window_ms)) {
      throw new AppError('REPLY_WINDOW_CLOSED', undefined, { lastRequestAt: at === null ? null : new Date(at).toISOString(), windowMs: Number(service.reply_window_ms) });
    }
  }

  private async deliver(trx: Tx, emit: Emit, now: number, service: ServiceRow, row: RequestRow, content: ReplyContent): Promise<Message> {
    const actor: Actor = { accountId: service.account_id, deviceId: '', isAdmin: false };
    let attachment: Attachment | null = null;
    if ('sha256' in content) {
      const size = await useHeldFile(trx, service.account_id, content.sha256, now);
      if (size === null) throw new AppError('REPLY_FILE_NOT_FOUND');
      attachment = { id: newId(), name: content.name ?? `${content.type}`, mime: content.mime, size, sha256: content.sha256, source: 'local' };
    }
    return this.messaging.sendContent(trx, emit, now, actor, row.conversation_id, plainText(content), { ...content, requestId: row.id }, attachment);
  }

  private async finish(trx: Tx, emit: Emit, now: number, service: ServiceRow, row: RequestRow): Promise<void> {
    // The lease's timer stays: it may cover other requests leased together, and finds this one done.
    await trx.updateTable('service_requests').set({ status: 'done', finished_at: now, lease_owner: null, lease_until: null }).where('id', '=', row.id).execute();
    emit(row.account_id, 'task.done', eventBase(row), refs(row));
    if (row.acked_at !== null) this.metrics.processing.labels(service.handle).observe((now - Number(row.acked_at)) / 1000);
  }

  // ── webhook and plugin handlers ──────────────────────────────────────────────────────────────

  /** Timer: hands a queued request to the service's webhook or plugin; failures retry with backoff. */
  private async dispatch(timer: FiredTimer): Promise<void> {
    const { requestId } = timer.payload as { requestId: string };
    const token = replyToken();
    const owner = `dispatch:${newId()}`;
    const claimed = await this.db.transaction().execute(async (trx) => {
      const row = await findRequest(trx, requestId);
      if (row?.status !== 'queued') return undefined;
      const service = (await findService(trx, row.service_id))!;
      if (service.handler === 'workers') return undefined;
      const now = this.clock.now();
      const [held] = await this.take(trx, [row.id], owner, now + this.config.serviceWebhookTimeoutMs + DISPATCH_SLACK_MS, token, now);
      return held && { row: held, service };
    });
    if (!claimed) return;
    const { service } = claimed;
    const [task] = await toLeasedTasks(this.db, [claimed.row], token, this.baseUrl);
    let replies: ReplyContent[] | undefined;
    let error: string | undefined;
    try {
      if (service.handler === 'plugin') {
        const plugin = this.plugins.get(service.plugin!);
        if (!plugin) throw new Error(`no plugin ${service.plugin} on this node`);
        replies = await plugin.handle(task!, this.clock);
      } else {
        replies = await this.callWebhook(service, task!);
      }
    } catch (err) {
      error = (err as Error).message || String(err);
    }
    await this.events.transact(async (trx, emit, now) => {
      const row = await findRequest(trx, requestId);
      // The call outlived its hold and the request moved on.
      if (!row || row.lease_owner !== owner || row.status !== 'leased') return;
      if (error !== undefined) {
        await this.scheduler.cancel(trx, leaseKey(owner));
        return this.retryOrDeadLetter(trx, emit, now, service, row, error);
      }
      if (replies === undefined) {
        // Accepted: the answer comes later through the reply URL, until the token expires.
        const until = Number(row.reply_expires_at);
        await trx.updateTable('service_requests').set({ status: 'waiting', lease_until: until }).where('id', '=', row.id).execute();
        await this.scheduler.schedule(trx, { kind: SERVICE_LEASE_TIMER, key: leaseKey(owner), dueAt: until, payload: { owner } });
        return;
      }
      for (const content of replies) await this.deliver(trx, emit, now, service, row, content);
      await this.finish(trx, emit, now, service, row);
    });
  }

  /**
   * POSTs the request, signed. A 2xx answer may carry the replies at once (`{"replies": [...]}`);
   * an empty one means the receiver answers later through the reply URL.
   */
  private async callWebhook(service: ServiceRow, task: LeasedTask): Promise<ReplyContent[] | undefined> {
    const body = JSON.stringify({ type: 'task', task });
    const aborter = new AbortController();
    const timeout = this.clock.after(this.config.serviceWebhookTimeoutMs, () => aborter.abort());
    try {
      const res = await fetch(service.webhook_url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'parley-signature': signWebhook(service.webhook_secret!, body, this.clock.now()), 'parley-request-id': task.id, 'user-agent': 'Parley-Webhook/1' },
        body,
        signal: aborter.signal,
        redirect: 'manual',
      });
      const text = await res.text();
      if (res.status < 200 || res.status > 299) throw new Error(`webhook answered HTTP ${res.status}`);
      if (text.trim() === '') return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error('webhook answered with invalid JSON');
      }
      const replies = (parsed as { replies?: unknown } | null)?.replies;
      if (replies === undefined) return undefined;
      if (!Array.isArray(replies) || replies.length > this.config.serviceReplyTokenUses || !replies.every((r) => validReply(r))) throw new Error('webhook answered with invalid replies');
      return replies as ReplyContent[];
    } finally {
      timeout.cancel();
    }
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────────────

  private async service(ref: string): Promise<ServiceRow> {
    const service = await findService(this.db, ref);
    if (!service) throw new AppError('SERVICE_NOT_FOUND');
    return service;
  }

  /** The service the caller is (its token). */
  private async ownService(actor: Actor): Promise<ServiceRow> {
    const service = await findService(this.db, actor.accountId);
    if (!service) throw new AppError('NOT_A_SERVICE');
    return service;
  }

  /** Administrators manage every service; a service sees its own operations. */
  private async manageable(actor: Actor, ref: string, hidden: 'SERVICE_NOT_FOUND' | 'TASK_NOT_FOUND' = 'SERVICE_NOT_FOUND'): Promise<ServiceRow> {
    const service = await findService(this.db, ref);
    if (!service) throw new AppError(hidden);
    if (!actor.isAdmin && actor.accountId !== service.account_id) throw hidden === 'TASK_NOT_FOUND' ? new AppError(hidden) : new AppError('ADMIN_ONLY');
    return service;
  }

  /**
   * The global bound is checked against a count at most a second old (counting every service's
   * queue on each request would cost more than the request); requests queued here since are added,
   * ones finished are not subtracted, so between counts it errs on the side of refusing.
   */
  private async openTotal(trx: Tx, now: number): Promise<number> {
    if (now - this.total.countedAt >= 1000) {
      const row = await trx
        .selectFrom('service_requests')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('service_id', 'in', trx.selectFrom('services').select('account_id'))
        .where('status', 'in', OPEN)
        .executeTakeFirstOrThrow();
      this.total = { n: Number(row.n), countedAt: now };
    }
    return this.total.n;
  }

  private async queueDepths(): Promise<{ service: string; status: string; n: number }[]> {
    const rows = await this.db
      .selectFrom('service_requests')
      .innerJoin('accounts', 'accounts.id', 'service_requests.service_id')
      .select(['accounts.handle', 'service_requests.status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('service_requests.status', 'in', OPEN)
      .groupBy(['accounts.handle', 'service_requests.status'])
      .execute();
    return rows.map((r) => ({ service: r.handle, status: r.status, n: Number(r.n) }));
  }
}

function eventBase(row: RequestRow): TaskEventBase {
  return { requestId: row.id, serviceId: row.service_id, conversationId: row.conversation_id, clientId: row.client_id, messageId: row.message_id };
}

function refs(row: RequestRow): { conversationId: string; messageId?: string } {
  return row.message_id ? { conversationId: row.conversation_id, messageId: row.message_id } : { conversationId: row.conversation_id };
}

function leaseKey(owner: string): string {
  return `service.lease:${owner}`;
}

function webhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

function replyToken(): string {
  return newToken().replace(/^prl_/, 'rpl_');
}

function publicView(view: ServiceAdminView): ServiceView {
  const { id, handle, displayName, description, avatarUrl, menu, ackDeadlineMs, replyWindowMs } = view;
  return { id, handle, displayName, description, avatarUrl, menu, ackDeadlineMs, replyWindowMs };
}

function bounded(field: string, value: string | number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms > max) throw new AppError('DURATION_TOO_LONG', `${field} may be at most ${max} ms.`);
  if (ms < min) throw new AppError('INVALID_DURATION', `${field} must be at least ${min} ms.`);
  return ms;
}

function menuLabels(menu: MenuItem[]): Map<string, string> {
  const labels = new Map<string, string>();
  for (const item of menu) {
    if ('items' in item) for (const leaf of item.items) labels.set(leaf.key, leaf.label);
    else labels.set(item.key, item.label);
  }
  return labels;
}

function checkMenu(menu: MenuItem[]): void {
  const keys = menu.flatMap((item) => ('items' in item ? item.items.map((leaf) => leaf.key) : [item.key]));
  if (new Set(keys).size !== keys.length) throw new AppError('INVALID_MENU', 'Menu keys must be unique.');
}

/** The message text of a reply: what clients without rich rendering (and SMS fallback) show. */
function plainText(content: ReplyContent): string {
  switch (content.type) {
    case 'text':
      return content.text;
    case 'card':
      return [content.title, content.description, content.url].filter(Boolean).join('\n');
    default:
      return [content.caption, 'url' in content ? content.url : content.name].filter(Boolean).join('\n');
  }
}
