import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient, StreamEvent } from '../sdk/index.js';
import { TestSmsc } from './channels/smsc.js';
import { startTestServer, type TestServer } from './support/server.js';

type User = ParleyClient & { accountId: string; handle: string };

/** Reassembles concatenated parts the SMSC stored for `destination`, in order. */
function storedText(smsc: TestSmsc, destination: string): string[] {
  const messages: string[] = [];
  const parts = new Map<number, { total: number; pieces: string[] }>();
  for (const s of smsc.stored.filter((x) => x.destination === destination)) {
    const concat = s.udh.find((ie) => ie[0] === 0x00);
    if (!concat) {
      messages.push(s.text);
      continue;
    }
    const [, , ref, total, seq] = concat;
    const entry = parts.get(ref!) ?? { total: total!, pieces: [] };
    entry.pieces[seq! - 1] = s.text;
    parts.set(ref!, entry);
    if (entry.pieces.filter((p) => p !== undefined).length === entry.total) messages.push(entry.pieces.join(''));
  }
  return messages;
}

describe('fallback over SMPP to a loopback SMSC', () => {
  let smsc: TestSmsc;
  let server: TestServer;
  let sender: User;
  let recipient: User;
  let conversationId: string;
  const phone = '+8613800138000';

  beforeAll(async () => {
    smsc = await new TestSmsc().start();
    server = await startTestServer({ smsChannel: 'smpp', smppUrl: smsc.url(), smsFrom: 'Parley' });
    sender = await server.user('sender', '张三');
    recipient = await server.user('recipient');
    await recipient.bindPhone(phone);
    await smsc.until(() => storedText(smsc, phone.slice(1)).length + storedText(smsc, phone).length > 0);
    const codeSms = [...storedText(smsc, phone.slice(1)), ...storedText(smsc, phone)][0]!;
    await recipient.verifyPhone(/(\d{6})/.exec(codeSms)![1]!);
    conversationId = (await sender.openDirect('recipient')).id;
  });
  afterAll(async () => {
    await server?.close();
    await smsc?.stop();
  });

  const destination = () => smsc.stored.find((s) => s.destination.endsWith('8613800138000'))!.destination;

  it('a Chinese urgent message unread in time arrives as concatenated UCS-2 SMS; the receipt becomes fallback.delivered', async () => {
    const stream = sender.stream();
    await stream.waitForState('open');
    const text = '请尽快回电话，'.repeat(20); // 140 characters: three UCS-2 parts with the label
    const message = await sender.send(conversationId, { text, receipt: { read: true, within: 200 }, priority: 'urgent' });
    const sent = (await stream.waitFor((e) => e.type === 'fallback.sent')) as StreamEvent<'fallback.sent'>;
    expect(sent.data).toMatchObject({ messageId: message.id, channel: 'sms', parts: 3 });
    const before = smsc.stored.length;
    await smsc.until(() => storedText(smsc, destination()).includes(`[Parley] 张三: ${text}`));
    expect(smsc.stored.length).toBe(before);
    const parts = smsc.stored.filter((s) => s.destination === destination() && s.dataCoding === 0x08);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts.slice(-3)) await smsc.receipt(part.messageId, 'DELIVRD', { tlv: true });
    const delivered = (await stream.waitFor((e) => e.type === 'fallback.delivered')) as StreamEvent<'fallback.delivered'>;
    expect(delivered.data).toMatchObject({ messageId: message.id, accountId: recipient.accountId, channel: 'sms' });
    stream.close();
  });

  it('an undeliverable SMS becomes fallback.failed for the sender', async () => {
    const stream = sender.stream();
    await stream.waitForState('open');
    const message = await sender.send(conversationId, { text: 'short one', receipt: { read: true, within: 200 }, priority: 'urgent' });
    await stream.waitFor((e) => e.type === 'fallback.sent' && (e as StreamEvent<'fallback.sent'>).data.messageId === message.id);
    await smsc.until(() => storedText(smsc, destination()).includes('[Parley] 张三: short one'));
    const stored = smsc.stored.filter((s) => s.destination === destination()).at(-1)!;
    await smsc.receipt(stored.messageId, 'UNDELIV', { err: '001' });
    const failed = (await stream.waitFor((e) => e.type === 'fallback.failed' && (e as StreamEvent<'fallback.failed'>).data.messageId === message.id)) as StreamEvent<'fallback.failed'>;
    expect(failed.data.channel).toBe('sms');
    stream.close();
  });

  it('an SMS sent by the recipient reaches the inbound hook', async () => {
    const received = new Promise((resolve) => server.app.services.inbound.onSms(resolve));
    expect(await smsc.mo('8613800138000', 'Parley', 'ORDER 42')).toBe(0);
    expect(await received).toMatchObject({ from: '+8613800138000', to: 'Parley', text: 'ORDER 42' }); // international numbers come back in E.164
  });
});
