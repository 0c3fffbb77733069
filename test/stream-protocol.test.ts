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

  it('messages can be sent and marked read over the socket, with the same idempotency and errors as HTTP', async () => {
    const dora = await server.user('dora');
    const eli = await server.user('eli');
    const conversation = await dora.openDirect('eli');
    const doraStream = dora.stream();
    const eliStream = eli.stream();
    await Promise.all([doraStream.waitForState('open'), eliStream.waitForState('open')]);
    const input = { text: 'over the socket', clientId: 'ws-1' };
    const sent = await doraStream.send(conversation.id, input);
    expect(await doraStream.send(conversation.id, input)).toEqual(sent); // same clientId: same message
    expect((await dora.history(conversation.id)).messages.map((m) => m.id)).toEqual([sent.id]);
    await eliStream.waitFor((e) => e.type === 'message.new');
    expect(await eliStream.markRead(conversation.id, sent.id)).toEqual({ readSeq: sent.seq });
    await doraStream.waitFor((e) => e.type === 'receipt' && (e.data as { state: string }).state === 'read');
    await expect(doraStream.send(conversation.id, { text: 'x'.repeat(9000) })).rejects.toMatchObject({ code: 'MESSAGE_TOO_LONG' });
    const outsider = await server.user('outsider');
    const outsiderStream = outsider.stream();
    await outsiderStream.waitForState('open');
    await expect(outsiderStream.send(conversation.id, { text: 'let me in' })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    await expect(outsiderStream.markRead(conversation.id, sent.id)).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    expect((await dora.history(conversation.id)).messages).toHaveLength(1);
    for (const stream of [doraStream, eliStream, outsiderStream]) stream.close();
  });

  it('sends from one socket are stored in the order they were sent', async () => {
    const fay = await server.user('fay');
    await server.user('gus');
    const conversation = await fay.openDirect('gus');
    const stream = fay.stream();
    await stream.waitForState('open');
    const texts = Array.from({ length: 50 }, (_, i) => `m${i}`);
    const sent = await Promise.all(texts.map((text) => stream.send(conversation.id, { text })));
    expect(sent.map((m) => m.seq)).toEqual(texts.map((_, i) => i + 1));
    stream.close();
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
