import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { errorCatalogue } from '../src/errors.js';
import type { Conversation, Message, StreamEvent } from '../sdk/index.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Thousands of random and mutated HTTP bodies and WebSocket frames. Every answer must be a success
 * or a 4xx with a catalogue code (never a 5xx, never a dropped socket), nothing malformed may be
 * stored, and afterwards a normal round trip still works. The run is seeded: the seed is printed,
 * and PARLEY_FUZZ_SEED=<seed> replays the same inputs.
 */

const SEED = process.env.PARLEY_FUZZ_SEED ? Number(process.env.PARLEY_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`fuzz seed ${SEED} (replay with PARLEY_FUZZ_SEED=${SEED})`);
const HTTP_REQUESTS = 3000;
const WS_FRAMES = 3000;
const FIRST_FRAME_SOCKETS = 150;
const CONCURRENCY = 8;
// About 10 s of CPU on an idle machine; the generous timeout is for a loaded CI box.
const TIMEOUT_MS = 120_000;

/** mulberry32: small, fast and good enough to pick inputs reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly next: () => number) {}
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  string(): string {
    switch (this.int(10)) {
      case 0:
        return '';
      case 1:
        return this.pick([' ', '\n\t', '\u0000', 'a\u0000b', '\u200b', '\ufeff', '\ud800', '\udfff\ud800', '\u202e', 'e\u0301']);
      case 2:
        return this.pick(["'; DROP TABLE messages; --", '" OR 1=1 --', '%00', '../../etc/passwd', '<script>alert(1)</script>', '${process.exit()}', '__proto__', 'constructor', 'null', 'undefined', 'NaN']);
      case 3:
        return this.pick(['PT5M', 'P1D', 'P7D', 'P8D', 'P1M', '5 minutes', '-PT1S', '+4915112345678', '+15550000000', '004915112345678', 'a@b.c', 'alice@example.com', 'x@', '@']);
      case 4:
        return '😀🙈👩‍👩‍👧‍👦'.repeat(1 + this.int(50));
      case 5:
        return 'x'.repeat(this.pick([7999, 8000, 8001, 9000, 32, 33, 64, 65, 200, 201]));
      case 6:
        return String.fromCharCode(...Array.from({ length: 1 + this.int(40) }, () => this.int(0x3000)));
      default:
        return Array.from({ length: 1 + this.int(30) }, () => this.pick([...'abcdefghijklmnopqrstuvwxyzABCDEFXYZ0123456789 _-.:@+'])).join('');
    }
  }

  number(): number {
    return this.pick([0, -0, 1, -1, 1.5, -1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 1e308, -1e308, 5e-324, this.int(1000), this.int(2 ** 31), -this.int(1000)]);
  }

  value(depth = 0): unknown {
    const kind = this.int(depth > 3 ? 4 : 7);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.number();
      case 3:
        return this.string();
      case 4:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(4); i > 0; i--) o[this.pick(['type', 'text', 'seq', 'token', 'id', 'a', this.string()])] = this.value(depth + 1);
        return o;
      }
    }
  }

  deep(): string {
    const n = 100 + this.int(5000);
    return this.chance(0.5) ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  }

  /** One to three structural changes: drop, add, retype or replace fields, at any depth. */
  mutate(body: unknown): unknown {
    let out = structuredClone(body);
    for (let i = 1 + this.int(3); i > 0; i--) out = this.mutateOnce(out);
    return out;
  }

  private mutateOnce(v: unknown): unknown {
    if (v === null || typeof v !== 'object' || this.chance(0.1)) return this.chance(0.5) ? this.value() : [v];
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    const key = keys.length ? this.pick(keys) : 'x';
    switch (this.int(6)) {
      case 0:
        delete o[key];
        return o;
      case 1:
        o[this.pick(['extra', 'isAdmin', 'accountId', 'seq', this.string()])] = this.value();
        return o;
      case 2:
        o[key] = this.value();
        return o;
      case 3:
        o[key] = typeof o[key] === 'number' ? String(o[key]) : typeof o[key] === 'string' && /^\d+$/.test(o[key] as string) ? Number(o[key]) : this.number();
        return o;
      case 4:
        o[key] = this.mutateOnce(o[key]);
        return o;
      default:
        o[key] = this.string();
        return o;
    }
  }

  /** Byte-level damage to serialized JSON: truncate, insert, delete, duplicate. */
  damage(json: string): string {
    const at = this.int(json.length + 1);
    switch (this.int(5)) {
      case 0:
        return json.slice(0, at);
      case 1:
        return json.slice(0, at) + this.pick(['"', '{', '}', ',', ':', '\\', '\u0000', ' ', 'x', ']', '\\u00']) + json.slice(at);
      case 2:
        return json.slice(0, at) + json.slice(at + 1);
      case 3:
        return json.replace(/"(\w+)":/, '"$1":1,"$1":');
      default:
        return json + this.pick([' ', '}', 'garbage', '\n{}']);
    }
  }
}

