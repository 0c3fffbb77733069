import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ServerFrame } from '../src/protocol/frames.js';
import { ParleyClient, type EphemeralEvent, type ParleyStream, type StreamEvent, type WebSocketLike } from '../sdk/index.js';
import { startTestServer, type TestServer } from './support/server.js';
import { allEvents } from './support/read.js';

type User = Awaited<ReturnType<TestServer['user']>>;
type Ready = Extract<ServerFrame, { type: 'ready' }>;

/** A bare protocol client on /v1/stream: records every frame, never acknowledges by itself. */
class RawStream {
  readonly frames: ServerFrame[] = [];
  readonly events: StreamEvent[] = [];
  readonly ephemerals: EphemeralEvent[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  ready!: Ready;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      this.frames.push(frame);
      if (frame.type === 'event') this.events.push(frame.event);
      if (frame.type === 'ephemeral') this.ephemerals.push(frame.event);
      this.wake();
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** Connects, says hello (with `after` when given) and waits for `ready`. */
  static async open(baseUrl: string, token: string, after?: number, options?: WebSocket.ClientOptions): Promise<RawStream> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/stream`, options);
    const raw = new RawStream(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify(after === undefined ? { type: 'hello', token } : { type: 'hello', token, after }));
    const first = await raw.until(() => raw.frames.find((f) => f.type === 'ready' || f.type === 'error'));
    if (first.type !== 'ready') throw new Error(`hello refused: ${JSON.stringify(first)}`);
    raw.ready = first;
    return raw;
  }

  /** Resolves with the first truthy value of `check`, evaluated now and after every frame. */
  until<T>(check: () => T | undefined | false | null, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (!value) return;
        done();
        resolve(value);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`RawStream.until timed out after ${timeoutMs} ms (${this.events.length} events)`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(attempt);
      };
      this.waiters.add(attempt);
      attempt();
    });
  }

  untilSeq(seq: number, timeoutMs?: number): Promise<true> {
    return this.until(() => (this.events.at(-1)?.seq ?? this.ready.after) >= seq, timeoutMs);
  }

  ack(seq: number): void {
    this.ws.send(JSON.stringify({ type: 'ack', seq }));
  }

  seqs(): number[] {
    return this.events.map((e) => e.seq);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** Retries `check` until it stops throwing, or fails with its last error at the deadline. */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function waitForEphemeral(stream: ParleyStream, predicate: (e: EphemeralEvent) => boolean, timeoutMs = 10_000): Promise<EphemeralEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('no matching ephemeral event'));
    }, timeoutMs);
    const off = stream.on('ephemeral', (event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

function waitForPresence(stream: ParleyStream, accountId: string, status: 'online' | 'offline'): Promise<EphemeralEvent<'presence'>> {
  return waitForEphemeral(stream, (e) => e.type === 'presence' && (e as EphemeralEvent<'presence'>).data.accountId === accountId && (e as EphemeralEvent<'presence'>).data.status === status) as Promise<
    EphemeralEvent<'presence'>
  >;
}

/** One sample of a Prometheus metric (0 when absent). */
async function metric(server: TestServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries((match[2] ?? '').split(',').filter(Boolean).map((kv) => kv.split('=').map((s) => s.replace(/"/g, '')) as [string, string]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return 0;
}

/** Sends about 8 MB of 50 kB messages, ten at a time: more than the kernel's socket buffers hold. Returns the count. */
async function sendBacklog(sender: ParleyClient, conversationId: string, count = 160): Promise<number> {
  const big = 'y'.repeat(50_000);
  for (let i = 0; i < count; i += 10) {
    await Promise.all(range(i + 1, i + 10).map((k) => sender.send(conversationId, { text: `${k} ${big}` })));
  }
  return count;
}

const messageText = (e: StreamEvent) => (e as StreamEvent<'message.new'>).data.message.text;

describe('event stream: resume and acknowledgements', () => {
  let server: TestServer;
  let n = 0;
  async function pair(): Promise<{ sender: User; recipient: User; conversationId: string }> {
    n++;
    const sender = await server.user(`sender${n}`);
    const recipient = await server.user(`recipient${n}`);
    const conversation = await sender.openDirect(recipient.accountId);
    return { sender, recipient, conversationId: conversation.id };
  }

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('the SDK stream killed mid-stream several times delivers 300 messages exactly once and in order', async () => {
    const { sender, recipient, conversationId } = await pair();
    // Tap the sockets the SDK opens, to check the server itself, not only the SDK's de-duplication.
    const connections: { after?: number; seqs: number[] }[] = [];
    class TappedWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        const connection: { after?: number; seqs: number[] } = { seqs: [] };
        connections.push(connection);
        this.on('message', (data) => {
          const frame = JSON.parse(String(data)) as ServerFrame;
          if (frame.type === 'ready') connection.after = frame.after;
          if (frame.type === 'event') connection.seqs.push(frame.event.seq);
        });
      }
    }
    const client = new ParleyClient({ baseUrl: server.url, token: recipient.token, WebSocket: TappedWebSocket as unknown as new (url: string) => WebSocketLike });
    const stream = client.stream({ minBackoffMs: 5, maxBackoffMs: 20 });
    await stream.waitForState('open');

    const TOTAL = 300;
    const texts: string[] = [];
    const dropAt = new Set([40, 100, 160, 220, 270]);
    stream.on('event', (e) => {
      if (e.type !== 'message.new') return;
      texts.push(messageText(e));
      if (dropAt.has(texts.length)) stream.dropConnection();
    });
    const last = stream.waitFor((e) => e.type === 'message.new' && messageText(e) === `m${TOTAL}`, 20_000);
    for (let i = 1; i <= TOTAL; i++) await sender.send(conversationId, { text: `m${i}` });
    await last;

    expect(texts).toEqual(range(1, TOTAL).map((i) => `m${i}`));
    // One connection per drop plus the first; each resumed exactly after its resume point, gap-free.
    expect(connections.length).toBeGreaterThanOrEqual(dropAt.size + 1);
    for (const c of connections.filter((c) => c.after !== undefined)) {
      expect(c.seqs).toEqual(range(c.after! + 1, c.after! + c.seqs.length));
    }
    expect(connections.slice(1).every((c) => c.after === undefined || c.after > 0)).toBe(true);
    // Auto-acknowledgements crossed the reconnects: the device is acknowledged to the end.
    await eventually(async () => expect((await recipient.devices())[0]!.ackedSeq).toBe(TOTAL + 1));
    await eventually(async () => expect((await sender.receipts((await sender.history(conversationId)).messages.at(-1)!.id)).recipients[0]!.state).toBe('delivered'));
    stream.close();
  });

  it('a raw client killed without acknowledging resumes from its own cursor and misses nothing', async () => {
    const { sender, recipient, conversationId } = await pair();
    const TOTAL = 300;
    const head = TOTAL + 1; // conversation.created, then the messages
    const sending = (async () => {
      for (let i = 1; i <= TOTAL; i++) await sender.send(conversationId, { text: `m${i}` });
    })();

    const received: StreamEvent[] = [];
    let cursor = 0;
    let kills = 0;
    while (cursor < head) {
      const raw = await RawStream.open(server.url, recipient.token!, cursor);
      expect(raw.ready.after).toBe(cursor);
      await raw.untilSeq(Math.min(cursor + 23 + 11 * (kills % 4), head), 20_000);
      // Abrupt end: alternately a TCP reset and a close handshake, never an ack.
      if (kills % 2 === 0) raw.ws.terminate();
      else raw.ws.close(4000);
      await raw.closed;
      kills++;
      expect(raw.seqs()).toEqual(range(cursor + 1, cursor + raw.events.length));
      received.push(...raw.events);
      cursor = raw.events.at(-1)?.seq ?? cursor;
    }
    await sending;

    expect(kills).toBeGreaterThanOrEqual(5);
    expect(received.map((e) => e.seq)).toEqual(range(1, head));
    expect(received.filter((e) => e.type === 'message.new').map(messageText)).toEqual(range(1, TOTAL).map((i) => `m${i}`));
    // Nothing was acknowledged: the device's cursor is still 0, nothing counts as delivered,
    // and a hello without `after` replays everything from that cursor.
    expect((await recipient.devices())[0]!.ackedSeq).toBe(0);
    const lastMessage = (await sender.history(conversationId)).messages.at(-1)!;
    expect((await sender.receipts(lastMessage.id)).recipients[0]!.state).toBe('sent');
    const replay = await RawStream.open(server.url, recipient.token!);
    expect(replay.ready).toMatchObject({ after: 0, headSeq: head });
    await replay.untilSeq(head);
    expect(replay.seqs()).toEqual(range(1, head));
    await replay.close();
  });

  it('resume after=N replays exactly N+1… in order, then continues live', async () => {
    const { sender, recipient, conversationId } = await pair();
    for (let i = 1; i <= 39; i++) await sender.send(conversationId, { text: `m${i}` });
    const head = 40;
    for (const after of [0, 1, 17, 39, 40]) {
      const raw = await RawStream.open(server.url, recipient.token!, after);
      expect(raw.ready).toMatchObject({ after, headSeq: head, accountId: recipient.accountId, deviceId: recipient.deviceId });
      await raw.untilSeq(head);
      expect(raw.seqs()).toEqual(range(after + 1, head));
      const texts = raw.events.filter((e) => e.type === 'message.new').map(messageText);
      expect(texts).toEqual(range(Math.max(1, after), 39).map((i) => `m${i}`));
      await raw.close();
    }
    // A caught-up socket then gets the next event live, numbered head + 1.
    const live = await RawStream.open(server.url, recipient.token!, head);
    await sender.send(conversationId, { text: 'live' });
    await live.untilSeq(head + 1);
    expect(live.events.map((e) => [e.seq, messageText(e)])).toEqual([[head + 1, 'live']]);
    await live.close();
  });

  it('without after, a socket resumes where its device last acknowledged', async () => {
    const { sender, recipient, conversationId } = await pair();
    for (let i = 1; i <= 10; i++) await sender.send(conversationId, { text: `m${i}` });
    const first = await RawStream.open(server.url, recipient.token!);
    expect(first.ready.after).toBe(0);
    await first.untilSeq(11);
    first.ack(6);
    await eventually(async () => expect((await recipient.devices())[0]!.ackedSeq).toBe(6));
    await first.close();
    const second = await RawStream.open(server.url, recipient.token!);
    expect(second.ready).toMatchObject({ after: 6, headSeq: 11 });
    await second.untilSeq(11);
    expect(second.seqs()).toEqual(range(7, 11));
    await second.close();
  });

  it('a second device of the same account has its own cursor, and acks mark delivery for that device only', async () => {
    const { sender, recipient, conversationId } = await pair();
    const tablet = new ParleyClient({ baseUrl: server.url });
    const tabletSession = await tablet.login(recipient.handle, `password-${recipient.handle}`, 'tablet');
    const message = await sender.send(conversationId, { text: 'to both devices' });

    const phone = await RawStream.open(server.url, recipient.token!);
    await phone.untilSeq(2);
    phone.ack(2);
    await eventually(async () => {
      const devices = (await sender.receipts(message.id)).recipients[0]!.devices;
      expect(devices).toContainEqual({ deviceId: recipient.deviceId, delivered: true });
    });
    let receipts = await sender.receipts(message.id);
    expect(receipts.recipients[0]!.state).toBe('delivered');
    expect(receipts.recipients[0]!.devices).toHaveLength(2);
    expect(receipts.recipients[0]!.devices).toContainEqual({ deviceId: tabletSession.deviceId, delivered: false });
    expect(Object.fromEntries((await tablet.devices()).map((d) => [d.name, d.ackedSeq]))).toEqual({ [`${recipient.handle}-device`]: 2, tablet: 0 });

    // The tablet's own stream starts from its own cursor (0), not the phone's.
    const tabletStream = await RawStream.open(server.url, tablet.token!);
    expect(tabletStream.ready).toMatchObject({ after: 0, headSeq: 2, deviceId: tabletSession.deviceId });
    await tabletStream.untilSeq(2);
    expect(tabletStream.seqs()).toEqual([1, 2]);
    // Acknowledging over HTTP works the same way.
    expect(await tablet.ack(2)).toEqual({ ackedSeq: 2 });
    receipts = await sender.receipts(message.id);
    expect(receipts.recipients[0]!.devices).toContainEqual({ deviceId: tabletSession.deviceId, delivered: true });
    expect(receipts.recipients[0]!.devices).toContainEqual({ deviceId: recipient.deviceId, delivered: true });
    // The sender heard "delivered" once, from the first device.
    const delivered = (await allEvents(sender)).filter((e) => e.type === 'receipt');
    expect(delivered.map((e) => e.data)).toEqual([{ conversationId, accountId: recipient.accountId, state: 'delivered', upToSeq: message.seq, upToMessageId: message.id }]);
    // An older ack than the device's cursor changes nothing.
    expect(await tablet.ack(1)).toEqual({ ackedSeq: 2 });
    await phone.close();
    await tabletStream.close();
  });

  it('the recipient device acknowledging over the socket makes the sender see delivered on its own stream', async () => {
    const { sender, recipient, conversationId } = await pair();
    const senderStream = sender.stream();
    await senderStream.waitForState('open');
    const delivered = senderStream.waitFor((e) => e.type === 'receipt');
    const message = await sender.send(conversationId, { text: 'ping' });
    const raw = await RawStream.open(server.url, recipient.token!);
    await raw.untilSeq(2);
    expect((await sender.receipts(message.id)).recipients[0]!.state).toBe('sent');
    raw.ack(2);
    expect(((await delivered) as StreamEvent<'receipt'>).data).toMatchObject({ state: 'delivered', accountId: recipient.accountId, upToMessageId: message.id });
    senderStream.close();
    await raw.close();
  });

  describe('presence and typing', () => {
    it('presence reaches contacts as ephemeral frames: online, then offline with last seen', async () => {
      const { sender: alice, recipient: bob } = await pair();
      const aliceStream = alice.stream();
      await aliceStream.waitForState('open');
      const online = waitForPresence(aliceStream, bob.accountId, 'online');
      const bobStream = bob.stream();
      expect((await online).data).toEqual({ accountId: bob.accountId, status: 'online', lastSeenAt: null });
      expect(await alice.presence([bob.accountId])).toEqual([{ accountId: bob.accountId, status: 'online', lastSeenAt: null }]);

      const offline = waitForPresence(aliceStream, bob.accountId, 'offline');
      const before = Date.now();
      bobStream.close();
      const data = (await offline).data;
      expect(data.lastSeenAt).not.toBeNull();
      expect(Math.abs(Date.parse(data.lastSeenAt!) - before)).toBeLessThan(5_000);
      await eventually(async () => expect(await alice.presence([bob.accountId])).toEqual([{ accountId: bob.accountId, status: 'offline', lastSeenAt: data.lastSeenAt }]));
      aliceStream.close();
    });

    it('a user who hides last seen shows online/offline but never a last-seen time', async () => {
      const { sender: alice, recipient: bob } = await pair();
      await bob.updateMe({ privacy: { lastSeen: 'hidden' } });
      const aliceStream = alice.stream();
      await aliceStream.waitForState('open');
      const online = waitForPresence(aliceStream, bob.accountId, 'online');
      const bobStream = bob.stream();
      await online;
      const offline = waitForPresence(aliceStream, bob.accountId, 'offline');
      bobStream.close();
      expect((await offline).data).toEqual({ accountId: bob.accountId, status: 'offline', lastSeenAt: null });
      await eventually(async () => expect(await alice.presence([bob.accountId])).toEqual([{ accountId: bob.accountId, status: 'offline', lastSeenAt: null }]));
      // Bob still sees his own last seen.
      expect((await bob.presence([bob.accountId]))[0]!.lastSeenAt).not.toBeNull();
      aliceStream.close();
    });

    it('typing indicators reach the other member and are not stored', async () => {
      const { sender: alice, recipient: bob, conversationId } = await pair();
      const aliceStream = alice.stream();
      const bobStream = bob.stream();
      await Promise.all([aliceStream.waitForState('open'), bobStream.waitForState('open')]);
      const headBefore = (await alice.events({ after: 0 })).headSeq;

      const typing = waitForEphemeral(aliceStream, (e) => e.type === 'typing');
      bobStream.typing(conversationId, true);
      const event = await typing;
      expect(event.data).toMatchObject({ conversationId, accountId: bob.accountId, typing: true });
      expect((event.data as { ttlMs: number }).ttlMs).toBeGreaterThan(0);
      const stopped = waitForEphemeral(aliceStream, (e) => e.type === 'typing' && !(e.data as { typing: boolean }).typing);
      bobStream.typing(conversationId, false);
      await stopped;

      // Ephemeral means not numbered and not stored: the stored stream is unchanged.
      for (const user of [alice, bob]) {
        const { events } = await user.events({ after: 0 });
        expect(events.map((e) => e.type as string).filter((t) => t === 'typing' || t === 'presence')).toEqual([]);
      }
      expect((await alice.events({ after: 0 })).headSeq).toBe(headBefore);
      aliceStream.close();
      bobStream.close();
    });

    it('presence and typing do not reach accounts that share no conversation', async () => {
      const { sender: alice, recipient: bob, conversationId } = await pair();
      n++;
      const stranger = await server.user(`stranger${n}`);
      const strangerRaw = await RawStream.open(server.url, stranger.token!);
      const aliceStream = alice.stream();
      const bobStream = bob.stream();
      await Promise.all([aliceStream.waitForState('open'), bobStream.waitForState('open')]);
      const typing = waitForEphemeral(aliceStream, (e) => e.type === 'typing');
      bobStream.typing(conversationId, true);
      await typing;
      // The stranger's socket, open all along, saw nothing. A message sent to it afterwards arrives, so
      // anything sent earlier would have too.
      const direct = await bob.openDirect(stranger.accountId);
      const marker = await bob.send(direct.id, { text: 'marker' });
      await strangerRaw.until(() => strangerRaw.events.find((e) => e.type === 'message.new' && (e as StreamEvent<'message.new'>).data.message.id === marker.id));
      expect(strangerRaw.ephemerals.filter((e) => e.type === 'typing' || (e.type === 'presence' && (e as EphemeralEvent<'presence'>).data.accountId === alice.accountId))).toEqual([]);
      aliceStream.close();
      bobStream.close();
      await strangerRaw.close();
    });
  });
});

describe('event stream over HTTP (long-poll)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('answers at once when events are ready, and after the timeout with nothing when none are', async () => {
    const alice = await server.user('lp-alice');
    const bob = await server.user('lp-bob');
    const conversation = await alice.openDirect(bob.accountId);
    await alice.send(conversation.id, { text: 'ready already' });
    let start = Date.now();
    const ready = await bob.events({ after: 0, timeout: 10_000 });
    expect(Date.now() - start).toBeLessThan(2_000);
    expect(ready.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(ready.headSeq).toBe(2);

    start = Date.now();
    const empty = await bob.events({ after: 2, timeout: 300 });
    expect(Date.now() - start).toBeGreaterThanOrEqual(250);
    expect(empty).toEqual({ events: [], headSeq: 2 });
  });

  it('wakes up when an event arrives while waiting', async () => {
    const alice = await server.user('lp-carol');
    const bob = await server.user('lp-dave');
    const conversation = await alice.openDirect(bob.accountId);
    const waitingBefore = await metric(server, 'parley_ws_connections');
    const start = Date.now();
    const poll = bob.events({ after: 1, timeout: 20_000 });
    // The long-poll registers as a live listener while it waits.
    await eventually(async () => expect(await metric(server, 'parley_ws_connections')).toBe(waitingBefore + 1));
    const message = await alice.send(conversation.id, { text: 'wake up' });
    const { events, headSeq } = await poll;
    expect(Date.now() - start).toBeLessThan(10_000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ seq: 2, type: 'message.new', data: { message: { id: message.id, text: 'wake up' } } });
    expect(headSeq).toBe(2);
  });

  it('a long-poll whose client goes away stops waiting and lets go of its listener', async () => {
    const alice = await server.user('lp-gina');
    await alice.openDirect((await server.user('lp-hank')).accountId);
    const baseline = await metric(server, 'parley_ws_connections');
    const aborts = Array.from({ length: 5 }, () => new AbortController());
    const polls = aborts.map((a) =>
      fetch(`${server.url}/v1/events?after=1&timeout=60000`, { headers: { authorization: `Bearer ${alice.token}` }, signal: a.signal }).catch((e: Error) => e.name),
    );
    await eventually(async () => expect(await metric(server, 'parley_ws_connections')).toBe(baseline + 5));
    for (const a of aborts) a.abort();
    expect(await Promise.all(polls)).toEqual(Array(5).fill('AbortError'));
    await eventually(async () => expect(await metric(server, 'parley_ws_connections')).toBe(baseline));
  });

  it('without after it resumes from the device cursor; POST /v1/events/ack moves that cursor and marks delivery', async () => {
    const alice = await server.user('lp-erin');
    const bob = await server.user('lp-frank');
    const conversation = await alice.openDirect(bob.accountId);
    const message = await alice.send(conversation.id, { text: 'one' });
    await alice.send(conversation.id, { text: 'two' });
    expect((await bob.events()).events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(await bob.ack(2)).toEqual({ ackedSeq: 2 });
    expect((await bob.events()).events.map((e) => e.seq)).toEqual([3]);
    expect((await alice.receipts(message.id)).recipients[0]!.state).toBe('delivered');
    // Paging with limit keeps the order.
    expect((await bob.events({ after: 0, limit: 2 })).events.map((e) => e.seq)).toEqual([1, 2]);
  });
});

describe('event stream: slow consumers', () => {
  const LIMIT = 65_536;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ streamMaxBufferedBytes: LIMIT, maxMessageChars: 60_000 });
  });
  afterAll(async () => server?.close());

  it('a client that stops reading is closed with 4008 instead of buffering without bound, and resumes everything', async () => {
    const alice = await server.user('slow-alice');
    const bob = await server.user('slow-bob');
    const conversation = await alice.openDirect(bob.accountId);
    const raw = await RawStream.open(server.url, bob.token!, 0);
    await raw.untilSeq(1);
    // Stop reading: the kernel buffers fill, then the server's socket buffer.
    (raw.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    const big = 'x'.repeat(50_000);
    let sent = 0;
    const closedSlow = () => metric(server, 'parley_ws_closed_total', { reason: 'slow_consumer' });
    while ((await closedSlow()) === 0) {
      expect(sent, 'the server never closed the slow consumer').toBeLessThan(600);
      await Promise.all(range(1, 10).map((i) => alice.send(conversation.id, { text: `${sent + i} ${big}` })));
      sent += 10;
    }
    // Once closed, nothing more is queued for it: later messages produce no frames at all.
    const framesOut = await metric(server, 'parley_ws_frames_total', { direction: 'out', type: 'event' });
    for (let i = 0; i < 20; i++) await alice.send(conversation.id, { text: `${++sent} ${big}` });
    expect(await metric(server, 'parley_ws_frames_total', { direction: 'out', type: 'event' })).toBe(framesOut);
    // What the server holds for the dead socket stays near the limit (one frame over at most).
    const serverSockets = [...(server.app.http as unknown as { websocketServer: { clients: Set<WebSocket> } }).websocketServer.clients];
    for (const socket of serverSockets) expect(socket.bufferedAmount).toBeLessThanOrEqual(LIMIT + 2 * (big.length + 1_000));

    // Reading again, the client gets a gap-free prefix and then the 4008 close.
    (raw.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await raw.closed).code).toBe(4008);
    const head = sent + 1;
    expect(raw.seqs()).toEqual(range(1, raw.events.length));
    expect(raw.events.length).toBeLessThan(head);

    const resumed = await RawStream.open(server.url, bob.token!, raw.events.at(-1)!.seq);
    await resumed.untilSeq(head, 20_000);
    const all = [...raw.events, ...resumed.events];
    expect(all.map((e) => e.seq)).toEqual(range(1, head));
    const numbers = all.filter((e) => e.type === 'message.new').map((e) => Number(messageText(e).split(' ')[0]));
    expect(numbers.sort((a, b) => a - b)).toEqual(range(1, sent));
    await resumed.close();
  });

  it('a reader catching up on a backlog far larger than the buffer limit gets all of it on one connection', async () => {
    const alice = await server.user('backlog-alice');
    const bob = await server.user('backlog-bob');
    const conversation = await alice.openDirect(bob.accountId);
    const head = (await sendBacklog(alice, conversation.id)) + 1;
    const closedBefore = await metric(server, 'parley_ws_closed_total', { reason: 'slow_consumer' });
    const raw = await RawStream.open(server.url, bob.token!, 0);
    await raw.untilSeq(head, 20_000);
    expect(raw.seqs()).toEqual(range(1, head));
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    expect(await metric(server, 'parley_ws_closed_total', { reason: 'slow_consumer' })).toBe(closedBefore);
    await raw.close();
  });
});

describe('event stream: a reader that stops during catch-up', () => {
  const LIMIT = 65_536;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ streamMaxBufferedBytes: LIMIT, maxMessageChars: 60_000, heartbeatMs: 500 });
  });
  afterAll(async () => server?.close());

  it('is held to a bounded buffer, ended by the heartbeat, and then catches up in full', async () => {
    const alice = await server.user('stall-alice');
    const bob = await server.user('stall-bob');
    const conversation = await alice.openDirect(bob.accountId);
    const head = (await sendBacklog(alice, conversation.id)) + 1;

    // Say hello and stop reading at once: the backlog is replayed into a socket nobody reads.
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/stream`);
    const frames: ServerFrame[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as ServerFrame));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'hello', token: bob.token, after: 0 }));
    const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();

    const serverSockets = () => [...(server.app.http as unknown as { websocketServer: { clients: Set<WebSocket> } }).websocketServer.clients];
    let maxBuffered = 0;
    await eventually(async () => {
      for (const s of serverSockets()) maxBuffered = Math.max(maxBuffered, s.bufferedAmount);
      expect(await metric(server, 'parley_ws_closed_total', { reason: 'heartbeat' })).toBe(1);
    });
    // The server never held more than the limit for it (about one frame, in fact).
    expect(maxBuffered).toBeLessThanOrEqual(LIMIT);

    socket.resume();
    expect(await closed).toBe(1006);
    const events = frames.filter((f): f is Extract<ServerFrame, { type: 'event' }> => f.type === 'event').map((f) => f.event);
    expect(events.map((e) => e.seq)).toEqual(range(1, events.length));
    expect(events.length).toBeLessThan(head);

    const resumed = await RawStream.open(server.url, bob.token!, events.at(-1)?.seq ?? 0);
    await resumed.untilSeq(head, 20_000);
    expect([...events, ...resumed.events].map((e) => e.seq)).toEqual(range(1, head));
    await resumed.close();
  });
});

