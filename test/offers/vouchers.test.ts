import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDeviceKey, openOfferData, sealOfferData, verifyVoucher, type DeviceKeyPair, type EventData } from '../../sdk/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { codeOf, eventsOf, openStream, until, user, type User } from './helpers.js';

describe('vouchers: sealed target data opens only with both shares', () => {
  let server: TestServer;
  let tag = 0;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  async function won(secret = 'door code 4711'): Promise<{ provider: User; winner: User; other: User; device: DeviceKeyPair; offerId: string; voucherId: string; token: string; providerShare: string }> {
    const t = `v-${++tag}`;
    const [provider, winner, other] = await Promise.all([user(server, 'vp'), user(server, 'vw'), user(server, 'vo')]);
    const device = await generateDeviceKey();
    await winner.offers.registerDeviceKey(device.publicKey);
    await winner.offers.putInterest({ name: 'i', tags: [t] });
    await other.offers.putInterest({ name: 'i', tags: [t] });
    const sealed = await sealOfferData(secret);
    const offer = await provider.offers.publish({ name: 'Sealed', tags: [t], deadline: { within: 'PT1H' }, sealed: sealed.sealed, contact: 'shop@example.org' });
    const { voucher } = await winner.offers.answer(offer.id, 'accept');
    return { provider, winner, other, device, offerId: offer.id, voucherId: voucher!.id, token: voucher!.token, providerShare: sealed.providerShare };
  }

  it('the winner opens the data with the server\'s share from the voucher and the provider\'s share released to its device', async () => {
    const { provider, winner, device, offerId, voucherId, providerShare } = await won('door code 4711');
    const offerEvent = (await eventsOf(winner, 'offer'))[0]!;
    expect(offerEvent.data.offer).toMatchObject({ id: offerId, contact: 'shop@example.org', hasData: true });
    expect(offerEvent.data.offer).not.toHaveProperty('ciphertext');

    const stream = await openStream(provider);
    const stop = provider.offers.autoRelease(stream, new Map([[offerId, providerShare]]));
    await until(async () => (await eventsOf(winner, 'voucher.share')).length > 0, 10_000, 'voucher.share');
    stop();
    stream.close();
    const share = (await eventsOf(winner, 'voucher.share'))[0]!.data;
    expect(share).toMatchObject({ voucherId, offerId, deviceId: winner.deviceId });

    const voucher = (await eventsOf(winner, 'voucher'))[0]!.data.voucher;
    const opened = await winner.offers.open(voucher, share, device, await winner.offers.voucherKey());
    expect(new TextDecoder().decode(opened)).toBe('door code 4711');
    const dashboard = await provider.offers.get(offerId);
    expect('recipients' in dashboard && dashboard.recipients.find((r) => r.accountId === winner.accountId)).toMatchObject({ outcome: 'voucher', voucherId, shareReleased: true });
  });

  it('the server\'s database alone cannot open the data: its share without the provider\'s fails', async () => {
    const { offerId } = await won('top secret');
    const row = await server.app.services.storage.db.selectFrom('offers').selectAll().where('id', '=', offerId).executeTakeFirstOrThrow();
    expect(row.ciphertext).not.toContain(Buffer.from('top secret').toString('base64url'));
    // Everything the server stores: ciphertext, its share, and (below) shares sealed to device keys it never saw the private half of.
    const guesses = [row.server_share!, Buffer.alloc(32).toString('base64url')];
    for (const guess of guesses) await expect(openOfferData(row.ciphertext!, row.server_share!, guess)).rejects.toThrow();
  });

  it('the provider releases shares on reconnect when it was offline as the voucher was won', async () => {
    const { provider, winner, offerId, providerShare } = await won();
    expect((await provider.offers.pendingShares()).map((w) => w.accountId)).toEqual([winner.accountId]);
    const stream = await openStream(provider);
    const stop = provider.offers.autoRelease(stream, new Map([[offerId, providerShare]]));
    await until(async () => (await provider.offers.pendingShares()).length === 0, 10_000, 'release');
    stop();
    stream.close();
    expect(await eventsOf(winner, 'voucher.share')).toHaveLength(1);
  });

  it('a voucher verifies against the published key; a forged or altered one is refused', async () => {
    const { winner, token } = await won();
    const jwks = await winner.offers.voucherKey();
    const claims = await verifyVoucher(token, jwks);
    expect(claims.sub).toBe(winner.accountId);
    const [h, p, sig] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const altered = `${h}.${Buffer.from(JSON.stringify({ ...payload, exp: (payload.exp as number) + 1e6 })).toString('base64url')}.${sig}`;
    const { privateKey } = await import('node:crypto').then((c) => c.generateKeyPairSync('ed25519'));
    const { SignJWT } = await import('jose');
    const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'parley-voucher+jwt' }).sign(privateKey);
    await expect(verifyVoucher(altered, jwks)).rejects.toThrow();
    expect(await codeOf(winner.offers.redeem(altered))).toBe('VOUCHER_INVALID');
    expect(await codeOf(winner.offers.redeem(forged))).toBe('VOUCHER_INVALID');
    expect(await codeOf(winner.offers.redeem('not.a.token'))).toBe('VOUCHER_INVALID');
  });

  it('a voucher of user A is useless to user B', async () => {
    const { other, token, voucherId } = await won();
    expect(await codeOf(other.offers.redeem(token))).toBe('VOUCHER_NOT_YOURS');
    expect(await codeOf(other.offers.voucherData(voucherId))).toBe('VOUCHER_NOT_FOUND');
    expect(await codeOf(other.offers.decide(voucherId, 'accept'))).toBe('VOUCHER_NOT_FOUND');
  });

  it('redeeming adds credit to the provider once; a rejected voucher cannot be redeemed', async () => {
    const a = await won();
    await a.winner.offers.decide(a.voucherId, 'accept');
    expect((await a.winner.offers.redeem(a.token)).status).toBe('redeemed');
    expect(await codeOf(a.winner.offers.redeem(a.token))).toBe('VOUCHER_CLOSED');
    expect(await a.provider.offers.credit()).toEqual({ points: server.config.voucherRedeemPoints, redemptions: 1 });
    const statuses = (await eventsOf(a.provider, 'voucher.status')).map((e: { data: EventData['voucher.status'] }) => e.data.status);
    expect(statuses).toEqual(['accepted', 'redeemed']);

    const b = await won();
    await b.winner.offers.decide(b.voucherId, 'reject');
    expect(await codeOf(b.winner.offers.redeem(b.token))).toBe('VOUCHER_CLOSED');
    expect(await b.provider.offers.credit()).toEqual({ points: 0, redemptions: 0 });
  });

  it('a voucher may carry a signed link instead of sealed data', async () => {
    const t = `v-${++tag}`;
    const [provider, winner] = await Promise.all([user(server, 'vp'), user(server, 'vw')]);
    await winner.offers.putInterest({ name: 'i', tags: [t] });
    const offer = await provider.offers.publish({ name: 'Shop', tags: [t], deadline: { within: 'PT1H' }, link: 'https://shop.example/checkout/42' });
    const { voucher } = await winner.offers.answer(offer.id, 'accept');
    expect((await verifyVoucher(voucher!.token, await winner.offers.voucherKey())).link).toBe('https://shop.example/checkout/42');
    expect(await winner.offers.voucherData(voucher!.id)).toEqual({ ciphertext: null, link: 'https://shop.example/checkout/42' });
  });
});
