import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealOfferData } from '../../sdk/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { codeOf, eventsOf, SettableClock, until, user, type User } from './helpers.js';

describe('offer deadlines, judged by the server\'s receipt time', () => {
  let server: TestServer;
  const clock = new SettableClock();
  let tag = 0;

  beforeAll(async () => {
    clock.set('2030-01-15T08:00:00.000Z');
    server = await startTestServer({}, clock);
  });
  afterAll(async () => server?.close());

  /** A provider and `count` users interested in a fresh tag. */
  async function market(count: number): Promise<{ provider: User; users: User[]; tag: string }> {
    const t = `deal-${++tag}`;
    const provider = await user(server, 'prov');
    const users = await Promise.all(
      Array.from({ length: count }, async () => {
        const u = await user(server, 'buyer');
        await u.offers.putInterest({ name: 'deals', tags: [t] });
        return u;
      }),
    );
    return { provider, users, tag: t };
  }

  it('the patent\'s example: deadline 9:00, B1 answers at 8:35 and gets a voucher, B2 at 9:05 is refused as late', async () => {
    clock.set('2030-01-15T08:00:00.000Z');
    const { provider, users: [b1, b2], tag: t } = await market(2);
    const offer = await provider.offers.publish({ name: 'Concert tickets', tags: [t], deadline: { by: '2030-01-15T09:00:00.000Z' }, link: 'https://shop.example/tickets' });
    expect(offer.recipients.map((r) => r.accountId).sort()).toEqual([b1!.accountId, b2!.accountId].sort());
    expect((await eventsOf(b1!, 'offer'))[0]!.data.offer.deadline).toMatchObject({ kind: 'by', closesAt: '2030-01-15T09:00:00.000Z' });

    clock.set('2030-01-15T08:35:00.000Z');
    const won = await b1!.offers.answer(offer.id, 'accept');
    expect(won).toMatchObject({ outcome: 'voucher', answeredAt: '2030-01-15T08:35:00.000Z' });
    expect(won.voucher!.holderId).toBe(b1!.accountId);

    clock.set('2030-01-15T09:05:00.000Z');
    const late = await b2!.offers.answer(offer.id, 'accept').catch((e) => e);
    expect(late.code).toBe('ANSWER_TOO_LATE');
    expect(late.details).toMatchObject({ receivedAt: '2030-01-15T09:05:00.000Z', closesAt: '2030-01-15T09:00:00.000Z' });
    expect(await b2!.offers.vouchers()).toEqual([]);

    const dashboard = await provider.offers.get(offer.id);
    expect('recipients' in dashboard && dashboard.recipients.map((r) => [r.accountId, r.answeredAt, r.outcome]).sort()).toEqual(
      [
        [b1!.accountId, '2030-01-15T08:35:00.000Z', 'voucher'],
        [b2!.accountId, '2030-01-15T09:05:00.000Z', 'too_late'],
      ].sort(),
    );
    // Each recipient reads back their own recorded answer, so a reloaded app can say what happened.
    expect((await b1!.offers.list()).find((o) => o.id === offer.id)!.myAnswer).toEqual({ answer: 'accept', answeredAt: '2030-01-15T08:35:00.000Z', outcome: 'voucher' });
    expect(await b2!.offers.get(offer.id)).toMatchObject({ myAnswer: { answer: 'accept', answeredAt: '2030-01-15T09:05:00.000Z', outcome: 'too_late' } });
  });

  it('a window accepts answers at exactly "from" and exactly "to", and refuses a millisecond outside either', async () => {
    clock.set('2030-02-01T10:00:00.000Z');
    const { provider, users, tag: t } = await market(4);
    const offer = await provider.offers.publish({ name: 'Window', tags: [t], deadline: { from: '2030-02-01T11:00:00.000Z', to: '2030-02-01T12:00:00.000Z' }, link: 'https://shop.example/w' });
    expect(offer.deadline).toMatchObject({ kind: 'window', opensAt: '2030-02-01T11:00:00.000Z', closesAt: '2030-02-01T12:00:00.000Z' });
    const at = async (iso: string, u: User) => {
      clock.set(iso);
      return codeOf(u.offers.answer(offer.id, 'accept'));
    };
    expect(await at('2030-02-01T10:59:59.999Z', users[0]!)).toBe('ANSWER_TOO_EARLY');
    expect(await at('2030-02-01T11:00:00.000Z', users[0]!)).toBe('OK'); // an early answer was not recorded: the user could answer again
    expect(await at('2030-02-01T12:00:00.000Z', users[1]!)).toBe('OK');
    expect(await at('2030-02-01T12:00:00.001Z', users[2]!)).toBe('ANSWER_TOO_LATE');
  });

  it('a duration counts from the server\'s receipt of the offer, recorded on it, end inclusive', async () => {
    clock.set('2030-03-01T10:00:00.000Z');
    const { provider, users, tag: t } = await market(2);
    const offer = await provider.offers.publish({ name: 'Within', tags: [t], deadline: { within: 'PT1H' }, link: 'https://shop.example/d' });
    const receivedAt = Date.parse(offer.deadline.receivedAt);
    expect(Date.parse(offer.deadline.closesAt) - receivedAt).toBe(3_600_000);
    clock.set(new Date(receivedAt + 3_600_000).toISOString());
    expect(await codeOf(users[0]!.offers.answer(offer.id, 'accept'))).toBe('OK');
    clock.set(new Date(receivedAt + 3_600_001).toISOString());
    expect(await codeOf(users[1]!.offers.answer(offer.id, 'accept'))).toBe('ANSWER_TOO_LATE');
  });

  it('a cap of N under 100 concurrent accepts issues exactly N vouchers; the rest are told the cap was reached', async () => {
    clock.set('2030-04-01T10:00:00.000Z');
    const { provider, users, tag: t } = await market(100);
    const sealed = await sealOfferData('seat codes');
    const offer = await provider.offers.publish({ name: 'Capped', tags: [t], deadline: { within: 'PT1H' }, cap: 7, sealed: sealed.sealed });
    expect(offer.recipients).toHaveLength(100);
    const codes = await Promise.all(users.map((u) => codeOf(u.offers.answer(offer.id, 'accept'))));
    expect(codes.filter((c) => c === 'OK')).toHaveLength(7);
    expect(codes.filter((c) => c === 'OFFER_CAP_REACHED')).toHaveLength(93);
    const dashboard = await provider.offers.get(offer.id);
    expect('winners' in dashboard && dashboard.winners).toBe(7);
    expect('recipients' in dashboard && dashboard.recipients.filter((r) => r.voucherId !== null)).toHaveLength(7);
    // Registering 100 accounts (scrypt) dominates; a busy machine needs more than the default 30 s.
  }, 90_000);

  it('declining is recorded and needs no voucher; a second answer is refused', async () => {
    clock.set('2030-05-01T10:00:00.000Z');
    const { provider, users: [u], tag: t } = await market(1);
    const offer = await provider.offers.publish({ identifier: 'SKU-1', tags: [t], deadline: { within: 'PT1H' }, link: 'https://shop.example/x' });
    expect((await u!.offers.answer(offer.id, 'decline')).outcome).toBe('declined');
    expect(await codeOf(u!.offers.answer(offer.id, 'accept'))).toBe('ALREADY_ANSWERED');
    await until(async () => (await eventsOf(provider, 'offer.answered')).length === 1, 5000, 'offer.answered');
  });

  it('a withdrawn offer refuses answers and tells those who had not answered', async () => {
    clock.set('2030-06-01T10:00:00.000Z');
    const { provider, users: [u], tag: t } = await market(1);
    const offer = await provider.offers.publish({ name: 'Gone', tags: [t], deadline: { within: 'PT1H' }, link: 'https://shop.example/g' });
    expect((await provider.offers.withdraw(offer.id)).status).toBe('withdrawn');
    expect(await codeOf(u!.offers.answer(offer.id, 'accept'))).toBe('OFFER_CLOSED');
    expect(await codeOf(provider.offers.withdraw(offer.id))).toBe('OFFER_CLOSED');
    expect((await eventsOf(u!, 'offer.closed')).map((e) => e.data)).toEqual([{ offerId: offer.id, reason: 'withdrawn' }]);
  });

  it('expiry closes the offer through the durable timer', async () => {
    clock.set('2030-07-01T10:00:00.000Z');
    clock.flow();
    const { provider, users: [u], tag: t } = await market(1);
    const offer = await provider.offers.publish({ name: 'Short', tags: [t], deadline: { within: 300 }, link: 'https://shop.example/s' });
    await until(async () => (await provider.offers.get(offer.id)).status === 'closed', 10_000, 'offer closed');
    expect((await eventsOf(u!, 'offer.closed')).map((e) => e.data.reason)).toEqual(['expired']);
    expect((await eventsOf(provider, 'offer.closed')).map((e) => e.data.offerId)).toContain(offer.id);
  });
});
