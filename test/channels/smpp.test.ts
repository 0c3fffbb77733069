import smpp from 'smpp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryReport, InboundSms } from '../../src/channels/channel.js';
import { SmppSmsChannel, type SmppOptions } from '../../src/channels/sms/smpp.js';
import { systemClock } from '../../src/scheduler/clock.js';
import { reassemble, TestSmsc } from './smsc.js';

const CHINESE = '紧急通知：您的订单已经发货，请注意查收。如有任何问题，请随时联系我们的客服团队，我们将竭诚为您服务。';

function chinese(n: number): string {
  let text = '';
  while (text.length < n) text += CHINESE;
  return text.slice(0, n);
}

let smsc: TestSmsc;
const channels: SmppSmsChannel[] = [];

function open(options: Partial<SmppOptions> = {}): { channel: SmppSmsChannel; reports: DeliveryReport[]; inbound: InboundSms[]; nextReport(): Promise<DeliveryReport>; nextInbound(): Promise<InboundSms> } {
  const channel = new SmppSmsChannel(
    {
      url: smsc.url(),
      systemType: 'PARLEY',
      sourceAddr: 'Parley',
      responseTimeoutMs: 2000,
      reconnectMinMs: 20,
      reconnectMaxMs: 200,
      throttleMinMs: 20,
      enquireLinkMs: 60_000,
      ...options,
    },
    systemClock,
  );
  channels.push(channel);
  const reports: DeliveryReport[] = [];
  const inbound: InboundSms[] = [];
  const reportWaiters: ((r: DeliveryReport) => void)[] = [];
  const inboundWaiters: ((s: InboundSms) => void)[] = [];
  channel.onDeliveryReport((r) => {
    reports.push(r);
    reportWaiters.shift()?.(r);
  });
  channel.onInbound((s) => {
    inbound.push(s);
    inboundWaiters.shift()?.(s);
  });
  return {
    channel,
    reports,
    inbound,
    nextReport: () => new Promise((resolve) => reportWaiters.push(resolve)),
    nextInbound: () => new Promise((resolve) => inboundWaiters.push(resolve)),
  };
}

beforeEach(async () => {
  smsc = await new TestSmsc().start();
});

afterEach(async () => {
  await Promise.all(channels.splice(0).map((c) => c.close()));
  await smsc.stop();
});

