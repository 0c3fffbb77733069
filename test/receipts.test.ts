import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../sdk/index.js';
import { startTestServer, type TestServer } from './support/server.js';

describe('delivery and read receipts', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('ticks go sent → delivered → read, and an offline sender sees the read on reconnect', async () => {
    const alice = await server.user('alice');
    const bob = await server.user('bob');
    const conversation = await alice.openDirect('bob');

    const aliceStream = alice.stream();
    await aliceStream.waitForState('open');
    const message = await alice.send(conversation.id, { text: 'hello bob', receipt: { read: true, within: 'PT5M' }, priority: 'high' });
    expect(message.seq).toBe(1);
    expect(message.options).toEqual({ receipt: { read: true, within: 'PT5M', deliveredWithin: null }, priority: 'high', fallback: 'auto', fallbackContent: 'content' });
    expect((await alice.receipts(message.id)).recipients[0]!.state).toBe('sent');

    // Bob's device connects, receives the message and acknowledges it: delivered.
    const delivered = aliceStream.waitFor((e) => e.type === 'receipt' && (e as StreamEvent<'receipt'>).data.state === 'delivered');
    const bobStream = bob.stream();
    const received = (await bobStream.waitFor((e) => e.type === 'message.new')) as StreamEvent<'message.new'>;
    expect(received.data.message.text).toBe('hello bob');
    const deliveredEvent = (await delivered) as StreamEvent<'receipt'>;
    expect(deliveredEvent.data).toMatchObject({ conversationId: conversation.id, accountId: bob.accountId, upToSeq: 1 });
    const afterDelivery = await alice.receipts(message.id);
    expect(afterDelivery.recipients[0]).toMatchObject({ accountId: bob.accountId, state: 'delivered' });
    expect(afterDelivery.recipients[0]!.devices).toEqual([{ deviceId: bob.deviceId, delivered: true }]);

    // Alice goes offline; Bob reads; Alice sees "read" when she comes back.
    aliceStream.close();
    const resumeAfter = aliceStream.lastSeq;
    await bob.markRead(conversation.id, message.id);
    expect((await alice.receipts(message.id)).counts).toEqual({ sent: 0, delivered: 0, read: 1 });
    const again = alice.stream({ after: resumeAfter });
    const read = (await again.waitFor((e) => e.type === 'receipt' && (e as StreamEvent<'receipt'>).data.state === 'read')) as StreamEvent<'receipt'>;
    expect(read.data).toMatchObject({ accountId: bob.accountId, upToMessageId: message.id, upToSeq: 1 });
    again.close();
    bobStream.close();
  });

  it('a read watermark covers every earlier message and clears the unread count', async () => {
    const carol = await server.user('carol');
    const dave = await server.user('dave');
    const conversation = await carol.openDirect(dave.accountId);
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await carol.send(conversation.id, { text: `m${i}` }));
    expect((await dave.conversations()).find((c) => c.id === conversation.id)?.unreadCount).toBe(5);
    await dave.markRead(conversation.id, sent[2]!.id);
    expect((await dave.conversations()).find((c) => c.id === conversation.id)?.unreadCount).toBe(2);
    const states = await Promise.all(sent.map(async (m) => (await carol.receipts(m.id)).recipients[0]!.state));
    expect(states).toEqual(['read', 'read', 'read', 'sent', 'sent']);
  });

  it('private read receipts: the watermark moves but the sender is told nothing', async () => {
    const erin = await server.user('erin');
    const frank = await server.user('frank');
    await frank.updateMe({ privacy: { readReceipts: 'private' } });
    const conversation = await erin.openDirect('frank');
    const message = await erin.send(conversation.id, { text: 'private?' });
    await frank.markRead(conversation.id, message.id);
    expect((await frank.conversations())[0]!.unreadCount).toBe(0);
    expect((await erin.receipts(message.id)).recipients[0]!.state).not.toBe('read');
    const { events } = await erin.events({ after: 0 });
    expect(events.filter((e) => e.type === 'receipt' && (e as StreamEvent<'receipt'>).data.state === 'read')).toEqual([]);
  });
});
