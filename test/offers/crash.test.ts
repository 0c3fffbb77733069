import { afterAll, describe, expect, it } from 'vitest';
import { createNodeClient } from '../../sdk/node.js';
import { OffersApi, verifyVoucher, type ParleyClient, type StreamEvent } from '../../sdk/index.js';
import { startChildServer, type ChildServer } from '../support/child.js';
import { freshStorage } from '../support/server.js';
import { codeOf, until } from './helpers.js';

async function allEvents(client: ParleyClient): Promise<StreamEvent[]> {
  const { events } = await client.events({ after: 0, limit: 500 });
  return events;
}

describe('offers survive kill -9 between offer and deadline', () => {
  let cleanup = async () => {};
  afterAll(() => cleanup());

  it('after a restart deadlines are still enforced, the close timer still fires and every event is delivered', async () => {
    const storage = await freshStorage();
    const env = { DATA_DIR: storage.overrides.dataDir!, DATABASE_URL: storage.overrides.databaseUrl ?? '', PARLEY_NODE_ID: 'offers-crash' };
    let child: ChildServer = await startChildServer(env);
    cleanup = async () => {
      if (child.proc.exitCode === null && child.proc.signalCode === null) await child.crash();
      await storage.drop();
    };
    const login = async (handle: string) => {
      const c = createNodeClient({ baseUrl: child.url });
      await c.register({ handle, displayName: handle, password: `password-${handle}` });
      await c.login(handle, `password-${handle}`);
      return c;
    };
    const [provider, early, later, late] = [await login('provider'), await login('early'), await login('later'), await login('late')];
    for (const u of [early, later, late]) await new OffersApi(u).putInterest({ name: 'tickets', tags: ['tickets'] });
    const long = await new OffersApi(provider).publish({ name: 'Long', tags: ['tickets'], deadline: { within: 'PT10M' }, link: 'https://shop.example/long' });
    const short = await new OffersApi(provider).publish({ name: 'Short', tags: ['tickets'], deadline: { within: 4000 }, link: 'https://shop.example/short' });
    const { voucher } = await new OffersApi(early).answer(long.id, 'accept');

    await child.crash();
    child = await startChildServer(env);
    const reconnect = async (handle: string) => {
      const c = createNodeClient({ baseUrl: child.url });
      await c.login(handle, `password-${handle}`);
      return c;
    };
    const [provider2, early2, later3, late2] = [await reconnect('provider'), await reconnect('early'), await reconnect('later'), await reconnect('late')];

    // Acknowledged before the crash: the offers reached everyone, the voucher still verifies with the stored key.
    for (const u of [early2, later3, late2]) expect((await allEvents(u)).filter((e) => e.type === 'offer')).toHaveLength(2);
    expect((await verifyVoucher(voucher!.token, await new OffersApi(early2).voucherKey())).sub).toBe((await early2.me()).id);

    expect((await new OffersApi(later3).answer(long.id, 'accept')).outcome).toBe('voucher');
    await until(async () => (await new OffersApi(provider2).get(short.id)).status === 'closed', 20_000, 'short offer closed after restart');
    expect(await codeOf(new OffersApi(late2).answer(short.id, 'accept'))).toBe('ANSWER_TOO_LATE');
    expect((await allEvents(late2)).filter((e) => e.type === 'offer.closed').map((e) => (e.data as { offerId: string }).offerId)).toEqual([short.id]);
    const dashboard = await new OffersApi(provider2).get(long.id);
    expect('winners' in dashboard && dashboard.winners).toBe(2);
  }, 90_000);
});
