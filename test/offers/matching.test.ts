import siftModule from 'sift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePredicate, interestTerms, offerTerms, storedInterestMatches } from '../../src/modules/offers/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { codeOf, eventsOf, user, type User } from './helpers.js';

// sift's CommonJS default export is the query compiler itself.
const sift = siftModule as unknown as (query: unknown) => (value: unknown) => boolean;

// A seeded generator: a failure names its seed and replays.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CATEGORIES = ['doc', 'img', 'vid', 'aud'];
const COLORS = ['red', 'green', 'blue'];
const TAGS = ['a', 'b', 'c', 'd', 'e'];
const PAD = Array.from({ length: 40 }, (_, i) => `pad${i}`);

function generators(r: () => number) {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const some = <T>(xs: T[], max: number): T[] => [...new Set(Array.from({ length: Math.floor(r() * (max + 1)) }, () => pick(xs)))];
  const leaf = (): Record<string, unknown> =>
    pick<() => Record<string, unknown>>([
      () => ({ category: pick(CATEGORIES) }),
      () => ({ category: { $in: some(CATEGORIES, 3).concat(pick(CATEGORIES)) } }),
      () => ({ category: { $ne: pick(CATEGORIES) } }),
      () => ({ price: { [pick(['$lte', '$gte', '$lt', '$gt'])]: Math.floor(r() * 200) } }),
      () => ({ 'shop.color': pick(COLORS) }),
      () => ({ sizes: pick([1, 2, 3, 4]) }),
      () => ({ sizes: { $all: some([1, 2, 3, 4], 2).concat(pick([1, 2])) } }),
      () => ({ sizes: { $size: Math.floor(r() * 3) } }),
      () => ({ used: pick([true, false]) }),
      () => ({ used: { $exists: r() < 0.5 } }),
      () => ({ category: { $nin: some(CATEGORIES, 2) } }),
      () => ({ price: { $not: { $gt: Math.floor(r() * 200) } } }),
    ])();
  const predicate = (depth = 0): Record<string, unknown> => {
    const roll = r();
    if (depth < 2 && roll < 0.15) return { $or: [predicate(depth + 1), predicate(depth + 1)] };
    if (depth < 2 && roll < 0.25) return { $and: [predicate(depth + 1), predicate(depth + 1)] };
    if (roll < 0.3) return {};
    return Object.assign({}, leaf(), r() < 0.5 ? leaf() : {});
  };
  const attributes = (): Record<string, unknown> => {
    const a: Record<string, unknown> = { category: pick(CATEGORIES), price: Math.floor(r() * 200) };
    // Scalars, nulls and arrays where paths lead exercise both the fast evaluator and its hand-over to sift.
    if (r() < 0.7) a.shop = pick<unknown>([{ color: pick(COLORS) }, { color: pick(COLORS) }, 'closed', [{ color: pick(COLORS) }], null]);
    if (r() < 0.7) a.sizes = some([1, 2, 3, 4], 3);
    if (r() < 0.5) a.used = pick<unknown>([true, false, null, [true]]);
    if (r() < 0.2) a.price = pick<unknown>([String(Math.floor(r() * 200)), [Math.floor(r() * 200)], null]);
    return a;
  };
  return { pick, some, predicate, attributes };
}

