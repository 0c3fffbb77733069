import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../sdk/index.js';
import { startTestServer, type TestServer } from './support/server.js';

/** The code the outbox "sent" to `recipient` most recently. */
async function codeSentTo(admin: ParleyClient, channel: 'sms' | 'email', recipient: string): Promise<string> {
  const items = await admin.outbox({ channel, limit: 500 });
  const item = items.find((i) => i.recipient === recipient);
  expect(item, `no ${channel} to ${recipient} in the outbox`).toBeDefined();
  expect(item!.purpose).toBe('verification');
  const match = /\b(\d{6})\b/.exec(item!.body);
  expect(match, `no code in "${item!.body}"`).not.toBeNull();
  return match![1]!;
}

/** A code of the same shape that is certainly not `code`. */
function wrongCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(code.length, '0');
}

describe('accounts', () => {
  let server: TestServer;
  let admin: Awaited<ReturnType<TestServer['user']>>;
  beforeAll(async () => {
    server = await startTestServer();
    // The first account on a server is its administrator: it reads the outbox.
    admin = await server.user('admin');
  });
  afterAll(async () => server?.close());

  it('registers an account with a lowercased handle; only the first account is admin', async () => {
    const me = await server.client().register({ handle: 'Alice.Smith', displayName: 'Alice Smith', password: 'correct horse' });
    expect(me).toMatchObject({
      handle: 'alice.smith',
      displayName: 'Alice Smith',
      kind: 'person',
      isAdmin: false,
      phone: null,
      phoneVerified: false,
      email: null,
      emailVerified: false,
      privacy: { readReceipts: 'public', lastSeen: 'visible' },
    });
    expect(me.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await admin.me()).isAdmin).toBe(true);
    const session = await server.client().login('alice.smith', 'correct horse');
    expect(session.account.id).toBe(me.id);
    expect(session.token).toBeTruthy();
  });

  it('refuses a taken handle whatever its case (HANDLE_TAKEN)', async () => {
    await server.client().register({ handle: 'grace', displayName: 'Grace', password: 'password-1' });
    for (const handle of ['grace', 'GRACE', 'Grace']) {
      await expect(server.client().register({ handle, displayName: 'Impostor', password: 'password-2' })).rejects.toMatchObject({ code: 'HANDLE_TAKEN', status: 409 });
    }
    // The original account is untouched: its password still works, the impostor's does not.
    await expect(server.client().login('grace', 'password-1')).resolves.toMatchObject({ account: { displayName: 'Grace' } });
    await expect(server.client().login('grace', 'password-2')).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
  });

  it('logs in with the handle in any case', async () => {
    await server.client().register({ handle: 'heidi', displayName: 'Heidi', password: 'password-heidi' });
    await expect(server.client().login('HEIDI', 'password-heidi')).resolves.toMatchObject({ account: { handle: 'heidi' } });
  });

  it('a wrong password and an unknown handle get the same INVALID_CREDENTIALS answer', async () => {
    await server.client().register({ handle: 'ivan', displayName: 'Ivan', password: 'password-ivan' });
    const wrongPassword = await server.client().login('ivan', 'not-the-password').catch((e: unknown) => e);
    const unknownHandle = await server.client().login('nobody-here', 'whatever-pass').catch((e: unknown) => e);
    expect(wrongPassword).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401 });
    expect(unknownHandle).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401 });
    expect((unknownHandle as Error).message).toBe((wrongPassword as Error).message);
  });

  it('lists devices with the current one marked, and a revoked device is refused at once', async () => {
    const judy = await server.user('judy');
    const laptop = server.client();
    const laptopSession = await laptop.login('judy', 'password-judy', 'laptop');

    const devices = await judy.devices();
    expect(devices.map((d) => d.id).sort()).toEqual([judy.deviceId, laptopSession.deviceId].sort());
    expect(devices.find((d) => d.id === judy.deviceId)).toMatchObject({ name: 'judy-device', current: true, ackedSeq: 0 });
    expect(devices.find((d) => d.id === laptopSession.deviceId)).toMatchObject({ name: 'laptop', current: false });
    expect((await laptop.devices()).find((d) => d.current)?.id).toBe(laptopSession.deviceId);

    await judy.revokeDevice(laptopSession.deviceId);
    await expect(laptop.me()).rejects.toMatchObject({ code: 'TOKEN_INVALID', status: 401 });
    expect((await judy.devices()).map((d) => d.id)).toEqual([judy.deviceId]);
    await expect(judy.revokeDevice(laptopSession.deviceId)).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND', status: 404 });
  });

  it('logout revokes only the current device', async () => {
    const mia = await server.user('mia');
    const phone = server.client();
    await phone.login('mia', 'password-mia', 'phone');
    const token = mia.token!;
    await mia.logout();
    const stale = server.client();
    stale.token = token;
    await expect(stale.me()).rejects.toMatchObject({ code: 'TOKEN_INVALID', status: 401 });
    const remaining = await phone.devices();
    expect(remaining.map((d) => d.name)).toEqual(['phone']);
  });

  it('binds a phone number: the code goes to the outbox, a wrong code fails, the right one verifies', async () => {
    const nina = await server.user('nina');
    const bound = await nina.bindPhone('+49 151 2345 6789');
    expect(bound.phone).toBe('+4915123456789');
    expect(Date.parse(bound.expiresAt)).toBeGreaterThan(Date.now());
    expect(await nina.me()).toMatchObject({ phone: '+4915123456789', phoneVerified: false });

    const code = await codeSentTo(admin, 'sms', '+4915123456789');
    await expect(nina.verifyPhone(wrongCode(code))).rejects.toMatchObject({ code: 'VERIFICATION_FAILED', status: 400 });
    expect((await nina.me()).phoneVerified).toBe(false);
    const me = await nina.verifyPhone(code);
    expect(me).toMatchObject({ phone: '+4915123456789', phoneVerified: true });
    // The code is used up.
    await expect(nina.verifyPhone(code)).rejects.toMatchObject({ code: 'NO_PENDING_VERIFICATION' });
  });

  it('five wrong phone codes lock the code (TOO_MANY_ATTEMPTS) even for the right one; a new code unlocks', async () => {
    const oscar = await server.user('oscar');
    await oscar.bindPhone('+14155550123');
    const code = await codeSentTo(admin, 'sms', '+14155550123');
    for (let i = 0; i < 5; i++) {
      await expect(oscar.verifyPhone(wrongCode(code))).rejects.toMatchObject({ code: 'VERIFICATION_FAILED' });
    }
    await expect(oscar.verifyPhone(code)).rejects.toMatchObject({ code: 'TOO_MANY_ATTEMPTS', status: 429 });
    expect((await oscar.me()).phoneVerified).toBe(false);

    await oscar.bindPhone('+14155550123');
    const fresh = await codeSentTo(admin, 'sms', '+14155550123');
    await expect(oscar.verifyPhone(fresh)).resolves.toMatchObject({ phoneVerified: true });
  });

  it('wrong codes sent all at once still count: no more than five are judged, the code then locks', async () => {
    const uma = await server.user('uma');
    await uma.bindPhone('+33612345678');
    const code = await codeSentTo(admin, 'sms', '+33612345678');
    const guesses = Array.from({ length: 30 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'));
    const results = await Promise.all(guesses.map((g) => uma.verifyPhone(g).then(() => 'VERIFIED', (e: { code: string }) => e.code)));
    expect(results.filter((r) => r === 'VERIFICATION_FAILED').length).toBeLessThanOrEqual(5);
    expect(results.filter((r) => r === 'TOO_MANY_ATTEMPTS').length).toBeGreaterThanOrEqual(25);
    await expect(uma.verifyPhone(code)).rejects.toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
  });

  it('only the admin reads the outbox', async () => {
    const pat = await server.user('pat');
    await expect(pat.outbox()).rejects.toMatchObject({ code: 'ADMIN_ONLY', status: 403 });
  });

  it('binds an e-mail address the same way: outbox code, wrong code, lockout, verification', async () => {
    const quinn = await server.user('quinn');
    const bound = await quinn.bindEmail('Quinn@Example.org');
    expect(bound.email).toBe('quinn@example.org');
    expect(await quinn.me()).toMatchObject({ email: 'quinn@example.org', emailVerified: false });
    const code = await codeSentTo(admin, 'email', 'quinn@example.org');
    await expect(quinn.verifyEmail(wrongCode(code))).rejects.toMatchObject({ code: 'VERIFICATION_FAILED' });
    await expect(quinn.verifyEmail(code)).resolves.toMatchObject({ email: 'quinn@example.org', emailVerified: true });

    const rosa = await server.user('rosa');
    await rosa.bindEmail('rosa@example.org');
    const rosaCode = await codeSentTo(admin, 'email', 'rosa@example.org');
    for (let i = 0; i < 5; i++) await expect(rosa.verifyEmail(wrongCode(rosaCode))).rejects.toMatchObject({ code: 'VERIFICATION_FAILED' });
    await expect(rosa.verifyEmail(rosaCode)).rejects.toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
    expect((await rosa.me()).emailVerified).toBe(false);
  });

  it('a phone code does not verify the e-mail and vice versa', async () => {
    const sam = await server.user('sam');
    await sam.bindPhone('+447911123456');
    const code = await codeSentTo(admin, 'sms', '+447911123456');
    await expect(sam.verifyEmail(code)).rejects.toMatchObject({ code: 'NO_PENDING_VERIFICATION' });
    await expect(sam.verifyPhone(code)).resolves.toMatchObject({ phoneVerified: true, emailVerified: false });
  });

  it('privacy settings and display name round-trip', async () => {
    const tina = await server.user('tina');
    const updated = await tina.updateMe({ displayName: 'Tina T.', privacy: { readReceipts: 'private', lastSeen: 'hidden' } });
    expect(updated).toMatchObject({ displayName: 'Tina T.', privacy: { readReceipts: 'private', lastSeen: 'hidden' } });
    expect(await tina.me()).toMatchObject({ displayName: 'Tina T.', privacy: { readReceipts: 'private', lastSeen: 'hidden' } });
    // A partial update leaves the other setting alone.
    await tina.updateMe({ privacy: { lastSeen: 'visible' } });
    expect((await tina.me()).privacy).toEqual({ readReceipts: 'private', lastSeen: 'visible' });
    expect(await tina.account('tina')).toEqual({ id: tina.accountId, handle: 'tina', displayName: 'Tina T.', kind: 'person' });
  });
});