type User = Awaited<ReturnType<TestServer['user']>>;

interface Endpoint {
  name: string;
  method: 'POST' | 'PATCH';
  path: () => string;
  /** Who calls it: a user's token, or none. */
  as: () => User | undefined;
  weight: number;
  valid: (g: Gen) => unknown;
}

interface Sent {
  endpoint: string;
  contentType: string | undefined;
  body: string;
}

let server: TestServer;
let admin: User;
let alice: User;
let bob: User;
let carol: User;
let direct: Conversation;
let group: Conversation;
let seeds: Message[];

const catalogue = errorCatalogue as Record<string, { status: number }>;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.user('admin');
  alice = await server.user('alice');
  bob = await server.user('bob');
  carol = await server.user('carol');
  direct = await alice.openDirect('bob');
  group = await alice.createGroup('Fuzz group', ['bob']);
  seeds = [
    await alice.send(direct.id, { text: 'seed from alice' }),
    await bob.send(direct.id, { text: 'seed from bob' }),
    await bob.send(group.id, { text: 'seed in the group' }),
  ];
});
afterAll(async () => server?.close());

function endpoints(): Endpoint[] {
  const messageIds = () => [...seeds.map((m) => m.id), 'no-such-message', seeds[0]!.conversationId];
  const sendBody = (g: Gen) => ({
    text: g.chance(0.7) ? `hello ${g.int(1000)}` : g.string(),
    ...(g.chance(0.5) && { clientId: g.pick(['c1', 'c2', 'c3', `c-${g.int(10_000)}`]) }),
    ...(g.chance(0.3) && {
      receipt: {
        read: g.chance(0.5),
        ...(g.chance(0.7) && { within: g.pick<unknown>(['PT5M', 'P1D', 'P7D', 'P8D', 60_000, 'P1M', -1]) }),
        ...(g.chance(0.3) && { deliveredWithin: g.pick<unknown>(['PT1H', 'P8D', 1.5, '']) }),
      },
    }),
    ...(g.chance(0.3) && { priority: g.pick(['low', 'normal', 'high', 'urgent', 'critical']) }),
    ...(g.chance(0.2) && { replyTo: g.pick(messageIds()) }),
  });
  return [
    { name: 'send (direct)', method: 'POST', path: () => `/v1/conversations/${direct.id}/messages`, as: () => alice, weight: 20, valid: sendBody },
    { name: 'send (group)', method: 'POST', path: () => `/v1/conversations/${group.id}/messages`, as: () => bob, weight: 10, valid: sendBody },
    { name: 'edit', method: 'PATCH', path: () => `/v1/messages/${seeds[0]!.id}`, as: () => alice, weight: 6, valid: (g) => ({ text: g.chance(0.6) ? `edited ${g.int(100)}` : g.string() }) },
    { name: 'mark read', method: 'POST', path: () => `/v1/conversations/${direct.id}/read`, as: () => alice, weight: 6, valid: (g) => ({ upTo: g.pick(messageIds()) }) },
    {
      name: 'create conversation',
      method: 'POST',
      path: () => '/v1/conversations',
      as: () => alice,
      weight: 8,
      valid: (g) =>
        g.chance(0.5)
          ? { kind: 'direct', with: g.pick(['bob', 'carol', 'alice', 'nobody', bob.accountId]) }
          : { kind: 'group', title: g.chance(0.6) ? `group ${g.int(100)}` : g.string(), members: g.pick([[], ['bob'], ['bob', 'carol'], ['nobody'], [carol.accountId]]) },
    },
    { name: 'rename group', method: 'PATCH', path: () => `/v1/conversations/${group.id}`, as: () => alice, weight: 5, valid: (g) => ({ title: g.chance(0.6) ? `renamed ${g.int(100)}` : g.string() }) },
    { name: 'add member', method: 'POST', path: () => `/v1/conversations/${group.id}/members`, as: () => alice, weight: 4, valid: (g) => ({ account: g.pick(['carol', 'bob', 'nobody', carol.accountId]), ...(g.chance(0.3) && { role: g.pick(['owner', 'member', 'admin']) }) }) },
    { name: 'set role', method: 'PATCH', path: () => `/v1/conversations/${group.id}/members/${bob.accountId}`, as: () => alice, weight: 3, valid: (g) => ({ role: g.pick(['owner', 'member', 'admin']) }) },
    {
      name: 'update me',
      method: 'PATCH',
      path: () => '/v1/me',
      as: () => alice,
      weight: 6,
      valid: (g) => ({
        ...(g.chance(0.7) && { displayName: g.chance(0.6) ? `Alice ${g.int(100)}` : g.string() }),
        ...(g.chance(0.5) && { privacy: { readReceipts: g.pick(['public', 'private']), lastSeen: g.pick(['visible', 'hidden']) } }),
      }),
    },
    { name: 'bind phone', method: 'POST', path: () => '/v1/me/phone', as: () => alice, weight: 6, valid: (g) => ({ phone: g.pick(['+4915112345678', '+44 7700 900123', '+15550000000', '4915112345678', '+49', g.string()]) }) },
    { name: 'verify phone', method: 'POST', path: () => '/v1/me/phone/verify', as: () => alice, weight: 3, valid: (g) => ({ code: String(g.int(1_000_000)).padStart(6, '0') }) },
    { name: 'bind e-mail', method: 'POST', path: () => '/v1/me/email', as: () => alice, weight: 5, valid: (g) => ({ email: g.pick(['alice@example.com', 'ALICE@Example.org', 'not-an-email', 'a@b', g.string()]) }) },
    { name: 'ack', method: 'POST', path: () => '/v1/events/ack', as: () => alice, weight: 6, valid: (g) => ({ seq: g.chance(0.5) ? g.int(10) : g.number() }) },
    // Registration and login hash passwords (scrypt, tens of ms): fewer of them keep the run short.
    { name: 'register', method: 'POST', path: () => '/v1/accounts', as: () => undefined, weight: 1, valid: (g) => ({ handle: `fz${g.int(100_000)}`, displayName: g.chance(0.6) ? 'Fuzzy' : g.string(), password: 'a fuzzing password' }) },
    { name: 'login', method: 'POST', path: () => '/v1/sessions', as: () => undefined, weight: 1, valid: (g) => ({ handle: g.pick(['alice', 'nobody']), password: g.pick(['password-alice', 'wrong password']), ...(g.chance(0.5) && { deviceName: g.string() }) }) },
  ];
}

