import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ServerFrame } from '../src/protocol/frames.js';
import { createNodeClient, type Message, type StreamEvent } from '../sdk/node.js';
import { startChildServer, type ChildServer } from './support/child.js';
import { freshStorage } from './support/server.js';
import { fullHistory } from './support/read.js';

/** A raw stream client that acknowledges what it has processed, like a careful app would. */
class Recipient {
  readonly events: StreamEvent[] = [];
  ready: Extract<ServerFrame, { type: 'ready' }> | undefined;
  readonly closed: Promise<void>;
  private readonly ws: WebSocket;
  private readonly waiters = new Set<() => void>();

  constructor(url: string, token: string, after?: number) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/stream`);
    this.ws.on('open', () => this.ws.send(JSON.stringify(after === undefined ? { type: 'hello', token } : { type: 'hello', token, after })));
    this.ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      if (frame.type === 'ready') this.ready = frame;
      if (frame.type === 'event') {
        this.events.push(frame.event);
        this.ws.send(JSON.stringify({ type: 'ack', seq: frame.event.seq }));
      }
      for (const waiter of [...this.waiters]) waiter();
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) => this.ws.once('close', () => resolve()));
  }

  get lastSeq(): number {
    return this.events.at(-1)?.seq ?? this.ready?.after ?? 0;
  }

  until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(attempt);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(attempt);
        reject(new Error(`recipient stream: condition not met within ${timeoutMs} ms (last seq ${this.lastSeq})`));
      }, timeoutMs);
      this.waiters.add(attempt);
      attempt();
    });
  }

  close(): Promise<void> {
    this.ws.close();
    return this.closed;
  }
}

interface Attempt {
  sender: number;
  index: number;
  clientId: string;
  text: string;
  /** The message as acknowledged by the server (201/200), or undefined when no answer came. */
  acked?: Message;
}

async function post(baseUrl: string, token: string, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(baseUrl + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('crash: kill -9 under load, restart on the same data', () => {
  const children: ChildServer[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const child of children) if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    for (const cleanup of cleanups) await cleanup();
  });

  it('every acknowledged message survives exactly once, is streamed exactly once in order, and retries do not duplicate', async () => {
    const storage = await freshStorage();
    cleanups.push(storage.drop);
    // SQLite lives in DATA_DIR; PostgreSQL in its own fresh database (DATA_DIR then only holds nothing).
    const dataDir = storage.overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'parley-crash-'));
    if (!storage.overrides.dataDir) cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const storageEnv = { DATA_DIR: dataDir, DATABASE_URL: storage.overrides.databaseUrl ?? '' };

    let child = await startChildServer(storageEnv);
    children.push(child);
    const alice = createNodeClient({ baseUrl: child.url });
    await alice.register({ handle: 'alice', displayName: 'Alice', password: 'password-alice' });
    await alice.login('alice', 'password-alice', 'alice-main');
    const bob = createNodeClient({ baseUrl: child.url });
    await bob.register({ handle: 'bob', displayName: 'Bob', password: 'password-bob' });
    await bob.login('bob', 'password-bob', 'bob-phone');
    const conversation = await alice.openDirect('bob');

    // Four senders: Alice on four devices, each sending one message after another with its own clientIds.
    const SENDERS = 4;
    const senderTokens: string[] = [];
    for (let k = 0; k < SENDERS; k++) senderTokens.push((await createNodeClient({ baseUrl: child.url }).login('alice', 'password-alice', `sender-${k}`)).token);

    const recipient = new Recipient(child.url, bob.token!);
    const attempts: Attempt[] = [];
    let ackedCount = 0;
    let killed = false;
    const KILL_AFTER = 120;
    const kill = () => {
      if (killed) return;
      killed = true;
      child.proc.kill('SIGKILL');
    };
    const senders = Array.from({ length: SENDERS }, async (_, k) => {
      for (let index = 0; ; index++) {
        const attempt: Attempt = { sender: k, index, clientId: `s${k}-${index}`, text: `sender ${k} message ${index}` };
        attempts.push(attempt);
        try {
          const { status, json } = await post(child.url, senderTokens[k]!, `/v1/conversations/${conversation.id}/messages`, { clientId: attempt.clientId, text: attempt.text });
          if (status !== 201) throw new Error(`send answered ${status}: ${JSON.stringify(json)}`);
          attempt.acked = json.message as Message;
          if (++ackedCount >= KILL_AFTER) kill();
        } catch (err) {
          // No answer: the server died while (or before) handling it. Stop, as a client would.
          if (!killed) throw err;
          return;
        }
      }
    });
    await Promise.all(senders);
    await child.exited;
    expect(child.proc.signalCode).toBe('SIGKILL');
    await recipient.closed;

    const acked = attempts.filter((a) => a.acked);
    const unacked = attempts.filter((a) => !a.acked);
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER);
    // Load was real: every sender got messages through, and requests were in flight at the kill.
    for (let k = 0; k < SENDERS; k++) expect(acked.filter((a) => a.sender === k).length).toBeGreaterThan(0);
    expect(unacked.length).toBeGreaterThan(0);
    const seenBeforeCrash = [...recipient.events];

    // Restart on the same data.
    child = await startChildServer(storageEnv);
    children.push(child);
    const aliceAfter = createNodeClient({ baseUrl: child.url, token: alice.token });
    const bobAfter = createNodeClient({ baseUrl: child.url, token: bob.token });

    // Every acknowledged message exists, exactly once, with its text and clientId.
    let history = await fullHistory(bobAfter, conversation.id);
    const byClientId = new Map<string, Message[]>();
    for (const m of history) byClientId.set(m.clientId!, [...(byClientId.get(m.clientId!) ?? []), m]);
    for (const a of acked) {
      expect(byClientId.get(a.clientId), `acknowledged ${a.clientId} missing or duplicated`).toHaveLength(1);
      expect(byClientId.get(a.clientId)![0]).toMatchObject({ id: a.acked!.id, seq: a.acked!.seq, text: a.text });
    }
    // Nothing that was never attempted appears, and each sender's messages keep their sending order.
    const attempted = new Set(attempts.map((a) => a.clientId));
    expect(history.filter((m) => !attempted.has(m.clientId!))).toEqual([]);
    for (let k = 0; k < SENDERS; k++) {
      const indexes = history.filter((m) => m.clientId!.startsWith(`s${k}-`)).map((m) => Number(m.clientId!.split('-')[1]));
      expect(indexes).toEqual([...indexes].sort((x, y) => x - y));
    }

    // The recipient resumes from what it processed: the rest arrives exactly once, in order.
    const resumed = new Recipient(child.url, bob.token!, recipient.lastSeq);
    const headBeforeRetries = (await bobAfter.events({ after: 0, limit: 1 })).headSeq;
    await resumed.until(() => resumed.lastSeq >= headBeforeRetries);
    expect(resumed.ready?.after).toBe(recipient.lastSeq);

    // Senders retry what got no answer, with the same clientIds: no duplicates, the missing ones are added.
    for (const a of unacked) {
      const { status, json } = await post(child.url, senderTokens[a.sender]!, `/v1/conversations/${conversation.id}/messages`, { clientId: a.clientId, text: a.text });
      expect([200, 201]).toContain(status);
      a.acked = json.message as Message;
    }
    // Retrying an already acknowledged one returns it unchanged.
    const again = await post(child.url, senderTokens[acked[0]!.sender]!, `/v1/conversations/${conversation.id}/messages`, { clientId: acked[0]!.clientId, text: acked[0]!.text });
    expect(again.status).toBe(200);
    expect(again.json.message.id).toBe(acked[0]!.acked!.id);

    history = await fullHistory(aliceAfter, conversation.id);
    expect(history.map((m) => m.clientId).sort()).toEqual(attempts.map((a) => a.clientId).sort());
    expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));

    const head = (await bobAfter.events({ after: 0, limit: 1 })).headSeq;
    await resumed.until(() => resumed.lastSeq >= head);
    const delivered = [...seenBeforeCrash, ...resumed.events];
    // Gap-free and duplicate-free: 1..head exactly (conversation.created, then every message).
    expect(delivered.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    const streamed = delivered.filter((e) => e.type === 'message.new').map((e) => (e as StreamEvent<'message.new'>).data.message);
    expect(streamed.map((m) => m.id)).toEqual(history.map((m) => m.id));

    // The device's acknowledgement survived too: a hello without `after` starts at or before what
    // the recipient processed and never skips past it.
    await resumed.close();
    const fromAck = new Recipient(child.url, bob.token!);
    await fromAck.until(() => fromAck.lastSeq >= head);
    expect(fromAck.ready!.after).toBeGreaterThan(0);
    expect(fromAck.events.map((e) => e.seq)).toEqual(Array.from({ length: head - fromAck.ready!.after }, (_, i) => fromAck.ready!.after + i + 1));
    await fromAck.close();

    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    // Two child-process start-ups dominate; on a busy machine they alone can take many seconds.
  }, 90_000);
});
