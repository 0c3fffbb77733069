import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { codeOf, imCode, provider, publish, user, type User } from './helpers.js';

/**
 * Who may do what with an order: its user, its provider, the operator (administrator), another
 * user, another provider, and nobody logged in. Each cell is a fresh order where the action changes it.
 */
describe('orders authorization matrix', () => {
  let server: TestServer;
  let operator: User;
  let buyer: User;
  let seller: User;
  let otherUser: User;
  let otherProvider: User;
  let code: string;
  let pendingCode: string;

  beforeAll(async () => {
    server = await startTestServer();
    operator = await user(server, 'operator');
    buyer = await user(server);
    otherUser = await user(server);
    // Far above the threshold, so complaints and cancellations in earlier cells keep its orders frictionless.
    seller = await provider(server, operator, 100);
    otherProvider = await provider(server, operator, 30);
    code = await publish(seller, 'once');
    const medium = await provider(server, operator);
    pendingCode = await publish(medium, 'once');
  });
  afterAll(() => server?.close());

  const placed = async () => (await buyer.orders.order({ service: code })).order.id;
  const pending = async () => (await buyer.orders.order({ service: pendingCode, clientId: `p-${Math.random()}` })).order.id;
  const who = () => ({ user: buyer, provider: seller, operator, otherUser, otherProvider, anonymous: server.client() });
  type Role = keyof ReturnType<typeof who>;

  const matrix: { action: string; setup: () => Promise<string>; run: (c: User, id: string) => Promise<unknown>; expected: Record<Role, string> }[] = [
    {
      action: 'read an order',
      setup: placed,
      run: (c, id) => c.request('GET', `/v1/orders/${id}`),
      expected: { user: 'OK', provider: 'OK', operator: 'OK', otherUser: 'ORDER_NOT_FOUND', otherProvider: 'ORDER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
    },
    {
      action: 'read its consent log',
      setup: placed,
      run: (c, id) => c.request('GET', `/v1/orders/${id}/consent`),
      expected: { user: 'OK', provider: 'OK', operator: 'OK', otherUser: 'ORDER_NOT_FOUND', otherProvider: 'ORDER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
    },
    {
      action: 'answer its code',
      setup: pending,
      run: async (c, id) => c.request('POST', `/v1/orders/${id}/confirm`, { code: await imCode(buyer, id) }),
      expected: { user: 'OK', provider: 'ORDER_NOT_FOUND', operator: 'NOT_ORDER_USER', otherUser: 'ORDER_NOT_FOUND', otherProvider: 'ORDER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
    },
    {
      action: 'ask for a new code',
      setup: pending,
      run: (c, id) => c.request('POST', `/v1/orders/${id}/resend`),
      expected: { user: 'OK', provider: 'ORDER_NOT_FOUND', operator: 'NOT_ORDER_USER', otherUser: 'ORDER_NOT_FOUND', otherProvider: 'ORDER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
    },
    {
      action: 'cancel',
      setup: placed,
      run: (c, id) => c.request('POST', `/v1/orders/${id}/cancel`),
      expected: { user: 'OK', provider: 'NOT_ORDER_USER', operator: 'OK', otherUser: 'ORDER_NOT_FOUND', otherProvider: 'ORDER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
    },
    {
      action: 'complain',
      setup: placed,
      run: (c, id) => c.request('POST', `/v1/orders/${id}/complaint`, { reason: 'bad' }),
      expected: { user: 'OK', provider: 'NOT_ORDER_USER', operator: 'NOT_ORDER_USER', otherUser: 'ORDER_NOT_FOUND', otherProvider: 'ORDER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
    },
    {
      action: 'refund',
      setup: placed,
      run: (c, id) => c.request('POST', `/v1/orders/${id}/refund`),
      expected: { user: 'NOT_ORDER_PROVIDER', provider: 'OK', operator: 'OK', otherUser: 'ORDER_NOT_FOUND', otherProvider: 'ORDER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
    },
  ];

  for (const cell of matrix) {
    it(`${cell.action}: user, provider, operator, other user, other provider, anonymous`, async () => {
      const got: Record<string, string> = {};
      for (const role of Object.keys(cell.expected) as Role[]) {
        const id = await cell.setup();
        got[role] = await codeOf(cell.run(who()[role] as User, id));
      }
      expect(got).toEqual(cell.expected);
    });
  }

  it('provider credit: the provider itself and the operator read it; only the operator adjusts it', async () => {
    const read = (c: User) => codeOf(c.orders.credit(seller.handle));
    expect({ provider: await read(seller), operator: await read(operator), user: await read(buyer), otherProvider: await read(otherProvider) }).toEqual({
      provider: 'OK',
      operator: 'OK',
      user: 'FORBIDDEN',
      otherProvider: 'FORBIDDEN',
    });
    const adjust = (c: User) => codeOf(c.orders.adjust(seller.handle, { adjustment: 100, reason: 'same as before' }));
    expect({ provider: await adjust(seller), user: await adjust(buyer), operator: await adjust(operator) }).toEqual({ provider: 'ADMIN_ONLY', user: 'ADMIN_ONLY', operator: 'OK' });
    expect((await operator.orders.credit(seller.handle)).adjustment).toMatchObject({ points: 100, reason: 'same as before', by: operator.accountId });
    expect(await codeOf(operator.orders.credit(buyer.handle))).toBe('PROVIDER_NOT_FOUND');
  });

  it('the catalogue: only provider accounts publish, only the service\'s provider changes it; lists show each side its own orders', async () => {
    expect(await codeOf(buyer.orders.publish({ code: 'MINE1', name: 'x', price: 1, period: 'once' }))).toBe('NOT_A_PROVIDER');
    expect(await codeOf(otherProvider.orders.updateService(code, { price: 1 }))).toBe('NOT_ORDER_PROVIDER');
    expect((await seller.orders.list('provider')).every((o) => o.provider.id === seller.accountId)).toBe(true);
    expect(await otherProvider.orders.list('provider')).toEqual([]);
    expect(await otherUser.orders.list()).toEqual([]);
  });
});
