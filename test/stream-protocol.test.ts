import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ServerFrame } from '../src/protocol/frames.js';
import { startTestServer, type TestServer } from './support/server.js';
import { until } from './support/read.js';

function collect(ws: WebSocket): ServerFrame[] {
  const frames: ServerFrame[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as ServerFrame));
  return frames;
}

describe('stream protocol details', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  const wsUrl = () => `${server.url.replace(/^http/, 'ws')}/v1/stream`;

  it('frames sent right behind hello are answered after ready, not refused', async () => {
    const alice = await server.user('pipelined');
    const ws = new WebSocket(wsUrl());
    const frames = collect(ws);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'hello', token: alice.token }));
    ws.send(JSON.stringify({ type: 'ping' }));
    ws.send(JSON.stringify({ type: 'ack', seq: 0 }));
    await until(() => frames.some((f) => f.type === 'pong'));
    expect(frames[0]!.type).toBe('ready');
    expect(frames.filter((f) => f.type === 'error')).toEqual([]);
    ws.close();
  });

  it('a malformed frame is judged against the schema of the type it claims', async () => {
    const bob = await server.user('badack');
    const ws = new WebSocket(wsUrl());
    const frames = collect(ws);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'hello', token: bob.token }));
    await until(() => frames.some((f) => f.type === 'ready'));
    ws.send(JSON.stringify({ type: 'ack', seq: 'a' }));
    await until(() => frames.some((f) => f.type === 'error'));
    const error = frames.find((f) => f.type === 'error') as Extract<ServerFrame, { type: 'error' }>;
    expect(error.error.code).toBe('VALIDATION_FAILED');
    expect(error.error.message).toBe('ack frame must be integer');
    expect(error.error.details).toEqual([{ path: '/seq', message: 'must be integer' }]);
    ws.close();
  });

  it('a plain GET of the stream answers 426 with the catalogue error body', async () => {
    const res = await fetch(`${server.url}/v1/stream`);
    expect(res.status).toBe(426);
    expect(res.headers.get('upgrade')).toBe('websocket');
    expect((await res.json()).error.code).toBe('UPGRADE_REQUIRED');
  });

  it('on shutdown open sockets are closed with 1001 (going away) so clients reconnect elsewhere', async () => {
    const own = await startTestServer();
    const carol = await own.user('carol');
    const ws = new WebSocket(`${own.url.replace(/^http/, 'ws')}/v1/stream`);
    const frames = collect(ws);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'hello', token: carol.token }));
    await until(() => frames.some((f) => f.type === 'ready'));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await own.close();
    expect(await closed).toBe(1001);
  });
});
