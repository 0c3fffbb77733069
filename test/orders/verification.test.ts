import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { SettableClock } from '../offers/helpers.js';
import { codeOf, events, imCode, provider, publish, until, user, wrong, type User } from './helpers.js';

describe('verification codes (medium credit) over im, answered over HTTP', () => {
  let server: TestServer;
  let admin: User;
  // Each test's failures lower its provider's credit: each gets a new one, which starts at 50.
  let medium: User;

  beforeEach(async () => {
    medium = await provider(server, admin);
  });

  beforeAll(async () => {
    // A code lifetime short enough to see expiry in the test, long enough for a loaded machine to answer
    // in time in the others; the failure cap high enough not to interfere.
    server = await startTestServer({ orderCodeTtlMs: 5000, orderAccountFailureCap: 50 });
    admin = await user(server, 'admin');
  });
  afterAll(() => server?.close());

  it('the right code places the order once; the same code again is refused (single use)', async () => {
    const buyer = await user(server);
    const { order } = await buyer.orders.order({ service: await publish(medium) });
    const code = await imCode(buyer, order.id);
    expect((await buyer.orders.confirm(order.id, code)).status).toBe('active');
    expect(await codeOf(buyer.orders.confirm(order.id, code))).toBe('ORDER_CODE_REJECTED');
    expect((await buyer.orders.get(order.id)).status).toBe('active');
  });

  it('an expired code is refused with the same error, and the order expires by the durable timer', async () => {
    const buyer = await user(server);
    const { order } = await buyer.orders.order({ service: await publish(medium) });
    const code = await imCode(buyer, order.id);
    await until(async () => (await buyer.orders.get(order.id)).status === 'expired', 20_000, 'order expired');
    expect(await codeOf(buyer.orders.confirm(order.id, code))).toBe('ORDER_CODE_REJECTED');
    expect((await events(buyer, 'order.closed')).find((e) => e.data.order.id === order.id)?.data.reason).toBe('expired');
    expect((await admin.orders.credit(medium.handle)).inputs.failedVerifications).toBeGreaterThanOrEqual(1);
  });

  it('five wrong codes lock the order: the right code is refused after them', async () => {
    const buyer = await user(server);
    const { order } = await buyer.orders.order({ service: await publish(medium) });
    const code = await imCode(buyer, order.id);
    for (let i = 1; i <= 5; i++) expect(await codeOf(buyer.orders.confirm(order.id, wrong(code, i)))).toBe('ORDER_CODE_REJECTED');
    expect(await codeOf(buyer.orders.confirm(order.id, code))).toBe('TOO_MANY_ATTEMPTS');
    expect(await buyer.orders.get(order.id)).toMatchObject({ status: 'failed', placedAt: null });
    expect((await events(buyer, 'order.closed')).find((e) => e.data.order.id === order.id)?.data.reason).toBe('locked');
  });

  it('a code for order A cannot confirm order B, and the error does not say which part was wrong', async () => {
    const buyer = await user(server);
    const a = (await buyer.orders.order({ service: await publish(medium) })).order;
    const b = (await buyer.orders.order({ service: await publish(medium) })).order;
    const codeA = await imCode(buyer, a.id);
    const codeB = await imCode(buyer, b.id);
    const failure = (p: Promise<unknown>) => p.then(() => ({ code: 'OK', message: '' }), (e: { code: string; message: string }) => ({ code: e.code, message: e.message }));
    if (codeA !== codeB) {
      const foreign = await failure(buyer.orders.confirm(b.id, codeA));
      expect(foreign.code).toBe('ORDER_CODE_REJECTED');
      expect(await failure(buyer.orders.confirm(b.id, wrong(codeB)))).toEqual(foreign);
    }
    expect((await buyer.orders.get(b.id)).status).toBe('pending');
    expect((await buyer.orders.confirm(b.id, codeB)).status).toBe('active');
    expect((await buyer.orders.confirm(a.id, codeA)).status).toBe('active');
  });

  it('a resend replaces the code (the old one stops working) up to the resend limit', async () => {
    const buyer = await user(server);
    const { order } = await buyer.orders.order({ service: await publish(medium) });
    const first = await imCode(buyer, order.id);
    for (let i = 0; i < 3; i++) await buyer.orders.resend(order.id);
    expect(await codeOf(buyer.orders.resend(order.id))).toBe('RESEND_LIMIT_REACHED');
    const last = await imCode(buyer, order.id);
    if (first !== last) expect(await codeOf(buyer.orders.confirm(order.id, first))).toBe('ORDER_CODE_REJECTED');
    expect((await buyer.orders.confirm(order.id, last)).status).toBe('active');
  });

  it('the consent log records every step with the code\'s hash and never the code', async () => {
    const buyer = await user(server);
    const { order } = await buyer.orders.order({ service: await publish(medium), clientId: 'consent-1' });
    const code = await imCode(buyer, order.id);
    await codeOf(buyer.orders.confirm(order.id, wrong(code)));
    await buyer.orders.confirm(order.id, code);
    const log = await buyer.orders.consent(order.id);
    expect(log.map((e) => e.action)).toEqual(['requested', 'verification_sent', 'code_rejected', 'code_accepted', 'ordered']);
    expect(log.every((e) => e.accountId === buyer.accountId && e.at.endsWith('Z'))).toBe(true);
    expect(log[0]).toMatchObject({ actorId: buyer.accountId, channel: 'http', detail: { band: 'medium', score: 50, requestedChannel: 'im' } });
    expect(log[1]!.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(log[3]!.codeHash).toBe(log[1]!.codeHash);
    expect(log[2]!.codeHash).not.toBe(log[1]!.codeHash);
    expect(JSON.stringify(log)).not.toContain(code);
    // The provider and the operator read the same log; another user does not.
    expect(await medium.orders.consent(order.id)).toEqual(log);
    expect(await admin.orders.consent(order.id)).toEqual(log);
    expect(await codeOf((await user(server)).orders.consent(order.id))).toBe('ORDER_NOT_FOUND');
  });

  it('channel email: the code goes to the verified address (outbox e-mail), not to the app', async () => {
    const buyer = await user(server);
    await buyer.bindEmail(`${buyer.handle}@example.com`);
    const items = async () => (await admin.outbox({ channel: 'email', limit: 50 })).filter((i) => i.recipient === `${buyer.handle}@example.com`);
    await buyer.verifyEmail(/(\d{6})/.exec((await items())[0]!.body)![1]!);
    const { order } = await buyer.orders.order({ service: await publish(medium), channel: 'email' });
    expect(order.channel).toBe('email');
    const mail = (await items()).find((i) => i.purpose === 'order')!;
    expect(mail.subject).toBe('Your order');
    expect((await buyer.orders.confirm(order.id, /code is (\d{6})/.exec(mail.body)![1]!)).status).toBe('active');
    expect((await events(buyer, 'order.notice')).filter((e) => e.data.orderId === order.id)).toEqual([]);
  });

  it('the consent log is append-only in the database itself', async () => {
    const db = server.app.services.storage.db;
    await expect(db.updateTable('consent_log').set({ action: 'forged' }).execute()).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('consent_log').execute()).rejects.toThrow(/append-only/);
  });

  it('the same order request twice at once makes one order (same clientId, and same open subscription)', async () => {
    const buyer = await user(server);
    const code = await publish(medium);
    const twice = await Promise.all([buyer.orders.order({ service: code, clientId: 'c-1' }), buyer.orders.order({ service: code, clientId: 'c-1' })]);
    expect(twice[0].order.id).toBe(twice[1].order.id);
    expect(twice.map((r) => r.duplicate).sort()).toEqual([false, true]);
    const other = await user(server);
    const both = await Promise.all([other.orders.order({ service: code }), other.orders.order({ service: code })]);
    expect(both[0].order.id).toBe(both[1].order.id);
    expect((await other.orders.list()).length).toBe(1);
    expect((await buyer.orders.list()).length).toBe(1);
    expect((await events(buyer, 'order.notice')).length).toBe(1);
  });

  it('STOP over HTTP: declining a pending order counts as an abandoned verification; cancelling a subscription ends it', async () => {
    const buyer = await user(server);
    const code = await publish(medium);
    const before = (await admin.orders.credit(medium.handle)).inputs.failedVerifications;
    const { order } = await buyer.orders.order({ service: code });
    expect((await buyer.orders.cancel(order.id)).status).toBe('cancelled');
    expect(await codeOf(buyer.orders.confirm(order.id, await imCode(buyer, order.id)))).toBe('ORDER_CODE_REJECTED');
    expect((await admin.orders.credit(medium.handle)).inputs.failedVerifications).toBe(before + 1);
    expect(await codeOf(buyer.orders.cancel(order.id))).toBe('ORDER_CLOSED');
    // With the first closed, the service can be ordered again.
    const again = await buyer.orders.order({ service: code });
    expect(again.duplicate).toBe(false);
  });
});

