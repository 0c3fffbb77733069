import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../src/errors.js';
import { ParleyError, type Conversation, type Message, type ParleyClient } from '../sdk/index.js';
import { RawStream, settle } from './support/raw-stream.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Who may do what, as a matrix: rows are actions, columns are roles. Every refusal is asserted by
 * its exact code and status, and a refused write must leave everything as it was.
 */

type User = Awaited<ReturnType<TestServer['user']>>;
type Role = 'owner' | 'member' | 'removed' | 'nonMember' | 'anonymous' | 'revoked';
const roles: Role[] = ['owner', 'member', 'removed', 'nonMember', 'anonymous', 'revoked'];

/** The statuses the codes must keep: clients rely on them. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  TOKEN_INVALID: 401,
  NOT_A_MEMBER: 403,
  NOT_GROUP_OWNER: 403,
  NOT_MESSAGE_SENDER: 403,
  ADMIN_ONLY: 403,
};

/** An allowed cell checks the result; a refused cell names its code. */
type Cell = ErrorCode | ((result: unknown) => void);

interface Row {
  action: string;
  /** Refusals of writes are checked to have changed nothing. */
  write: boolean;
  run(client: ParleyClient, role: Role): Promise<unknown>;
  /** In the order of `roles`: owner, member, removed, nonMember, anonymous, revoked. */
  cells: [Cell, Cell, Cell, Cell, Cell, Cell];
}

let server: TestServer;
let admin: User;
let owner: User; // owns the group
let member: User; // a member of the group
let removed: User; // was a member, removed by the owner
let outsider: User; // never a member
let sam: User; // a member other roles try to remove
let tom: User; // a member the owner removes
let una: User; // an account the owner adds
let vic: User; // an account other roles try to add
let anonymous: ParleyClient;
let revoked: ParleyClient; // a second device of `member`, revoked
let group: Conversation;
let direct: Conversation; // owner ↔ member
let ownerMessage: Message;
let memberMessage: Message;

const clientFor = (role: Role): ParleyClient => ({ owner, member, removed, nonMember: outsider, anonymous, revoked })[role];
/** The account a role acts as (anonymous tries the member's). */
const selfId = (role: Role): string => ({ owner, member, removed, nonMember: outsider, anonymous: member, revoked: member })[role].accountId;
/** A message the role did not send. */
const othersMessage = (role: Role): Message => (role === 'owner' ? memberMessage : ownerMessage);

const ok: Cell = () => {};
const NOT_A_MEMBER: ErrorCode = 'NOT_A_MEMBER';
const UNAUTHENTICATED: ErrorCode = 'UNAUTHENTICATED';
const TOKEN_INVALID: ErrorCode = 'TOKEN_INVALID';
const NOT_GROUP_OWNER: ErrorCode = 'NOT_GROUP_OWNER';
const NOT_MESSAGE_SENDER: ErrorCode = 'NOT_MESSAGE_SENDER';
const ADMIN_ONLY: ErrorCode = 'ADMIN_ONLY';

const ids = (accounts: { accountId?: string; id?: string }[]) => accounts.map((a) => a.accountId ?? a.id).sort();

