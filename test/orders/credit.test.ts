import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { creditBand, creditScore, OrdersService } from '../../src/modules/orders/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { events, imCode, provider, publish, user, type User } from './helpers.js';

describe('provider credit decides the interaction', () => {
  let server: TestServer;
  let admin: User;
  let buyer: User;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await user(server, 'admin');
    buyer = await user(server, 'buyer');
  });
  afterAll(() => server?.close());

  it('a new provider scores 50: the base, with no record and no age', async () => {
    const p = await provider(server, admin);
    const credit = await p.orders.credit(p.handle);
    expect(credit).toMatchObject({ score: 50, band: 'medium', inputs: { ordersPlaced: 0, complaints: 0, accountAgeDays: 0 }, thresholds: { high: 70, low: 30 } });
  });

  it('high credit: the order is placed at once and the user is told price, provider, period and how to cancel', async () => {
    const p = await provider(server, admin, 20);
    const code = await publish(p, 'monthly', 499);
    const result = await buyer.orders.order({ service: code });
    expect(result).toMatchObject({ interaction: 'ordered', duplicate: false, order: { status: 'active', band: 'high', score: 70, channel: 'im', placedAt: expect.any(String) } });
    const notice = (await events(buyer, 'order.notice')).find((e) => e.data.orderId === result.order.id)!;
    expect(notice.data.text).toBe(`Ordered: Service ${code} from Provider ${p.handle}, EUR 4.99 per month. To cancel, send STOP ${code}.`);
    expect((await events(buyer, 'order.placed')).some((e) => e.data.order.id === result.order.id)).toBe(true);
    expect((await events(p, 'order.placed')).map((e) => e.data.order.id)).toContain(result.order.id);
  });

  it('medium credit: a verification code is sent, quoting the all-in price, and the order waits for it', async () => {
    const p = await provider(server, admin, 19);
    const code = await publish(p, 'once', 1250);
    const result = await buyer.orders.order({ service: code });
    expect(result).toMatchObject({ interaction: 'verification', order: { status: 'pending', band: 'medium', score: 69, placedAt: null, codeExpiresAt: expect.any(String) } });
    const notice = (await events(buyer, 'order.notice')).find((e) => e.data.orderId === result.order.id)!;
    expect(notice.data.text).toContain('EUR 12.50 once, all taxes and fees included');
    expect(notice.data.text).toMatch(/code is \d{6} \(valid 5 min\)/);
    const placed = await buyer.orders.confirm(result.order.id, await imCode(buyer, result.order.id));
    expect(placed).toMatchObject({ status: 'completed', placedAt: expect.any(String) });
    expect((await events(p, 'order.placed')).map((e) => e.data.order.id)).toEqual([result.order.id]);
  });

  it('low credit: refused with the reason code, and the user is told; the provider hears nothing', async () => {
    const p = await provider(server, admin, -21);
    const code = await publish(p);
    const result = await buyer.orders.order({ service: code });
    expect(result).toMatchObject({ interaction: 'refused', order: { status: 'refused', band: 'low', score: 29, refusal: 'PROVIDER_CREDIT_LOW' } });
    expect((await events(buyer, 'order.refused')).find((e) => e.data.order.id === result.order.id)?.data.reason).toBe('PROVIDER_CREDIT_LOW');
    expect((await events(buyer, 'order.notice')).find((e) => e.data.orderId === result.order.id)?.data.text).toContain('was refused (PROVIDER_CREDIT_LOW)');
    expect(await events(p, 'order.placed')).toEqual([]);
  });

  it('thresholds hold at their exact boundaries: 70 frictionless, 69 and 30 verified, 29 refused', async () => {
    const cases: [number, string][] = [
      [20, 'ordered'],
      [19, 'verification'],
      [-20, 'verification'],
      [-21, 'refused'],
    ];
    for (const [adjustment, interaction] of cases) {
      const p = await provider(server, admin, adjustment);
      const result = await buyer.orders.order({ service: await publish(p) });
      expect({ score: result.order.score, interaction: result.interaction }).toEqual({ score: 50 + adjustment, interaction });
    }
  });

  it('credit moves with the record: a complaint flips the next order from frictionless to verified', async () => {
    const p = await provider(server, admin, 20);
    const code = await publish(p, 'once');
    const first = await buyer.orders.order({ service: code });
    expect(first.interaction).toBe('ordered');
    await buyer.orders.complain(first.order.id, 'I never asked for this');
    const credit = await admin.orders.credit(p.handle);
    expect(credit.inputs).toMatchObject({ ordersPlaced: 1, completedOrders: 1, complaints: 1 });
    expect(credit.score).toBeLessThan(70);
    expect((await events(p, 'order.complaint')).map((e) => e.data.reason)).toEqual(['I never asked for this']);
    const second = await buyer.orders.order({ service: code });
    expect(second).toMatchObject({ interaction: 'verification', order: { band: 'medium' } });
  });

  it('quick cancellations, refunds and failed verifications each lower the score', async () => {
    const p = await provider(server, admin, 30);
    const code = await publish(p, 'once');
    const before = (await admin.orders.credit(p.handle)).score;
    const a = await buyer.orders.order({ service: code });
    await buyer.orders.cancel(a.order.id);
    const b = await buyer.orders.order({ service: code });
    await p.orders.refund(b.order.id);
    const credit = await admin.orders.credit(p.handle);
    expect(credit.inputs).toMatchObject({ ordersPlaced: 2, completedOrders: 0, cancellationsWithin24h: 1, refunds: 1 });
    expect(credit.score).toBeLessThan(before);
  });

  it('a low threshold above the high one is refused at start', () => {
    const { config } = loadConfig({ orderCreditLow: 80, orderCreditHigh: 70 }, {});
    // The check comes before the service touches anything it is given.
    const nothing = undefined as never;
    expect(() => new OrdersService(nothing, nothing, nothing, nothing, nothing, config)).toThrow(/PARLEY_ORDER_CREDIT_LOW \(80\) is above PARLEY_ORDER_CREDIT_HIGH \(70\)/);
  });

  it('the formula: experience and tenure raise the score, penalties weigh less for a provider with many orders', () => {
    const clean = { ordersPlaced: 0, completedOrders: 0, cancellationsWithin24h: 0, complaints: 0, failedVerifications: 0, refunds: 0, accountAgeDays: 0 };
    expect(creditScore(clean, 0).score).toBe(50);
    expect(creditScore({ ...clean, ordersPlaced: 20, completedOrders: 20, accountAgeDays: 365 }, 0).score).toBe(78);
    expect(creditScore({ ...clean, complaints: 1 }, 0).score).toBe(30);
    expect(creditScore({ ...clean, ordersPlaced: 1000, completedOrders: 1000, complaints: 1, accountAgeDays: 400 }, 0).score).toBe(89);
    expect(creditScore(clean, 100).score).toBe(100);
    expect(creditScore({ ...clean, complaints: 10 }, 0).score).toBe(0);
    expect(creditBand(70, { high: 70, low: 30 })).toBe('high');
    expect(creditBand(29, { high: 70, low: 30 })).toBe('low');
  });
});
