import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullHistory } from '../support/read.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { events, provider, publish, until, user, type User } from './helpers.js';

describe('ordering in chat with the operator\'s orders service account', () => {
  let server: TestServer;
  let admin: User;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await user(server, 'admin');
  });
  afterAll(() => server?.close());

  /** Sends `text` to the orders account and returns the service's answer to it. */
  async function say(buyer: User, conversationId: string, text: string): Promise<string> {
    const sent = await buyer.send(conversationId, { text, clientId: `c-${Math.random()}` });
    let answer: string | undefined;
    await until(async () => {
      const after = (await fullHistory(buyer, conversationId)).filter((m) => m.senderId !== buyer.accountId && m.seq > sent.seq);
      answer = after[0]?.text;
      return answer !== undefined;
    }, 10_000, `answer to "${text}"`);
    return answer!;
  }

  it('ORDER <code> gets the code as the service\'s reply; the code in chat places the order; STOP <code> cancels it', async () => {
    const medium = await provider(server, admin);
    const code = await publish(medium, 'monthly', 250);
    const buyer = await user(server);
    const chat = await buyer.openDirect('orders');
    const verification = await say(buyer, chat.id, `ORDER ${code}`);
    expect(verification).toMatch(/EUR 2\.50 per month, all taxes and fees included\. Your code is \d{6}/);
    const [order] = await buyer.orders.list();
    expect(order).toMatchObject({ status: 'pending', gateway: 'im', channel: 'im' });
    // In chat the reply carries the notice: no separate order.notice event repeats the code.
    expect(await events(buyer, 'order.notice')).toEqual([]);
    expect(await say(buyer, chat.id, /code is (\d{6})/.exec(verification)![1]!)).toBe(`Ordered: Service ${code} from Provider ${medium.handle}, EUR 2.50 per month. To cancel, send STOP ${code}.`);
    expect((await buyer.orders.get(order!.id)).status).toBe('active');
    expect(await say(buyer, chat.id, `stop ${code}`)).toBe(`Cancelled: Service ${code} from Provider ${medium.handle}.`);
    expect((await buyer.orders.get(order!.id)).status).toBe('cancelled');
    expect(await say(buyer, chat.id, 'STOP')).toBe('You have no open orders or subscriptions.');
  });

  it('answers unknown services, wrong codes and anything else with a clear text', async () => {
    const buyer = await user(server);
    const chat = await buyer.openDirect('orders');
    expect(await say(buyer, chat.id, 'ORDER NOPE42')).toBe('There is no service NOPE42 to order.');
    expect(await say(buyer, chat.id, '123456')).toBe('That code does not confirm an order.');
    expect(await say(buyer, chat.id, 'hello')).toMatch(/^Send ORDER <code> to order/);
  });

  it('high credit in chat is ordered at once; RESEND in chat sends a new code for a pending order', async () => {
    const high = await provider(server, admin, 30);
    const medium = await provider(server, admin);
    const buyer = await user(server);
    const chat = await buyer.openDirect('orders');
    expect(await say(buyer, chat.id, `ORDER ${await publish(high, 'once')}`)).toMatch(/^Ordered: /);
    const first = await say(buyer, chat.id, `ORDER ${await publish(medium, 'once')}`);
    const second = await say(buyer, chat.id, 'RESEND');
    expect(second).toMatch(/Your code is \d{6}/);
    expect(await say(buyer, chat.id, /code is (\d{6})/.exec(second)![1]!)).toMatch(/^Ordered: /);
    expect(first).toMatch(/Your code is \d{6}/);
  });
});
