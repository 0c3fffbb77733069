import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { codeOf, provider, publish, user, type User } from './helpers.js';

/**
 * What the web app's catalogue and credit pages read: each service carries its provider's credit
 * band (moving with the record and the operator's adjustment), a provider lists its own withdrawn
 * services, and the operator lists every provider's credit with its inputs.
 */
describe('catalogue with credit bands, and the operator\'s list of providers\' credit', () => {
  let server: TestServer;
  let operator: User;
  let buyer: User;
  let high: User;
  let medium: User;
  let low: User;

  beforeAll(async () => {
    server = await startTestServer();
    operator = await user(server, 'operator');
    buyer = await user(server);
    [high, medium, low] = [await provider(server, operator, 25), await provider(server, operator), await provider(server, operator, -25)];
  });
  afterAll(() => server?.close());

  it('each service shows its provider\'s band, and the band follows the operator\'s adjustment', async () => {
    const codes = { high: await publish(high), medium: await publish(medium), low: await publish(low) };
    const bandOf = async (code: string) => (await buyer.orders.catalogue()).find((s) => s.code === code)?.providerBand;
    expect({ high: await bandOf(codes.high), medium: await bandOf(codes.medium), low: await bandOf(codes.low) }).toEqual({ high: 'high', medium: 'medium', low: 'low' });

    await operator.orders.adjust(medium.handle, { adjustment: 20, reason: 'partner' });
    expect(await bandOf(codes.medium)).toBe('high');
    expect((await buyer.orders.order({ service: codes.medium })).interaction).toBe('ordered');
    await operator.orders.adjust(medium.handle, { adjustment: 0, reason: 'back to the record' });
    expect(await bandOf(codes.medium)).toBe('medium');
  });

  it('a withdrawn service is listed for its provider (and the operator) only when asked, never for others', async () => {
    const seller = await provider(server, operator);
    const code = await publish(seller, 'once');
    await seller.orders.updateService(code, { active: false });
    const listed = async (c: User, withdrawn: boolean) => (await c.orders.catalogue(seller.handle, { withdrawn })).map((s) => [s.code, s.active]);
    expect(await listed(seller, true)).toEqual([[code, false]]);
    expect(await listed(operator, true)).toEqual([[code, false]]);
    expect(await listed(seller, false)).toEqual([]);
    expect(await listed(buyer, true)).toEqual([]);
    expect(await listed(medium, true)).toEqual([]);
  });

  it('the operator lists every provider with its score and every input; nobody else may', async () => {
    const entries = await operator.orders.providers();
    const mine = (p: User) => entries.find((e) => e.provider.id === p.accountId);
    expect(mine(low)?.credit).toMatchObject({ score: 25, band: 'low', adjustment: { points: -25, reason: 'test' } });
    expect(mine(high)?.credit.inputs).toEqual(await operator.orders.credit(high.handle).then((c) => c.inputs));
    expect(mine(medium)?.credit.inputs.ordersPlaced).toBe(1);
    expect(entries.every((e) => e.credit.providerId === e.provider.id)).toBe(true);
    expect(entries.some((e) => e.provider.id === buyer.accountId)).toBe(false);

    expect(await codeOf(buyer.orders.providers())).toBe('ADMIN_ONLY');
    expect(await codeOf(high.orders.providers())).toBe('ADMIN_ONLY');
    expect(await codeOf(server.client().request('GET', '/v1/providers'))).toBe('UNAUTHENTICATED');
  });
});
