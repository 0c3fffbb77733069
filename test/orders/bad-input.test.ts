import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { codeOf, imCode, provider, publish, user, type User } from './helpers.js';

describe('orders: bad input gets a stable code and changes nothing', () => {
  let server: TestServer;
  let admin: User;
  let seller: User;
  let buyer: User;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await user(server, 'admin');
    seller = await provider(server, admin);
    buyer = await user(server);
  });
  afterAll(() => server?.close());

  const rows = async () => {
    const db = server.app.services.storage.db;
    const count = async (table: 'orders' | 'consent_log' | 'catalogue') => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    return { orders: await count('orders'), consent: await count('consent_log'), catalogue: await count('catalogue') };
  };

  it('order requests: unknown or withdrawn services, malformed codes, channels and fields', async () => {
    const code = await publish(seller);
    await seller.orders.updateService(code, { active: false });
    const before = await rows();
    const cases: [unknown, string][] = [
      [{ service: 'NOSUCH1' }, 'CATALOGUE_SERVICE_NOT_FOUND'],
      [{ service: code }, 'CATALOGUE_SERVICE_NOT_FOUND'],
      [{ service: 'has space' }, 'VALIDATION_FAILED'],
      [{ service: 'X' }, 'VALIDATION_FAILED'],
      [{ service: 'ABC', channel: 'fax' }, 'VALIDATION_FAILED'],
      [{ service: 'ABC', extra: 1 }, 'VALIDATION_FAILED'],
      [{ service: 42 }, 'VALIDATION_FAILED'],
      [{}, 'VALIDATION_FAILED'],
      [{ service: 'ABC', clientId: '' }, 'VALIDATION_FAILED'],
    ];
    for (const [body, expected] of cases) expect([body, await codeOf(buyer.request('POST', '/v1/orders', body))]).toEqual([body, expected]);
    expect(await rows()).toEqual(before);
  });

  it('publishing: bad prices, periods, currencies and codes; a taken code', async () => {
    const code = await publish(seller);
    const before = await rows();
    const base = { code: 'FRESH1', name: 'n', price: 100, period: 'once' };
    const cases: [unknown, string][] = [
      [{ ...base, price: -1 }, 'VALIDATION_FAILED'],
      [{ ...base, price: 1.5 }, 'VALIDATION_FAILED'],
      [{ ...base, period: 'weekly' }, 'VALIDATION_FAILED'],
      [{ ...base, currency: 'eur' }, 'VALIDATION_FAILED'],
      [{ ...base, code: 'bad-code' }, 'VALIDATION_FAILED'],
      [{ ...base, name: '' }, 'VALIDATION_FAILED'],
      [{ ...base, code: code.toLowerCase() }, 'SERVICE_CODE_TAKEN'],
    ];
    for (const [body, expected] of cases) expect([body, await codeOf(seller.request('POST', '/v1/catalogue', body))]).toEqual([body, expected]);
    expect(await rows()).toEqual(before);
  });

  it('codes that are not 6 digits are refused before they count as a try; unknown orders; steps out of turn', async () => {
    const { order } = await buyer.orders.order({ service: await publish(seller, 'once') });
    for (const code of ['12345', '1234567', 'abcdef', ' 123456', '']) expect(await codeOf(buyer.request('POST', `/v1/orders/${order.id}/confirm`, { code }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(buyer.orders.confirm('01000000-0000-7000-8000-000000000000', '123456'))).toBe('ORDER_NOT_FOUND');
    expect(await codeOf(buyer.orders.complain(order.id, 'not yet'))).toBe('ORDER_NOT_PENDING');
    expect(await codeOf(seller.orders.refund(order.id))).toBe('ORDER_CLOSED');
    const log = await buyer.orders.consent(order.id);
    expect(log.map((e) => e.action)).toEqual(['requested', 'verification_sent']);
    // Still answerable with all five tries.
    expect((await buyer.orders.confirm(order.id, await imCode(buyer, order.id))).status).toBe('completed');
    await buyer.orders.complain(order.id, 'late');
    expect(await codeOf(buyer.orders.complain(order.id, 'again'))).toBe('ALREADY_COMPLAINED');
    expect(await codeOf(buyer.orders.resend(order.id))).toBe('ORDER_NOT_PENDING');
  });

  it('adjustments outside -100..100 or without a reason are refused', async () => {
    for (const body of [{ adjustment: 101, reason: 'x' }, { adjustment: -101, reason: 'x' }, { adjustment: 5 }, { adjustment: 5, reason: '' }, { adjustment: 1.5, reason: 'x' }]) {
      expect(await codeOf(admin.request('PUT', `/v1/providers/${seller.handle}/credit/adjustment`, body))).toBe('VALIDATION_FAILED');
    }
    expect((await admin.orders.credit(seller.handle)).adjustment.points).toBe(0);
  });
});
