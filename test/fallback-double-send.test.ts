import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../sdk/index.js';
import { FALLBACK_SEND_TIMER } from '../src/modules/fallback/index.js';
import { freshStorage, startTestServer, type TestServer } from './support/server.js';

/** An HTTP SMS gateway that takes its time to accept, as real ones do: the window in which a second sender could slip in. */
async function startSlowGateway(delayMs: number) {
  const texts: { to: string; text: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      texts.push(JSON.parse(body) as { to: string; text: string });
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `gw-${texts.length}` }));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`,
    texts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('fallback SMS with two nodes on one database', () => {
  let gateway: Awaited<ReturnType<typeof startSlowGateway>>;
  const nodes: TestServer[] = [];
  let drop: () => Promise<void> = async () => {};

  beforeAll(async () => {
    gateway = await startSlowGateway(400);
    const shared = await freshStorage();
    drop = shared.drop;
    for (let i = 0; i < 2; i++) nodes.push(await startTestServer({ ...shared.overrides, smsChannel: 'http', smsHttpUrl: gateway.url, nodeId: `fallback-node-${i}` }));
  });
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await drop();
    await gateway.close();
  });

  it('a fallback whose send fires on two nodes at once goes to the gateway once', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const sender = await a.user('double-sender');
    const recipient = await a.user('double-recipient');
    const phone = '+4915112345699';
    await recipient.bindPhone(phone);
    await until(() => gateway.texts.some((t) => t.to === phone));
    await recipient.verifyPhone(/(\d{6})/.exec(gateway.texts.find((t) => t.to === phone)!.text)![1]!);
    const smsBefore = gateway.texts.length;

    const conversation = await sender.openDirect('double-recipient');
    const message = await sender.send(conversation.id, { text: 'are you there?', fallback: 'ask' });
    const stream = sender.stream();
    // Node A stores the fallback and fires its send timer at once; node B fires the same send
    // (a second timer for it) while A still waits on the gateway, as a node that outlived its
    // claim would.
    const [result] = await sender.fallback(message.id);
    expect(result!.outcome).toBe('scheduled');
    const { rows } = await rowsOf(a, message.id);
    await b.app.services.scheduler.schedule(b.app.services.storage.db, { kind: FALLBACK_SEND_TIMER, key: `duplicate:${rows[0]!.id}`, dueAt: Date.now(), payload: { fallbackId: rows[0]!.id } });

    await stream.waitFor((e) => e.type === 'fallback.sent' && (e as StreamEvent<'fallback.sent'>).data.messageId === message.id);
    // The second firing, refused while the first was in flight, retries a second later and finds it sent.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(gateway.texts.slice(smsBefore).filter((t) => t.to === phone)).toHaveLength(1);
    expect((await rowsOf(a, message.id)).rows[0]!.status).toBe('sent');
    const sent = (await sender.events({ after: 0 })).events.filter((e) => e.type === 'fallback.sent');
    expect(sent).toHaveLength(1);
    stream.close();
  }, 30_000);
});

async function rowsOf(node: TestServer, messageId: string) {
  const rows = await node.app.services.storage.db.selectFrom('fallbacks').select(['id', 'status']).where('message_id', '=', messageId).execute();
  return { rows };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
