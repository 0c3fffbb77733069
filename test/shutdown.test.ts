import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeClient } from '../sdk/node.js';
import { startChildServer, type ChildServer } from './support/child.js';
import { freshStorage } from './support/server.js';

describe('SIGTERM', () => {
  let child: ChildServer;
  let drop: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const storage = await freshStorage();
    drop = storage.drop;
    child = await startChildServer({ DATA_DIR: storage.overrides.dataDir!, DATABASE_URL: storage.overrides.databaseUrl ?? '' }, 60_000);
  }, 90_000);
  afterAll(async () => {
    if (child.proc.exitCode === null && child.proc.signalCode === null) await child.crash();
    await drop();
  });

  it('lets a write that is already running finish before the node stops, then exits cleanly', async () => {
    const alice = createNodeClient({ baseUrl: child.url });
    await alice.register({ handle: 'alice', displayName: 'Alice', password: 'password-alice' });
    const { token } = await alice.login('alice', 'password-alice', 'alice-main');
    await createNodeClient({ baseUrl: child.url }).register({ handle: 'bob', displayName: 'Bob', password: 'password-bob' });
    const conversation = await alice.openDirect('bob');

    // A send whose body is still on its way when the node is told to stop (a slow mobile link).
    const body = JSON.stringify({ text: 'sent while the node stops', clientId: 'drain-1' });
    const { hostname, port } = new URL(child.url);
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { hostname, port, method: 'POST', path: `/v1/conversations/${conversation.id}/messages`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child.proc.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 500);
      }, 300);
    });
    const { status, body: answer } = await response;
    expect(status, answer).toBe(201);
    expect((JSON.parse(answer) as { message: { text: string } }).message.text).toBe('sent while the node stops');
    expect(await child.exited).toBe(0);
  });
});
