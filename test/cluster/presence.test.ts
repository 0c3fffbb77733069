import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeClient, type EphemeralEvent, type ParleyClient, type ParleyStream, type Presence, type StreamEvent } from '../../sdk/node.js';
import { clusterSuiteRuns, recordEphemeral, startCluster, until, type Cluster } from './helpers.js';

const runs = await clusterSuiteRuns();

// Short, so a dead node's users go offline within the test; production keeps the 15 s default.
const PRESENCE_TTL_MS = 1_500;

interface User {
  handle: string;
  accountId: string;
  token: string;
}

const presenceOf = (events: EphemeralEvent[], accountId: string) =>
  events.filter((e) => e.type === 'presence' && (e.data as Presence).accountId === accountId).map((e) => (e.data as Presence).status);

describe.runIf(runs)('cluster: presence, typing and receipts across nodes', () => {
  let cluster: Cluster;
  let alice: User, bob: User, carol: User;
  let aliceStream: ParleyStream;
  let aliceSees: EphemeralEvent[];
  const streams: ParleyStream[] = [];

  const client = (user: User, node: number): ParleyClient => createNodeClient({ baseUrl: cluster.nodes[node]!.url, token: user.token });
  const connect = async (user: User, node: number) => {
    const stream = client(user, node).stream({ minBackoffMs: 100, maxBackoffMs: 500 });
    streams.push(stream);
    await stream.waitForState('open');
    return stream;
  };
  const statusOn = async (node: number, asker: User, user: User) => (await client(asker, node).presence([user.accountId]))[0]?.status;

  beforeAll(async () => {
    cluster = await startCluster(3, { PARLEY_PRESENCE_TTL_MS: String(PRESENCE_TTL_MS) });
    const stamp = Date.now().toString(36);
    const register = async (name: string, node: number): Promise<User> => {
      const c = createNodeClient({ baseUrl: cluster.nodes[node]!.url });
      const handle = `${name}_${stamp}`;
      const accountId = (await c.register({ handle, displayName: name, password: `password-${handle}` })).id;
      return { handle, accountId, token: (await c.login(handle, `password-${handle}`, `${handle}-device`)).token };
    };
    [alice, bob, carol] = [await register('alice', 0), await register('bob', 1), await register('carol', 2)];
    await client(alice, 0).openDirect(bob.handle);
    await client(alice, 0).openDirect(carol.handle);
    aliceStream = await connect(alice, 0);
    aliceSees = recordEphemeral(aliceStream);
  }, 90_000);

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await cluster?.close();
  }, 30_000);

  it('a user on node A sees a user on node B come online, type and go offline, and every node agrees', async () => {
    expect(await statusOn(2, alice, bob)).toBe('offline');
    const bobStream = await connect(bob, 1);
    await until(() => presenceOf(aliceSees, bob.accountId).includes('online'), () => 'no "online" for bob on alice\'s stream', 10_000);
    expect(await statusOn(0, alice, bob)).toBe('online');
    expect(await statusOn(2, alice, bob)).toBe('online');

    const direct = (await client(bob, 1).openDirect(alice.handle)).id;
    bobStream.typing(direct, true);
    await until(() => aliceSees.some((e) => e.type === 'typing' && (e.data as { accountId: string; typing: boolean }).accountId === bob.accountId), () => 'no typing from bob', 10_000);

    bobStream.close();
    await until(() => presenceOf(aliceSees, bob.accountId).at(-1) === 'offline', () => 'no "offline" for bob', 10_000);
    expect(await statusOn(2, alice, bob)).toBe('offline');
  });

  it('receipts cross nodes: a read on node A reaches the sender on node B', async () => {
    const bobStream = await connect(bob, 1);
    const direct = (await client(bob, 1).openDirect(alice.handle)).id;
    const sent = await client(bob, 1).send(direct, { text: 'read me across nodes' });
    await aliceStream.waitFor((e) => e.type === 'message.new' && (e as StreamEvent<'message.new'>).data.message.id === sent.id);
    await client(alice, 0).markRead(direct, sent.id);
    const receipt = (await bobStream.waitFor((e) => e.type === 'receipt' && (e as StreamEvent<'receipt'>).data.state === 'read')) as StreamEvent<'receipt'>;
    expect(receipt.data).toMatchObject({ accountId: alice.accountId, upToMessageId: sent.id });
    bobStream.close();
    await until(() => presenceOf(aliceSees, bob.accountId).at(-1) === 'offline', () => 'no "offline" for bob', 10_000);
  });

  it('a user with sockets on two nodes stays online when one closes, and goes offline with the last', async () => {
    const before = presenceOf(aliceSees, bob.accountId).length;
    const onNode1 = await connect(bob, 1);
    const onNode2 = await connect(bob, 2);
    await until(() => presenceOf(aliceSees, bob.accountId).length > before, () => 'no "online" for bob', 10_000);
    onNode1.close();
    // Long enough for a wrong "offline" to have arrived from node 1.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await statusOn(0, alice, bob)).toBe('online');
    expect(await statusOn(1, alice, bob)).toBe('online');
    expect(presenceOf(aliceSees, bob.accountId).slice(before)).toEqual(['online']);
    onNode2.close();
    await until(() => presenceOf(aliceSees, bob.accountId).at(-1) === 'offline', () => 'no "offline" after the last socket closed', 10_000);
    expect(presenceOf(aliceSees, bob.accountId).slice(before)).toEqual(['online', 'offline']);
  });

  it('kill -9 of a node: its users go offline, everywhere, within the presence heartbeat expiry', async () => {
    const carolStream = await connect(carol, 2);
    await until(async () => (await statusOn(0, alice, carol)) === 'online', () => 'carol not online', 10_000);
    const killedAt = Date.now();
    await cluster.crash(2);
    // The SDK would reconnect elsewhere; this user's device is gone with the node.
    carolStream.close();
    await until(() => presenceOf(aliceSees, carol.accountId).at(-1) === 'offline', () => 'no "offline" for carol after her node died', PRESENCE_TTL_MS * 4);
    const took = Date.now() - killedAt;
    expect(await statusOn(0, alice, carol)).toBe('offline');
    expect(await statusOn(1, alice, carol)).toBe('offline');
    // Expiry plus one heartbeat period of the survivor that notices, with room for a loaded machine.
    expect(took).toBeLessThan(PRESENCE_TTL_MS * 3);
  });
});
