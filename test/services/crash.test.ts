import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeClient, requestService, ServiceWorker, type ParleyClient, type StreamEvent } from '../../sdk/node.js';
import { startChildServer } from '../support/child.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { childStorage, createService, d, openStream, until } from './helpers.js';

async function allEvents(client: ParleyClient): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for (;;) {
    const { events } = await client.events({ after: out.at(-1)?.seq ?? 0, limit: 500 });
    if (events.length === 0) return out;
    out.push(...events);
  }
}

describe('a worker process killed with kill -9 mid-request', () => {
  let server: TestServer;
  afterAll(async () => server?.close());

  it('loses the request when its lease ends; another worker completes it', async () => {
    server = await startTestServer();
    const admin = await server.user('admin');
    const { service, client, token } = await createService(server, admin, { handle: 'jobs', displayName: 'Jobs', handler: { type: 'workers' }, lease: 'PT2S' });
    const user = await server.user('requester');
    const conversation = await user.openDirect(service.id);
    const stream = await openStream(user);
    const ack = await requestService(user, stream, { conversationId: conversation.id, text: 'long job' });
    const worker = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./worker-process.ts', import.meta.url)), server.url, token], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    const taken = await new Promise<string[]>((resolve) => worker.stdout!.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as string[])));
    expect(taken).toEqual([ack.requestId]);
    worker.kill('SIGKILL');
    await exited;
    const survivor = new ServiceWorker(client, { waitMs: 1000, handle: async (task) => [{ type: 'text', text: `finished on attempt ${task.attempt}` }] });
    survivor.start();
    await stream.waitFor((e) => e.type === 'task.done' && d(e).requestId === ack.requestId, 15_000);
    await survivor.stop();
    expect((await user.history(conversation.id)).messages.map((m) => m.text)).toEqual(['long job', 'finished on attempt 2']);
    stream.close();
  }, 60_000);
});

describe('service requests survive kill -9', () => {
  let cleanup = async () => {};
  afterAll(() => cleanup());

  it('queued and leased requests are processed after a restart: none lost, none twice', async () => {
    const storage = await childStorage();
    // The same node id after the restart: it takes back its timer claims at once.
    const env = { ...storage.env, PARLEY_NODE_ID: 'service-crash' };

    let child = await startChildServer(env);
    cleanup = async () => {
      if (child.proc.exitCode === null && child.proc.signalCode === null) await child.crash();
      await storage.drop();
    };
    const admin = createNodeClient({ baseUrl: child.url });
    await admin.register({ handle: 'admin', displayName: 'Admin', password: 'password-admin' });
    await admin.login('admin', 'password-admin');
    // A lease long enough that a loaded machine does not take a request back from the live worker
    // (which would process it twice, though answer it once).
    const { token } = await admin.createService({ handle: 'jobs', displayName: 'Jobs', handler: { type: 'workers' }, lease: 'PT5S', ratePerMinute: 1000 });
    const user = createNodeClient({ baseUrl: child.url });
    await user.register({ handle: 'user', displayName: 'User', password: 'password-user' });
    const { account: me } = await user.login('user', 'password-user');
    const jobs = await user.openDirect('jobs');
    const echo = await user.openDirect('echo');

    // Requests to both services, answered by the server (so stored and acknowledged); the kill
    // comes while more are being sent.
    let killed = false;
    const answered: string[] = [];
    const send = async (conversationId: string, text: string) => {
      try {
        const message = await user.send(conversationId, { text, clientId: text });
        answered.push(message.id);
        if (answered.length === 50 && !killed) {
          killed = true;
          child.proc.kill('SIGKILL');
        }
      } catch (err) {
        if (!killed) throw err;
      }
    };
    // A worker leases a few and dies with the server, before answering.
    const early = await Promise.all(Array.from({ length: 5 }, (_, i) => send(jobs.id, `job-early-${i}`)));
    expect(early).toHaveLength(5);
    const dyingWorker = createNodeClient({ baseUrl: child.url, token });
    expect(await dyingWorker.pullTasks({ max: 5 })).toHaveLength(5);
    await Promise.all(Array.from({ length: 80 }, (_, i) => send(i % 2 ? jobs.id : echo.id, `req-${i}`)));
    await child.exited;
    expect(answered.length).toBeGreaterThanOrEqual(50);

    child = await startChildServer(env);
    for (const c of [admin, user]) (c as { baseUrl: string }).baseUrl = child.url;
    const processed = new Map<string, number>();
    const worker = new ServiceWorker(createNodeClient({ baseUrl: child.url, token }), {
      concurrency: 20,
      waitMs: 500,
      handle: async (task) => {
        processed.set(task.id, (processed.get(task.id) ?? 0) + 1);
        return [{ type: 'text', text: `done ${task.text}` }];
      },
    });
    worker.start();

    // Every stored request message got its first reply with it: an acknowledgement, or (on a machine
    // too loaded to make the set time) task.failed. Each acknowledged one gets exactly one answer.
    const stored = [...(await user.history(jobs.id, { limit: 200 })).messages, ...(await user.history(echo.id, { limit: 200 })).messages].filter((m) => m.senderId === me.id);
    for (const id of answered) expect(stored.some((m) => m.id === id)).toBe(true);
    let events: StreamEvent[] = [];
    await until(
      async () => {
        events = await allEvents(user);
        return events.filter((e) => e.type === 'task.done' || e.type === 'task.failed').length >= stored.length;
      },
      30_000,
      'every stored request to finish',
    );
    await worker.stop();
    const acks = events.filter((e): e is StreamEvent<'task.ack'> => e.type === 'task.ack');
    const failed = events.filter((e) => e.type === 'task.failed');
    expect([...acks, ...failed].map((e) => d(e).messageId).sort()).toEqual(stored.map((m) => m.id).sort());
    expect(failed.every((e) => d(e).reason === 'ack_timeout')).toBe(true);
    const replies = events.filter((e): e is StreamEvent<'message.new'> => e.type === 'message.new' && d(e).message.content !== undefined);
    const perRequest = new Map<string, number>();
    for (const r of replies) perRequest.set(d(r).message.content!.requestId, (perRequest.get(d(r).message.content!.requestId) ?? 0) + 1);
    expect([...perRequest.keys()].sort()).toEqual(acks.map((e) => d(e).requestId).sort());
    expect([...perRequest.values()].every((n) => n === 1)).toBe(true);
    expect(events.filter((e) => e.type === 'task.done')).toHaveLength(acks.length);
    expect([...processed.values()].every((n) => n === 1)).toBe(true);
    const stats = await admin.serviceStats('jobs');
    expect(stats).toMatchObject({ queued: 0, leased: 0, dead: 0 });
    expect(stats.done + stats.failed).toBe(stored.filter((m) => m.conversationId === jobs.id).length);
  }, 90_000);
});
