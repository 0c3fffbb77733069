import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDeviceKey, OffersApi, sealOfferData, sealShare } from '../../sdk/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { codeOf, user, type User } from './helpers.js';

type Role = 'provider' | 'holder' | 'offered' | 'stranger' | 'anonymous';

describe('offers: who may do what', () => {
  let server: TestServer;
  let as: Record<Role, OffersApi>;
  let offerId: string;
  let voucherId: string;
  let token: string;
  let holderDevice: string;
  let providerShare: string;
  let holderInterest: string;

  beforeAll(async () => {
    server = await startTestServer();
    const [provider, holder, offered, stranger]: User[] = await Promise.all([user(server, 'ap'), user(server, 'ah'), user(server, 'ao'), user(server, 'as')]);
    const key = await generateDeviceKey();
    await holder!.offers.registerDeviceKey(key.publicKey);
    holderDevice = holder!.deviceId!;
    holderInterest = (await holder!.offers.putInterest({ name: 'x', tags: ['authz'] })).id;
    await offered!.offers.putInterest({ name: 'x', tags: ['authz'] });
    await stranger!.offers.putInterest({ name: 'x', tags: ['other'] });
    const sealed = await sealOfferData('secret');
    providerShare = sealed.providerShare;
    offerId = (await provider!.offers.publish({ name: 'Authz', tags: ['authz'], deadline: { within: 'PT1H' }, sealed: sealed.sealed })).id;
    const won = await holder!.offers.answer(offerId, 'accept');
    voucherId = won.voucher!.id;
    token = won.voucher!.token;
    as = { provider: provider!.offers, holder: holder!.offers, offered: offered!.offers, stranger: stranger!.offers, anonymous: new OffersApi(server.client()) };
  });
  afterAll(async () => server?.close());

  const matrix: [string, (api: OffersApi) => Promise<unknown>, Record<Role, string>][] = [
    ['read the offer', (a) => a.get(offerId), { provider: 'OK', holder: 'OK', offered: 'OK', stranger: 'OFFER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' }],
    ['see the voucher', (a) => a.voucher(voucherId), { provider: 'OK', holder: 'OK', offered: 'VOUCHER_NOT_FOUND', stranger: 'VOUCHER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' }],
    ['fetch the sealed data', (a) => a.voucherData(voucherId), { provider: 'VOUCHER_NOT_YOURS', holder: 'OK', offered: 'VOUCHER_NOT_FOUND', stranger: 'VOUCHER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' }],
    ['delete the holder\'s interest', (a) => a.deleteInterest(holderInterest), { provider: 'INTEREST_NOT_FOUND', holder: 'SKIP', offered: 'INTEREST_NOT_FOUND', stranger: 'INTEREST_NOT_FOUND', anonymous: 'UNAUTHENTICATED' }],
    ['read the server\'s voucher key', (a) => a.voucherKey(), { provider: 'OK', holder: 'OK', offered: 'OK', stranger: 'OK', anonymous: 'OK' }],
    [
      'release a share to the holder',
      async (a) => a.releaseShares([{ voucherId, deviceId: holderDevice, sealed: await sealShare(providerShare, (await generateDeviceKey()).publicKey) }]),
      { provider: 'OK', holder: 'VOUCHER_NOT_FOUND', offered: 'VOUCHER_NOT_FOUND', stranger: 'VOUCHER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' },
    ],
    ['answer the offer', (a) => a.answer(offerId, 'decline'), { provider: 'OFFER_NOT_FOUND', holder: 'ALREADY_ANSWERED', offered: 'OK', stranger: 'OFFER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' }],
    ['decide on the voucher', (a) => a.decide(voucherId, 'accept'), { provider: 'VOUCHER_NOT_YOURS', holder: 'OK', offered: 'VOUCHER_NOT_FOUND', stranger: 'VOUCHER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' }],
    ['redeem the voucher', (a) => a.redeem(token), { provider: 'VOUCHER_NOT_YOURS', holder: 'OK', offered: 'VOUCHER_NOT_YOURS', stranger: 'VOUCHER_NOT_YOURS', anonymous: 'UNAUTHENTICATED' }],
    ['withdraw the offer', (a) => a.withdraw(offerId), { provider: 'OK', holder: 'NOT_OFFER_PROVIDER', offered: 'NOT_OFFER_PROVIDER', stranger: 'OFFER_NOT_FOUND', anonymous: 'UNAUTHENTICATED' }],
  ];

  // The owner acts last in each row, so every refusal is checked against the unchanged state.
  const order: Role[] = ['anonymous', 'stranger', 'offered', 'holder', 'provider'];
  for (const [action, call, expected] of matrix) {
    it(`${action}: ${order.map((r) => `${r} → ${expected[r]}`).join(', ')}`, async () => {
      for (const role of order.filter((r) => expected[r] !== 'OK' && expected[r] !== 'SKIP').concat(order.filter((r) => expected[r] === 'OK'))) {
        expect(await codeOf(call(as[role])), role).toBe(expected[role]);
      }
    });
  }

  it('the provider sees the whole history; the credit is the provider\'s alone', async () => {
    const dashboard = await as.provider.get(offerId);
    expect('recipients' in dashboard && dashboard.recipients.map((r) => r.outcome).sort()).toEqual(['declined', 'voucher']);
    expect((await as.provider.credit()).redemptions).toBe(1);
    expect((await as.holder.credit()).redemptions).toBe(0);
    const seen = await as.offered.get(offerId);
    expect(seen).not.toHaveProperty('recipients');
  });
});
