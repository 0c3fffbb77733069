import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTEREST_SWEEP_MS } from '../../src/modules/offers/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { SettableClock, until, user } from './helpers.js';

/**
 * Expired interests are deleted by a periodic sweep on the durable scheduler. The clock is the
 * settable one (test/offers/helpers.ts): the test moves the server's time past each expiry and
 * the sweep's next run; the scheduler's own polling stays real.
 */
describe('expired interests', () => {
  let server: TestServer;
  const clock = new SettableClock();
  const at = (iso: string, plusMs = 0) => new Date(Date.parse(iso) + plusMs).toISOString();

  beforeAll(async () => {
    clock.set('2030-03-01T10:00:00.000Z');
    server = await startTestServer({}, clock);
  });
  afterAll(async () => server?.close());

  const termsOf = async (interestIds: string[]) =>
    interestIds.length === 0 ? [] : server.app.services.storage.db.selectFrom('interest_terms').select('interest_id').where('interest_id', 'in', interestIds).execute();

  it('are deleted with their index terms once the sweep runs after their expiry; the others stay, and the sweep comes back', async () => {
    const u = await user(server, 'exp');
    const soon = await u.offers.putInterest({ name: 'soon', tags: ['deals'], expiresAt: '2030-03-01T10:05:00.000Z' });
    const later = await u.offers.putInterest({ name: 'later', predicate: { category: 'doc' }, expiresAt: '2030-03-01T12:00:00.000Z' });
    const forever = await u.offers.putInterest({ name: 'forever', predicate: { price: { $lte: 5 } } });
    const names = async () => (await u.offers.interests()).map((i) => i.name).sort();
    expect(await termsOf([soon.id, later.id, forever.id])).toHaveLength(3);

    // Past the first expiry but before the sweep is due: still stored (matching already skips it).
    clock.set('2030-03-01T10:06:00.000Z');
    clock.flow();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await names()).toEqual(['forever', 'later', 'soon']);

    // The sweep scheduled at start-up comes due.
    clock.set(at('2030-03-01T10:00:00.000Z', INTEREST_SWEEP_MS + 1000));
    clock.flow();
    await until(async () => (await names()).length === 2, 10_000, 'the first sweep');
    expect(await names()).toEqual(['forever', 'later']);
    expect(await termsOf([soon.id])).toEqual([]);

    // It rescheduled itself: the next expiry goes on a later run.
    clock.set(at('2030-03-01T12:00:00.000Z', INTEREST_SWEEP_MS + 1000));
    clock.flow();
    await until(async () => (await names()).length === 1, 10_000, 'a later sweep');
    expect(await names()).toEqual(['forever']);
    expect(await termsOf([later.id])).toEqual([]);
    expect(await termsOf([forever.id])).toHaveLength(1);
  });
});
