import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeClient, requestService, type ParleyClient, type ParleyError } from '../../sdk/node.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createService, openStream, until, type User } from './helpers.js';

/** Editing a service and rotating its token: who may, what changes, what stops working. */
describe('service accounts: edit and token rotation', () => {
  let server: TestServer;
  let admin: User;
  let user: User;
  let n = 0;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.user('admin');
    user = await server.user('someuser');
  });
  afterAll(async () => server?.close());

  const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (err: ParleyError) => err.code);
  const newService = () => createService(server, admin, { handle: `svc${++n}`, displayName: 'Before', handler: { type: 'workers' }, menu: [{ key: 'a', label: 'A' }] });

  it('an administrator edits the profile, menu and set time; only the fields given change, and users see the new menu and set time', async () => {
    const svc = await newService();
    const { service } = await admin.updateService(svc.service.handle, { displayName: 'After', menu: [{ label: 'More', items: [{ key: 'b', label: 'B' }] }], ackDeadline: 'PT2S' });
    expect(service).toMatchObject({ displayName: 'After', description: '', ackDeadlineMs: 2000, handler: { type: 'workers' }, leaseMs: svc.service.leaseMs, menu: [{ label: 'More', items: [{ key: 'b', label: 'B' }] }] });
    expect(await user.service(svc.service.id)).toMatchObject({ displayName: 'After', ackDeadlineMs: 2000, menu: [{ label: 'More' }] });
    expect(await codeOf(user.clickMenu(svc.service.id, 'a'))).toBe('UNKNOWN_MENU_KEY');
    expect(await codeOf(user.clickMenu(svc.service.id, 'b'))).toBe('ok');
  });

  it('who may edit or rotate: administrators only; a user and the service itself are refused, an unknown service is not found', async () => {
    const svc = await newService();
    // The administrator last: its rotation ends the service's own token.
    const matrix: [string, ParleyClient, string][] = [
      ['user', user, 'ADMIN_ONLY'],
      ['the service', svc.client, 'ADMIN_ONLY'],
      ['admin', admin, 'ok'],
    ];
    for (const [who, client, expected] of matrix) {
      expect([who, 'edit', await codeOf(client.updateService(svc.service.id, { description: `by ${who}` }))]).toEqual([who, 'edit', expected]);
      expect([who, 'rotate', await codeOf(client.rotateServiceToken(svc.service.id))]).toEqual([who, 'rotate', expected]);
    }
    expect((await admin.service(svc.service.id)).description).toBe('by admin');
    expect(await codeOf(admin.updateService('nosuchservice', { description: 'x' }))).toBe('SERVICE_NOT_FOUND');
    expect(await codeOf(admin.rotateServiceToken('nosuchservice'))).toBe('SERVICE_NOT_FOUND');
  });

  it('bad edits are refused with a clear code and change nothing', async () => {
    const svc = await newService();
    const before = await admin.service(svc.service.id);
    const cases: [unknown, string][] = [
      [{}, 'VALIDATION_FAILED'],
      [{ colour: 'red' }, 'VALIDATION_FAILED'],
      [{ handle: 'renamed' }, 'VALIDATION_FAILED'],
      [{ displayName: 'X', menu: [{ key: 'a', label: 'A' }, { key: 'a', label: 'again' }] }, 'INVALID_MENU'],
      [{ displayName: 'X', handler: { type: 'plugin', name: 'nope' } }, 'UNKNOWN_PLUGIN'],
      [{ displayName: 'X', ackDeadline: 'PT2M' }, 'DURATION_TOO_LONG'],
      [{ displayName: 'X', lease: 10 }, 'INVALID_DURATION'],
      [{ displayName: 'X', handler: { type: 'webhook', url: 'ftp://example.com' } }, 'VALIDATION_FAILED'],
    ];
    for (const [body, code] of cases) expect([body, await codeOf(admin.request('PATCH', `/v1/services/${svc.service.id}`, body))]).toEqual([body, code]);
    expect(await admin.service(svc.service.id)).toEqual(before);
  });

  it('rotating the token: the old token is refused and its worker socket closed; the new one pulls', async () => {
    const svc = await newService();
    const worker = await openStream(svc.client, { autoAck: false });
    const states: string[] = [];
    worker.on('state', (s) => void states.push(s));
    const { token } = await admin.rotateServiceToken(svc.service.id);
    expect(token).toMatch(/^prl_/);
    expect(await codeOf(svc.client.pullTasks({ max: 1 }))).toBe('TOKEN_INVALID');
    await until(() => states.includes('unauthorized'), 5000, 'the old token\'s socket to close');
    worker.close();

    const stream = await openStream(user);
    const conversation = await user.openDirect(svc.service.id);
    await requestService(user, stream, { conversationId: conversation.id, text: 'still there?' });
    const fresh = createNodeClient({ baseUrl: server.url, token });
    const [task] = await fresh.pullTasks({ max: 1 });
    expect(task?.text).toBe('still there?');
    stream.close();
  });

  it('switching from workers to an in-process plugin hands it the requests already queued, and keeps a webhook\'s secret across edits', async () => {
    const svc = await newService();
    const stream = await openStream(user);
    const conversation = await user.openDirect(svc.service.id);
    await requestService(user, stream, { conversationId: conversation.id, text: 'queued before the switch' });
    await admin.updateService(svc.service.id, { handler: { type: 'plugin', name: 'echo' } });
    const answered = await stream.waitFor((e) => e.type === 'message.new' && (e.data as { message: { text: string } }).message.text === 'echo: queued before the switch', 5000);
    expect(answered).toBeTruthy();
    stream.close();

    const hooked = await admin.updateService(svc.service.id, { handler: { type: 'webhook', url: 'https://example.com/hook' } });
    expect(hooked.webhookSecret).toMatch(/^whsec_/);
    const moved = await admin.updateService(svc.service.id, { handler: { type: 'webhook', url: 'https://example.com/other' } });
    // Same secret: none generated, none shown.
    expect(moved.webhookSecret).toBeUndefined();
    expect(moved.service.handler).toEqual({ type: 'webhook', url: 'https://example.com/other' });
  });
});