describe('per-account failure cap with growing waits (fake clock: frozen, moved by the test)', () => {
  let server: TestServer;
  const clock = new SettableClock();

  beforeAll(async () => {
    clock.set('2030-01-01T00:00:00.000Z');
    server = await startTestServer({ orderAccountFailureCap: 3, orderLockoutBaseMs: 60_000 }, clock);
  });
  afterAll(() => server?.close());

  const lockedFor = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => ({ code: 'OK', retryAfterMs: 0 }),
      (e: { code: string; details?: { retryAfterMs: number } }) => ({ code: e.code, retryAfterMs: e.details?.retryAfterMs ?? 0 }),
    );
    return err;
  };

  it('after the cap every try is refused for a while, even the right code; the next lockout waits twice as long', async () => {
    const admin = await user(server, 'admin');
    const medium = await provider(server, admin);
    const buyer = await user(server);
    const { order } = await buyer.orders.order({ service: await publish(medium) });
    const code = await imCode(buyer, order.id);
    for (let i = 1; i <= 3; i++) expect(await codeOf(buyer.orders.confirm(order.id, wrong(code, i)))).toBe('ORDER_CODE_REJECTED');
    expect(await lockedFor(buyer.orders.confirm(order.id, code))).toEqual({ code: 'ORDER_CODES_LOCKED', retryAfterMs: 60_000 });
    clock.set('2030-01-01T00:00:59.999Z');
    expect((await lockedFor(buyer.orders.confirm(order.id, code))).code).toBe('ORDER_CODES_LOCKED');
    clock.set('2030-01-01T00:01:00.000Z');
    // Second lockout of the account: twice as long.
    const second = (await buyer.orders.order({ service: await publish(medium) })).order;
    const code2 = await imCode(buyer, second.id);
    for (let i = 1; i <= 3; i++) expect(await codeOf(buyer.orders.confirm(second.id, wrong(code2, i)))).toBe('ORDER_CODE_REJECTED');
    expect(await lockedFor(buyer.orders.confirm(second.id, code2))).toEqual({ code: 'ORDER_CODES_LOCKED', retryAfterMs: 120_000 });
    clock.set('2030-01-01T00:03:00.000Z');
    expect((await buyer.orders.confirm(second.id, code2)).status).toBe('active');
    // The right code resets the account: the first order's code still works (3 of its 5 tries used).
    expect((await buyer.orders.confirm(order.id, code)).status).toBe('active');
  });
});
