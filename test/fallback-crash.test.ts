import { afterAll, describe, expect, it } from 'vitest';
import { createNodeClient, type StreamEvent } from '../sdk/node.js';
import { startChildServer, type ChildServer } from './support/child.js';
import { freshStorage } from './support/server.js';

describe('deadlines across a crash', () => {
  const children: ChildServer[] = [];
  afterAll(async () => {
    for (const child of children) if (child.proc.exitCode === null) await child.crash();
  });

  it('an unread deadline that passes while the server is down (kill -9) fires once right after restart', async () => {
    const storage = await freshStorage();
    // A fixed node id, as with a fixed PORT in production: the restarted node takes its claims back.
    const env = { DATA_DIR: storage.overrides.dataDir ?? '', DATABASE_URL: storage.overrides.databaseUrl ?? '', PARLEY_NODE_ID: 'crash-node' };
    try {
      const first = await startChildServer(env);
      children.push(first);
      const sender = createNodeClient({ baseUrl: first.url });
      const recipient = createNodeClient({ baseUrl: first.url });
      await sender.register({ handle: 'sender', displayName: 'Sender', password: 'password-sender' });
      await recipient.register({ handle: 'recipient', displayName: 'Recipient', password: 'password-recipient' });
      await sender.login('sender', 'password-sender');
      const conversation = await sender.openDirect('recipient');
      const message = await sender.send(conversation.id, { text: 'read me', receipt: { read: true, within: 1500 } });
      await new Promise((r) => setTimeout(r, 1200)); // long enough for the node to claim the timer into memory
      await first.crash();
      await new Promise((r) => setTimeout(r, 2000)); // the deadline passes while nothing runs

      const second = await startChildServer(env);
      children.push(second);
      const restarted = Date.now();
      const again = createNodeClient({ baseUrl: second.url, token: sender.token });
      const stream = again.stream({ after: 0 });
      const unread = (await stream.waitFor((e) => e.type === 'message.unread', 10_000)) as StreamEvent<'message.unread'>;
      expect(unread.data).toMatchObject({ messageId: message.id, kind: 'read' });
      expect(Date.now() - restarted).toBeLessThan(5000);
      await new Promise((r) => setTimeout(r, 1500));
      const { events } = await again.events({ after: 0 });
      expect(events.filter((e) => e.type === 'message.unread')).toHaveLength(1);
      stream.close();
      await second.crash();
    } finally {
      await storage.drop();
    }
  }, 60_000);
});
