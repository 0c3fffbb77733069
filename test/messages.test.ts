import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message, ParleyClient, StreamEvent } from '../sdk/index.js';
import { startTestServer, type TestServer } from './support/server.js';
import { allEvents, fullHistory } from './support/read.js';

type User = Awaited<ReturnType<TestServer['user']>>;

/** POST with the client's token, returning the HTTP status too (the SDK hides 200 vs 201). */
async function rawPost(client: ParleyClient, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(client.baseUrl + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${client.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('messages', () => {
  let server: TestServer;
  let n = 0;
  /** A fresh pair of users with their direct conversation. */
  async function pair(): Promise<{ a: User; b: User; conversationId: string }> {
    n++;
    const a = await server.user(`ann${n}`);
    const b = await server.user(`ben${n}`);
    const conversation = await a.openDirect(b.accountId);
    return { a, b, conversationId: conversation.id };
  }

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  describe('clientId idempotency', () => {
    it('sending the same clientId twice stores one message and returns it both times (201, then 200)', async () => {
      const { a, b, conversationId } = await pair();
      const path = `/v1/conversations/${conversationId}/messages`;
      const first = await rawPost(a, path, { clientId: 'msg-1', text: 'hello' });
      const second = await rawPost(a, path, { clientId: 'msg-1', text: 'hello' });
      expect(first.status).toBe(201);
      expect(second.status).toBe(200);
      expect(second.json.message).toEqual(first.json.message);
      expect(first.json.message).toMatchObject({ clientId: 'msg-1', text: 'hello', seq: 1, senderId: a.accountId });

      expect((await a.history(conversationId)).messages.map((m) => m.id)).toEqual([first.json.message.id]);
      const newForBob = (await allEvents(b)).filter((e) => e.type === 'message.new');
      expect(newForBob).toHaveLength(1);
      // The next message gets the next seq: the duplicate did not burn one.
      expect((await a.send(conversationId, { text: 'next' })).seq).toBe(2);
    });

    it('reusing a clientId for different text is refused with CLIENT_ID_REUSED and stores nothing', async () => {
      const { a, conversationId } = await pair();
      await a.send(conversationId, { clientId: 'same', text: 'original' });
      await expect(a.send(conversationId, { clientId: 'same', text: 'changed' })).rejects.toMatchObject({ code: 'CLIENT_ID_REUSED', status: 409 });
      const { messages } = await a.history(conversationId);
      expect(messages.map((m) => m.text)).toEqual(['original']);
    });

    it('reusing a clientId in another conversation is refused too', async () => {
      const { a, conversationId } = await pair();
      const other = await server.user(`other${n}`);
      const second = await a.openDirect(other.accountId);
      await a.send(conversationId, { clientId: 'cross', text: 'same text' });
      await expect(a.send(second.id, { clientId: 'cross', text: 'same text' })).rejects.toMatchObject({ code: 'CLIENT_ID_REUSED' });
      expect((await a.history(second.id)).messages).toEqual([]);
    });

    it('clientIds are per sender: two senders may use the same one', async () => {
      const { a, b, conversationId } = await pair();
      const fromA = await a.send(conversationId, { clientId: 'shared', text: 'from a' });
      const fromB = await b.send(conversationId, { clientId: 'shared', text: 'from b' });
      expect(fromA.id).not.toBe(fromB.id);
      expect((await a.history(conversationId)).messages.map((m) => m.text)).toEqual(['from a', 'from b']);
    });

    it('concurrent sends of the same clientId create exactly one message', async () => {
      const { a, b, conversationId } = await pair();
      for (let round = 0; round < 5; round++) {
        const clientId = `race-${round}`;
        const results = await Promise.all(Array.from({ length: 8 }, () => rawPost(a, `/v1/conversations/${conversationId}/messages`, { clientId, text: `race ${round}` })));
        expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
        expect(new Set(results.map((r) => r.json.message.id)).size).toBe(1);
      }
      const history = await fullHistory(a, conversationId);
      expect(history.map((m) => m.clientId)).toEqual(['race-0', 'race-1', 'race-2', 'race-3', 'race-4']);
      expect(history.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
      expect((await allEvents(b)).filter((e) => e.type === 'message.new')).toHaveLength(5);
    });
  });

  it('a reply names the message it answers', async () => {
    const { a, b, conversationId } = await pair();
    const question = await a.send(conversationId, { text: 'lunch?' });
    const answer = await b.send(conversationId, { text: 'yes', replyTo: question.id });
    expect(answer.replyTo).toBe(question.id);
    expect((await a.message(answer.id)).replyTo).toBe(question.id);
    expect((await a.history(conversationId)).messages.map((m) => [m.text, m.replyTo])).toEqual([
      ['lunch?', null],
      ['yes', question.id],
    ]);
  });

  it('editing changes the text for everyone and tells every member with message.edited', async () => {
    const { a, b, conversationId } = await pair();
    const original = await a.send(conversationId, { text: 'helo' });
    const edited = await a.edit(original.id, 'hello');
    expect(edited).toMatchObject({ id: original.id, seq: original.seq, text: 'hello', deletedAt: null });
    expect(edited.editedAt).not.toBeNull();
    expect(await b.message(original.id)).toEqual(edited);

    for (const member of [a, b]) {
      const events = await allEvents(member);
      const edit = events.find((e) => e.type === 'message.edited') as StreamEvent<'message.edited'> | undefined;
      expect(edit?.data.message).toEqual(edited);
      // The edit comes after the original in each member's stream.
      const created = events.find((e) => e.type === 'message.new')!;
      expect(edit!.seq).toBeGreaterThan(created.seq);
    }
  });

  it('deleting leaves a tombstone: same seq and place in history, text gone, members get message.deleted', async () => {
    const { a, b, conversationId } = await pair();
    const first = await a.send(conversationId, { text: 'one' });
    const doomed = await a.send(conversationId, { text: 'secret', receipt: { read: true } });
    const third = await a.send(conversationId, { text: 'three' });
    await a.deleteMessage(doomed.id);

    const history = (await b.history(conversationId)).messages;
    expect(history.map((m) => [m.seq, m.text])).toEqual([
      [1, 'one'],
      [2, ''],
      [3, 'three'],
    ]);
    const tombstone = await b.message(doomed.id);
    expect(tombstone).toMatchObject({ id: doomed.id, seq: doomed.seq, text: '', senderId: a.accountId });
    expect(tombstone.deletedAt).not.toBeNull();
    expect(JSON.stringify(await fullHistory(a, conversationId))).not.toContain('secret');

    for (const member of [a, b]) {
      const deleted = (await allEvents(member)).filter((e) => e.type === 'message.deleted') as StreamEvent<'message.deleted'>[];
      expect(deleted.map((e) => e.data)).toEqual([{ conversationId, messageId: doomed.id, seq: doomed.seq }]);
    }
    // A deleted message can't be edited or deleted again; the others are untouched.
    await expect(a.edit(doomed.id, 'back')).rejects.toMatchObject({ code: 'MESSAGE_DELETED', status: 409 });
    await expect(a.deleteMessage(doomed.id)).rejects.toMatchObject({ code: 'MESSAGE_DELETED' });
    expect((await a.message(first.id)).text).toBe('one');
    expect((await a.message(third.id)).text).toBe('three');
    // The tombstone does not count as unread.
    expect((await b.conversations()).find((c) => c.id === conversationId)?.unreadCount).toBe(2);
  });

  describe('history paging across 120 messages', () => {
    let a: User;
    let b: User;
    let conversationId: string;
    let sent: Message[];
    beforeAll(async () => {
      ({ a, b, conversationId } = await pair());
      sent = [];
      // Both sides write, so pages mix senders.
      for (let i = 1; i <= 120; i++) sent.push(await (i % 3 === 0 ? b : a).send(conversationId, { text: `m${i}` }));
    });

    it('without a cursor gives the newest page, with no newer cursor', async () => {
      const page = await a.history(conversationId, { limit: 25 });
      expect(page.messages.map((m) => m.seq)).toEqual(range(96, 120));
      expect(page.nextCursor).toBeNull();
      expect(page.prevCursor).toBe('96');
    });

    for (const limit of [25, 40, 120, 200]) {
      it(`pages backwards with before (limit ${limit}): every message once, oldest page ends with prevCursor null`, async () => {
        const seen: number[] = [];
        let page = await b.history(conversationId, { limit });
        expect(page.nextCursor).toBeNull();
        const pages = [page];
        while (page.prevCursor) {
          page = await b.history(conversationId, { before: page.prevCursor, limit });
          pages.push(page);
          expect(pages.length).toBeLessThan(20);
        }
        for (const p of pages.reverse()) seen.push(...p.messages.map((m) => m.seq));
        expect(seen).toEqual(range(1, 120));
        expect(pages[0]!.prevCursor).toBeNull();
        expect(pages[0]!.messages[0]!.id).toBe(sent[0]!.id);
        // Every page older than the newest points forward again.
        for (const p of pages.slice(0, -1)) expect(p.nextCursor).toBe(String(p.messages.at(-1)!.seq));
      });

      it(`pages forwards with after (limit ${limit}): every message once, newest page ends with nextCursor null`, async () => {
        const seen: number[] = [];
        let page = await a.history(conversationId, { after: '0', limit });
        expect(page.prevCursor).toBeNull();
        seen.push(...page.messages.map((m) => m.seq));
        let pages = 1;
        while (page.nextCursor) {
          page = await a.history(conversationId, { after: page.nextCursor, limit });
          seen.push(...page.messages.map((m) => m.seq));
          expect(++pages).toBeLessThan(20);
        }
        expect(seen).toEqual(range(1, 120));
        expect(page.messages.at(-1)!.id).toBe(sent[119]!.id);
        expect(page.nextCursor).toBeNull();
      });
    }

    it('turns around in the middle: before and after cursors from one page meet without gap or overlap', async () => {
      const middle = await a.history(conversationId, { before: '61', limit: 20 });
      expect(middle.messages.map((m) => m.seq)).toEqual(range(41, 60));
      const older = await a.history(conversationId, { before: middle.prevCursor!, limit: 20 });
      const newer = await a.history(conversationId, { after: middle.nextCursor!, limit: 20 });
      expect(older.messages.map((m) => m.seq)).toEqual(range(21, 40));
      expect(newer.messages.map((m) => m.seq)).toEqual(range(61, 80));
      expect(newer.prevCursor).toBe('61');
      const backAgain = await a.history(conversationId, { before: newer.prevCursor!, limit: 20 });
      expect(backAgain.messages.map((m) => m.id)).toEqual(middle.messages.map((m) => m.id));
    });

    it('the texts come back in order with their senders', async () => {
      const all = await fullHistory(b, conversationId);
      expect(all.map((m) => m.text)).toEqual(range(1, 120).map((i) => `m${i}`));
      expect(all.map((m) => m.senderId)).toEqual(range(1, 120).map((i) => (i % 3 === 0 ? b.accountId : a.accountId)));
    });
  });

  it('an empty conversation has an empty page with both cursors null', async () => {
    const { a, conversationId } = await pair();
    expect(await a.history(conversationId)).toEqual({ messages: [], prevCursor: null, nextCursor: null });
    expect(await a.history(conversationId, { after: '0' })).toEqual({ messages: [], prevCursor: null, nextCursor: null });
  });

  it('the conversation list shows the last message and per-user unread counts, newest conversation first', async () => {
    n++;
    const ann = await server.user(`lister${n}`);
    const bob = await server.user(`bob${n}`);
    const cat = await server.user(`cat${n}`);
    const withBob = await ann.openDirect(bob.accountId);
    const withCat = await ann.openDirect(cat.accountId);

    await bob.send(withBob.id, { text: 'b1' });
    await bob.send(withBob.id, { text: 'b2' });
    await ann.send(withBob.id, { text: 'a1' });
    const b3 = await bob.send(withBob.id, { text: 'b3' });
    // The list is ordered by last-message time (ms): make the order unambiguous.
    await nextMillisecond();
    await cat.send(withCat.id, { text: 'c1' });

    let list = await ann.conversations();
    expect(list.map((c) => c.id)).toEqual([withCat.id, withBob.id]);
    expect(list.map((c) => [c.lastMessage?.text, c.unreadCount])).toEqual([
      ['c1', 1],
      ['b3', 3],
    ]);
    expect(list[1]).toMatchObject({ kind: 'direct', title: null, role: 'member' });
    expect(list[1]!.members.map((m) => m.id).sort()).toEqual([ann.accountId, bob.accountId].sort());

    // Bob's own messages are never unread for him; Ann's one message is.
    const bobView = (await bob.conversations()).find((c) => c.id === withBob.id)!;
    expect(bobView.unreadCount).toBe(1);
    expect(bobView.lastMessage?.id).toBe(b3.id);

    // New activity reorders the list; reading clears the count.
    await nextMillisecond();
    await bob.send(withBob.id, { text: 'b4' });
    await ann.markRead(withCat.id, (await ann.history(withCat.id)).messages[0]!.id);
    list = await ann.conversations();
    expect(list.map((c) => [c.id, c.lastMessage?.text, c.unreadCount])).toEqual([
      [withBob.id, 'b4', 4],
      [withCat.id, 'c1', 0],
    ]);
  });

  describe('direct conversations', () => {
    it('are exactly one per pair, whoever opens them and however often', async () => {
      n++;
      const a = await server.user(`dir-a${n}`);
      const b = await server.user(`dir-b${n}`);
      const first = await rawPost(a, '/v1/conversations', { kind: 'direct', with: b.accountId });
      const again = await rawPost(a, '/v1/conversations', { kind: 'direct', with: b.handle });
      const fromB = await rawPost(b, '/v1/conversations', { kind: 'direct', with: a.accountId });
      expect([first.status, again.status, fromB.status]).toEqual([201, 200, 200]);
      expect(again.json.conversation.id).toBe(first.json.conversation.id);
      expect(fromB.json.conversation.id).toBe(first.json.conversation.id);
      expect((await a.conversations()).map((c) => c.id)).toEqual([first.json.conversation.id]);
      expect((await b.conversations()).map((c) => c.id)).toEqual([first.json.conversation.id]);
    });

    it('are exactly one per pair when both open them at the same moment', async () => {
      for (let round = 0; round < 5; round++) {
        n++;
        const a = await server.user(`race-a${n}`);
        const b = await server.user(`race-b${n}`);
        const opened = await Promise.all([
          a.openDirect(b.accountId),
          b.openDirect(a.accountId),
          a.openDirect(b.handle),
          b.openDirect(a.handle),
        ]);
        expect(new Set(opened.map((c) => c.id)).size).toBe(1);
        for (const user of [a, b]) {
          expect((await user.conversations()).map((c) => c.id)).toEqual([opened[0]!.id]);
          const created = (await allEvents(user)).filter((e) => e.type === 'conversation.created');
          expect(created).toHaveLength(1);
        }
      }
    });

    it('cannot be opened with yourself', async () => {
      const { a } = await pair();
      await expect(a.openDirect(a.accountId)).rejects.toMatchObject({ code: 'CANNOT_CHAT_WITH_SELF' });
    });
  });

  describe('per-message options', () => {
    it('are stored with the message: read receipt, deadline normalised to ISO-8601, priority', async () => {
      const { a, b, conversationId } = await pair();
      const fromMs = await a.send(conversationId, { text: 'ms', receipt: { read: true, within: 300_000 }, priority: 'urgent' });
      expect(fromMs.options).toEqual({ receipt: { read: true, within: 'PT5M', deliveredWithin: null }, priority: 'urgent', fallback: 'auto', fallbackContent: 'content' });
      const fromIso = await a.send(conversationId, { text: 'iso', receipt: { read: true, within: 'P1DT2H30M' }, priority: 'low' });
      expect(fromIso.options).toEqual({ receipt: { read: true, within: 'P1DT2H30M', deliveredWithin: null }, priority: 'low', fallback: 'auto', fallbackContent: 'content' });
      const fractional = await a.send(conversationId, { text: 'frac', receipt: { within: 'PT90S' }, priority: 'high' });
      // A deadline implies a read receipt; 90 s is written the shortest way.
      expect(fractional.options).toEqual({ receipt: { read: true, within: 'PT1M30S', deliveredWithin: null }, priority: 'high', fallback: 'auto', fallbackContent: 'content' });
      const plain = await a.send(conversationId, { text: 'plain' });
      expect(plain.options).toEqual({ receipt: { read: false, within: null, deliveredWithin: null }, priority: 'normal', fallback: 'auto', fallbackContent: 'content' });
      const readOnly = await a.send(conversationId, { text: 'read only', receipt: { read: true } });
      expect(readOnly.options).toEqual({ receipt: { read: true, within: null, deliveredWithin: null }, priority: 'normal', fallback: 'auto', fallbackContent: 'content' });

      // Stored, not just echoed: the recipient reads them back from history and from the stream.
      const history = (await b.history(conversationId)).messages;
      expect(history.map((m) => m.options)).toEqual([fromMs, fromIso, fractional, plain, readOnly].map((m) => m.options));
      const streamed = (await allEvents(b)).filter((e) => e.type === 'message.new') as StreamEvent<'message.new'>[];
      expect(streamed.map((e) => e.data.message.options)).toEqual(history.map((m) => m.options));
    });

  });
});

async function nextMillisecond(): Promise<void> {
  const start = Date.now();
  while (Date.now() <= start) await new Promise((resolve) => setImmediate(resolve));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
