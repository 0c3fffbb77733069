import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeClient, requestService, type CreatedService, type LeasedTask, type ParleyClient } from '../../sdk/node.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createService, openStream, rows, type User } from './helpers.js';

describe('service accounts: bad input and authorization', () => {
  let server: TestServer;
  let admin: User;
  let user: User;
  let stranger: User;
  let svc: CreatedService & { client: ParleyClient };
  let other: CreatedService & { client: ParleyClient };
  let n = 0;

  beforeAll(async () => {
    server = await startTestServer({ serviceReplyTokenTtlMs: 1500, serviceReplyTokenUses: 2 });
    admin = await server.user('admin');
    user = await server.user('someuser');
    stranger = await server.user('stranger');
    svc = await createService(server, admin, {
      handle: 'shop',
      displayName: 'Shop',
      handler: { type: 'workers' },
      menu: [{ key: 'orders', label: 'Orders' }, { label: 'More', items: [{ key: 'help', label: 'Help' }] }],
      replyWindow: 1000,
    });
    other = await createService(server, admin, { handle: 'othersvc', displayName: 'Other', handler: { type: 'workers' } });
  });
  afterAll(async () => server?.close());

  /** A request from `user` to shop, leased by shop's worker. */
  async function leased(): Promise<LeasedTask> {
    const stream = await openStream(user);
    const conversation = await user.openDirect('shop');
    await requestService(user, stream, { conversationId: conversation.id, text: `req ${++n}` });
    stream.close();
    const [task] = await svc.client.pullTasks({ max: 1 });
    return task!;
  }

  const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (err: { code: string }) => err.code);

  it('creating a service: clear codes for bad menus, handlers, durations and sizes; nothing stored', async () => {
    const before = (await server.app.services.storage.db.selectFrom('accounts').select('id').execute()).length;
    const base = { displayName: 'X', handler: { type: 'workers' as const } };
    const cases: [unknown, string][] = [
      [{ ...base, handle: 'dupmenu', menu: [{ key: 'a', label: 'A' }, { label: 'G', items: [{ key: 'a', label: 'again' }] }] }, 'INVALID_MENU'],
      [{ ...base, handle: 'bigmenu', menu: [1, 2, 3, 4].map((i) => ({ key: `k${i}`, label: 'x' })) }, 'VALIDATION_FAILED'],
      [{ ...base, handle: 'deepmenu', menu: [{ label: 'G', items: [{ label: 'H', items: [{ key: 'a', label: 'a' }] }] }] }, 'VALIDATION_FAILED'],
      [{ ...base, handle: 'badkey', menu: [{ key: 'has space', label: 'x' }] }, 'VALIDATION_FAILED'],
      [{ ...base, handle: 'noplugin', handler: { type: 'plugin', name: 'nope' } }, 'UNKNOWN_PLUGIN'],
      [{ ...base, handle: 'ftphook', handler: { type: 'webhook', url: 'ftp://example.com' } }, 'VALIDATION_FAILED'],
      [{ ...base, handle: 'shortsecret', handler: { type: 'webhook', url: 'https://example.com/h', secret: 'short' } }, 'VALIDATION_FAILED'],
      [{ ...base, handle: 'slowack', ackDeadline: 'PT2M' }, 'DURATION_TOO_LONG'],
      [{ ...base, handle: 'fastack', ackDeadline: 10 }, 'INVALID_DURATION'],
      [{ ...base, handle: 'badack', ackDeadline: 'soon' }, 'INVALID_DURATION'],
      [{ ...base, handle: 'shop' }, 'HANDLE_TAKEN'],
      [{ ...base, handle: 'someuser' }, 'HANDLE_TAKEN'],
      [{ ...base, handle: 'extra', colour: 'red' }, 'VALIDATION_FAILED'],
      [{ ...base, handle: 'bigdesc', description: 'x'.repeat(70_000) }, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [body, code] of cases) expect([body, await codeOf(admin.request('POST', '/v1/services', body))]).toEqual([body, code]);
    expect((await server.app.services.storage.db.selectFrom('accounts').select('id').execute()).length).toBe(before);
  });

  it('an unknown menu key is refused with UNKNOWN_MENU_KEY and records nothing', async () => {
    const before = (await rows(server)).length;
    expect(await codeOf(user.clickMenu('shop', 'nope'))).toBe('UNKNOWN_MENU_KEY');
    expect(await codeOf(user.clickMenu('More', 'help'))).toBe('SERVICE_NOT_FOUND');
    expect(await codeOf(user.clickMenu('someuser', 'help'))).toBe('SERVICE_NOT_FOUND');
    expect(await codeOf(user.request('POST', '/v1/services/shop/clicks', { key: 'orders', extra: 1 }))).toBe('VALIDATION_FAILED');
    expect((await rows(server)).length).toBe(before);
    // The same client id for a different click is a conflict, not a second request.
    const task = await user.clickMenu('shop', 'help', 'cid-1');
    expect(task).toMatchObject({ kind: 'menu', menuKey: 'help', text: 'Help', status: 'queued' });
    expect(await codeOf(user.clickMenu('shop', 'orders', 'cid-1'))).toBe('CLIENT_ID_REUSED');
    await svc.client.pullTasks({ max: 10 }).then((tasks) => Promise.all(tasks.map((t) => svc.client.finishTask(t.id, t.replyToken))));
  });

  it('replies: a wrong, foreign, expired or used-up token and a closed window get clear codes and send nothing', async () => {
    const task = await leased();
    const history = async () => (await user.history(task.conversationId)).messages.length;
    const count = await history();
    const text = { type: 'text' as const, text: 'hi' };
    expect(await codeOf(svc.client.replyTask(task.id, 'rpl_wrong', text))).toBe('REPLY_TOKEN_INVALID');
    expect(await codeOf(svc.client.replyTask('01a20000-0000-7000-8000-000000000000', task.replyToken, text))).toBe('TASK_NOT_FOUND');
    expect(await codeOf(svc.client.replyTask(task.id, task.replyToken, { type: 'text', text: 'x'.repeat(8001) }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(svc.client.replyTask(task.id, task.replyToken, { type: 'image', url: 'javascript:alert(1)' } as never))).toBe('VALIDATION_FAILED');
    expect(await codeOf(svc.client.replyTask(task.id, task.replyToken, { type: 'sticker' } as never))).toBe('VALIDATION_FAILED');
    expect(await codeOf(svc.client.taskProgress(task.id, task.replyToken, { percent: 101 }))).toBe('VALIDATION_FAILED');
    expect(await history()).toBe(count);
    // Two uses per token here.
    await svc.client.replyTask(task.id, task.replyToken, text);
    await svc.client.replyTask(task.id, task.replyToken, text);
    expect(await codeOf(svc.client.replyTask(task.id, task.replyToken, text))).toBe('REPLY_TOKEN_EXPIRED');
    expect(await history()).toBe(count + 2);
    // The window (1 s after the user's last request) closes before the token (1.5 s) expires.
    const late = await leased();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const refused = await svc.client.replyTask(late.id, late.replyToken, text).catch((err: { code: string; details: unknown }) => err);
    expect(refused).toMatchObject({ code: 'REPLY_WINDOW_CLOSED', details: { windowMs: 1000 } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await codeOf(svc.client.replyTask(late.id, late.replyToken, text))).toBe('REPLY_TOKEN_EXPIRED');
    expect(await codeOf(svc.client.finishTask(late.id, late.replyToken))).toBe('REPLY_TOKEN_EXPIRED');
  });

  it('authorization matrix: who may create, see, pull, reply, inspect and retry', async () => {
    const anonymous = createNodeClient({ baseUrl: server.url });
    const body = { handle: `made${++n}`, displayName: 'M', handler: { type: 'workers' as const } };
    expect(await codeOf(anonymous.createService(body))).toBe('UNAUTHENTICATED');
    expect(await codeOf(user.createService(body))).toBe('ADMIN_ONLY');
    expect(await codeOf(svc.client.createService(body))).toBe('ADMIN_ONLY');
    expect(await codeOf(admin.createService(body))).toBe('ok');
    // A person may not register a service account through the open registration either.
    expect(await codeOf(anonymous.register({ handle: `reg${n}`, displayName: 'R', password: 'password-1234', kind: 'service' }))).toBe('ADMIN_ONLY');

    // Profile and menu are public to signed-in users; how it is handled only to admins and itself.
    expect(await user.service('shop')).not.toHaveProperty('handler');
    expect(await admin.service('shop')).toHaveProperty('handler', { type: 'workers' });
    expect(await svc.client.service('shop')).toHaveProperty('handler');
    expect(await codeOf(anonymous.services())).toBe('UNAUTHENTICATED');
    expect((await user.services()).map((s) => s.handle)).toEqual(expect.arrayContaining(['echo', 'shop', 'othersvc']));

    // Only a service pulls, and only its own requests.
    expect(await codeOf(user.pullTasks())).toBe('NOT_A_SERVICE');
    expect(await codeOf(admin.pullTasks())).toBe('NOT_A_SERVICE');
    const task = await leased();
    expect(await other.client.pullTasks({ max: 10 })).toEqual([]);
    // Another service's worker cannot use a token it does not have; a token is bound to its request.
    const otherTask = await (async () => {
      const stream = await openStream(user);
      const conversation = await user.openDirect('othersvc');
      await requestService(user, stream, { conversationId: conversation.id, text: 'for other' });
      stream.close();
      return (await other.client.pullTasks())[0]!;
    })();
    expect(await codeOf(svc.client.replyTask(task.id, otherTask.replyToken, { type: 'text', text: 'x' }))).toBe('REPLY_TOKEN_INVALID');

    // Inspecting: the requester, the service and admins see a request; nobody else.
    expect(await codeOf(user.task(task.id))).toBe('ok');
    expect(await codeOf(svc.client.task(task.id))).toBe('ok');
    expect(await codeOf(admin.task(task.id))).toBe('ok');
    expect(await codeOf(stranger.task(task.id))).toBe('TASK_NOT_FOUND');
    expect(await codeOf(other.client.task(task.id))).toBe('TASK_NOT_FOUND');
    // Operations: admins and the service itself.
    expect(await codeOf(admin.serviceStats('shop'))).toBe('ok');
    expect(await codeOf(svc.client.serviceStats('shop'))).toBe('ok');
    expect(await codeOf(other.client.serviceStats('shop'))).toBe('ADMIN_ONLY');
    expect(await codeOf(user.serviceStats('shop'))).toBe('ADMIN_ONLY');
    expect(await codeOf(user.deadLetters('shop'))).toBe('ADMIN_ONLY');
    expect(await codeOf(user.retryTask(task.id))).toBe('TASK_NOT_FOUND');
    expect(await codeOf(other.client.retryTask(task.id))).toBe('TASK_NOT_FOUND');
    expect(await codeOf(svc.client.retryTask(task.id))).toBe('TASK_NOT_DEAD');
    expect(await codeOf(admin.retryTask(task.id))).toBe('TASK_NOT_DEAD');
    // A service cannot log in with a password: its token is its only credential.
    expect(await codeOf(anonymous.login('shop', 'anything-at-all'))).toBe('INVALID_CREDENTIALS');
  });
});
