import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeClient, type Message, type ParleyClient, type ParleyStream, type StreamEvent } from '../../sdk/node.js';
import { startChildServer, type ChildServer } from '../support/child.js';
import { freshPostgresDatabase } from '../support/server.js';
import { redisUrl } from '../support/services.js';
import { clusterSuiteRuns, NODE_START_TIMEOUT_MS, pooled, until } from './helpers.js';

const runs = await clusterSuiteRuns();

const NODES = 3;
const CLIENTS = 200;

/** One user with one device, and everything its stream handed over, across reconnects and nodes. */
interface Peer {
  index: number;
  handle: string;
  accountId: string;
  token: string;
  /** Which node it talks to now; moves when that node dies. */
  node: number;
  stream?: ParleyStream;
  /** The node its stream is connected to (sends may have moved on already). */
  streamNode: number;
  /** Messages from others, in the order the stream handed them over. */
  received: Message[];
}

describe.runIf(runs)('cluster: three nodes on one PostgreSQL and one Redis', () => {
  const nodes: ChildServer[] = [];
  const alive = new Set<number>();
  const peers: Peer[] = [];
  /** Direct conversations, each between peers 2k and 2k+1, which always sit on different nodes. */
  const pairs: { a: Peer; b: Peer; conversationId: string }[] = [];
  let database: { url: string; drop: () => Promise<void> };
  let dataDir = '';
  let sql: pg.Client;

  const urlOf = (node: number) => nodes[node]!.url;
  const clientOf = (peer: Peer): ParleyClient => createNodeClient({ baseUrl: urlOf(peer.node), token: peer.token });
  const openStream = (peer: Peer, after?: number) => {
    const stream = clientOf(peer).stream({ ...(after === undefined ? {} : { after }), minBackoffMs: 100, maxBackoffMs: 1_000 });
    stream.on('event', (event: StreamEvent) => {
      if (event.type !== 'message.new') return;
      const message = (event as StreamEvent<'message.new'>).data.message;
      if (message.senderId !== peer.accountId) peer.received.push(message);
    });
    peer.stream = stream;
    peer.streamNode = peer.node;
  };

  beforeAll(async () => {
    database = await freshPostgresDatabase();
    // Blobs live on disk: nodes behind one address must share the directory (NFS or the like in production).
    dataDir = mkdtempSync(join(tmpdir(), 'parley-cluster-'));
    sql = new pg.Client({ connectionString: database.url });
    // All nodes start at once, as a deployment would: migrations must not trip over each other.
    // Each is recorded as soon as it runs, so a failed start still leaves none behind.
    await Promise.all(
      Array.from({ length: NODES }, async (_, i) => {
        nodes[i] = await startChildServer({ DATABASE_URL: database.url, DATA_DIR: dataDir, REDIS_URL: redisUrl, PARLEY_NODE_ID: `node-${i}` }, NODE_START_TIMEOUT_MS);
      }),
    );
    for (let i = 0; i < NODES; i++) alive.add(i);
    await sql.connect();

    const stamp = Date.now().toString(36);
    for (let i = 0; i < CLIENTS; i++) peers.push({ index: i, handle: `c${i}_${stamp}`, accountId: '', token: '', node: i % NODES, received: [], streamNode: i % NODES });
    await pooled(peers, 12, async (peer) => {
      const client = createNodeClient({ baseUrl: urlOf(peer.node) });
      peer.accountId = (await client.register({ handle: peer.handle, displayName: peer.handle, password: `password-${peer.handle}` })).id;
      peer.token = (await client.login(peer.handle, `password-${peer.handle}`, `${peer.handle}-device`)).token;
    });
    for (let k = 0; k < CLIENTS / 2; k++) {
      const [a, b] = [peers[2 * k]!, peers[2 * k + 1]!];
      pairs.push({ a, b, conversationId: (await clientOf(a).openDirect(b.handle)).id });
    }
    for (const peer of peers) openStream(peer);
    await Promise.all(peers.map((p) => p.stream!.waitForState('open', 20_000)));
  }, 120_000);

  afterAll(async () => {
    for (const peer of peers) peer.stream?.close();
    for (const node of nodes) if (node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await sql?.end();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  /** What `receiver` got from `sender` in their conversation, as message texts in arrival order. */
  const textsFrom = (receiver: Peer, sender: Peer, prefix: string) =>
    receiver.received.filter((m) => m.senderId === sender.accountId && m.text.startsWith(prefix)).map((m) => m.text);
  const expected = (prefix: string, sender: Peer, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${sender.index}:${i}`);

  /** Every message sent arrives exactly once, in sending order, at its receiver, and conversation seqs rise. */
  async function expectDelivered(prefix: string, count: number): Promise<void> {
    const complete = () => pairs.every(({ a, b }) => textsFrom(b, a, prefix).length >= count && textsFrom(a, b, prefix).length >= count);
    await until(complete, () => `${pairs.filter(({ a, b }) => textsFrom(b, a, prefix).length < count || textsFrom(a, b, prefix).length < count).length} conversations incomplete`);
    // Late duplicates would arrive after completion: give them a moment to show up.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const { a, b, conversationId } of pairs) {
      for (const [sender, receiver] of [[a, b], [b, a]] as const) {
        expect(textsFrom(receiver, sender, prefix), `${sender.handle} → ${receiver.handle}`).toEqual(expected(prefix, sender, count));
        const seqs = receiver.received.filter((m) => m.conversationId === conversationId).map((m) => m.seq);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        expect(new Set(seqs).size).toBe(seqs.length);
      }
    }
  }

  it('200 clients spread over three nodes: every message arrives exactly once, in order per conversation', async () => {
    const PER_SENDER = 10;
    await pooled(peers, 50, async (peer) => {
      const pair = pairs[Math.floor(peer.index / 2)]!;
      const client = clientOf(peer);
      for (let i = 0; i < PER_SENDER; i++) await client.send(pair.conversationId, { clientId: `live-${peer.index}-${i}`, text: `live:${peer.index}:${i}` });
    });
    await expectDelivered('live:', PER_SENDER);
  }, 90_000);

  it('kill -9 of a node under load: its clients move to another node and resume; every acknowledged message arrives exactly once, in order', async () => {
    const PER_SENDER = 10;
    const victim = NODES - 1;
    let acked = 0;
    let killed = false;
    const failover = (peer: Peer) => {
      if (alive.has(peer.node)) return;
      peer.node = (peer.node + 1) % NODES;
    };
    const sending = pooled(peers, 60, async (peer) => {
      const pair = pairs[Math.floor(peer.index / 2)]!;
      for (let i = 0; i < PER_SENDER; i++) {
        // A send that got no answer is sent again with the same clientId (through a live node):
        // the server keeps it once whether or not the first try committed.
        for (let attempt = 0; ; attempt++) {
          try {
            await clientOf(peer).send(pair.conversationId, { clientId: `kill-${peer.index}-${i}`, text: `kill:${peer.index}:${i}` });
            break;
          } catch (err) {
            if (!killed || attempt > 20) throw err;
            failover(peer);
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
        if (++acked === (CLIENTS * PER_SENDER) / 4) {
          killed = true;
          alive.delete(victim);
          nodes[victim]!.proc.kill('SIGKILL');
        }
      }
    });
    await until(() => killed, () => 'the node was not killed', 60_000);
    await nodes[victim]!.exited;
    // The victim's clients reconnect elsewhere, resuming after the last event their stream handed over.
    for (const peer of peers.filter((p) => p.streamNode === victim)) {
      const lastSeq = peer.stream!.lastSeq;
      peer.stream!.close();
      failover(peer);
      openStream(peer, lastSeq);
    }
    await sending;
    expect(nodes[victim]!.proc.signalCode).toBe('SIGKILL');
    expect(peers.filter((p) => p.index % NODES === victim).every((p) => p.node !== victim && p.streamNode !== victim)).toBe(true);
    await expectDelivered('kill:', PER_SENDER);
  }, 120_000);

  it('10,000 read deadlines due in the same second, spread over three nodes, each fire exactly once', async () => {
    // Earlier tests may have left a node dead; timers must fire on those still alive.
    const live = [...alive];
    const SENDERS = 10;
    const MESSAGES = 10;
    const RECIPIENTS = 100;
    const senders = peers.slice(0, SENDERS);
    const recipients = peers.slice(SENDERS, SENDERS + RECIPIENTS);
    const groups = await Promise.all(senders.map((s) => clientOf(s).createGroup(`deadlines ${s.index}`, recipients.map((r) => r.handle))));
    // One moment for every deadline: each send asks for "unread by then", however long sending takes
    // (on a loaded machine sending can outlast it; those deadlines are then due at once, still fine).
    const dueAt = Date.now() + 10_000;
    const messageIds: string[] = [];
    await pooled(senders, SENDERS, async (sender) => {
      const group = groups[senders.indexOf(sender)]!;
      // The senders take turns over the live nodes, so every node schedules some of the timers.
      const client = createNodeClient({ baseUrl: urlOf(live[sender.index % live.length]!), token: sender.token });
      for (let i = 0; i < MESSAGES; i++) {
        const sent = await client.send(group.id, { text: `deadline ${i}`, receipt: { read: true, within: Math.max(0, dueAt - Date.now()) }, fallback: 'never' });
        messageIds.push(sent.id);
      }
    });
    const fired = async () => {
      const { rows } = await sql.query<{ n: string; distinct_n: string }>(
        `SELECT count(*) AS n, count(DISTINCT (message_id, data::json->>'accountId')) AS distinct_n FROM events WHERE type = 'message.unread' AND message_id = ANY($1)`,
        [messageIds],
      );
      return { n: Number(rows[0]!.n), distinct: Number(rows[0]!.distinct_n) };
    };
    const total = SENDERS * MESSAGES * RECIPIENTS;
    const started = Date.now();
    let count = { n: 0, distinct: 0 };
    for (let i = 0; count.n < total && Date.now() < Math.max(dueAt, started) + 60_000; i++) {
      count = await fired();
      if (count.n < total) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // Stragglers (a duplicate fired by a second node) would land shortly after the rest.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    count = await fired();
    expect(count).toEqual({ n: total, distinct: total });
    const { rows } = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM timers WHERE key LIKE 'read-deadline:%'`);
    expect(Number(rows[0]!.n)).toBe(0);
  }, 180_000);
});
