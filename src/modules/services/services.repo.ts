import type { LeasedTask, MenuItem, ServiceAdminView, TaskView } from '../../protocol/services.js';
import { toIso } from '../../scheduler/clock.js';
import type { Executor } from '../../storage/db.js';
import type { ServiceRequestsTable, ServicesTable } from '../../storage/schema.js';

export type ServiceRow = ServicesTable & { handle: string; display_name: string };
export type RequestRow = ServiceRequestsTable;

/** `ref` is the service account's id or handle. */
export function findService(ex: Executor, ref: string): Promise<ServiceRow | undefined> {
  return ex
    .selectFrom('services')
    .innerJoin('accounts', 'accounts.id', 'services.account_id')
    .selectAll('services')
    .select(['accounts.handle', 'accounts.display_name'])
    .where((eb) => eb.or([eb('accounts.id', '=', ref), eb('accounts.handle', '=', ref.toLowerCase())]))
    .executeTakeFirst();
}

export function findRequest(ex: Executor, id: string): Promise<RequestRow | undefined> {
  return ex.selectFrom('service_requests').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function countRequests(ex: Executor, serviceId: string, where: { statuses?: RequestRow['status'][]; accountId?: string; since?: number }): Promise<number> {
  let q = ex.selectFrom('service_requests').select((eb) => eb.fn.countAll<number>().as('n')).where('service_id', '=', serviceId);
  if (where.statuses) q = q.where('status', 'in', where.statuses);
  if (where.accountId) q = q.where('account_id', '=', where.accountId);
  if (where.since !== undefined) q = q.where('received_at', '>', where.since);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

export function toServiceView(row: ServiceRow): ServiceAdminView {
  return {
    id: row.account_id,
    handle: row.handle,
    displayName: row.display_name,
    description: row.description,
    avatarUrl: row.avatar_url,
    menu: JSON.parse(row.menu) as MenuItem[],
    ackDeadlineMs: Number(row.ack_deadline_ms),
    replyWindowMs: Number(row.reply_window_ms),
    handler: row.handler === 'webhook' ? { type: 'webhook', url: row.webhook_url! } : row.handler === 'plugin' ? { type: 'plugin', name: row.plugin! } : { type: 'workers' },
    maxQueue: row.max_queue,
    ratePerMinute: row.rate_per_minute,
    leaseMs: Number(row.lease_ms),
  };
}

export function toTaskView(row: RequestRow): TaskView {
  return {
    id: row.id,
    serviceId: row.service_id,
    accountId: row.account_id,
    conversationId: row.conversation_id,
    kind: row.kind,
    clientId: row.client_id,
    messageId: row.message_id,
    menuKey: row.menu_key,
    text: row.text,
    status: row.status,
    failure: row.failure,
    attempts: row.attempts,
    receivedAt: toIso(Number(row.received_at)),
    ackedAt: row.acked_at === null ? null : toIso(Number(row.acked_at)),
    finishedAt: row.finished_at === null ? null : toIso(Number(row.finished_at)),
  };
}

export async function toLeasedTasks(ex: Executor, rows: RequestRow[], token: string, baseUrl: string): Promise<LeasedTask[]> {
  if (rows.length === 0) return [];
  const users = await ex
    .selectFrom('accounts')
    .select(['id', 'handle', 'display_name'])
    .where('id', 'in', [...new Set(rows.map((r) => r.account_id))])
    .execute();
  const byId = new Map(users.map((u) => [u.id, u]));
  return rows.map((row) => {
    const user = byId.get(row.account_id);
    return {
      id: row.id,
      serviceId: row.service_id,
      kind: row.kind,
      text: row.text,
      menuKey: row.menu_key,
      user: { accountId: row.account_id, handle: user?.handle ?? '', displayName: user?.display_name ?? '', deviceId: row.device_id, ip: row.ip },
      conversationId: row.conversation_id,
      receivedAt: toIso(Number(row.received_at)),
      attempt: row.attempts,
      replyToken: token,
      replyTokenExpiresAt: toIso(Number(row.reply_expires_at)),
      replyUrl: `${baseUrl}/v1/tasks/${row.id}/replies`,
    };
  });
}
