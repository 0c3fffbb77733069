import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../sdk/index.js';
import { startTestServer, type TestServer } from './support/server.js';
import { allEvents } from './support/read.js';

type User = Awaited<ReturnType<TestServer['user']>>;

function ofConversation(events: StreamEvent[], conversationId: string): StreamEvent[] {
  return events.filter((e) => {
    const data = e.data as { conversationId?: string; message?: { conversationId: string }; conversation?: { id: string } };
    return (data.conversationId ?? data.message?.conversationId ?? data.conversation?.id) === conversationId;
  });
}

async function nextMillisecond(): Promise<void> {
  const start = Date.now();
  while (Date.now() <= start) await new Promise((resolve) => setImmediate(resolve));
}

describe('groups', () => {
  let server: TestServer;
  let n = 0;
  async function users(...names: string[]): Promise<User[]> {
    n++;
    const out: User[] = [];
    for (const name of names) out.push(await server.user(`${name}-g${n}`));
    return out;
  }

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('creating a group makes the creator owner and tells every member', async () => {
    const [owner, b, c] = await users('own', 'b', 'c');
    const group = await owner!.createGroup('Team', [b!.handle, c!.accountId]);
    expect(group).toMatchObject({ kind: 'group', title: 'Team', role: 'owner', lastMessage: null, unreadCount: 0 });
    expect(group.members.map((m) => m.id).sort()).toEqual([owner!.accountId, b!.accountId, c!.accountId].sort());

    const members = await b!.members(group.id);
    expect(Object.fromEntries(members.map((m) => [m.accountId, m.role]))).toEqual({ [owner!.accountId]: 'owner', [b!.accountId]: 'member', [c!.accountId]: 'member' });
    expect((await b!.conversation(group.id)).role).toBe('member');
    for (const user of [owner!, b!, c!]) {
      const created = (await allEvents(user)).filter((e) => e.type === 'conversation.created') as StreamEvent<'conversation.created'>[];
      expect(created.map((e) => e.data.conversation.id)).toEqual([group.id]);
      expect(created[0]!.data.conversation.title).toBe('Team');
    }
  });

  it('the owner renames the group and every member is told; a plain member may not rename', async () => {
    const [owner, b] = await users('own', 'b');
    const group = await owner!.createGroup('Old name', [b!.accountId]);
    const renamed = await owner!.rename(group.id, 'New name');
    expect(renamed.title).toBe('New name');
    expect((await b!.conversation(group.id)).title).toBe('New name');
    for (const user of [owner!, b!]) {
      const updates = (await allEvents(user)).filter((e) => e.type === 'conversation.updated');
      expect(updates.map((e) => e.data)).toEqual([{ conversationId: group.id, title: 'New name', by: owner!.accountId }]);
    }
    await expect(b!.rename(group.id, 'Mutiny')).rejects.toMatchObject({ code: 'NOT_GROUP_OWNER', status: 403 });
    expect((await owner!.conversation(group.id)).title).toBe('New name');
  });

  it('a direct conversation cannot be renamed or left like a group', async () => {
    const [a, b, c] = await users('a', 'b', 'c');
    const direct = await a!.openDirect(b!.accountId);
    await expect(a!.rename(direct.id, 'x')).rejects.toMatchObject({ code: 'NOT_A_GROUP' });
    await expect(a!.leave(direct.id)).rejects.toMatchObject({ code: 'NOT_A_GROUP' });
    await expect(a!.addMember(direct.id, c!.accountId)).rejects.toMatchObject({ code: 'NOT_A_GROUP' });
    expect((await b!.members(direct.id)).map((m) => m.accountId).sort()).toEqual([a!.accountId, b!.accountId].sort());
  });

  it('adding a member tells the existing members and gives the newcomer the conversation', async () => {
    const [owner, b, newcomer] = await users('own', 'b', 'new');
    const group = await owner!.createGroup('Grow', [b!.accountId]);
    const members = await owner!.addMember(group.id, newcomer!.handle);
    expect(members.map((m) => m.accountId)).toContain(newcomer!.accountId);
    expect(members.find((m) => m.accountId === newcomer!.accountId)?.role).toBe('member');

    for (const user of [owner!, b!]) {
      const added = (await allEvents(user)).filter((e) => e.type === 'member.added') as StreamEvent<'member.added'>[];
      expect(added.map((e) => [e.data.account.id, e.data.role, e.data.by])).toEqual([[newcomer!.accountId, 'member', owner!.accountId]]);
    }
    const newcomerEvents = await allEvents(newcomer!);
    expect(newcomerEvents.map((e) => e.type)).toEqual(['conversation.created']);
    expect((newcomerEvents[0] as StreamEvent<'conversation.created'>).data.conversation.members.map((m) => m.id)).toContain(newcomer!.accountId);
    expect((await newcomer!.conversations()).map((c) => c.id)).toEqual([group.id]);
    await expect(owner!.addMember(group.id, newcomer!.accountId)).rejects.toMatchObject({ code: 'ALREADY_MEMBER', status: 409 });
  });

  it('an owner may add another owner directly', async () => {
    const [owner, second] = await users('own', 'second');
    const group = await owner!.createGroup('Co-owned');
    const members = await owner!.addMember(group.id, second!.accountId, 'owner');
    expect(members.find((m) => m.accountId === second!.accountId)?.role).toBe('owner');
    await expect(second!.rename(group.id, 'Renamed by co-owner')).resolves.toMatchObject({ title: 'Renamed by co-owner' });
  });

  describe('roles', () => {
    it('an owner promotes a member, who can then manage the group; every member sees member.role', async () => {
      const [owner, b, c, outsider] = await users('own', 'b', 'c', 'out');
      const group = await owner!.createGroup('Roles', [b!.accountId, c!.accountId]);
      await expect(b!.addMember(group.id, outsider!.accountId)).rejects.toMatchObject({ code: 'NOT_GROUP_OWNER' });
      const members = await owner!.setRole(group.id, b!.accountId, 'owner');
      expect(members.find((m) => m.accountId === b!.accountId)?.role).toBe('owner');
      for (const user of [owner!, b!, c!]) {
        const roles = (await allEvents(user)).filter((e) => e.type === 'member.role');
        expect(roles.map((e) => e.data)).toEqual([{ conversationId: group.id, accountId: b!.accountId, role: 'owner', by: owner!.accountId }]);
      }
      await b!.addMember(group.id, outsider!.accountId);
      // With two owners, one may step down.
      await b!.setRole(group.id, owner!.accountId, 'member');
      expect((await c!.members(group.id)).filter((m) => m.role === 'owner').map((m) => m.accountId)).toEqual([b!.accountId]);
    });

    it('the last owner cannot be demoted (OWNER_MUST_REMAIN)', async () => {
      const [owner, b] = await users('own', 'b');
      const group = await owner!.createGroup('One owner', [b!.accountId]);
      await expect(owner!.setRole(group.id, owner!.accountId, 'member')).rejects.toMatchObject({ code: 'OWNER_MUST_REMAIN', status: 400 });
      expect((await b!.members(group.id)).find((m) => m.accountId === owner!.accountId)?.role).toBe('owner');
      expect((await allEvents(b!)).filter((e) => e.type === 'member.role')).toEqual([]);
    });

    it('setting the role a member already has changes nothing and emits nothing', async () => {
      const [owner, b] = await users('own', 'b');
      const group = await owner!.createGroup('Same role', [b!.accountId]);
      await owner!.setRole(group.id, b!.accountId, 'member');
      expect((await allEvents(b!)).filter((e) => e.type === 'member.role')).toEqual([]);
    });

    it('the last owner leaving hands ownership to the longest-standing member', async () => {
      // `late` registers first, so its id sorts first: joining time, not id, must decide.
      const [owner, late, early, latest] = await users('own', 'late', 'early', 'latest');
      const group = await owner!.createGroup('Succession');
      await owner!.addMember(group.id, early!.accountId);
      await nextMillisecond();
      await owner!.addMember(group.id, late!.accountId);
      await nextMillisecond();
      await owner!.addMember(group.id, latest!.accountId);

      await owner!.leave(group.id);
      const members = await late!.members(group.id);
      expect(members.map((m) => m.accountId).sort()).toEqual([late!.accountId, early!.accountId, latest!.accountId].sort());
      expect(members.filter((m) => m.role === 'owner').map((m) => m.accountId)).toEqual([early!.accountId]);
      const roleEvents = (await allEvents(latest!)).filter((e) => e.type === 'member.role');
      expect(roleEvents.map((e) => e.data)).toEqual([{ conversationId: group.id, accountId: early!.accountId, role: 'owner', by: owner!.accountId }]);
      await expect(early!.rename(group.id, 'New era')).resolves.toMatchObject({ title: 'New era' });
    });

    it('an owner leaving while another owner remains hands nothing over', async () => {
      const [owner, co, b] = await users('own', 'co', 'b');
      const group = await owner!.createGroup('Two owners', [b!.accountId]);
      await owner!.addMember(group.id, co!.accountId, 'owner');
      await owner!.leave(group.id);
      const members = await b!.members(group.id);
      expect(Object.fromEntries(members.map((m) => [m.accountId, m.role]))).toEqual({ [co!.accountId]: 'owner', [b!.accountId]: 'member' });
    });
  });

  it('per-member receipts in a group: states, counts and per-device delivery', async () => {
    const [owner, reader, receiver, offline, privateReader] = await users('own', 'reader', 'recv', 'off', 'priv');
    await privateReader!.updateMe({ privacy: { readReceipts: 'private' } });
    const group = await owner!.createGroup('Receipts', [reader!.accountId, receiver!.accountId, offline!.accountId, privateReader!.accountId]);
    const message = await owner!.send(group.id, { text: 'status report', receipt: { read: true } });

    let receipts = await owner!.receipts(message.id);
    expect(receipts.counts).toEqual({ sent: 4, delivered: 0, read: 0 });

    // `receiver` acknowledges the message over HTTP on its one device: delivered, for that device.
    const seqOf = async (user: User) => (await allEvents(user)).find((e) => e.type === 'message.new' && (e as StreamEvent<'message.new'>).data.message.id === message.id)!.seq;
    await receiver!.ack(await seqOf(receiver!));
    // `reader` and `privateReader` read it.
    await reader!.markRead(group.id, message.id);
    await privateReader!.markRead(group.id, message.id);

    receipts = await owner!.receipts(message.id);
    const state = Object.fromEntries(receipts.recipients.map((r) => [r.accountId, r.state]));
    expect(state).toEqual({
      [reader!.accountId]: 'read',
      [receiver!.accountId]: 'delivered',
      [offline!.accountId]: 'sent',
      // Private read receipts: the owner only learns it arrived.
      [privateReader!.accountId]: 'delivered',
    });
    expect(receipts.counts).toEqual({ sent: 1, delivered: 2, read: 1 });
    const devices = Object.fromEntries(receipts.recipients.map((r) => [r.accountId, r.devices]));
    expect(devices[receiver!.accountId]).toEqual([{ deviceId: receiver!.deviceId, delivered: true }]);
    expect(devices[offline!.accountId]).toEqual([{ deviceId: offline!.deviceId, delivered: false }]);

    // GET members shows the watermarks; a private reader's readSeq is hidden from others, not from themselves.
    const watermarks = (members: Awaited<ReturnType<User['members']>>) => Object.fromEntries(members.map((m) => [m.accountId, [m.deliveredSeq, m.readSeq]]));
    const seen = watermarks(await offline!.members(group.id));
    expect(seen[reader!.accountId]).toEqual([1, 1]);
    expect(seen[receiver!.accountId]).toEqual([1, 0]);
    expect(seen[offline!.accountId]).toEqual([0, 0]);
    expect(seen[privateReader!.accountId]).toEqual([1, 0]);
    expect(watermarks(await privateReader!.members(group.id))[privateReader!.accountId]).toEqual([1, 1]);

    // The owner's stream: delivered from each of the three, read only from the public reader.
    const ownerReceipts = (await allEvents(owner!)).filter((e) => e.type === 'receipt') as StreamEvent<'receipt'>[];
    const byState = (s: string) => ownerReceipts.filter((e) => e.data.state === s).map((e) => e.data.accountId).sort();
    expect(byState('delivered')).toEqual([reader!.accountId, receiver!.accountId, privateReader!.accountId].sort());
    expect(byState('read')).toEqual([reader!.accountId]);
  });

  it('a removed member stops receiving: no more events for the group, history and sending refused', async () => {
    const [owner, stays, removed] = await users('own', 'stays', 'gone');
    const group = await owner!.createGroup('Shrink', [stays!.accountId, removed!.accountId]);
    await owner!.send(group.id, { text: 'before removal' });

    const stream = removed!.stream();
    await stream.waitFor((e) => e.type === 'message.new');
    const removedEvent = stream.waitFor((e) => e.type === 'member.removed');
    await owner!.removeMember(group.id, removed!.accountId);
    expect(((await removedEvent) as StreamEvent<'member.removed'>).data).toEqual({ conversationId: group.id, accountId: removed!.accountId, by: owner!.accountId, reason: 'removed' });
    const removedAtSeq = stream.lastSeq;

    const groupEvents: StreamEvent[] = [];
    stream.on('event', (e) => {
      if (ofConversation([e], group.id).length) groupEvents.push(e);
    });
    const after = await owner!.send(group.id, { text: 'after removal' });
    await owner!.rename(group.id, 'Without you');
    await owner!.setRole(group.id, stays!.accountId, 'owner');
    // A direct message sent last: once it arrives, anything about the group would have arrived too.
    const marker = stream.waitFor((e) => e.type === 'message.new' && (e as StreamEvent<'message.new'>).data.message.text === 'marker');
    const direct = await owner!.openDirect(removed!.accountId);
    await owner!.send(direct.id, { text: 'marker' });
    await marker;
    stream.close();
    expect(groupEvents).toEqual([]);
    expect(ofConversation((await allEvents(removed!)).filter((e) => e.seq > removedAtSeq), group.id)).toEqual([]);

    await expect(removed!.history(group.id)).rejects.toMatchObject({ code: 'NOT_A_MEMBER', status: 403 });
    await expect(removed!.message(after.id)).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    await expect(removed!.send(group.id, { text: 'let me back' })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    expect((await removed!.conversations()).map((c) => c.id)).toEqual([direct.id]);
    // The others carry on, and the removal no longer counts the removed member in receipts.
    expect((await stays!.history(group.id)).messages.map((m) => m.text)).toEqual(['before removal', 'after removal']);
    expect((await owner!.receipts(after.id)).recipients.map((r) => r.accountId)).toEqual([stays!.accountId]);
    const removedForStays = (await allEvents(stays!)).filter((e) => e.type === 'member.removed');
    expect(removedForStays.map((e) => e.data)).toEqual([{ conversationId: group.id, accountId: removed!.accountId, by: owner!.accountId, reason: 'removed' }]);
  });

  it('a member who leaves is gone like a removed one, and the others see reason "left"', async () => {
    const [owner, quitter] = await users('own', 'quit');
    const group = await owner!.createGroup('Exit', [quitter!.accountId]);
    await quitter!.leave(group.id);
    const left = (await allEvents(owner!)).filter((e) => e.type === 'member.removed');
    expect(left.map((e) => e.data)).toEqual([{ conversationId: group.id, accountId: quitter!.accountId, by: quitter!.accountId, reason: 'left' }]);
    await owner!.send(group.id, { text: 'bye' });
    expect(ofConversation(await allEvents(quitter!), group.id).map((e) => e.type)).toEqual(['conversation.created', 'member.removed']);
    await expect(quitter!.history(group.id)).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
  });

  it('a newly added member does not see history from before joining', async () => {
    const [owner, old, late] = await users('own', 'old', 'late');
    const group = await owner!.createGroup('History', [old!.accountId]);
    const before = [];
    for (let i = 0; i < 5; i++) before.push(await owner!.send(group.id, { text: `early ${i}` }));
    await owner!.addMember(group.id, late!.accountId);

    expect(await late!.history(group.id)).toEqual({ messages: [], prevCursor: null, nextCursor: null });
    expect(await late!.history(group.id, { after: '0' })).toEqual({ messages: [], prevCursor: null, nextCursor: null });
    await expect(late!.message(before[0]!.id)).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' });
    await expect(late!.send(group.id, { text: 'quoting', replyTo: before[4]!.id })).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' });
    await expect(late!.markRead(group.id, before[4]!.id)).rejects.toMatchObject({ code: 'MESSAGE_NOT_FOUND' });
    let view = (await late!.conversations()).find((c) => c.id === group.id)!;
    expect(view.lastMessage).toBeNull();
    expect(view.unreadCount).toBe(0);
    expect((await allEvents(late!)).filter((e) => e.type === 'message.new')).toEqual([]);

    const welcome = await owner!.send(group.id, { text: 'welcome' });
    const page = await late!.history(group.id);
    expect(page.messages.map((m) => m.text)).toEqual(['welcome']);
    expect(page.prevCursor).toBeNull();
    // Paging back from the first visible message finds nothing older.
    expect((await late!.history(group.id, { before: String(welcome.seq) })).messages).toEqual([]);
    view = (await late!.conversations()).find((c) => c.id === group.id)!;
    expect(view.lastMessage?.id).toBe(welcome.id);
    expect(view.unreadCount).toBe(1);
    // The old member still sees everything.
    expect((await old!.history(group.id)).messages).toHaveLength(6);
  });

  it('a member removed and added again sees only what came after rejoining', async () => {
    const [owner, member] = await users('own', 'mem');
    const group = await owner!.createGroup('Again', [member!.accountId]);
    await owner!.send(group.id, { text: 'first stay' });
    await owner!.removeMember(group.id, member!.accountId);
    await owner!.send(group.id, { text: 'while away' });
    await owner!.addMember(group.id, member!.accountId);
    await owner!.send(group.id, { text: 'second stay' });
    expect((await member!.history(group.id)).messages.map((m) => m.text)).toEqual(['second stay']);
    const received = (await allEvents(member!)).filter((e) => e.type === 'message.new') as StreamEvent<'message.new'>[];
    expect(received.map((e) => e.data.message.text)).toEqual(['first stay', 'second stay']);
  });
});
