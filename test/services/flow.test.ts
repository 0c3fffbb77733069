import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyError, requestService, ServiceWorker, verifyWebhook, type LeasedTask } from '../../sdk/node.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { collect, createService, openStream, until, webhookReceiver, type User, d } from './helpers.js';

describe('service accounts: request → acknowledgement → replies', () => {
  let server: TestServer;
  let admin: User;
  let n = 0;

  beforeAll(async () => {
    server = await startTestServer({ serviceRetryBaseMs: 50, serviceMaxAttempts: 3 });
    admin = await server.user('admin');
  });
  afterAll(async () => server?.close());

  it('the built-in echo service acknowledges a message, then answers it in the chat', async () => {
    const user = await server.user(`user${++n}`);
    const echo = await user.service('echo');
    expect(echo.menu.length).toBeGreaterThan(0);
    const conversation = await user.openDirect('echo');
    const stream = await openStream(user);
    const ack = await requestService(user, stream, { conversationId: conversation.id, text: 'hello' }, { ackTimeoutMs: echo.ackDeadlineMs });
    expect(Date.parse(ack.ackedAt) - Date.parse(ack.receivedAt)).toBeLessThan(echo.ackDeadlineMs);
    const reply = await stream.waitFor((e) => e.type === 'message.new' && d(e).message.senderId === echo.id);
    expect(reply.type === 'message.new' && d(reply).message).toMatchObject({ text: 'echo: hello', content: { type: 'text', text: 'echo: hello', requestId: ack.requestId } });
    await stream.waitFor((e) => e.type === 'task.done' && d(e).requestId === ack.requestId);
    const task = await user.task(ack.requestId);
    expect(task).toMatchObject({ status: 'done', kind: 'message', accountId: user.accountId, text: 'hello' });
    stream.close();
  });

  it('a menu click gets a card from echo; the same click retried is processed once', async () => {
    const user = await server.user(`user${++n}`);
    const stream = await openStream(user);
    const events = collect(stream);
    const ack = await requestService(user, stream, { service: 'echo', menuKey: 'echo.card' }, { clientId: 'click-1' });
    const again = await user.clickMenu('echo', 'echo.card', 'click-1');
    expect(again.id).toBe(ack.requestId);
    await stream.waitFor((e) => e.type === 'task.done' && d(e).requestId === ack.requestId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cards = events.filter((e) => e.type === 'message.new' && d(e).message.content?.type === 'card');
    expect(cards).toHaveLength(1);
    expect(events.filter((e) => e.type === 'task.ack')).toHaveLength(1);
    stream.close();
  });

  it('workers pull, report progress and reply several times with their reply token', async () => {
    const { service, client: worker } = await createService(server, admin, { handle: `svc${++n}`, displayName: 'Workers', handler: { type: 'workers' } });
    const user = await server.user(`user${++n}`);
    const conversation = await user.openDirect(service.id);
    const stream = await openStream(user);
    const ack = await requestService(user, stream, { conversationId: conversation.id, text: 'weather?' });
    const [task] = await worker.pullTasks({ max: 5 });
    expect(task).toMatchObject({ id: ack.requestId, text: 'weather?', kind: 'message', user: { accountId: user.accountId, handle: user.handle } });
    expect(task!.user.deviceId).toBe(user.deviceId);
    expect(task!.user.ip).toMatch(/127\.0\.0\.1/);
    await worker.taskProgress(task!.id, task!.replyToken, { text: 'looking', percent: 50 });
    await stream.waitFor((e) => e.type === 'task.progress' && d(e).percent === 50);
    await worker.replyTask(task!.id, task!.replyToken, { type: 'image', url: 'https://example.com/sun.png', caption: 'sunny' });
    await worker.replyTask(task!.id, task!.replyToken, { type: 'card', title: 'Forecast', description: '25°C', imageUrl: 'https://example.com/c.png', url: 'https://example.com/f' }, true);
    await stream.waitFor((e) => e.type === 'task.done' && d(e).requestId === task!.id);
    const history = await user.history(conversation.id);
    expect(history.messages.map((m) => m.content?.type)).toEqual([undefined, 'image', 'card']);
    await expect(worker.replyTask(task!.id, task!.replyToken, { type: 'text', text: 'late' })).rejects.toMatchObject({ code: 'TASK_CLOSED' });
    stream.close();
  });

  it('workers over the WebSocket: several share the load, each request leased to one', async () => {
    const { service, client } = await createService(server, admin, { handle: `svc${++n}`, displayName: 'Socket', handler: { type: 'workers' }, ratePerMinute: 100 });
    const sockets = await Promise.all([openStream(client), openStream(client)]);
    const seen = new Map<string, number>();
    const handled = [0, 0];
    const workers = sockets.map(
      (socket, i) =>
        new ServiceWorker(socket, {
          concurrency: 3,
          waitMs: 1000,
          handle: async (task, context) => {
            seen.set(task.id, (seen.get(task.id) ?? 0) + 1);
            handled[i]!++;
            await context.progress({ percent: 50 });
            await new Promise((resolve) => setTimeout(resolve, 100));
            return [{ type: 'text', text: `ws ${task.text}` }];
          },
        }),
    );
    for (const w of workers) w.start();
    const user = await server.user(`user${++n}`);
    const conversation = await user.openDirect(service.id);
    const stream = await openStream(user);
    const acks = await Promise.all(Array.from({ length: 12 }, (_, i) => requestService(user, stream, { conversationId: conversation.id, text: `w${i}` })));
    for (const ack of acks) await stream.waitFor((e) => e.type === 'task.done' && d(e).requestId === ack.requestId, 10_000);
    await Promise.all(workers.map((w) => w.stop()));
    expect(seen.size).toBe(12);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    expect(handled[0]! > 0 && handled[1]! > 0).toBe(true);
    const replies = (await user.history(conversation.id)).messages.filter((m) => m.senderId === service.id);
    expect(replies.map((m) => m.text).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `ws w${i}`).sort());
    for (const s of [...sockets, stream]) s.close();
  });

  it('a worker that stops answering loses the request when the lease runs out; another completes it and the first token is void', async () => {
    const { service, client } = await createService(server, admin, { handle: `svc${++n}`, displayName: 'Lease', handler: { type: 'workers' }, lease: 2000 });
    const user = await server.user(`user${++n}`);
    const conversation = await user.openDirect(service.id);
    const stream = await openStream(user);
    const ack = await requestService(user, stream, { conversationId: conversation.id, text: 'job' });
    const [dying] = await client.pullTasks();
    expect(dying!.id).toBe(ack.requestId);
    // The first worker never answers. The second one waits for the request to come back.
    const handled: LeasedTask[] = [];
    const second = new ServiceWorker(client, { concurrency: 2, waitMs: 2000, handle: async (task) => (handled.push(task), [{ type: 'text', text: `done ${task.attempt}` }]) });
    second.start();
    await stream.waitFor((e) => e.type === 'task.done' && d(e).requestId === ack.requestId, 10_000);
    await second.stop();
    expect(handled.map((t) => [t.id, t.attempt])).toEqual([[ack.requestId, 2]]);
    await expect(client.replyTask(dying!.id, dying!.replyToken, { type: 'text', text: 'zombie' })).rejects.toMatchObject({ code: 'REPLY_TOKEN_INVALID' });
    const texts = (await user.history(conversation.id)).messages.map((m) => m.text);
    expect(texts).toEqual(['job', 'done 2']);
    stream.close();
  });

  it('webhook: each call is signed (HMAC-SHA256 over timestamp.body) and its inline replies are delivered', async () => {
    let secret = '';
    const receiver = await webhookReceiver((body) => {
      const { task } = JSON.parse(body) as { task: LeasedTask };
      return { status: 200, body: JSON.stringify({ replies: [{ type: 'text', text: `hooked ${task.text}` }] }) };
    });
    const created = await createService(server, admin, { handle: `svc${++n}`, displayName: 'Hook', handler: { type: 'webhook', url: receiver.url } });
    secret = created.webhookSecret!;
    expect(secret).toMatch(/^whsec_/);
    const user = await server.user(`user${++n}`);
    const conversation = await user.openDirect(created.service.id);
    const stream = await openStream(user);
    const ack = await requestService(user, stream, { conversationId: conversation.id, text: 'ping' });
    await stream.waitFor((e) => e.type === 'task.done' && d(e).requestId === ack.requestId);
    expect(receiver.calls).toHaveLength(1);
    const call = receiver.calls[0]!;
    expect(verifyWebhook(secret, call.headers['parley-signature'] as string, call.body, Date.now())).toMatchObject({ ok: true });
    expect(verifyWebhook('wrong-secret-wrong-secret', call.headers['parley-signature'] as string, call.body, Date.now())).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyWebhook(secret, call.headers['parley-signature'] as string, call.body.replace('ping', 'pong'), Date.now())).toEqual({ ok: false, reason: 'mismatch' });
    // A replayed call is refused by its age.
    expect(verifyWebhook(secret, call.headers['parley-signature'] as string, call.body, Date.now() + 10 * 60_000)).toEqual({ ok: false, reason: 'stale' });
    expect((await user.history(conversation.id)).messages.map((m) => m.text)).toEqual(['ping', 'hooked ping']);
    stream.close();
    await receiver.close();
  });

  it('webhook: an empty 2xx accepts the request; the receiver answers later through the reply URL', async () => {
    const receiver = await webhookReceiver(() => ({ status: 202 }));
    const created = await createService(server, admin, { handle: `svc${++n}`, displayName: 'Later', handler: { type: 'webhook', url: receiver.url, secret: 'a-shared-secret-of-enough-length' } });
    expect(created.webhookSecret).toBeUndefined();
    const user = await server.user(`user${++n}`);
    const conversation = await user.openDirect(created.service.id);
    const stream = await openStream(user);
    const ack = await requestService(user, stream, { conversationId: conversation.id, text: 'slow one' });
    await until(() => receiver.calls.length === 1);
    const { task } = JSON.parse(receiver.calls[0]!.body) as { task: LeasedTask };
    await until(async () => (await user.task(ack.requestId)).status === 'waiting');
    // Only the token: the receiver has no other credential.
    const res = await fetch(task.replyUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: task.replyToken, content: { type: 'audio', url: 'https://example.com/a.mp3' }, done: true }) });
    expect(res.status).toBe(201);
    await stream.waitFor((e) => e.type === 'task.done' && d(e).requestId === ack.requestId);
    stream.close();
    await receiver.close();
  });

  it('a failing webhook is retried with backoff, then dead-lettered; an admin retry delivers it', async () => {
    let healthy = false;
    const receiver = await webhookReceiver(() => (healthy ? { status: 200, body: '{"replies":[{"type":"text","text":"finally"}]}' } : { status: 500 }));
    const created = await createService(server, admin, { handle: `svc${++n}`, displayName: 'Flaky', handler: { type: 'webhook', url: receiver.url } });
    const user = await server.user(`user${++n}`);
    const conversation = await user.openDirect(created.service.id);
    const stream = await openStream(user);
    const ack = await requestService(user, stream, { conversationId: conversation.id, text: 'try' });
    const failed = await stream.waitFor((e) => e.type === 'task.failed' && d(e).requestId === ack.requestId, 10_000);
    expect(failed.type === 'task.failed' && d(failed).reason).toBe('handler_failed');
    expect(receiver.calls).toHaveLength(3);
    const dead = await admin.deadLetters(created.service.handle);
    expect(dead.map((t) => t.id)).toEqual([ack.requestId]);
    expect(dead[0]!.failure).toContain('HTTP 500');
    await expect(user.deadLetters(created.service.handle)).rejects.toMatchObject({ code: 'ADMIN_ONLY' });
    await expect(user.retryTask(ack.requestId)).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    healthy = true;
    expect((await admin.retryTask(ack.requestId)).status).toBe('queued');
    await stream.waitFor((e) => e.type === 'task.done' && d(e).requestId === ack.requestId, 10_000);
    await expect(admin.retryTask(ack.requestId)).rejects.toMatchObject({ code: 'TASK_NOT_DEAD' });
    expect(await admin.deadLetters(created.service.handle)).toEqual([]);
    const stats = await admin.serviceStats(created.service.handle);
    expect(stats).toMatchObject({ done: 1, dead: 0 });
    stream.close();
    await receiver.close();
  });

  it('metrics: acknowledgement latency, processing time, failures and queue depth per service', async () => {
    const res = await fetch(`${server.url}/metrics`);
    const text = await res.text();
    expect(text).toContain('parley_service_ack_latency_seconds_bucket{le="0.005",service="echo"}');
    expect(text).toContain('parley_service_processing_seconds_count{service="echo"}');
    expect(text).toMatch(/parley_service_failures_total\{service="svc\d+",reason="dead_lettered"\} 1/);
    expect(text).toContain('parley_service_queue_depth');
  });

  it('ParleyError codes from requestService name what went wrong', async () => {
    expect(new ParleyError('ACK_TIMEOUT', 'x', 0).code).toBe('ACK_TIMEOUT');
  });
});