describe('SMPP channel against a loopback SMSC', () => {
  it('binds as transceiver with system_id, password and system_type', async () => {
    const { channel } = open();
    await channel.ready();
    expect(smsc.binds).toBe(1);
    expect(smsc.lastBind).toMatchObject({ command: 'bind_transceiver', system_id: 'parley', password: 'secret', system_type: 'PARLEY', interface_version: 0x34 });
    expect(channel.isBound).toBe(true);
  });

  it('is refused with a wrong password', async () => {
    const { channel } = open({ url: smsc.url('wrong') });
    await expect(channel.ready()).rejects.toThrow(/bind refused: ESME_RINVPASWD/);
    expect(smsc.bindFailures).toBe(1);
    expect(smsc.binds).toBe(0);
    expect(channel.isBound).toBe(false);
  });

  it('submits with registered delivery, the configured source and the E.164 destination', async () => {
    const { channel } = open();
    const result = await channel.send({ to: '+4915112345678', text: 'Hello from Parley', purpose: 'test' });
    expect(smsc.stored).toHaveLength(1);
    const sm = smsc.stored[0]!;
    expect(result).toEqual({ id: sm.messageId, parts: 1 });
    expect(sm).toMatchObject({ source: 'Parley', sourceTon: 5, destination: '4915112345678', destTon: 1, destNpi: 1, registeredDelivery: 1, dataCoding: 0, text: 'Hello from Parley' });
    expect(sm.esmClass & 0x40).toBe(0);
    expect(sm.udh).toEqual([]);
  });

  it('sends GSM 03.38 text (including extension characters) as GSM-7 intact', async () => {
    const { channel } = open();
    const text = 'Price @ £5 or €6 {ok} [x] ~ ^ | \\ ÄÖÜ äöü ß Ωmega_ §¿¡ $¥ èé';
    const result = await channel.send({ to: '+4915112345678', text, purpose: 'test' });
    expect(result.parts).toBe(1);
    expect(smsc.stored[0]).toMatchObject({ dataCoding: 0, text });
  });

  it('splits a long GSM-7 text into 153-septet parts without breaking an escape pair', async () => {
    const { channel } = open();
    const text = 'a'.repeat(152) + '€' + 'b'.repeat(200);
    const result = await channel.send({ to: '+4915112345678', text, purpose: 'test' });
    expect(result.parts).toBe(3);
    expect(smsc.stored).toHaveLength(3);
    expect(smsc.stored.map((s) => s.text)).toEqual(['a'.repeat(152), '€' + 'b'.repeat(151), 'b'.repeat(49)]);
    for (const part of smsc.stored) expect(part).toMatchObject({ dataCoding: 0, registeredDelivery: 1 });
    expect(reassemble(smsc.stored).text).toBe(text);
  });

  it('sends a long Chinese text as concatenated UCS-2 parts that reassemble to the exact text', async () => {
    const { channel } = open();
    const text = chinese(200);
    const result = await channel.send({ to: '+8613800138000', text, purpose: 'test' });
    expect(result.parts).toBe(3);
    expect(smsc.stored).toHaveLength(3);
    expect(result.id).toBe(smsc.stored[0]!.messageId);
    for (const part of smsc.stored) {
      expect(part.dataCoding).toBe(0x08);
      expect(part.esmClass & 0x40).toBe(0x40);
      expect(part.udh).toHaveLength(1);
      expect([...part.udh[0]!.subarray(0, 2)]).toEqual([0x00, 0x03]);
      expect(part.destination).toBe('8613800138000');
    }
    expect(smsc.stored.map((s) => s.text.length)).toEqual([67, 67, 66]);
    const whole = reassemble(smsc.stored);
    expect(whole.refs.size).toBe(1);
    expect([...whole.totals]).toEqual([3]);
    expect(whole.seqs).toEqual([1, 2, 3]);
    expect(whole.text).toBe(text);
  });

  it('never splits a surrogate pair between UCS-2 parts', async () => {
    const { channel } = open();
    const text = '中'.repeat(66) + '😀' + '文'.repeat(10);
    const result = await channel.send({ to: '+8613800138000', text, purpose: 'test' });
    expect(result.parts).toBe(2);
    expect(smsc.stored.map((s) => s.text)).toEqual(['中'.repeat(66), '😀' + '文'.repeat(10)]);
    expect(reassemble(smsc.stored).text).toBe(text);
  });

  it('rejects a text that would need more than 255 parts without submitting anything', async () => {
    const { channel } = open();
    await channel.ready();
    await expect(channel.send({ to: '+4915112345678', text: 'x'.repeat(153 * 255 + 1), purpose: 'test' })).rejects.toThrow(/256 parts/);
    await smsc.ping();
    expect(smsc.received).toHaveLength(0);
  });

  it('a delivery receipt (receipted_message_id TLV) reports delivered for the id send() returned', async () => {
    const { channel, nextReport } = open();
    const { id } = await channel.send({ to: '+4915112345678', text: 'Hello', purpose: 'test' });
    const report = nextReport();
    expect(await smsc.receipt(id, 'DELIVRD', { tlv: true })).toBe(0);
    expect(await report).toMatchObject({ id, status: 'delivered', detail: 'stat:DELIVRD err:000' });
  });

  it('a receipt with stat:UNDELIV in its text only reports failed', async () => {
    const { channel, nextReport } = open();
    const { id } = await channel.send({ to: '+4915112345678', text: 'Hello', purpose: 'test' });
    const report = nextReport();
    expect(await smsc.receipt(id, 'UNDELIV', { err: '001' })).toBe(0);
    expect(await report).toMatchObject({ id, status: 'failed', detail: 'stat:UNDELIV err:001' });
  });

  it('a multipart message is reported once, under its first id, when every part is delivered; intermediate states are ignored', async () => {
    const { channel, reports, nextReport } = open();
    const { id, parts } = await channel.send({ to: '+8613800138000', text: chinese(200), purpose: 'test' });
    expect(parts).toBe(3);
    const [first, second, third] = smsc.stored.map((s) => s.messageId);
    expect(id).toBe(first);
    await smsc.receipt(second!, 'ACCEPTD', { tlv: true });
    await smsc.receipt(second!, 'DELIVRD', { tlv: true });
    await smsc.receipt(third!, 'DELIVRD');
    // Reports come out in order: a probe's report arriving first shows two of three parts reported nothing.
    const { id: probe } = await channel.send({ to: '+4915112345678', text: 'probe', purpose: 'test' });
    let report = nextReport();
    await smsc.receipt(probe, 'DELIVRD', { tlv: true });
    expect(await report).toMatchObject({ id: probe });
    report = nextReport();
    await smsc.receipt(first!, 'DELIVRD', { tlv: true });
    expect(await report).toMatchObject({ id, status: 'delivered', detail: '3 parts stat:DELIVRD err:000' });
    // A later message's report arrives after any stray one for the first message would have.
    const { id: later } = await channel.send({ to: '+4915112345678', text: 'later', purpose: 'test' });
    report = nextReport();
    await smsc.receipt(first!, 'DELIVRD', { tlv: true }); // a repeated receipt
    await smsc.receipt(later, 'DELIVRD', { tlv: true });
    await report;
    expect(reports.map((r) => r.id)).toEqual([probe, id, later]);
  });

  it('a failed part fails the whole multipart message', async () => {
    const { channel, nextReport } = open();
    const { id } = await channel.send({ to: '+8613800138000', text: chinese(100), purpose: 'test' });
    const report = nextReport();
    await smsc.receipt(smsc.stored[1]!.messageId, 'EXPIRED', { tlv: true });
    expect(await report).toMatchObject({ id, status: 'failed' });
    expect((await report).detail).toContain('stat:EXPIRED');
  });

  it('the SMSC drops the connection on the first submit without answering → reconnect, and it stores exactly one copy', async () => {
    smsc.policy = (_s, n) => (n === 1 ? 'drop' : 'ok');
    const { channel } = open();
    const text = 'exactly once';
    const result = await channel.send({ to: '+4915112345678', text, purpose: 'test' });
    expect(smsc.received).toHaveLength(2);
    expect(smsc.stored).toHaveLength(1);
    expect(smsc.stored[0]).toMatchObject({ text, messageId: result.id });
    expect(smsc.binds).toBe(2);
  });

  it('a multipart message whose second part hits a dropped connection still arrives once, complete', async () => {
    smsc.policy = (_s, n) => (n === 2 ? 'drop' : 'ok');
    const { channel } = open({ window: 1 });
    const text = chinese(150);
    const result = await channel.send({ to: '+8613800138000', text, purpose: 'test' });
    expect(result.parts).toBe(3);
    expect(smsc.stored).toHaveLength(3);
    expect(reassemble(smsc.stored).text).toBe(text);
    expect(smsc.binds).toBe(2);
  });

  it('ESME_RTHROTTLED and ESME_RMSGQFUL are retried with backoff; delivered once', async () => {
    smsc.policy = (_s, n) => (n === 1 ? smpp.errors.ESME_RTHROTTLED! : n === 2 ? smpp.errors.ESME_RMSGQFUL! : 'ok');
    const { channel, reports, nextReport } = open();
    const { id } = await channel.send({ to: '+4915112345678', text: 'throttled', purpose: 'test' });
    expect(smsc.received).toHaveLength(3);
    expect(smsc.stored).toHaveLength(1);
    expect(smsc.binds).toBe(1);
    let report = nextReport();
    await smsc.receipt(id, 'DELIVRD', { tlv: true });
    expect(await report).toMatchObject({ id, status: 'delivered' });
    const { id: later } = await channel.send({ to: '+4915112345678', text: 'later', purpose: 'test' });
    report = nextReport();
    await smsc.receipt(later, 'DELIVRD', { tlv: true });
    await report;
    expect(reports.filter((r) => r.id === id)).toHaveLength(1);
  });

  it('gives up after too many throttling answers, and rejects on a permanent error status', async () => {
    smsc.policy = (s) => (s.destination === '4900000000000' ? smpp.errors.ESME_RINVDSTADR! : smpp.errors.ESME_RTHROTTLED!);
    const { channel } = open({ maxThrottleRetries: 2 });
    await expect(channel.send({ to: '+4900000000000', text: 'x', purpose: 'test' })).rejects.toThrow(/ESME_RINVDSTADR/);
    await expect(channel.send({ to: '+4915112345678', text: 'x', purpose: 'test' })).rejects.toThrow(/still refused after 2 retries: ESME_RTHROTTLED/);
    expect(smsc.received).toHaveLength(1 + 3);
  });

  it('keeps at most `window` submit_sm unacknowledged and queues the rest', async () => {
    smsc.policy = () => 'hold';
    const { channel } = open({ window: 3 });
    const sends = Array.from({ length: 7 }, (_, i) => channel.send({ to: '+4915112345678', text: `message ${i}`, purpose: 'test' }));
    await smsc.until(() => smsc.held.length === 3);
    // Everything the channel wrote before answering this enquire_link has arrived: still three.
    await smsc.ping();
    expect(smsc.received).toHaveLength(3);
    smsc.releaseHeld();
    await smsc.until(() => smsc.held.length === 3);
    await smsc.ping();
    expect(smsc.received).toHaveLength(6);
    smsc.policy = () => 'ok';
    smsc.releaseHeld();
    const results = await Promise.all(sends);
    expect(smsc.stored.map((s) => s.text)).toEqual(Array.from({ length: 7 }, (_, i) => `message ${i}`));
    expect(new Set(results.map((r) => r.id)).size).toBe(7);
  });

  it('sends queued while the SMSC is unreachable go out once it is up', async () => {
    const port = smsc.port;
    await smsc.stop();
    const { channel } = open({ url: `smpp://parley:secret@127.0.0.1:${port}` });
    const sent = channel.send({ to: '+4915112345678', text: 'patience', purpose: 'test' });
    smsc = new TestSmsc();
    await new Promise<void>((resolve, reject) => {
      smsc.server.once('error', reject);
      smsc.server.listen(port, '127.0.0.1', () => resolve());
    });
    smsc.port = port;
    const result = await sent;
    expect(smsc.stored).toEqual([expect.objectContaining({ text: 'patience', messageId: result.id })]);
  });

  it('an MO deliver_sm reaches onInbound with from/to/text and is answered', async () => {
    const { channel, nextInbound } = open();
    await channel.ready();
    const sms = nextInbound();
    expect(await smsc.mo('4915112345678', '12345', 'STOP 你好')).toBe(0);
    expect(await sms).toMatchObject({ from: '+4915112345678', to: '12345', text: 'STOP 你好' });
  });

  it('a concatenated MO is reassembled before it reaches onInbound', async () => {
    const { channel, inbound, nextInbound } = open();
    await channel.ready();
    const sms = nextInbound();
    expect(await smsc.mo('4915112345678', '12345', 'world', { ref: 7, total: 2, seq: 2 })).toBe(0);
    expect(inbound).toHaveLength(0);
    expect(await smsc.mo('4915112345678', '12345', 'hello ', { ref: 7, total: 2, seq: 1 })).toBe(0);
    expect(await sms).toMatchObject({ from: '+4915112345678', text: 'hello world' });
  });

  it('a receipt for an id it never sent is still answered and reported under that id', async () => {
    const { channel, nextReport } = open();
    await channel.ready();
    const report = nextReport();
    expect(await smsc.receipt('deadbeef', 'DELIVRD', { tlv: true })).toBe(0);
    expect(await report).toMatchObject({ id: 'deadbeef', status: 'delivered' });
  });

  it('enquire_link keeps the session up', async () => {
    const { channel } = open({ enquireLinkMs: 30 });
    await channel.ready();
    await smsc.until(() => smsc.enquireLinks >= 4);
    expect(smsc.binds).toBe(1);
    expect(channel.isBound).toBe(true);
    const { id } = await channel.send({ to: '+4915112345678', text: 'still here', purpose: 'test' });
    expect(smsc.stored[0]?.messageId).toBe(id);
    expect(smsc.binds).toBe(1);
  });

  it('an unanswered enquire_link drops the dead session and binds again', async () => {
    smsc.answerEnquireLink = false;
    const { channel } = open({ enquireLinkMs: 30, responseTimeoutMs: 150 });
    await channel.ready();
    await smsc.until(() => smsc.binds === 2);
    smsc.answerEnquireLink = true;
    const { id } = await channel.send({ to: '+4915112345678', text: 'after re-bind', purpose: 'test' });
    expect(smsc.stored[0]?.messageId).toBe(id);
  });

  it('close() rejects sends the SMSC has not acknowledged and unbinds', async () => {
    smsc.policy = () => 'hold';
    const { channel } = open();
    const sent = channel.send({ to: '+4915112345678', text: 'never answered', purpose: 'test' });
    const outcome = expect(sent).rejects.toThrow(/closed/);
    await smsc.until(() => smsc.held.length === 1);
    await channel.close();
    await outcome;
    expect(smsc.unbinds).toBe(1);
    await expect(channel.send({ to: '+4915112345678', text: 'x', purpose: 'test' })).rejects.toThrow(/closed/);
  });
});
