import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../sdk/index.js';
import { RedisBus } from '../src/bus/redis.js';
import { redisUrl, requireService } from './support/services.js';
import { freshStorage, startTestServer, type TestServer } from './support/server.js';

const redisUp = await requireService('Redis', redisUrl);

describe.runIf(redisUp)('Redis bus (cross-node fan-out)', () => {
  const nodes: TestServer[] = [];
  let drop: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const shared = await freshStorage();
    drop = shared.drop;
    nodes.push(await startTestServer({ ...shared.overrides, redisUrl }));
    nodes.push(await startTestServer({ ...shared.overrides, redisUrl }));
  });
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await drop();
  });

  it('a message published on one bus reaches a subscriber of another', async () => {
    const channel = `parley:test:${process.pid}:${Date.now()}`;
    const a = new RedisBus(redisUrl, channel);
    const b = new RedisBus(redisUrl, channel);
    await Promise.all([a.connect(), b.connect()]);
    const received = new Promise((resolve) => b.subscribe(resolve));
    a.publish({ kind: 'device.revoked', accountId: 'acc', deviceId: 'dev' });
    expect(await received).toEqual({ kind: 'device.revoked', accountId: 'acc', deviceId: 'dev' });
    await Promise.all([a.close(), b.close()]);
  });

  it('a user connected to node A receives, live, what a user on node B sent', async () => {
    const [nodeA, nodeB] = nodes as [TestServer, TestServer];
    const alice = await nodeA.user('alice-redis');
    const bob = await nodeB.user('bob-redis');
    const conversation = await bob.openDirect('alice-redis');
    const stream = alice.stream();
    await stream.waitForState('open');
    const arrived = stream.waitFor((e) => e.type === 'message.new');
    const sent = await bob.send(conversation.id, { text: 'across nodes' });
    const event = (await arrived) as StreamEvent<'message.new'>;
    expect(event.data.message.id).toBe(sent.id);
    stream.close();
  });
});