describe('event stream: heartbeats', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ heartbeatMs: 400 });
  });
  afterAll(async () => server?.close());

  it('a socket that does not answer pings is terminated and its owner goes offline; one that answers stays', async () => {
    const alice = await server.user('hb-alice');
    const bob = await server.user('hb-bob');
    await alice.openDirect(bob.accountId);
    const aliceStream = alice.stream();
    await aliceStream.waitForState('open');

    const online = waitForPresence(aliceStream, bob.accountId, 'online');
    const dead = await RawStream.open(server.url, bob.token!, undefined, { autoPong: false });
    await online;
    const offline = waitForPresence(aliceStream, bob.accountId, 'offline');
    const healthy = await RawStream.open(server.url, alice.token!);
    let pings = 0;
    healthy.ws.on('ping', () => pings++);

    const closed = await Promise.race([dead.closed, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5_000))]);
    // Terminated, not closed politely: no close frame, so the client sees 1006.
    expect(closed).toMatchObject({ code: 1006 });
    await offline;
    expect(await metric(server, 'parley_ws_closed_total', { reason: 'heartbeat' })).toBeGreaterThanOrEqual(1);

    await eventually(async () => expect(pings).toBeGreaterThanOrEqual(3));
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    expect(aliceStream.state).toBe('open');
    await healthy.close();
    aliceStream.close();
  });
});
