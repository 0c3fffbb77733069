import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalogue, type ErrorCode } from '../src/errors.js';
import type { Conversation, Message } from '../sdk/index.js';
import { RawStream, settle } from './support/raw-stream.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Bad input over HTTP and the WebSocket: every refusal is a 4xx with a stable code from the
 * catalogue, nothing is stored, and the server keeps serving. Limits tested here are listed in
 * docs/limits.md.
 */

type User = Awaited<ReturnType<TestServer['user']>>;

interface RawRequest {
  method: string;
  path: string;
  /** A string or bytes sent as is; anything else is JSON-encoded. */
  body?: unknown;
  /** null: no content-type header at all. Default application/json when there is a body. */
  contentType?: string | null;
  /** null: anonymous. Default: alice. */
  token?: string | null;
}

interface RawResponse {
  status: number;
  json: { error?: { code: string; message: string; requestId?: string } } & Record<string, unknown>;
}

let server: TestServer;
let admin: User;
let alice: User;
let bob: User;
let direct: Conversation;
let aliceMessage: Message;

async function raw(req: RawRequest): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  const token = req.token === undefined ? alice.token : req.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (req.body !== undefined) {
    body = typeof req.body === 'string' || req.body instanceof Uint8Array ? (req.body as BodyInit) : JSON.stringify(req.body);
    if (req.contentType !== null) headers['content-type'] = req.contentType ?? 'application/json';
  }
  const res = await fetch(server.url + req.path, { method: req.method, headers, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

/** Everything a refused request could have changed, as seen through the API. */
async function snapshot() {
  const [history, bobHistory, aliceMe, bobMe, aliceEvents, bobEvents, outbox, conversations, devices] = await Promise.all([
    alice.history(direct.id, { limit: 200 }),
    bob.history(direct.id, { limit: 200 }),
    alice.me(),
    bob.me(),
    alice.events({ after: 0, limit: 1 }),
    bob.events({ after: 0, limit: 1 }),
    admin.outbox({ limit: 500 }),
    alice.conversations(),
    alice.devices(),
  ]);
  return {
    history,
    bobHistory,
    aliceMe,
    bobMe,
    // Every stored change emits an event, so an unchanged head means nothing was written.
    aliceHead: aliceEvents.headSeq,
    bobHead: bobEvents.headSeq,
    outbox,
    conversations,
    devices: devices.map((d) => ({ id: d.id, ackedSeq: d.ackedSeq })),
  };
}

function expectCatalogueError(res: RawResponse, status: number, code: ErrorCode): void {
  expect({ status: res.status, code: res.json.error?.code }).toEqual({ status, code });
  expect(errorCatalogue[code].status).toBe(status);
  expect(typeof res.json.error?.message).toBe('string');
  expect(res.json.error?.requestId).toMatch(/\S/);
}

/** Sends each request, asserts the status and code, and that nothing visible changed. */
async function expectRefused(status: number, code: ErrorCode, ...requests: RawRequest[]): Promise<void> {
  for (const req of requests) {
    const before = await snapshot();
    const res = await raw(req);
    expect({ request: req, status: res.status, code: res.json.error?.code }).toEqual({ request: req, status, code });
    expectCatalogueError(res, status, code);
    expect(await snapshot()).toEqual(before);
  }
}

const send = (body: unknown, extra: Partial<RawRequest> = {}): RawRequest => ({ method: 'POST', path: `/v1/conversations/${direct.id}/messages`, body, ...extra });

let counter = 0;
/** The server still serves normal requests: a message goes through and the other side sees it. */
async function expectServing(): Promise<void> {
  const text = `still serving ${++counter}`;
  const sent = await alice.send(direct.id, { text });
  const page = await bob.history(direct.id, { after: String(sent.seq - 1) });
  expect(page.messages.map((m) => m.text)).toEqual([text]);
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.user('admin'); // the first account: administrator, reads the outbox
  alice = await server.user('alice');
  bob = await server.user('bob');
  direct = await alice.openDirect('bob');
  aliceMessage = await alice.send(direct.id, { text: 'the original text' });
  await bob.bindPhone('+4915112345678');
});
afterAll(async () => server?.close());

describe('bad input over HTTP', () => {
  afterEach(expectServing);

  it('refuses malformed JSON with 400 INVALID_JSON', async () => {
    await expectRefused(
      400,
      'INVALID_JSON',
      send('{"text": '),
      send('{text: "unquoted key"}'),
      send("{'text': 'single quotes'}"),
      send('{"text": "trailing comma",}'),
      send('{"text": "x"} trailing garbage'),
      send('{"text": "\u0001 raw control character"}'),
      send('NaN'),
      { method: 'PATCH', path: '/v1/me', body: '{"displayName":' },
      { method: 'POST', path: '/v1/sessions', body: '{"handle":"alice","password":', token: null },
    );
  });

  it('refuses an empty body with a JSON content type with 400 INVALID_JSON', async () => {
    await expectRefused(400, 'INVALID_JSON', send(''), { method: 'POST', path: '/v1/events/ack', body: '' });
  });

  it('refuses JSON keys that would poison prototypes', async () => {
    await expectRefused(400, 'INVALID_JSON', send('{"text":"x","__proto__":{"isAdmin":true}}'), send('{"text":"x","constructor":{"prototype":{"isAdmin":true}}}'));
  });

  it('refuses bodies that are not JSON with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    await expectRefused(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      send('{"text":"as text"}', { contentType: 'text/plain' }),
      send('text=form', { contentType: 'application/x-www-form-urlencoded' }),
      send('<text>xml</text>', { contentType: 'application/xml' }),
      send('{"text":"json in disguise"}', { contentType: 'application/vnd.parley+json' }),
      send(new TextEncoder().encode('{"text":"no content type"}'), { contentType: null }),
    );
  });

  it('refuses wrong types with 400 VALIDATION_FAILED and never coerces them', async () => {
    await expectRefused(
      400,
      'VALIDATION_FAILED',
      send({ text: 42 }),
      send({ text: ['hello'] }),
      send({ text: null }),
      send({ text: true }),
      send({ text: 'x', priority: 3 }),
      send({ text: 'x', priority: 'HIGH' }),
      send({ text: 'x', receipt: { read: 'true' } }),
      send({ text: 'x', receipt: 'PT5M' }),
      send([{ text: 'an array' }]),
      send('"a string"'),
      send('null'),
      { method: 'POST', path: '/v1/events/ack', body: { seq: '1' } },
      { method: 'POST', path: '/v1/events/ack', body: { seq: 1.5 } },
      { method: 'POST', path: '/v1/events/ack', body: { seq: true } },
      { method: 'POST', path: '/v1/events/ack', body: { seq: -1 } },
      { method: 'POST', path: `/v1/conversations/${direct.id}/read`, body: { upTo: 1 } },
      { method: 'PATCH', path: '/v1/me', body: { displayName: 5 } },
      { method: 'PATCH', path: '/v1/me', body: { privacy: { readReceipts: true } } },
      { method: 'PATCH', path: `/v1/messages/${aliceMessage.id}`, body: { text: 7 } },
      // Query strings arrive as text and are coerced, but only into what the schema allows.
      { method: 'GET', path: `/v1/conversations/${direct.id}/messages?limit=abc` },
      { method: 'GET', path: `/v1/conversations/${direct.id}/messages?limit=0` },
      { method: 'GET', path: `/v1/conversations/${direct.id}/messages?limit=201` },
      // A path id outside the id alphabet never reaches storage.
      { method: 'GET', path: '/v1/conversations/not%20an%20id' },
    );
  });

  it('refuses empty and blank texts with 400 VALIDATION_FAILED', async () => {
    await expectRefused(400, 'VALIDATION_FAILED', send({ text: '' }), send({ text: ' \n\t ' }), {
      method: 'PATCH',
      path: `/v1/messages/${aliceMessage.id}`,
      body: { text: '   ' },
    });
  });

  it('refuses unknown properties with 400 VALIDATION_FAILED', async () => {
    await expectRefused(
      400,
      'VALIDATION_FAILED',
      send({ text: 'x', colour: 'red' }),
      send({ text: 'x', receipt: { read: true, whithin: 'PT5M' } }),
      { method: 'POST', path: '/v1/events/ack', body: { seq: 0, device: 'other' } },
      // Refused as a whole: the valid half of the change is not applied either.
      { method: 'PATCH', path: '/v1/me', body: { displayName: 'Alice Changed', privacy: { readReceipts: 'private', typo: 1 } } },
      { method: 'PATCH', path: '/v1/me', body: { displayName: 'Alice Changed', isAdmin: true } },
      { method: 'POST', path: '/v1/conversations', body: { kind: 'direct', with: 'bob', title: 'not for direct chats' } },
      { method: 'GET', path: `/v1/conversations/${direct.id}/messages?colour=red` },
    );
  });

  it('refuses missing required fields with 400 VALIDATION_FAILED', async () => {
    await expectRefused(
      400,
      'VALIDATION_FAILED',
      send({}),
      send({ clientId: 'no-text' }),
      { method: 'POST', path: `/v1/conversations/${direct.id}/read`, body: {} },
      { method: 'POST', path: '/v1/conversations', body: { kind: 'direct' } },
      { method: 'POST', path: '/v1/conversations', body: { kind: 'group' } },
      { method: 'POST', path: '/v1/conversations', body: { with: 'bob' } },
      { method: 'POST', path: '/v1/me/phone', body: {} },
      { method: 'POST', path: '/v1/events/ack', body: {} },
      { method: 'POST', path: '/v1/sessions', body: { handle: 'alice' }, token: null },
    );
  });

  it('refuses registrations that do not fit the schema and creates no account', async () => {
    const bodies = [
      { handle: 'ab', displayName: 'Too Short', password: 'long enough password' },
      { handle: 'has space', displayName: 'Space', password: 'long enough password' },
      { handle: 'shortpw', displayName: 'Short Password', password: 'short' },
      { handle: 'noname', displayName: '', password: 'long enough password' },
      { handle: 'wantsadmin', displayName: 'Admin?', password: 'long enough password', isAdmin: true },
      { handle: 'kindadmin', displayName: 'Kind', password: 'long enough password', kind: 'admin' },
      { handle: 12345, displayName: 'Number', password: 'long enough password' },
    ];
    await expectRefused(400, 'VALIDATION_FAILED', ...bodies.map((body) => ({ method: 'POST', path: '/v1/accounts', body, token: null })));
    for (const { handle } of bodies) {
      const found = await raw({ method: 'GET', path: `/v1/accounts/${encodeURIComponent(String(handle))}` });
      expectCatalogueError(found, 404, 'ACCOUNT_NOT_FOUND');
    }
  });

  it('refuses a body over maxBodyBytes with 413 PAYLOAD_TOO_LARGE, with or without a content length', async () => {
    const limit = server.config.maxBodyBytes;
    expect(limit).toBe(64 * 1024);
    await expectRefused(413, 'PAYLOAD_TOO_LARGE', send({ text: 'x'.repeat(limit) }), { method: 'PATCH', path: '/v1/me', body: { displayName: 'x'.repeat(limit + 1) } });

    // Chunked: the server stops reading once the limit is passed, whatever the client declares.
    const before = await snapshot();
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"text":"'));
        for (let i = 0; i < 6; i++) controller.enqueue(chunk);
        controller.enqueue(new TextEncoder().encode('"}'));
        controller.close();
      },
    });
    const res = await fetch(`${server.url}/v1/conversations/${direct.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expectCatalogueError({ status: res.status, json: await res.json() }, 413, 'PAYLOAD_TOO_LARGE');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses text over maxMessageChars with MESSAGE_TOO_LONG and accepts exactly the limit', async () => {
    const max = server.config.maxMessageChars;
    expect(max).toBe(8000);
    await expectRefused(400, 'MESSAGE_TOO_LONG', send({ text: 'y'.repeat(max + 1) }), send({ text: 'y'.repeat(max + 1), clientId: 'too-long' }), {
      method: 'PATCH',
      path: `/v1/messages/${aliceMessage.id}`,
      body: { text: 'z'.repeat(max + 1) },
    });
    expect((await bob.message(aliceMessage.id)).text).toBe('the original text');
    const atLimit = await alice.send(direct.id, { text: 'y'.repeat(max) });
    expect((await bob.message(atLimit.id)).text).toHaveLength(max);
  });

  it('refuses invalid phone numbers with INVALID_PHONE_NUMBER: no SMS, the bound number stays', async () => {
    const bad = [
      '4915112345678', // no +
      '0151 12345678', // national format
      '+49', // too short
      '+12345', // too short
      '+49 151 1234567890123', // too long
      '+49151abc45678', // letters
      '+4915112345678x',
      '++4915112345678',
      '+0015112345678', // country code cannot start with 0
      '+999123456789', // unassigned country code
      '+15550000000', // valid-looking, but not a number a phone can have
      '+491234', // German prefix, but too short to be valid
    ];
    await expectRefused(400, 'INVALID_PHONE_NUMBER', ...bad.map((phone) => ({ method: 'POST', path: '/v1/me/phone', body: { phone }, token: bob.token })));
    expect((await bob.me()).phone).toBe('+4915112345678');
    // The refused requests sent nothing: the one SMS in the outbox is the valid binding's.
    expect((await admin.outbox({ channel: 'sms' })).map((i) => i.recipient)).toEqual(['+4915112345678']);
    // A number written with spaces and dashes is accepted and normalized.
    expect((await alice.bindPhone('+49 151-1234 5679')).phone).toBe('+4915112345679');
  });

  it('refuses invalid e-mail addresses with INVALID_EMAIL and sends nothing', async () => {
    const bad = ['not-an-email', 'alice@', '@example.com', 'alice@example', 'al ice@example.com', 'alice@@example.com', 'alice@exa mple.com'];
    await expectRefused(400, 'INVALID_EMAIL', ...bad.map((email) => ({ method: 'POST', path: '/v1/me/email', body: { email } })));
    expect((await alice.me()).email).toBeNull();
    expect(await admin.outbox({ channel: 'email' })).toEqual([]);
  });

  it('answers a burst of identical requests for a verification code (a double click) without a server error', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, () => raw({ method: 'POST', path: '/v1/me/phone', body: { phone: '+4915112345678' }, token: bob.token })));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    expect((await bob.me()).phone).toBe('+4915112345678');
  });

  it('refuses receipt deadlines that are not durations with INVALID_DURATION', async () => {
    const bad: unknown[] = ['5 minutes', 'P1M', 'P1Y', 'P1W', 'PT', 'P', '', 'P1DT', '-PT5M', 'PT-5M', 'PT5', '5m', '300', 'PT1.2345S', -1, -300000, 1.5];
    await expectRefused(
      400,
      'INVALID_DURATION',
      ...bad.map((within) => send({ text: 'deadline', receipt: { read: true, within } })),
      ...['P1M', -1, '5 minutes'].map((deliveredWithin) => send({ text: 'deadline', receipt: { deliveredWithin } })),
    );
  });

  it('refuses receipt deadlines longer than maxReceiptWithinMs with DURATION_TOO_LONG and accepts exactly the limit', async () => {
    const max = server.config.maxReceiptWithinMs;
    expect(max).toBe(7 * 24 * 3600 * 1000);
    const bad: unknown[] = ['P8D', 'P7DT0.001S', 'PT169H', max + 1, 'P99999999999D', Number.MAX_SAFE_INTEGER];
    await expectRefused(
      400,
      'DURATION_TOO_LONG',
      ...bad.map((within) => send({ text: 'deadline', receipt: { read: true, within } })),
      send({ text: 'deadline', receipt: { deliveredWithin: 'P8D' } }),
    );
    const atLimit = await alice.send(direct.id, { text: 'a week', receipt: { read: true, within: 'P7D' } });
    expect(atLimit.options.receipt).toMatchObject({ read: true, within: 'P7D' });
  });

  it('refuses bad history cursors with INVALID_CURSOR', async () => {
    const history = `/v1/conversations/${direct.id}/messages`;
    await expectRefused(
      400,
      'INVALID_CURSOR',
      ...['before=abc', 'before=-1', 'after=1.5', 'after=1e3', 'before=', 'after=0x10', 'before=9999999999999999', 'before=2&after=1'].map((q) => ({ method: 'GET', path: `${history}?${q}` })),
    );
  });

  it('answers unknown routes with 404 NOT_FOUND, also without a token', async () => {
    await expectRefused(
      404,
      'NOT_FOUND',
      { method: 'GET', path: '/v1/nope' },
      { method: 'GET', path: '/v1/nope', token: null },
      { method: 'GET', path: '/v2/me' },
      { method: 'POST', path: `/v1/conversations/${direct.id}/nope`, body: { text: 'x' } },
      { method: 'DELETE', path: '/v1/conversations' },
      { method: 'PUT', path: `/v1/messages/${aliceMessage.id}`, body: { text: 'put is not edit' } },
    );
  });

  it('refuses an acknowledgement beyond the stream head with SEQ_OUT_OF_RANGE; the device keeps its acked seq', async () => {
    const { headSeq } = await alice.events({ after: 0, limit: 1 });
    await alice.ack(headSeq);
    await expectRefused(
      400,
      'SEQ_OUT_OF_RANGE',
      ...[headSeq + 1, headSeq + 1000, Number.MAX_SAFE_INTEGER, 1e300].map((seq) => ({ method: 'POST', path: '/v1/events/ack', body: { seq } })),
    );
    expect((await alice.devices()).find((d) => d.current)?.ackedSeq).toBe(headSeq);
  });

  it('refuses a stream position beyond what storage can hold with VALIDATION_FAILED', async () => {
    await expectRefused(400, 'VALIDATION_FAILED', { method: 'GET', path: '/v1/events?after=99999999999999999999' }, { method: 'GET', path: '/v1/events?after=1e300' });
  });

  it('refuses NUL characters in any string with VALIDATION_FAILED on every storage engine', async () => {
    await expectRefused(
      400,
      'VALIDATION_FAILED',
      send({ text: 'before\u0000after' }),
      send({ text: 'x', clientId: 'a\u0000' }),
      { method: 'PATCH', path: '/v1/me', body: { displayName: 'Al\u0000ice' } },
      { method: 'PATCH', path: `/v1/messages/${aliceMessage.id}`, body: { text: '\u0000' } },
      { method: 'POST', path: '/v1/conversations', body: { kind: 'direct', with: 'bob\u0000' } },
      { method: 'POST', path: '/v1/conversations', body: { kind: 'group', title: 'nul\u0000title', members: ['bob'] } },
      { method: 'POST', path: '/v1/sessions', body: { handle: 'alice', password: 'password-alice', deviceName: 'pho\u0000ne' }, token: null },
      { method: 'GET', path: '/v1/accounts/bob%00' },
      { method: 'GET', path: `/v1/presence?ids=${bob.accountId}%00` },
    );
    // Alice still has exactly the one device she logged in with.
    expect(await alice.devices()).toHaveLength(1);
  });
});

describe('bad input on the WebSocket stream', () => {
  it('answers invalid JSON with an INVALID_JSON error frame and keeps the stream open', async () => {
    const stream = await RawStream.ready(server.url, bob);
    for (const frame of ['{"type":"ping"', 'not json', '{type: "ping"}', '']) {
      expect((await stream.errorFor(frame)).code).toBe('INVALID_JSON');
    }
    await stream.expectAlive();
    // Events still flow on the same socket.
    const from = stream.frames.length;
    const sent = await alice.send(direct.id, { text: 'after the garbage' });
    const event = await stream.next((f) => f.type === 'event', from);
    expect(event).toMatchObject({ event: { type: 'message.new', data: { message: { id: sent.id } } } });
    stream.close();
  });

  it('answers unknown frame types with UNKNOWN_FRAME_TYPE', async () => {
    const stream = await RawStream.ready(server.url, bob);
    for (const frame of [{ type: 'subscribe' }, { type: 'HELLO' }, { type: 5 }, { type: null }, {}, [], 'null', '42', '"ping"', { kind: 'ping' }]) {
      const error = await stream.errorFor(typeof frame === 'string' ? frame : JSON.stringify(frame));
      expect(error.code).toBe('UNKNOWN_FRAME_TYPE');
    }
    await stream.expectAlive();
    stream.close();
  });

  it('answers known frames with wrong fields with VALIDATION_FAILED, without acting on them', async () => {
    const stream = await RawStream.ready(server.url, bob);
    const ackedBefore = (await bob.devices()).find((d) => d.current)!.ackedSeq;
    for (const frame of [
      { type: 'ack', seq: '1' },
      { type: 'ack', seq: 1.5 },
      { type: 'ack', seq: -1 },
      { type: 'ack' },
      { type: 'ack', seq: 1, extra: true },
      { type: 'typing', conversationId: 1, typing: true },
      { type: 'typing', conversationId: direct.id, typing: 'yes' },
      { type: 'typing', conversationId: `${direct.id}\u0000`, typing: true },
      { type: 'ping', payload: 'x' },
    ]) {
      expect((await stream.errorFor(frame)).code).toBe('VALIDATION_FAILED');
    }
    expect((await bob.devices()).find((d) => d.current)!.ackedSeq).toBe(ackedBefore);
    await stream.expectAlive();
    stream.close();
  });

  it('answers a second hello on an authenticated stream with BAD_REQUEST', async () => {
    const stream = await RawStream.ready(server.url, bob);
    expect((await stream.errorFor({ type: 'hello', token: bob.token })).code).toBe('BAD_REQUEST');
    await stream.expectAlive();
    stream.close();
  });

  it('answers binary frames with BAD_REQUEST', async () => {
    const stream = await RawStream.ready(server.url, bob);
    expect((await stream.errorFor(Buffer.from(JSON.stringify({ type: 'ping' })))).code).toBe('BAD_REQUEST');
    expect((await stream.errorFor(Buffer.from([0, 159, 146, 150, 255]))).code).toBe('BAD_REQUEST');
    await stream.expectAlive();
    stream.close();
  });

  it('refuses an ack beyond the stream head with SEQ_OUT_OF_RANGE; the acked seq does not move', async () => {
    const stream = await RawStream.ready(server.url, bob);
    const { headSeq } = await bob.events({ after: 0, limit: 1 });
    const ackedBefore = (await bob.devices()).find((d) => d.current)!.ackedSeq;
    expect((await stream.errorFor({ type: 'ack', seq: headSeq + 1 })).code).toBe('SEQ_OUT_OF_RANGE');
    expect((await stream.errorFor({ type: 'ack', seq: Number.MAX_SAFE_INTEGER })).code).toBe('SEQ_OUT_OF_RANGE');
    expect((await bob.devices()).find((d) => d.current)!.ackedSeq).toBe(ackedBefore);
    await stream.expectAlive();
    stream.close();
  });

  it.each([
    ['an ack', { type: 'ack', seq: 0 }, 'UNAUTHENTICATED'],
    ['a typing frame', { type: 'typing', conversationId: 'x', typing: true }, 'UNAUTHENTICATED'],
    ['invalid JSON', '{"type":', 'INVALID_JSON'],
    ['an unknown frame type', { type: 'subscribe' }, 'UNKNOWN_FRAME_TYPE'],
    ['a malformed hello', { type: 'hello', token: 5 }, 'VALIDATION_FAILED'],
    ['a binary frame', Buffer.from('{"type":"hello"}'), 'BAD_REQUEST'],
  ])('closes the socket with 4002 when the first frame is %s instead of a hello', async (_name, frame, code) => {
    const stream = await RawStream.open(server.url);
    stream.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
    expect(await settle(stream.closed)).toEqual({ code: 4002, reason: code });
    expect(stream.frames).toHaveLength(1);
    expect(stream.frames[0]).toMatchObject({ type: 'error', error: { code, message: expect.any(String) } });
  });

  it('closes the socket with 4001 TOKEN_INVALID on a hello with a bad token, 4001 UNAUTHENTICATED without one', async () => {
    for (const [token, code] of [
      ['prl_not-a-real-token', 'TOKEN_INVALID'],
      [`${alice.token}x`, 'TOKEN_INVALID'],
      [undefined, 'UNAUTHENTICATED'],
    ] as const) {
      const stream = await RawStream.open(server.url);
      stream.send({ type: 'hello', token });
      expect(await settle(stream.closed)).toEqual({ code: 4001, reason: code });
      expect(stream.frames).toEqual([{ type: 'error', error: { code, message: expect.any(String) } }]);
    }
  });

  it('closes the socket with 4002 SEQ_OUT_OF_RANGE on a hello resuming beyond the stream head', async () => {
    const { headSeq } = await bob.events({ after: 0, limit: 1 });
    const stream = await RawStream.open(server.url);
    stream.send({ type: 'hello', token: bob.token, after: headSeq + 1 });
    expect(await settle(stream.closed)).toEqual({ code: 4002, reason: 'SEQ_OUT_OF_RANGE' });
    expect(stream.frames.map((f) => f.type)).toEqual(['error']);
  });

  it('closes a socket that sends a frame over maxFrameBytes with 1009; other sockets keep being served', async () => {
    const max = server.config.maxFrameBytes;
    expect(max).toBe(64 * 1024);
    const bystander = await RawStream.ready(server.url, alice);
    const offender = await RawStream.ready(server.url, bob);

    // Just under the limit: refused as a frame, the socket stays.
    expect((await offender.errorFor(JSON.stringify({ type: 'ping', pad: 'p'.repeat(max - 100) }))).code).toBe('VALIDATION_FAILED');
    await offender.expectAlive();

    offender.send(JSON.stringify({ type: 'typing', conversationId: direct.id, typing: true, pad: 'p'.repeat(max) }));
    expect((await settle(offender.closed)).code).toBe(1009);

    await bystander.expectAlive();
    const from = bystander.frames.length;
    const sent = await bob.send(direct.id, { text: 'after the oversize frame' });
    expect(await bystander.next((f) => f.type === 'event', from)).toMatchObject({ event: { data: { message: { id: sent.id } } } });
    // A new connection is accepted as usual.
    const again = await RawStream.ready(server.url, bob);
    await again.expectAlive();
    again.close();
    bystander.close();
    await expectServing();
  });
});
