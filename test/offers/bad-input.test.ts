import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealOfferData, toBase64Url, type OfferBody } from '../../sdk/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { codeOf, eventsOf, user, type User } from './helpers.js';

describe('offers: bad input gets a clear code and changes nothing', () => {
  let server: TestServer;
  let provider: User;
  let watcher: User;

  beforeAll(async () => {
    server = await startTestServer({ offerMaxDataBytes: 2048, offerMaxInterests: 3 });
    [provider, watcher] = await Promise.all([user(server, 'bp'), user(server, 'bw')]);
    await watcher.offers.putInterest({ name: 'everything' });
  });
  afterAll(async () => server?.close());

  it('malformed or unsafe predicates are refused with INVALID_PREDICATE naming the path, and nothing is stored', async () => {
    const u = await user(server, 'bi');
    const cases: [unknown, string][] = [
      [{ $where: 'this.price < 10' }, 'INVALID_PREDICATE'],
      [{ price: { $function: { body: 'x' } } }, 'INVALID_PREDICATE'],
      [{ price: { $foo: 1 } }, 'INVALID_PREDICATE'],
      [{ name: { $regex: '(a+)+$' } }, 'INVALID_PREDICATE'],
      [{ $or: 'x' }, 'INVALID_PREDICATE'],
      [{ $and: [] }, 'INVALID_PREDICATE'],
      [{ tags: { $in: 5 } }, 'INVALID_PREDICATE'],
      [{ '': 1 }, 'INVALID_PREDICATE'],
      [{ a: { b: { c: { d: { e: { f: { g: { h: { i: { j: 1 } } } } } } } } } }, 'INVALID_PREDICATE'],
      [{ blob: 'x'.repeat(9000) }, 'INVALID_PREDICATE'],
      [[{ a: 1 }], 'VALIDATION_FAILED'],
      ['category == doc', 'VALIDATION_FAILED'],
    ];
    for (const [predicate, code] of cases) {
      const err = await u.offers.putInterest({ name: 'bad', predicate: predicate as Record<string, unknown> }).catch((e) => e);
      expect(err.code, JSON.stringify(predicate).slice(0, 80)).toBe(code);
      if (code === 'INVALID_PREDICATE') expect(err.message).toMatch(/predicate/);
    }
    expect((await u.offers.putInterest({ name: 'x', predicate: { price: { $lte: 5 } }, expiresAt: 'soon' }).catch((e) => e)).code).toBe('INVALID_DEADLINE');
    expect((await u.offers.putInterest({ name: 'x', expiresAt: '2001-01-01T00:00:00Z' }).catch((e) => e)).code).toBe('DEADLINE_PASSED');
    expect(await u.offers.interests()).toEqual([]);
  });

  it('an account may store only so many interests', async () => {
    const u = await user(server, 'bm');
    for (const name of ['a', 'b', 'c']) await u.offers.putInterest({ name });
    expect(await codeOf(u.offers.putInterest({ name: 'd' }))).toBe('TOO_MANY_INTERESTS');
    expect(await codeOf(u.offers.putInterest({ name: 'a', tags: ['replacing is fine'] }))).toBe('OK');
  });

  it('deadlines in the past, windows with from > to and unreadable deadlines are refused before anyone is offered anything', async () => {
    const base: OfferBody = { name: 'x', link: 'https://shop.example/', deadline: { within: 'PT1H' } };
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const cases: [OfferBody['deadline'], string][] = [
      [{ by: iso(now - 60_000) }, 'DEADLINE_PASSED'],
      [{ from: iso(now - 120_000), to: iso(now - 60_000) }, 'DEADLINE_PASSED'],
      [{ from: iso(now + 120_000), to: iso(now + 60_000) }, 'INVALID_WINDOW'],
      [{ by: 'tomorrow at nine' }, 'INVALID_DEADLINE'],
      [{ by: '2030-01-01T09:00:00' }, 'INVALID_DEADLINE'],
      [{ within: 'P1M' }, 'INVALID_DEADLINE'],
      [{ within: -5 }, 'INVALID_DEADLINE'],
      [{ within: 1.5 }, 'INVALID_DEADLINE'],
    ];
    for (const [deadline, code] of cases) expect(await codeOf(provider.offers.publish({ ...base, deadline })), JSON.stringify(deadline)).toBe(code);
    expect(await codeOf(provider.offers.publish({ ...base, deadline: { by: iso(now), from: iso(now) } as never }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(provider.offers.publish({ link: 'https://shop.example/', deadline: { within: 'PT1H' } }))).toBe('OFFER_INCOMPLETE');
    const sealed = await sealOfferData('x');
    expect(await codeOf(provider.offers.publish({ ...base, sealed: sealed.sealed }))).toBe('OFFER_INCOMPLETE');
    expect(await codeOf(provider.offers.publish({ name: 'x', deadline: { within: 'PT1H' } }))).toBe('OFFER_INCOMPLETE');
    expect(await codeOf(provider.offers.publish({ name: 'x', deadline: { within: 'PT1H' }, sealed: { ...sealed.sealed, serverShare: 'AAAA' } }))).toBe('OFFER_INCOMPLETE');
    expect(await codeOf(provider.offers.publish({ ...base, link: 'javascript:alert(1)' }))).toBe('VALIDATION_FAILED');
    expect(await provider.offers.list('provider')).toEqual([]);
    expect(await eventsOf(watcher, 'offer')).toEqual([]);
  });

  it('payloads beyond the limits are refused: sealed data, the request body, attributes', async () => {
    const big = await sealOfferData(new Uint8Array(4096));
    expect(await codeOf(provider.offers.publish({ name: 'big', deadline: { within: 'PT1H' }, sealed: big.sealed }))).toBe('OFFER_DATA_TOO_LARGE');
    const huge = { name: 'huge', deadline: { within: 'PT1H' }, sealed: { ciphertext: toBase64Url(new Uint8Array(200_000)), serverShare: big.sealed.serverShare } };
    expect(await codeOf(provider.offers.publish(huge))).toBe('PAYLOAD_TOO_LARGE');
    expect(await codeOf(provider.offers.publish({ name: 'attrs', deadline: { within: 'PT1H' }, link: 'https://shop.example/', attributes: { blob: 'x'.repeat(20_000) } }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(provider.offers.publish({ name: 'tags', deadline: { within: 'PT1H' }, link: 'https://shop.example/', tags: Array.from({ length: 50 }, (_, i) => `t${i}`) }))).toBe('VALIDATION_FAILED');
    expect(await provider.offers.list('provider')).toEqual([]);
    expect(await eventsOf(watcher, 'offer')).toEqual([]);
  });

  it('bad device keys, answers and vouchers get their codes', async () => {
    expect(await codeOf(provider.offers.registerDeviceKey(toBase64Url(new Uint8Array(16))))).toBe('INVALID_PUBLIC_KEY');
    expect(await codeOf(provider.offers.registerDeviceKey('not base64!'))).toBe('VALIDATION_FAILED');
    expect(await codeOf(provider.request('POST', '/v1/offers/nope/answer', { answer: 'maybe' }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(provider.offers.answer('nope', 'accept'))).toBe('OFFER_NOT_FOUND');
    expect(await codeOf(provider.offers.redeem('x'.repeat(9000)))).toBe('VALIDATION_FAILED');
    expect(await codeOf(provider.offers.releaseShares([]))).toBe('VALIDATION_FAILED');
  });
});