describe('matching: inverted index + predicate against a brute-force reference', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('the index never misses an interest the predicate matches (terms are sound) and the stored predicate decides as sift does, on 20,000 random pairs', () => {
    const g = generators(rng(7));
    for (let i = 0; i < 2000; i++) {
      const predicate = g.predicate();
      const tags = g.some(TAGS, 2);
      const test = compilePredicate(predicate);
      const filed = interestTerms(tags, predicate);
      for (let j = 0; j < 10; j++) {
        const attributes = g.attributes();
        const offerTags = g.some(TAGS, 3);
        const reference = tags.every((t) => offerTags.includes(t)) && sift(predicate)(attributes);
        expect(test(attributes)).toBe(sift(predicate)(attributes));
        // The check matching runs on a candidate as stored (tags and predicate as JSON text).
        expect(storedInterestMatches(JSON.stringify(tags), JSON.stringify(predicate), new Set(offerTags), attributes)).toBe(reference);
        if (reference) expect(filed.some((t) => offerTerms(attributes, offerTags).includes(t)), JSON.stringify({ predicate, tags, attributes, offerTags })).toBe(true);
        // The same offer with too many attribute terms to spell out pairs (no predicate reads "pad").
        if (reference) expect(filed.some((t) => offerTerms({ ...attributes, pad: PAD }, offerTags).includes(t)), JSON.stringify({ predicate, tags, attributes, offerTags })).toBe(true);
      }
    }
  });

  it('an interest needing two equality fields is filed under their pairs; an offer with too many attributes to pair finds it through the anchors', () => {
    const predicate = { category: 'doc', region: { $in: ['north', 'south'] }, price: { $lte: 10 } };
    const filed = interestTerms([], predicate);
    expect(filed.filter((t) => t.startsWith('p:'))).toHaveLength(2);
    const small = { category: 'doc', region: 'south', price: 5 };
    const other = { category: 'doc', region: 'east', price: 5 };
    expect(filed.some((t) => offerTerms(small, []).includes(t))).toBe(true);
    // Same category, another region: the pair keeps it from being a candidate at all.
    expect(filed.some((t) => offerTerms(other, []).includes(t))).toBe(false);
    const big = { ...small, extra: Array.from({ length: 40 }, (_, i) => `x${i}`) };
    expect(offerTerms(big, []).some((t) => t.startsWith('p:'))).toBe(false);
    expect(filed.some((t) => offerTerms(big, []).includes(t))).toBe(true);
  });

  it('offers reach exactly the users a linear scan of every stored interest finds', async () => {
    const g = generators(rng(42));
    const users: { user: User; interests: { tags: string[]; predicate: Record<string, unknown> }[] }[] = [];
    await Promise.all(
      Array.from({ length: 30 }, async () => {
        const u = await user(server, 'm');
        const interests = Array.from({ length: 1 + (users.length % 4) }, () => ({ tags: g.some(TAGS, 2), predicate: g.predicate() }));
        for (const [k, i] of interests.entries()) await u.offers.putInterest({ name: `i${k}`, ...i });
        users.push({ user: u, interests });
      }),
    );
    const provider = await user(server, 'mp');
    const offered = new Map<string, number>();
    for (let n = 0; n < 60; n++) {
      const attributes = g.attributes();
      const tags = g.some(TAGS, 3);
      const offer = await provider.offers.publish({ name: `o${n}`, tags, attributes, deadline: { within: 'PT1H' }, link: 'https://shop.example/' });
      const expected = users
        .filter((u) => u.interests.some((i) => i.tags.every((t) => tags.includes(t)) && sift(i.predicate)(attributes)))
        .map((u) => u.user.accountId)
        .sort();
      expect(offer.recipients.map((r) => r.accountId).sort(), JSON.stringify({ attributes, tags })).toEqual(expected);
      for (const id of expected) offered.set(id, (offered.get(id) ?? 0) + 1);
    }
    // And each matched user got the event.
    const [someone] = [...offered].sort((a, b) => b[1] - a[1]);
    if (someone) {
      const u = users.find((x) => x.user.accountId === someone[0])!.user;
      expect(await eventsOf(u, 'offer')).toHaveLength(someone[1]);
    }
    // 30 accounts (scrypt) and 60 publishes: past the default 30 s on a busy machine.
  }, 90_000);

  it('an expired or deleted interest no longer matches; replacing an interest by name re-files it', async () => {
    const [u, provider] = await Promise.all([user(server, 'x'), user(server, 'xp')]);
    const first = await u.offers.putInterest({ name: 'docs', predicate: { category: 'doc' } });
    // Other tests' users have catch-all interests too: only this user's presence is in question.
    const publish = async (category: string) =>
      (await provider.offers.publish({ name: category, attributes: { category }, deadline: { within: 'PT1H' }, link: 'https://shop.example/' })).recipients.map((r) => r.accountId).filter((id) => id === u.accountId);
    expect(await publish('doc')).toEqual([u.accountId]);
    const replaced = await u.offers.putInterest({ name: 'docs', predicate: { category: 'img' } });
    expect(replaced.id).toBe(first.id);
    expect(await publish('doc')).toEqual([]);
    expect(await publish('img')).toEqual([u.accountId]);
    await u.offers.deleteInterest(first.id);
    expect(await publish('img')).toEqual([]);
    expect(await codeOf(u.offers.deleteInterest(first.id))).toBe('INTEREST_NOT_FOUND');
    await u.offers.putInterest({ name: 'soon', predicate: {}, expiresAt: new Date(Date.now() + 400).toISOString() });
    expect(await publish('vid')).toEqual([u.accountId]);
    await new Promise((r) => setTimeout(r, 500));
    expect(await publish('vid')).toEqual([]);
  });
});