// Cells, in order: owner, member, removed, nonMember, anonymous, revoked.
const matrix: Row[] = [
  { action: 'read the group', write: false, run: (c) => c.conversation(group.id),
    cells: [(r) => expect((r as Conversation).id).toBe(group.id), ok, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'see the group in the conversation list', write: false, run: async (c) => (await c.conversations()).map((x) => x.id),
    cells: [(r) => expect(r).toContain(group.id), (r) => expect(r).toContain(group.id), (r) => expect(r).not.toContain(group.id), (r) => expect(r).not.toContain(group.id), UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'list the members', write: false, run: (c) => c.members(group.id),
    cells: [(r) => expect(ids(r as never)).toContain(owner.accountId), ok, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'read the history', write: false, run: async (c) => (await c.history(group.id)).messages.map((m) => m.id),
    cells: [(r) => expect(r).toContain(memberMessage.id), (r) => expect(r).toContain(ownerMessage.id), NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'read the history of the owner–member direct conversation', write: false, run: (c) => c.history(direct.id),
    cells: [ok, ok, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'read a message by id', write: false, run: (c, role) => c.message(othersMessage(role).id),
    cells: [(r) => expect((r as Message).text).toBe('from the member'), (r) => expect((r as Message).text).toBe('from the owner'), NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'send a message', write: true, run: (c, role) => c.send(group.id, { text: `sent by ${role}` }),
    cells: [(r) => expect((r as Message).conversationId).toBe(group.id), ok, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'mark the conversation read', write: true, run: (c, role) => c.markRead(group.id, othersMessage(role).id),
    cells: [(r) => expect((r as { readSeq: number }).readSeq).toBe(memberMessage.seq), ok, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: "edit someone else's message", write: true, run: (c, role) => c.edit(othersMessage(role).id, 'hijacked'),
    cells: [NOT_MESSAGE_SENDER, NOT_MESSAGE_SENDER, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: "delete someone else's message", write: true, run: (c, role) => c.deleteMessage(othersMessage(role).id),
    cells: [NOT_MESSAGE_SENDER, NOT_MESSAGE_SENDER, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: "read the receipts of someone else's message", write: false, run: (c, role) => c.receipts(othersMessage(role).id),
    cells: [NOT_MESSAGE_SENDER, NOT_MESSAGE_SENDER, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'rename the group', write: true, run: (c, role) => c.rename(group.id, `renamed by ${role}`),
    cells: [(r) => expect((r as Conversation).title).toBe('renamed by owner'), NOT_GROUP_OWNER, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'add a member', write: true, run: (c, role) => c.addMember(group.id, role === 'owner' ? una.accountId : vic.accountId),
    cells: [(r) => expect(ids(r as never)).toContain(una.accountId), NOT_GROUP_OWNER, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'remove another member', write: true, run: (c, role) => c.removeMember(group.id, role === 'owner' ? tom.accountId : sam.accountId),
    cells: [ok, NOT_GROUP_OWNER, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'make oneself an owner', write: true, run: (c, role) => c.setRole(group.id, selfId(role), 'owner'),
    cells: [ok, NOT_GROUP_OWNER, NOT_A_MEMBER, NOT_A_MEMBER, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: 'read the outbox', write: false, run: (c) => c.outbox(),
    cells: [ADMIN_ONLY, ADMIN_ONLY, ADMIN_ONLY, ADMIN_ONLY, UNAUTHENTICATED, TOKEN_INVALID] },
  { action: "see the owner's presence", write: false, run: async (c) => ids(await c.presence([owner.accountId])),
    // Not a contact: silently left out, so a stranger cannot even learn that the account exists.
    cells: [(r) => expect(r).toEqual([owner.accountId]), (r) => expect(r).toEqual([owner.accountId]), (r) => expect(r).toEqual([]), (r) => expect(r).toEqual([]), UNAUTHENTICATED, TOKEN_INVALID] },
];

/** Everything a refused write could have touched, seen by the owner and the members. */
async function state() {
  const [conversation, members, history, receipts, heads] = await Promise.all([
    owner.conversation(group.id),
    owner.members(group.id),
    owner.history(group.id, { limit: 200 }),
    owner.receipts(ownerMessage.id),
    Promise.all([owner, member, removed, outsider, sam, tom, una, vic].map(async (u) => (await u.events({ after: 0, limit: 1 })).headSeq)),
  ]);
  // Every stored change appends an event to someone's stream: unchanged heads mean nothing was written.
  return { conversation, members, history, receipts, heads };
}

async function outcome(promise: Promise<unknown>): Promise<{ result: unknown } | { code: string; status: number }> {
  try {
    return { result: await promise };
  } catch (err) {
    if (err instanceof ParleyError) return { code: err.code, status: err.status };
    throw err;
  }
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.user('admin'); // the first account on a server is its administrator
  owner = await server.user('olivia');
  member = await server.user('mike');
  removed = await server.user('rita');
  outsider = await server.user('nina');
  sam = await server.user('sam');
  tom = await server.user('tom');
  una = await server.user('una');
  vic = await server.user('vic');
  anonymous = server.client();
  revoked = server.client();
  await revoked.login('mike', 'password-mike', 'mike-old-phone');
  await member.revokeDevice(revoked.deviceId!);

  group = await owner.createGroup('Team', ['mike', 'rita', 'sam', 'tom']);
  direct = await owner.openDirect('mike');
  ownerMessage = await owner.send(group.id, { text: 'from the owner' });
  memberMessage = await member.send(group.id, { text: 'from the member' });
  await owner.send(direct.id, { text: 'just between us' });
  expect((await removed.history(group.id)).messages).toHaveLength(2);
  await owner.removeMember(group.id, removed.accountId);
});
afterAll(async () => server?.close());

describe('authorization matrix', () => {
  for (const row of matrix) {
    describe(row.action, () => {
      roles.forEach((role, i) => {
        const cell = row.cells[i]!;
        const name = typeof cell === 'string' ? `${role}: refused with ${cell} ${STATUS[cell]}` : `${role}: allowed`;
        it(name, async () => {
          const before = typeof cell === 'string' && row.write ? await state() : undefined;
          const got = await outcome(row.run(clientFor(role), role));
          if (typeof cell === 'string') {
            expect(got).toEqual({ code: cell, status: STATUS[cell] });
            if (before) expect(await state()).toEqual(before);
          } else {
            expect(got).toHaveProperty('result');
            cell((got as { result: unknown }).result);
          }
        });
      });
    });
  }
});

describe('roles outside the matrix', () => {
  it('the first account is the administrator and reads the outbox; later accounts are not', async () => {
    expect((await admin.me()).isAdmin).toBe(true);
    expect((await owner.me()).isAdmin).toBe(false);
    await outsider.bindPhone('+4915112345678');
    expect((await admin.outbox({ channel: 'sms' })).map((i) => i.recipient)).toContain('+4915112345678');
  });

  it('only an administrator creates service and provider accounts', async () => {
    const body = { handle: 'weatherbot', displayName: 'Weather', password: 'password-weatherbot', kind: 'service' as const };
    for (const client of [anonymous, owner]) {
      expect(await outcome(client.register(body))).toEqual({ code: 'ADMIN_ONLY', status: 403 });
    }
    expect(await outcome(owner.account('weatherbot'))).toEqual({ code: 'ACCOUNT_NOT_FOUND', status: 404 });
    expect((await admin.register(body)).kind).toBe('service');
  });

  it("a user cannot revoke another account's device", async () => {
    expect(await outcome(outsider.revokeDevice(member.deviceId!))).toEqual({ code: 'DEVICE_NOT_FOUND', status: 404 });
    expect((await member.me()).id).toBe(member.accountId);
  });

  it('a non-member typing into a conversation gets NOT_A_MEMBER and the members see nothing', async () => {
    const watcher = await RawStream.ready(server.url, owner);
    const intruder = await RawStream.ready(server.url, outsider);
    intruder.send({ type: 'typing', conversationId: group.id, typing: true });
    expect(await intruder.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'NOT_A_MEMBER' } });
    // A member's typing arrives, so the watcher would have seen the intruder's too.
    const from = watcher.frames.length;
    const memberStream = await RawStream.ready(server.url, member);
    memberStream.send({ type: 'typing', conversationId: group.id, typing: true });
    const typing = await watcher.next((f) => f.type === 'ephemeral' && (f.event as { type: string }).type === 'typing', from);
    expect(typing).toMatchObject({ event: { data: { accountId: member.accountId } } });
    expect(watcher.frames.filter((f) => f.type === 'ephemeral' && JSON.stringify(f).includes(outsider.accountId))).toEqual([]);
    for (const s of [watcher, intruder, memberStream]) s.close();
  });
});

describe('revoked tokens', () => {
  /** Logs `user` in on one more device. */
  async function secondDevice(user: User, name: string): Promise<ParleyClient> {
    const client = server.client();
    await client.login(user.handle, `password-${user.handle}`, name);
    return client;
  }

  it('a revoked token is refused at once over HTTP; the revoking device keeps working', async () => {
    const dana = await server.user('dana');
    const tablet = await secondDevice(dana, 'tablet');
    expect((await tablet.me()).handle).toBe('dana');
    await dana.revokeDevice(tablet.deviceId!);
    expect(await outcome(tablet.me())).toEqual({ code: 'TOKEN_INVALID', status: 401 });
    expect(await outcome(tablet.conversations())).toEqual({ code: 'TOKEN_INVALID', status: 401 });
    expect((await dana.devices()).map((d) => d.id)).toEqual([dana.deviceId]);
    expect(await outcome(dana.revokeDevice(tablet.deviceId!))).toEqual({ code: 'DEVICE_NOT_FOUND', status: 404 });
  });

  it('revoking a device from another device closes its open socket with TOKEN_INVALID and 4001; other sockets stay', async () => {
    const erin = await server.user('erin');
    const laptop = await secondDevice(erin, 'laptop');
    const kept = await RawStream.ready(server.url, erin);
    const doomed = await RawStream.ready(server.url, laptop);

    await erin.revokeDevice(laptop.deviceId!);
    expect(await settle(doomed.closed)).toEqual({ code: 4001, reason: 'TOKEN_INVALID' });
    expect(doomed.frames.at(-1)).toMatchObject({ type: 'error', error: { code: 'TOKEN_INVALID' } });

    await kept.expectAlive();
    const conversation = await owner.openDirect('erin');
    const from = kept.frames.length;
    const sent = await owner.send(conversation.id, { text: 'still reaching the other device' });
    expect(await kept.next((f) => f.type === 'event' && JSON.stringify(f).includes(sent.id), from)).toBeTruthy();
    expect(doomed.frames.some((f) => JSON.stringify(f).includes(sent.id))).toBe(false);
    kept.close();

    // Nor can the revoked token open a new stream.
    const retry = await RawStream.open(server.url);
    retry.send({ type: 'hello', token: laptop.token });
    expect(await settle(retry.closed)).toEqual({ code: 4001, reason: 'TOKEN_INVALID' });
  });

  it('logging out closes the device own open stream with 4001, and the SDK stops reconnecting', async () => {
    const fay = await server.user('fay');
    const raw = await RawStream.ready(server.url, fay);
    const sdkStream = fay.stream();
    await sdkStream.waitForState('open');
    const token = fay.token;

    await fay.logout();
    expect(await settle(raw.closed)).toEqual({ code: 4001, reason: 'TOKEN_INVALID' });
    await sdkStream.waitForState('unauthorized');
    const stranger = server.client();
    stranger.token = token;
    expect(await outcome(stranger.me())).toEqual({ code: 'TOKEN_INVALID', status: 401 });
    sdkStream.close();
  });
});
