import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestService, type ParleyError } from '../../sdk/node.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { collect, createService, d, openStream, stallWrites, type User } from './helpers.js';

describe('service requests that cannot be served in time', () => {
  let server: TestServer;
  let admin: User;
  let n = 0;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.user('admin');
  });
  afterAll(async () => server?.close());

  it('a stalled server: the client shows the failure when its timer runs out, and the server marks the request failed', async () => {
    const { service, client: worker } = await createService(server, admin, { handle: `svc${++n}`, displayName: 'Stalled', handler: { type: 'workers' }, ackDeadline: 'PT1S' });
    const user = await server.user(`user${++n}`);
    const conversation = await user.openDirect(service.id);
    const stream = await openStream(user);
    const { released } = await stallWrites(server, 2000);
    const started = Date.now();
    const failure = await requestService(user, stream, { conversationId: conversation.id, text: 'anyone?' }, { ackTimeoutMs: service.ackDeadlineMs }).catch((err: ParleyError) => err);
    expect((failure as ParleyError).code).toBe('ACK_TIMEOUT');
    // The client gave up on its own timer, while the server was still stalled.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(1900);
    await released;
    const failed = await stream.waitFor((e) => e.type === 'task.failed');
    expect(d(failed)).toMatchObject({ reason: 'ack_timeout', message: 'Request failed, try again.' });
    const task = await user.task(d(failed).requestId);
    expect(task).toMatchObject({ status: 'failed', failure: 'ack_timeout', ackedAt: null });
    // Nothing reaches a worker.
    expect(await worker.pullTasks()).toEqual([]);
    expect(await admin.serviceStats(service.id)).toMatchObject({ queued: 0, failed: 1 });
    stream.close();
  });

  it('overload: beyond the bounded queue a request fails at once instead of late', async () => {
    const { service } = await createService(server, admin, { handle: `svc${++n}`, displayName: 'Small', handler: { type: 'workers' }, maxQueue: 2 });
    const user = await server.user(`user${++n}`);
    const conversation = await user.openDirect(service.id);
    const stream = await openStream(user);
    await requestService(user, stream, { conversationId: conversation.id, text: 'one' });
    await requestService(user, stream, { conversationId: conversation.id, text: 'two' });
    const started = Date.now();
    await expect(requestService(user, stream, { conversationId: conversation.id, text: 'three' })).rejects.toMatchObject({ code: 'TASK_FAILED', details: { reason: 'overloaded' } });
    expect(Date.now() - started).toBeLessThan(1000);
    const stats = await admin.serviceStats(service.id);
    expect(stats).toMatchObject({ queued: 2, failed: 1 });
    stream.close();
  });

  it('overload across services: beyond the global bound every service refuses at once', async () => {
    const small = await startTestServer({ serviceMaxQueueTotal: 3, echoService: false });
    try {
      const owner = await small.user('owner');
      const a = await createService(small, owner, { handle: 'svca', displayName: 'A', handler: { type: 'workers' } });
      const b = await createService(small, owner, { handle: 'svcb', displayName: 'B', handler: { type: 'workers' } });
      const asker = await small.user('asker');
      const stream = await openStream(asker);
      const [ca, cb] = await Promise.all([asker.openDirect(a.service.id), asker.openDirect(b.service.id)]);
      await requestService(asker, stream, { conversationId: ca.id, text: '1' });
      await requestService(asker, stream, { conversationId: cb.id, text: '2' });
      await requestService(asker, stream, { conversationId: ca.id, text: '3' });
      await expect(requestService(asker, stream, { conversationId: cb.id, text: '4' })).rejects.toMatchObject({ code: 'TASK_FAILED', details: { reason: 'overloaded' } });
      stream.close();
    } finally {
      await small.close();
    }
  });

  it('per-user rate limit: requests over the limit fail with rate_limited; other users are unaffected', async () => {
    const { service } = await createService(server, admin, { handle: `svc${++n}`, displayName: 'Limited', handler: { type: 'workers' }, ratePerMinute: 2 });
    const user = await server.user(`user${++n}`);
    const other = await server.user(`user${++n}`);
    const conversation = await user.openDirect(service.id);
    const stream = await openStream(user);
    const events = collect(stream);
    await requestService(user, stream, { conversationId: conversation.id, text: 'a' });
    await requestService(user, stream, { service: service.handle, menuKey: 'none' }).catch(() => undefined);
    await requestService(user, stream, { conversationId: conversation.id, text: 'b' });
    await expect(requestService(user, stream, { conversationId: conversation.id, text: 'c' })).rejects.toMatchObject({ code: 'TASK_FAILED', details: { reason: 'rate_limited' } });
    expect(events.filter((e) => e.type === 'task.failed')).toHaveLength(1);
    const otherStream = await openStream(other);
    const otherConversation = await other.openDirect(service.id);
    await requestService(other, otherStream, { conversationId: otherConversation.id, text: 'fine' });
    stream.close();
    otherStream.close();
  });
});
