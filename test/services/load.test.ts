import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestService, ServiceWorker, type LeasedTask, type StreamEvent } from '../../sdk/node.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { collect, createService, openStream, rows, until, type User, d } from './helpers.js';

const REQUESTS = 1000;
const USERS = 10;
const WORK_MS = 2000;

describe('service accounts under load', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it(`acknowledges ${REQUESTS} requests sent at once within the set time while workers take ${WORK_MS / 1000} s each; every answer arrives, none is processed twice`, async () => {
    const admin = await server.user('admin');
    const { service, client } = await createService(server, admin, { handle: 'slowsvc', displayName: 'Slow', handler: { type: 'workers' }, ratePerMinute: REQUESTS });
    const users: User[] = [];
    for (let i = 0; i < USERS; i++) users.push(await server.user(`loaduser${i}`));
    const conversations = await Promise.all(users.map((u) => u.openDirect(service.id)));
    const streams = await Promise.all(users.map(openStream));
    const events = streams.map(collect);

    const processed = new Map<string, number>();
    // Four workers, each with many requests in flight: a request takes 2 s of (simulated) work.
    const workers = Array.from({ length: 4 }, () =>
      new ServiceWorker(client, {
        concurrency: 150,
        waitMs: 1000,
        handle: async (task: LeasedTask) => {
          processed.set(task.id, (processed.get(task.id) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, WORK_MS));
          return [{ type: 'text', text: `answer to ${task.text}` }];
        },
      }),
    );
    for (const w of workers) w.start();

    const started = Date.now();
    const acks = await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) => {
        const u = i % USERS;
        const sentAt = Date.now();
        return requestService(users[u]!, streams[u]!, { conversationId: conversations[u]!.id, text: `q${i}` }, { ackTimeoutMs: service.ackDeadlineMs }).then((ack) => ({ ack, clientMs: Date.now() - sentAt }));
      }),
    );
    const ackedIn = Date.now() - started;
    expect(acks).toHaveLength(REQUESTS);
    for (const { ack, clientMs } of acks) {
      expect(clientMs).toBeLessThan(service.ackDeadlineMs);
      expect(Date.parse(ack.ackedAt) - Date.parse(ack.receivedAt)).toBeLessThan(service.ackDeadlineMs);
    }

    const done = () => events.reduce((n, list) => n + list.filter((e) => e.type === 'task.done').length, 0);
    await until(() => done() >= REQUESTS, 90_000, 'every request to finish');
    const tookMs = Date.now() - started;
    await Promise.all(workers.map((w) => w.stop()));

    const replies = events.flatMap((list) => list.filter((e): e is StreamEvent<'message.new'> => e.type === 'message.new' && d(e).message.senderId === service.id));
    expect(replies).toHaveLength(REQUESTS);
    expect(new Set(replies.map((e) => d(e).message.content!.requestId)).size).toBe(REQUESTS);
    expect([...processed.values()].every((count) => count === 1)).toBe(true);
    expect(processed.size).toBe(REQUESTS);
    const stored = await rows(server);
    expect(stored.filter((r) => r.status === 'done')).toHaveLength(REQUESTS);
    console.log(`${REQUESTS} requests: all acknowledged after ${ackedIn} ms (max client-side ack ${Math.max(...acks.map((a) => a.clientMs))} ms), all answered after ${tookMs} ms`);
    for (const s of streams) s.close();
  }, 120_000);
});
