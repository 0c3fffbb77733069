import { OrdersApi, type ParleyClient, type StreamEvent } from '../../sdk/index.js';
import { createNodeClient } from '../../sdk/node.js';
import type { TestServer } from '../support/server.js';

export { codeOf, until } from '../offers/helpers.js';

export type User = ParleyClient & { accountId: string; handle: string; orders: OrdersApi };

let n = 0;
export async function user(server: TestServer, prefix = 'u'): Promise<User> {
  const u = await server.user(`${prefix}${++n}_${process.pid % 1000}`);
  return Object.assign(u, { orders: new OrdersApi(u) });
}

/** A provider account (created by the administrator, as only administrators may) with its operator adjustment. */
export async function provider(server: TestServer, admin: User, adjustment = 0, prefix = 'p'): Promise<User> {
  const handle = `${prefix}${++n}_${process.pid % 1000}`;
  await admin.request('POST', '/v1/accounts', { handle, displayName: `Provider ${handle}`, password: `password-${handle}`, kind: 'provider' });
  const client = createNodeClient({ baseUrl: server.url });
  const account = (await client.login(handle, `password-${handle}`)).account;
  if (adjustment !== 0) await admin.orders.adjust(handle, { adjustment, reason: 'test' });
  return Object.assign(client, { accountId: account.id, handle, orders: new OrdersApi(client) });
}

let codes = 0;
/** Publishes a service with a fresh code. */
export async function publish(p: User, period: 'once' | 'monthly' = 'monthly', price = 499): Promise<string> {
  const code = `S${++codes}X${process.pid % 1000}`;
  await p.orders.publish({ code, name: `Service ${code}`, price, currency: 'EUR', period, description: 'test service' });
  return code;
}

export async function events<T extends StreamEvent['type']>(client: ParleyClient, type: T): Promise<StreamEvent<T>[]> {
  const { events } = await client.events({ after: 0, limit: 1000 });
  return events.filter((e): e is StreamEvent<T> => e.type === type);
}

/** The code of the newest im notice about `orderId`. */
export async function imCode(client: ParleyClient, orderId: string): Promise<string> {
  const notices = (await events(client, 'order.notice')).filter((e) => e.data.orderId === orderId && /code is \d{6}/.test(e.data.text));
  const match = /code is (\d{6})/.exec(notices.at(-1)?.data.text ?? '');
  if (!match) throw new Error(`no code notice for order ${orderId}`);
  return match[1]!;
}

/** A 6-digit code that is not `code`. */
export function wrong(code: string, k = 1): string {
  return String((Number(code) + k) % 1_000_000).padStart(6, '0');
}