function pickWeighted(g: Gen, list: Endpoint[]): Endpoint {
  let r = g.next() * list.reduce((n, e) => n + e.weight, 0);
  for (const e of list) if ((r -= e.weight) < 0) return e;
  return list.at(-1)!;
}

/** The body for one request: pristine, mutated, damaged or entirely random. */
function makeBody(g: Gen, endpoint: Endpoint): { body: string; contentType: string | undefined } {
  const valid = endpoint.valid(g);
  let body: string;
  const mode = g.int(20);
  if (mode < 3) body = JSON.stringify(valid);
  else if (mode < 13) body = JSON.stringify(g.mutate(valid));
  else if (mode < 16) body = g.damage(JSON.stringify(g.chance(0.5) ? valid : g.mutate(valid)));
  else if (mode < 19) body = JSON.stringify(g.value());
  else body = g.chance(0.5) ? g.deep() : g.string();
  const contentType = g.chance(0.92)
    ? 'application/json'
    : g.pick([undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'application/json; charset=utf-8', 'application/jsonx', 'multipart/form-data; boundary=x', '*/*']);
  return { body, contentType };
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
}

async function allMessages(user: User, conversationId: string): Promise<Message[]> {
  const out: Message[] = [];
  let after = '0';
  for (;;) {
    const page = await user.history(conversationId, { after, limit: 200 });
    out.push(...page.messages);
    if (!page.nextCursor) return out;
    after = page.nextCursor;
  }
}

const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Schema lengths count code points (JSON Schema), the message limit counts UTF-16 code units
 * (docs/limits.md): `unit` says which.
 */
