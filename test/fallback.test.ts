import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient, ParleyError, StreamEvent } from '../sdk/index.js';
import type { ParleyStream } from '../sdk/stream.js';
import { startTestServer, type TestServer } from './support/server.js';

// Deadlines here are real time but short (hundreds of ms, given as integers): the same code path
// as PT5M without faking the clock.
type User = ParleyClient & { accountId: string; handle: string };

describe('unread deadlines and SMS/e-mail fallback', () => {
  let server: TestServer;
  let admin: User;
  let n = 0;

  beforeAll(async () => {
    server = await startTestServer({ fallbackPerRecipientPerHour: 3 });
    admin = await server.user('admin'); // the first account administers the server and reads the outbox
  });
  afterAll(async () => server?.close());

  async function pair(opts: { phone?: string; email?: string } = {}): Promise<{ sender: User; recipient: User; conversationId: string }> {
    n++;
    const sender = await server.user(`sender${n}`, `Sender ${n}`);
    const recipient = await server.user(`recipient${n}`);
    if (opts.phone) {
      await recipient.bindPhone(opts.phone);
      await recipient.verifyPhone(await latestCode('sms', opts.phone));
    }
    if (opts.email) {
      await recipient.bindEmail(opts.email);
      await recipient.verifyEmail(await latestCode('email', opts.email));
    }
    const conversation = await sender.openDirect(recipient.accountId);
    return { sender, recipient, conversationId: conversation.id };
  }

  async function latestCode(channel: 'sms' | 'email', to: string): Promise<string> {
    const item = (await admin.outbox({ channel })).find((i) => i.recipient === to);
    return /(\d{6})/.exec(item!.body)![1]!;
  }

  async function open(client: User): Promise<ParleyStream> {
    const stream = client.stream();
    await stream.waitForState('open');
    return stream;
  }

  const ofType = <T extends StreamEvent['type']>(type: T) => (e: StreamEvent) => e.type === type;

  it('read before the deadline: the sender is told "read" and never "unread"', async () => {
    const { sender, recipient, conversationId } = await pair();
    const stream = await open(sender);
    const message = await sender.send(conversationId, { text: 'quick one', receipt: { read: true, within: 500 } });
    await recipient.markRead(conversationId, message.id);
    await stream.waitFor((e) => e.type === 'receipt' && (e as StreamEvent<'receipt'>).data.state === 'read');
    await new Promise((r) => setTimeout(r, 800));
    const { events } = await sender.events({ after: 0 });
    expect(events.filter(ofType('message.unread'))).toEqual([]);
    stream.close();
  });

  it('not read in time: the sender gets message.unread, then "read" when it is read late', async () => {
    const { sender, recipient, conversationId } = await pair();
    const stream = await open(sender);
    const message = await sender.send(conversationId, { text: 'are you there?', receipt: { read: true, within: 300 } });
    const unread = (await stream.waitFor(ofType('message.unread'))) as StreamEvent<'message.unread'>;
    expect(unread.data).toMatchObject({ messageId: message.id, accountId: recipient.accountId, kind: 'read', fallback: 'available' });
    expect(Date.parse(unread.at) - Date.parse(message.createdAt)).toBeGreaterThanOrEqual(300);
    await recipient.markRead(conversationId, message.id);
    const read = (await stream.waitFor((e) => e.type === 'receipt' && (e as StreamEvent<'receipt'>).data.state === 'read')) as StreamEvent<'receipt'>;
    expect(read.seq).toBeGreaterThan(unread.seq);
    stream.close();
  });

  it('an urgent unread message goes out by SMS with the sender name; the sender sees sent then delivered, never the number', async () => {
    const { sender, recipient, conversationId } = await pair({ phone: '+4915112345670' });
    const stream = await open(sender);
    const message = await sender.send(conversationId, { text: 'Call me back, it is urgent', receipt: { read: true, within: 300 }, priority: 'urgent' });
    const unread = (await stream.waitFor(ofType('message.unread'))) as StreamEvent<'message.unread'>;
    expect(unread.data.fallback).toBe('scheduled');
    const sent = (await stream.waitFor(ofType('fallback.sent'))) as StreamEvent<'fallback.sent'>;
    expect(sent.data).toMatchObject({ messageId: message.id, accountId: recipient.accountId, channel: 'sms', parts: 1 });
    const delivered = await stream.waitFor(ofType('fallback.delivered'));
    expect(delivered.seq).toBeGreaterThan(sent.seq);
    const sms = (await admin.outbox({ channel: 'sms' })).filter((i) => i.recipient === '+4915112345670' && i.purpose === 'fallback');
    expect(sms).toHaveLength(1);
    expect(sms[0]!.body).toBe(`[Parley] Sender ${n}: Call me back, it is urgent`);
    const { events } = await sender.events({ after: 0 });
    expect(JSON.stringify(events)).not.toContain('+4915112345670');
    stream.close();
  });

  it('a sender offline throughout sees unread, fallback.sent and fallback.delivered in order at login', async () => {
    const { sender, conversationId } = await pair({ phone: '+4915112345671' });
    const message = await sender.send(conversationId, { text: 'offline sender', receipt: { read: true, within: 200 }, priority: 'urgent' });
    // Wait for the whole chain to complete server-side without the sender connected.
    const deadline = Date.now() + 5000;
    while (!(await admin.outbox({ channel: 'sms' })).some((i) => i.recipient === '+4915112345671' && i.purpose === 'fallback')) {
      if (Date.now() > deadline) throw new Error('fallback SMS never sent');
      await new Promise((r) => setTimeout(r, 50));
    }
    const stream = await open(sender);
    await stream.waitFor(ofType('fallback.delivered'));
    const { events } = await sender.events({ after: 0 });
    const chain = events.filter((e) => ['message.unread', 'fallback.sent', 'fallback.delivered'].includes(e.type)).map((e) => e.type);
    expect(chain).toEqual(['message.unread', 'fallback.sent', 'fallback.delivered']);
    expect(events.filter(ofType('message.unread'))[0]!.data).toMatchObject({ messageId: message.id });
    stream.close();
  });

  it('with private read receipts the sender is told neither read nor unread, and no SMS goes out', async () => {
    const { sender, recipient, conversationId } = await pair({ phone: '+4915112345672' });
    await recipient.updateMe({ privacy: { readReceipts: 'private' } });
    await sender.send(conversationId, { text: 'private', receipt: { read: true, within: 200 }, priority: 'urgent' });
    await new Promise((r) => setTimeout(r, 700));
    const { events } = await sender.events({ after: 0 });
    expect(events.filter((e) => e.type === 'message.unread' || e.type.startsWith('fallback.'))).toEqual([]);
    expect((await admin.outbox({ channel: 'sms' })).filter((i) => i.recipient === '+4915112345672' && i.purpose === 'fallback')).toEqual([]);
  });

  it('the delivered deadline fires when no device of the recipient received the message', async () => {
    const { sender, recipient, conversationId } = await pair();
    const stream = await open(sender);
    const message = await sender.send(conversationId, { text: 'anyone?', receipt: { deliveredWithin: 300 } });
    const unread = (await stream.waitFor(ofType('message.unread'))) as StreamEvent<'message.unread'>;
    expect(unread.data).toMatchObject({ messageId: message.id, accountId: recipient.accountId, kind: 'delivered' });
    expect(message.options.receipt.deliveredWithin).toBe('PT0.3S');
    stream.close();
  });

  it('the sender commands a fallback before the deadline; e-mail is used when the recipient prefers it', async () => {
    const { sender, recipient, conversationId } = await pair({ phone: '+4915112345673', email: 'r@example.org' });
    await recipient.updateMe({ fallback: { channel: 'email' } });
    const stream = await open(sender);
    const message = await sender.send(conversationId, { text: 'see mail', fallback: 'ask', fallbackContent: 'notice' });
    const results = await sender.request<{ results: unknown[] }>('POST', `/v1/messages/${message.id}/fallback`, {});
    expect(results.results).toEqual([{ accountId: recipient.accountId, outcome: 'scheduled' }]);
    const sent = (await stream.waitFor(ofType('fallback.sent'))) as StreamEvent<'fallback.sent'>;
    expect(sent.data.channel).toBe('email');
    const mail = (await admin.outbox({ channel: 'email' })).find((i) => i.recipient === 'r@example.org' && i.purpose === 'fallback');
    expect(mail!.body).toBe(`[Parley] Sender ${n} sent you a message you have not read yet. Open Parley to read it.`);
    stream.close();
  });

  it('a file message falls back with its name, never its bytes', async () => {
    const { sender, conversationId } = await pair({ phone: '+4915112345676' });
    const bytes = new TextEncoder().encode('quarterly figures');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const { message } = await sender.sendFile(conversationId, new Blob([bytes]), { sha256, name: 'report.pdf', mime: 'application/pdf' });
    await sender.fallback(message.id);
    const deadline = Date.now() + 5000;
    let sms;
    while (!(sms = (await admin.outbox({ channel: 'sms' })).find((i) => i.recipient === '+4915112345676' && i.purpose === 'fallback'))) {
      if (Date.now() > deadline) throw new Error('no fallback SMS');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sms.body).toBe(`[Parley] Sender ${n}: sent you a file, report.pdf. Open Parley to download it.`);
  });

  it('refuses fallback commands with clear codes', async () => {
    const { sender, recipient, conversationId } = await pair({ phone: '+4915112345674' });
    const never = await sender.send(conversationId, { text: 'no sms', fallback: 'never' });
    await expect(sender.request('POST', `/v1/messages/${never.id}/fallback`, {})).rejects.toMatchObject({ code: 'FALLBACK_DISABLED', status: 409 });
    await expect(recipient.request('POST', `/v1/messages/${never.id}/fallback`, {})).rejects.toMatchObject({ code: 'NOT_MESSAGE_SENDER', status: 403 });
    const outsider = await server.user(`outsider${n}`);
    await expect(outsider.request('POST', `/v1/messages/${never.id}/fallback`, {})).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND', status: 404 });
    const read = await sender.send(conversationId, { text: 'already read' });
    await recipient.markRead(conversationId, read.id);
    await expect(sender.request('POST', `/v1/messages/${read.id}/fallback`, {})).rejects.toMatchObject({ code: 'FALLBACK_NOT_NEEDED' });

    const other = await pair();
    const noNumber = await other.sender.send(other.conversationId, { text: 'no number' });
    await expect(other.sender.request('POST', `/v1/messages/${noNumber.id}/fallback`, {})).rejects.toMatchObject({ code: 'FALLBACK_NO_CONTACT', status: 409 });

    // The recipient's hourly limit (3 in this server) holds however many messages ask for it.
    for (let i = 0; i < 3; i++) {
      const m = await sender.send(conversationId, { text: `pump ${i}` });
      await sender.request('POST', `/v1/messages/${m.id}/fallback`, {});
    }
    const fourth = await sender.send(conversationId, { text: 'pump 3' });
    const refused = (await sender.request('POST', `/v1/messages/${fourth.id}/fallback`, {}).catch((e: unknown) => e)) as ParleyError;
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(refused.details).toMatchObject({ retryAfterMs: 3_600_000 });
  });

  it('quiet hours defer a non-urgent fallback to their end; urgent goes at once', async () => {
    const { sender, recipient, conversationId } = await pair({ phone: '+4915112345675' });
    await sender.updateMe({ fallback: { minPriority: 'high' } });
    const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
    await recipient.updateMe({ quietHours: { start: hhmm(Date.now() - 3_600_000), end: hhmm(Date.now() + 3_600_000), timeZone: 'UTC' } });
    const stream = await open(sender);
    await sender.send(conversationId, { text: 'high, not urgent', receipt: { read: true, within: 200 }, priority: 'high' });
    const deferred = (await stream.waitFor(ofType('fallback.deferred'))) as StreamEvent<'fallback.deferred'>;
    const until = Date.parse(deferred.data.until);
    expect(until).toBeGreaterThan(Date.now() + 3_500_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 3_600_000);
    await sender.send(conversationId, { text: 'urgent', receipt: { read: true, within: 200 }, priority: 'urgent' });
    await stream.waitFor(ofType('fallback.sent'));
    stream.close();
  });

  it('refuses invalid deadlines and settings with clear codes', async () => {
    const { sender, conversationId } = await pair();
    await expect(sender.send(conversationId, { text: 'x', receipt: { read: true, within: 'P1M' } })).rejects.toMatchObject({ code: 'INVALID_DURATION' });
    await expect(sender.send(conversationId, { text: 'x', receipt: { deliveredWithin: 'P400D' } })).rejects.toMatchObject({ code: 'DURATION_TOO_LONG' });
    await expect(sender.updateMe({ quietHours: { start: '25:00', end: '07:00', timeZone: 'UTC' } })).rejects.toMatchObject({ code: 'INVALID_TIME_OF_DAY' });
    await expect(sender.updateMe({ quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus' } })).rejects.toMatchObject({ code: 'INVALID_TIME_ZONE' });
    expect((await sender.history(conversationId)).messages).toEqual([]);
    expect((await sender.me()).quietHours).toBeNull();
  });
});
