import smpp from 'smpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSmsc, reassemble } from '../channels/smsc.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { events, provider, publish, until, user, type User } from './helpers.js';

const SHORT_CODE = '4444';

/** Every whole SMS the SMSC took for `phone` (concatenated parts joined), oldest first. */
function inbox(smsc: TestSmsc, phone: string): string[] {
  const mine = smsc.stored.filter((s) => s.destination.replace(/^\+/, '') === phone.replace(/^\+/, ''));
  const whole: string[] = [];
  const parts = new Map<number, typeof mine>();
  for (const s of mine) {
    const concat = s.udh.find((ie) => ie[0] === 0x00);
    if (!concat) {
      whole.push(s.text);
      continue;
    }
    const group = [...(parts.get(concat[2]!) ?? []), s];
    parts.set(concat[2]!, group);
    if (group.length === concat[3]) whole.push(reassemble(group).text);
  }
  return whole;
}

describe('ordering by SMS keyword over SMPP, against a loopback SMSC', () => {
  let smsc: TestSmsc;
  let server: TestServer;
  let admin: User;
  let buyer: User;
  const phone = '+4915112345678';

  async function waitForSms(match: RegExp, after = 0): Promise<string> {
    let found: string | undefined;
    await until(() => (found = inbox(smsc, phone).slice(after).find((t) => match.test(t))) !== undefined, 10_000, `SMS matching ${match}`);
    return found!;
  }

  beforeAll(async () => {
    smsc = await new TestSmsc().start();
    server = await startTestServer({ smsChannel: 'smpp', smppUrl: smsc.url(), smsFrom: 'Parley', orderShortCode: SHORT_CODE });
    admin = await user(server, 'admin');
    buyer = await user(server, 'buyer');
    await buyer.bindPhone(phone);
    const sms = await waitForSms(/verification code is \d{6}/);
    await buyer.verifyPhone(/(\d{6})/.exec(sms)![1]!);
  });
  afterAll(async () => {
    await server?.close();
    await smsc?.stop();
  });

  it('medium credit: MO "ORDER <code>" → MT code quoting the price → MO code → order placed, confirmed by SMS', async () => {
    const medium = await provider(server, admin);
    const code = await publish(medium, 'monthly', 300);
    const seen = inbox(smsc, phone).length;
    expect(await smsc.mo(phone.slice(1), SHORT_CODE, `order ${code.toLowerCase()}`)).toBe(0);
    const verification = await waitForSms(/Your code is \d{6}/, seen);
    expect(verification).toContain('EUR 3.00 per month, all taxes and fees included');
    const [order] = await buyer.orders.list();
    expect(order).toMatchObject({ status: 'pending', gateway: 'sms', channel: 'sms', service: { code } });
    await smsc.mo(phone.slice(1), SHORT_CODE, /code is (\d{6})/.exec(verification)![1]!);
    await until(async () => (await buyer.orders.get(order!.id)).status === 'active', 10_000, 'order placed');
    expect(await waitForSms(/^Ordered: /, seen)).toBe(`Ordered: Service ${code} from Provider ${medium.handle}, EUR 3.00 per month. To cancel, send STOP ${code}.`);
    const log = await buyer.orders.consent(order!.id);
    expect(log.map((e) => [e.action, e.channel])).toEqual([
      ['requested', 'sms'],
      ['verification_sent', 'sms'],
      ['code_accepted', 'sms'],
      ['ordered', 'sms'],
    ]);
    expect((await events(medium, 'order.placed')).map((e) => e.data.order.id)).toEqual([order!.id]);

    // STOP <code> by SMS ends the subscription, told by SMS.
    const before = inbox(smsc, phone).length;
    await smsc.mo(phone.slice(1), SHORT_CODE, `STOP ${code}`);
    await until(async () => (await buyer.orders.get(order!.id)).status === 'cancelled', 10_000, 'subscription cancelled');
    expect(await waitForSms(/^Cancelled: /, before)).toContain(`Service ${code}`);
  });

  it('a wrong code by SMS is answered without saying what was wrong, and counts as a try', async () => {
    const medium = await provider(server, admin);
    const code = await publish(medium, 'once');
    const seen = inbox(smsc, phone).length;
    await smsc.mo(phone.slice(1), SHORT_CODE, `ORDER ${code}`);
    const verification = await waitForSms(/Your code is \d{6}/, seen);
    const right = /code is (\d{6})/.exec(verification)![1]!;
    await smsc.mo(phone.slice(1), SHORT_CODE, right === '000000' ? '000001' : '000000');
    expect(await waitForSms(/does not confirm/, seen)).toBe('That code does not confirm an order.');
    await smsc.mo(phone.slice(1), SHORT_CODE, `YES ${right}`);
    const [order] = (await buyer.orders.list()).filter((o) => o.service.code === code);
    await until(async () => (await buyer.orders.get(order!.id)).status === 'completed', 10_000, 'order placed');
    expect((await buyer.orders.consent(order!.id)).map((e) => e.action)).toEqual(['requested', 'verification_sent', 'code_rejected', 'code_accepted', 'ordered']);
  });

  it('the user chooses the channel: ORDER <code> IM sends the code to the app, EMAIL without a verified address falls back to im', async () => {
    const medium = await provider(server, admin);
    const im = await publish(medium);
    const email = await publish(medium);
    await smsc.mo(phone.slice(1), SHORT_CODE, `ORDER ${im} IM`);
    await smsc.mo(phone.slice(1), SHORT_CODE, `ORDER ${email} EMAIL`);
    await until(async () => (await buyer.orders.list()).filter((o) => [im, email].includes(o.service.code)).length === 2, 10_000, 'two orders');
    const orders = (await buyer.orders.list()).filter((o) => [im, email].includes(o.service.code));
    expect(orders.map((o) => o.channel)).toEqual(['im', 'im']);
    await until(async () => (await events(buyer, 'order.notice')).filter((e) => orders.some((o) => o.id === e.data.orderId)).length === 2, 10_000, 'im notices');
    const emailOrder = orders.find((o) => o.service.code === email)!;
    const log = await buyer.orders.consent(emailOrder.id);
    expect(log.find((e) => e.action === 'channel_fallback')).toMatchObject({ channel: 'im', detail: { from: 'email', reason: 'unavailable' } });
  });

  it('an SMS the SMSC refuses for good falls back to im, with the code, and the consent log says so', async () => {
    const medium = await provider(server, admin);
    const code = await publish(medium);
    smsc.policy = (s) => (s.destination.endsWith(phone.slice(1)) ? smpp.errors.ESME_RINVDSTADR! : 'ok');
    try {
      const { order } = await buyer.orders.order({ service: code, channel: 'sms' });
      expect(order.channel).toBe('sms');
      const notice = (await events(buyer, 'order.notice')).find((e) => e.data.orderId === order.id);
      expect(notice?.data.text).toMatch(/Your code is \d{6}/);
      const fallback = (await buyer.orders.consent(order.id)).find((e) => e.action === 'channel_fallback');
      expect(fallback).toMatchObject({ channel: 'im', detail: { from: 'sms', reason: expect.stringContaining('ESME_RINVDSTADR') } });
    } finally {
      smsc.policy = () => 'ok';
    }
  });

  it('high credit by SMS: placed at once and confirmed by SMS; an unknown number is told to link it first; other numbers are not ours', async () => {
    const high = await provider(server, admin, 25);
    const code = await publish(high, 'once', 99);
    const seen = inbox(smsc, phone).length;
    await smsc.mo(phone.slice(1), SHORT_CODE, `ORDER ${code}`);
    expect(await waitForSms(/^Ordered: /, seen)).toContain('EUR 0.99 once');
    const stranger = '4915199999999';
    await smsc.mo(stranger, SHORT_CODE, `ORDER ${code}`);
    await until(() => inbox(smsc, `+${stranger}`).length === 1, 10_000, 'reply to the stranger');
    expect(inbox(smsc, `+${stranger}`)[0]).toContain('not linked to a verified account');
    // Sent to another number than the short code: not an order.
    const count = (await buyer.orders.list()).length;
    await smsc.mo(phone.slice(1), '5555', `ORDER ${code}`);
    await new Promise((r) => setTimeout(r, 300));
    expect((await buyer.orders.list()).length).toBe(count);
  });
});