function expectCleanText(value: string | null, min: number, max: number, what: string, unit: 'code points' | 'code units' = 'code points'): void {
  expect(value, what).toBeTypeOf('string');
  const length = unit === 'code points' ? [...value!].length : value!.length;
  expect(length, what).toBeGreaterThanOrEqual(min);
  expect(length, what).toBeLessThanOrEqual(max);
  expect(value!.includes('\u0000'), `${what} holds NUL`).toBe(false);
}

describe(`fuzzing (seed ${SEED})`, () => {
  it(`answers ${HTTP_REQUESTS} random and mutated HTTP bodies with a success or a catalogue 4xx, and stores nothing malformed`, async () => {
    const g = new Gen(prng(SEED));
    const list = endpoints();
    const requests = Array.from({ length: HTTP_REQUESTS }, () => {
      const endpoint = pickWeighted(g, list);
      return { endpoint, ...makeBody(g, endpoint) };
    });
    const failures: string[] = [];
    const created = new Map<string, string[]>(); // endpoint → ids (or 1 per 2xx) of what was created
    const statuses = new Map<number, number>();

    await pool(requests, CONCURRENCY, async ({ endpoint, body, contentType }) => {
      const headers: Record<string, string> = {};
      const user = endpoint.as();
      if (user) headers.authorization = `Bearer ${user.token}`;
      if (contentType) headers['content-type'] = contentType;
      const res = await fetch(server.url + endpoint.path(), { method: endpoint.method, headers, body: new TextEncoder().encode(body) });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const sent: Sent = { endpoint: endpoint.name, contentType, body: body.length > 300 ? `${body.slice(0, 300)}… (${body.length} chars)` : body };
      let json: { error?: { code?: unknown; message?: unknown; requestId?: unknown }; message?: Message; conversation?: Conversation };
      try {
        json = text ? JSON.parse(text) : {};
      } catch {
        failures.push(`${res.status} non-JSON answer ${text.slice(0, 100)} to ${JSON.stringify(sent)}`);
        return;
      }
      if (res.status >= 500 || res.status < 200) {
        failures.push(`${res.status} ${text.slice(0, 200)} to ${JSON.stringify(sent)}`);
      } else if (res.status >= 400) {
        const code = json.error?.code;
        if (typeof code !== 'string' || !(code in catalogue)) failures.push(`${res.status} with unknown code ${String(code)} to ${JSON.stringify(sent)}`);
        else if (catalogue[code]!.status !== res.status) failures.push(`${code} came with ${res.status}, the catalogue says ${catalogue[code]!.status}`);
        else if (typeof json.error?.message !== 'string' || typeof json.error?.requestId !== 'string') failures.push(`${code}: error body without message or requestId`);
      } else if (res.status === 201 || res.status === 202) {
        const id = json.message?.id ?? json.conversation?.id ?? String(res.status);
        created.set(endpoint.name, [...(created.get(endpoint.name) ?? []), id]);
      }
    });

    console.log(`fuzz seed ${SEED}: HTTP statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(failures.slice(0, 20), `seed ${SEED}: ${failures.length} bad answers`).toEqual([]);
    // The run reached the services, not just the schema: some requests were accepted.
    expect([...statuses.keys()].some((s) => s < 300), `seed ${SEED}`).toBe(true);

    // Exactly the accepted messages were stored, and each of them is well formed.
    for (const [conversation, endpoint, seedCount] of [[direct, 'send (direct)', 2], [group, 'send (group)', 1]] as const) {
      const stored = await allMessages(alice, conversation.id);
      expect(stored.length, `seed ${SEED}: messages in ${endpoint}`).toBe(seedCount + (created.get(endpoint)?.length ?? 0));
      expect(new Set(stored.map((m) => m.id))).toEqual(new Set([...seeds.filter((m) => m.conversationId === conversation.id).map((m) => m.id), ...(created.get(endpoint) ?? [])]));
      for (const m of stored) {
        expectCleanText(m.text, 1, server.config.maxMessageChars, `seed ${SEED}: text of ${m.id}`, 'code units');
        expect(m.text.trim(), `seed ${SEED}: blank text stored`).not.toBe('');
        expect(['low', 'normal', 'high', 'urgent']).toContain(m.options.priority);
        expect(m.seq).toBeGreaterThan(0);
        if (m.options.receipt.within !== null) expect(m.options.receipt.within, `seed ${SEED}`).toMatch(/^P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/);
      }
    }

    const me = await alice.me();
    expectCleanText(me.displayName, 1, 100, `seed ${SEED}: display name`);
    if (me.phone !== null) expect(me.phone, `seed ${SEED}`).toMatch(E164);
    if (me.email !== null) expect(me.email, `seed ${SEED}`).toMatch(EMAIL);

    const conversations = await alice.conversations();
    expect(conversations.length, `seed ${SEED}: conversations`).toBe(2 + (created.get('create conversation')?.length ?? 0));
    for (const c of conversations) {
      if (c.kind === 'group') expectCleanText(c.title, 1, 200, `seed ${SEED}: title of ${c.id}`);
      else expect(c.title).toBeNull();
      expect(c.members.length).toBeGreaterThanOrEqual(c.kind === 'direct' ? 2 : 1);
    }
    const members = await alice.members(group.id);
    for (const m of members) expect(['owner', 'member']).toContain(m.role);
    expect(members.filter((m) => m.role === 'owner').map((m) => m.accountId)).toContain(alice.accountId);

    // One outbox entry per accepted binding, each to a well-formed address.
    const outbox = await admin.outbox({ limit: 500 });
    expect(outbox.length, `seed ${SEED}: outbox`).toBe((created.get('bind phone')?.length ?? 0) + (created.get('bind e-mail')?.length ?? 0));
    for (const item of outbox) expect(item.recipient, `seed ${SEED}`).toMatch(item.channel === 'sms' ? E164 : EMAIL);

    const device = (await alice.devices()).find((d) => d.current)!;
    expect(device.ackedSeq).toBeLessThanOrEqual((await alice.events({ after: 0, limit: 1 })).headSeq);
  }, TIMEOUT_MS);

  it(`answers ${WS_FRAMES} random frames on an open stream with error frames from the catalogue, never dropping the socket`, async () => {
    const g = new Gen(prng(SEED + 1));
    const socket = await openSocket();
    const frames: { type: string; error?: { code: string }; event?: StreamEvent }[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(String(data))));
    let closed: number | undefined;
    socket.on('close', (code) => (closed = code));
    socket.send(JSON.stringify({ type: 'hello', token: bob.token }));
    await until(() => frames.some((f) => f.type === 'ready'));
    const { headSeq } = await bob.events({ after: 0, limit: 1 });

    const valid = () =>
      g.pick<object>([
        { type: 'ack', seq: g.int(headSeq + 1) },
        { type: 'typing', conversationId: g.pick([direct.id, group.id, 'nope']), typing: g.chance(0.5) },
        { type: 'ping' },
        { type: 'hello', token: bob.token },
      ]);
    for (let i = 0; i < WS_FRAMES; i++) {
      const mode = g.int(20);
      let frame: string | Buffer;
      if (mode < 2) frame = JSON.stringify(valid());
      else if (mode < 10) frame = JSON.stringify(g.mutate(valid()));
      else if (mode < 13) frame = g.damage(JSON.stringify(valid()));
      else if (mode < 16) frame = JSON.stringify(g.value());
      else if (mode < 17) frame = g.deep();
      else if (mode < 18) frame = g.pick(['{"type":"ack","seq":1e400}', '{"type":"ack","seq":123456789012345678901234567890}', '{"type":"ack","seq":-0}', '{"type":"hello","after":1e308}']);
      else if (mode < 19) frame = g.string();
      else frame = Buffer.from(Array.from({ length: g.int(64) }, () => g.int(256)));
      socket.send(frame);
    }
    // A pong to a final ping, then a quiet spell: the answers to every frame are in.
    socket.send(JSON.stringify({ type: 'ping' }));
    const pongs = frames.filter((f) => f.type === 'pong').length;
    await until(() => frames.filter((f) => f.type === 'pong').length > pongs, 15_000);
    await quiet(frames);

    expect(closed, `seed ${SEED}: the socket was closed`).toBeUndefined();
    const codes = frames.filter((f) => f.type === 'error').map((f) => f.error!.code);
    expect(codes.length, `seed ${SEED}`).toBeGreaterThan(WS_FRAMES / 2);
    const unknown = codes.filter((c) => !(c in catalogue) || c === 'INTERNAL');
    expect(unknown, `seed ${SEED}`).toEqual([]);
    const histogram = Object.fromEntries([...new Set(codes)].map((c) => [c, codes.filter((x) => x === c).length]));
    console.log(`fuzz seed ${SEED}: WebSocket error codes ${JSON.stringify(histogram)}`);

    // The fuzzed socket still delivers, and the device's acknowledgement stayed within the stream.
    const before = frames.length;
    const sent = await alice.send(direct.id, { text: 'after the frame storm' });
    await until(() => frames.slice(before).some((f) => f.type === 'event' && JSON.stringify(f).includes(sent.id)));
    const device = (await bob.devices()).find((d) => d.current)!;
    expect(device.ackedSeq).toBeLessThanOrEqual((await bob.events({ after: 0, limit: 1 })).headSeq);
    socket.close();
  }, TIMEOUT_MS);

  it(`closes ${FIRST_FRAME_SOCKETS} sockets whose random first frame is not a hello with 4001 or 4002, never an internal error`, async () => {
    const g = new Gen(prng(SEED + 2));
    const firstFrames = Array.from({ length: FIRST_FRAME_SOCKETS }, () => {
      const mode = g.int(6);
      if (mode === 0) return JSON.stringify(g.mutate({ type: 'hello', token: bob.token }));
      if (mode === 1) return JSON.stringify({ type: 'hello', token: g.string() });
      if (mode === 2) return g.damage(JSON.stringify({ type: 'hello', token: bob.token }));
      if (mode === 3) return JSON.stringify(g.value());
      if (mode === 4) return g.string();
      return JSON.stringify(g.mutate({ type: g.pick(['ack', 'typing', 'subscribe']), seq: 1 }));
    });
    const failures: string[] = [];
    await pool(firstFrames, CONCURRENCY, async (frame) => {
      const socket = await openSocket();
      const received: { type: string; error?: { code: string } }[] = [];
      socket.on('message', (data) => received.push(JSON.parse(String(data))));
      const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      socket.send(frame);
      // A ping or a valid hello is answered and the socket stays: that is fine, close it ourselves.
      const code = await Promise.race([closed, until(() => received.some((f) => f.type === 'pong' || f.type === 'ready'), 5000).then(() => 0)]);
      if (code === 0) {
        socket.close();
        return;
      }
      const errors = received.filter((f) => f.type === 'error').map((f) => f.error!.code);
      if (![4001, 4002].includes(code) || errors.length !== 1 || !(errors[0]! in catalogue) || errors[0] === 'INTERNAL') {
        failures.push(`close ${code} with ${JSON.stringify(received)} after ${JSON.stringify(frame.slice(0, 200))}`);
      }
    });
    expect(failures.slice(0, 10), `seed ${SEED}: ${failures.length} bad closes`).toEqual([]);
  }, TIMEOUT_MS);

  it('still serves a normal round trip afterwards: send, deliver, read', async () => {
    const stream = bob.stream();
    const aliceStream = alice.stream();
    await Promise.all([stream.waitForState('open'), aliceStream.waitForState('open')]);
    const text = 'are you still there?';
    // Listen before sending: the event can arrive before the HTTP answer does.
    const arriving = stream.waitFor((e) => e.type === 'message.new' && (e as StreamEvent<'message.new'>).data.message.text === text);
    const sent = await alice.send(direct.id, { text, receipt: { read: true, within: 'PT5M' } });
    const received = (await arriving) as StreamEvent<'message.new'>;
    expect(received.data.message.id).toBe(sent.id);
    const read = aliceStream.waitFor((e) => e.type === 'receipt' && (e as StreamEvent<'receipt'>).data.state === 'read' && (e as StreamEvent<'receipt'>).data.upToMessageId === sent.id);
    await bob.markRead(direct.id, sent.id);
    await read;
    expect((await alice.receipts(sent.id)).recipients.find((r) => r.accountId === bob.accountId)?.state).toBe('read');
    stream.close();
    aliceStream.close();
  });
});

async function openSocket(): Promise<WebSocket> {
  const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/stream`);
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms (seed ${SEED})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until no frame has arrived for a while: answers to the last frames are in. */
async function quiet(frames: unknown[], idleMs = 300): Promise<void> {
  let count = -1;
  while (count !== frames.length) {
    count = frames.length;
    await new Promise((resolve) => setTimeout(resolve, idleMs));
  }
}
