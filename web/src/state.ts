/**
 * The app's state and everything that changes it: the session, conversations, history pages,
 * optimistic sends, watermarks, message statuses, presence and typing. Components read `state`
 * and call the functions here; every change ends with notify(), which re-renders once per tick.
 */
import { useEffect, useState } from 'preact/hooks';
import { ParleyClient, ParleyError } from '../../sdk/index.js';
import type { Conversation, EphemeralEvent, Me, Member, Message, Presence, PublicAccount, StreamEvent, StreamState } from '../../sdk/index.js';
import type { ParleyStream } from '../../sdk/stream.js';
import type { EventData } from '../../src/protocol/events.js';
import type { SendMessageBody } from '../../src/protocol/requests.js';

export type Route =
  | { name: 'login' }
  | { name: 'signup' }
  | { name: 'home' }
  | { name: 'chat'; id: string }
  | { name: 'new' }
  | { name: 'settings' }
  | { name: 'outbox' }
  | { name: 'offers'; tab: OffersTab }
  | { name: 'orders'; tab: OrdersTab };

export type OffersTab = 'inbox' | 'interests' | 'vouchers' | 'provider';
export type OrdersTab = 'catalogue' | 'mine' | 'provider' | 'credit';

export interface Session {
  token: string;
  deviceId: string;
  me: Me;
}

export interface PendingMessage {
  clientId: string;
  conversationId: string;
  body: SendMessageBody;
  /** sending: a request is out; waiting: no network, retried when it is back; failed: refused. */
  status: 'sending' | 'waiting' | 'failed';
  error?: string;
  createdAt: string;
}

export interface ChatState {
  messages: Message[];
  prevCursor: string | null;
  loaded: boolean;
  loadingOlder: boolean;
  members: Member[] | null;
  error?: string;
}

export type FallbackState = 'requested' | 'sent' | 'delivered' | 'failed' | 'skipped' | 'deferred';
export interface RecipientStatus {
  unread?: EventData['message.unread'];
  fallback?: { state: FallbackState; channel?: 'sms' | 'email'; reason?: string; until?: string };
}
/** Per recipient account id: what the deadlines and fallbacks did to one of my messages. */
export type MessageStatus = Record<string, RecipientStatus>;

export type Conn = StreamState | 'idle';

export const state = {
  session: null as Session | null,
  booting: true,
  conn: 'idle' as Conn,
  browserOnline: typeof navigator === 'undefined' ? true : navigator.onLine,
  route: parseRoute(location.pathname),
  conversations: new Map<string, Conversation>(),
  conversationsLoaded: false,
  conversationsError: '',
  chats: new Map<string, ChatState>(),
  pending: new Map<string, PendingMessage>(),
  accounts: new Map<string, PublicAccount>(),
  presence: new Map<string, Presence>(),
  /** conversation id → account id → when the indicator expires (ms). */
  typing: new Map<string, Map<string, number>>(),
  /** conversation id → account id → message seq watermarks. */
  watermarks: new Map<string, Map<string, { delivered: number; read: number }>>(),
  statuses: new Map<string, MessageStatus>(),
  /** Reply targets outside the loaded history, fetched on demand (null while loading or gone). */
  messageCache: new Map<string, Message | null>(),
  /** Polite announcement for screen readers (role=status). */
  notice: '',
  toast: null as { text: string; kind: 'info' | 'error'; id: number } | null,
  signedOutReason: '',
};

export const client = new ParleyClient({ baseUrl: location.origin });
let stream: ParleyStream | undefined;

// ── store plumbing ──────────────────────────────────────────────────────────────────────────────

const listeners = new Set<() => void>();
let scheduled = false;
let version = 0;
export function notify(): void {
  version++;
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    for (const listener of listeners) listener();
  });
}

/** Re-renders the calling component whenever the state changes. */
export function useAppState(): typeof state {
  const [seen, setSeen] = useState(version);
  useEffect(() => {
    const listener = () => setSeen(version);
    listeners.add(listener);
    // A change between the render and this subscription would otherwise go unseen.
    if (version !== seen) listener();
    return () => void listeners.delete(listener);
  }, []);
  return state;
}

let toastCounter = 0;
export function toast(text: string, kind: 'info' | 'error' = 'info'): void {
  const id = ++toastCounter;
  state.toast = { text, kind, id };
  state.notice = text;
  notify();
  setTimeout(() => {
    if (state.toast?.id === id) {
      state.toast = null;
      notify();
    }
  }, kind === 'error' ? 8000 : 4000);
}

export function errorText(err: unknown): string {
  if (err instanceof ParleyError) {
    if (err.code === 'NETWORK') return 'The server cannot be reached. Check the connection and try again.';
    return err.message.replace(/^[A-Z_]+: /, '');
  }
  return err instanceof Error ? err.message : String(err);
}

// ── routing ─────────────────────────────────────────────────────────────────────────────────────

export function parseRoute(path: string): Route {
  const chat = /^\/c\/([^/]+)\/?$/.exec(path);
  if (chat?.[1]) return { name: 'chat', id: decodeURIComponent(chat[1]) };
  const offers = /^\/offers(?:\/(interests|vouchers|provider))?\/?$/.exec(path);
  if (offers) return { name: 'offers', tab: (offers[1] as OffersTab | undefined) ?? 'inbox' };
  const orders = /^\/orders(?:\/(mine|provider|credit))?\/?$/.exec(path);
  if (orders) return { name: 'orders', tab: (orders[1] as OrdersTab | undefined) ?? 'catalogue' };
  switch (path.replace(/\/$/, '')) {
    case '/login':
      return { name: 'login' };
    case '/signup':
      return { name: 'signup' };
    case '/new':
      return { name: 'new' };
    case '/settings':
      return { name: 'settings' };
    case '/outbox':
      return { name: 'outbox' };
    default:
      return { name: 'home' };
  }
}

export function navigate(path: string, replace = false): void {
  if (location.pathname !== path) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  state.route = parseRoute(path);
  notify();
  if (state.route.name === 'chat') void openChat(state.route.id);
}

window.addEventListener('popstate', () => {
  state.route = parseRoute(location.pathname);
  notify();
  if (state.route.name === 'chat') void openChat(state.route.id);
});

// ── persistence ─────────────────────────────────────────────────────────────────────────────────

const SESSION_KEY = 'parley.session';
const seqKey = (deviceId: string) => `parley.lastSeq.${deviceId}`;
const statusKey = (accountId: string) => `parley.statuses.${accountId}`;
const pendingKey = (accountId: string) => `parley.pending.${accountId}`;

export function load<T>(key: string): T | undefined {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : undefined;
  } catch {
    return undefined;
  }
}
export function save(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the app still works, it just forgets across reloads.
  }
}

const saveTimers = new Map<string, ReturnType<typeof setTimeout>>();
function saveSoon(key: string, value: () => unknown): void {
  if (saveTimers.has(key)) return;
  saveTimers.set(
    key,
    setTimeout(() => {
      saveTimers.delete(key);
      save(key, value());
    }, 200),
  );
}

function persistStatuses(): void {
  const me = state.session?.me.id;
  if (!me) return;
  saveSoon(statusKey(me), () => {
    const entries = [...state.statuses.entries()];
    return Object.fromEntries(entries.slice(-500));
  });
}

function persistPending(): void {
  const me = state.session?.me.id;
  if (!me) return;
  save(pendingKey(me), [...state.pending.values()].filter((p) => p.status !== 'failed'));
}

// ── session ─────────────────────────────────────────────────────────────────────────────────────

export function me(): string {
  return state.session?.me.id ?? '';
}

function deviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chromium' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
  return `${browser}${os ? ` on ${os}` : ''} (web)`;
}

export async function boot(): Promise<void> {
  const saved = load<Session>(SESSION_KEY);
  state.booting = false;
  if (!saved?.token) {
    routeForSession();
    return;
  }
  client.token = saved.token;
  client.deviceId = saved.deviceId;
  state.session = saved;
  routeForSession();
  // Checked alongside the first loads rather than before them: a returning user sees the chat sooner.
  client.me().then(setMe, (err) => {
    if (err instanceof ParleyError && err.status === 401 && state.session?.token === saved.token) {
      resetSession('Your session ended. Please log in again.');
      navigate('/login', true);
    }
    // Offline: carry on with what was saved; the stream and the loads retry.
  });
  await startSession();
}

function routeForSession(): void {
  const r = state.route.name;
  if (!state.session && r !== 'login' && r !== 'signup') navigate('/login', true);
  else if (state.session && (r === 'login' || r === 'signup')) navigate('/', true);
  else notify();
}

export async function signIn(handle: string, password: string): Promise<void> {
  const session = await client.login(handle.trim(), password, deviceName());
  state.session = { token: session.token, deviceId: session.deviceId, me: session.account };
  state.signedOutReason = '';
  save(SESSION_KEY, state.session);
  navigate('/', true);
  await startSession();
}

export async function signUp(handle: string, displayName: string, password: string): Promise<void> {
  await client.register({ handle: handle.trim(), displayName: displayName.trim() || handle.trim(), password });
  await signIn(handle, password);
}

export async function signOut(): Promise<void> {
  try {
    await client.logout();
  } catch {
    // Already revoked or offline: forget the token all the same.
  }
  resetSession('');
  navigate('/login', true);
}

/** Run when the session ends, by modules that keep per-user state of their own (files.ts). */
export const onSessionEnd: (() => void)[] = [];
/** Run for every stream event after the state above took it in, by modules that follow events of their own (services.ts). */
export const onStreamEvent: ((event: StreamEvent) => void)[] = [];

/** The session's stream socket, for modules that send over it (services.ts). */
export function liveStream(): ParleyStream | undefined {
  return stream;
}

function resetSession(reason: string): void {
  stream?.close();
  stream = undefined;
  const deviceId = state.session?.deviceId;
  if (deviceId) localStorage.removeItem(seqKey(deviceId));
  localStorage.removeItem(SESSION_KEY);
  client.token = undefined;
  state.session = null;
  state.signedOutReason = reason;
  state.conn = 'idle';
  state.conversations.clear();
  state.conversationsLoaded = false;
  state.chats.clear();
  state.pending.clear();
  state.accounts.clear();
  state.presence.clear();
  state.typing.clear();
  state.watermarks.clear();
  state.statuses.clear();
  state.messageCache.clear();
  gone.clear();
  for (const hook of onSessionEnd) hook();
  notify();
}

async function startSession(): Promise<void> {
  const session = state.session;
  if (!session) return;
  state.accounts.set(session.me.id, session.me);
  const statuses = load<Record<string, MessageStatus>>(statusKey(session.me.id)) ?? {};
  for (const [id, s] of Object.entries(statuses)) state.statuses.set(id, s);
  for (const p of load<PendingMessage[]>(pendingKey(session.me.id)) ?? []) state.pending.set(p.clientId, { ...p, status: 'waiting' });
  // Conversations, the open chat's history and the stream load in parallel; events that arrive
  // before the conversation list wait for it (see openStream).
  if (state.route.name === 'chat') void openChat(state.route.id);
  const conversations = loadConversations();
  const after = await resumePoint(session.deviceId);
  if (state.session?.token !== session.token) return;
  await openStream(after);
  await conversations;
  flushPending();
}

// ── the event stream ────────────────────────────────────────────────────────────────────────────

/**
 * Resumes after the last event this browser processed. A device that has none yet skips all but
 * the recent past: conversations and history come over HTTP, and the recent events bring back
 * statuses ("unread after…", "SMS sent") that arrived while nobody was looking.
 */
async function resumePoint(deviceId: string): Promise<number | undefined> {
  const stored = load<number>(seqKey(deviceId));
  if (typeof stored === 'number') return stored;
  try {
    const { headSeq } = await client.events({ limit: 1 });
    return Math.max(0, headSeq - 2000);
  } catch {
    return undefined;
  }
}

async function openStream(after?: number): Promise<void> {
  const session = state.session;
  if (!session) return;
  stream?.close();
  const s = client.stream({ ...(after === undefined ? {} : { after }), pingIntervalMs: 15_000, minBackoffMs: 250, maxBackoffMs: 5000 });
  stream = s;
  s.on('state', (st) => {
    if (stream !== s) return;
    state.conn = st;
    if (st === 'unauthorized') {
      resetSession('This device was signed out. Please log in again.');
      navigate('/login', true);
    }
    notify();
  });
  s.on('ready', () => {
    if (stream !== s) return;
    if (!state.conversationsLoaded) void loadConversations();
    void refreshPresence();
    flushPending();
    if (state.route.name === 'chat') {
      const chat = state.chats.get(state.route.id);
      if (chat && !chat.loaded) void openChat(state.route.id);
      maybeMarkRead(state.route.id);
    }
  });
  // Events are applied in order, and only on top of a loaded conversation list.
  let queue: StreamEvent[] = [];
  const drain = () => {
    const batch = queue;
    queue = [];
    for (const event of batch) {
      handleEvent(event);
      for (const hook of onStreamEvent) hook(event);
    }
    saveSoon(seqKey(session.deviceId), () => s.lastSeq);
    notify();
  };
  s.on('event', (event) => {
    if (stream !== s) return;
    queue.push(event);
    if (queue.length > 1) return;
    if (conversationsLoading) void conversationsLoading.then(() => stream === s && drain());
    else drain();
  });
  s.on('ephemeral', (event) => {
    if (stream !== s) return;
    handleEphemeral(event);
    notify();
  });
  s.on('error', (err) => {
    if (stream !== s || err.code !== 'SEQ_OUT_OF_RANGE') return;
    // The stored position is beyond the server's stream (a reset server): start over from its head.
    localStorage.removeItem(seqKey(session.deviceId));
    s.close();
    stream = undefined;
    void resumePoint(session.deviceId).then(openStream);
  });
}

window.addEventListener('online', () => {
  state.browserOnline = true;
  stream?.reconnect();
  flushPending();
  notify();
});
window.addEventListener('offline', () => {
  state.browserOnline = false;
  // A socket can look open for a while after the network went away; start the resume cycle now.
  stream?.dropConnection();
  notify();
});
document.addEventListener('visibilitychange', () => {
  if (state.route.name === 'chat') maybeMarkRead(state.route.id);
});

function handleEvent(event: StreamEvent): void {
  const e = event as { [K in keyof EventData]: { type: K; data: EventData[K]; at: string } }[keyof EventData];
  switch (e.type) {
    case 'message.new':
      upsertMessage(e.data.message, true);
      return;
    case 'message.edited':
      upsertMessage(e.data.message, false);
      return;
    case 'message.deleted':
      markDeleted(e.data.conversationId, e.data.messageId, e.at);
      return;
    case 'receipt':
      setWatermark(e.data.conversationId, e.data.accountId, e.data.state, e.data.upToSeq);
      return;
    case 'conversation.read': {
      const conv = state.conversations.get(e.data.conversationId);
      if (!conv || e.data.upToSeq <= conv.readSeq) return;
      conv.readSeq = e.data.upToSeq;
      if (!conv.lastMessage || e.data.upToSeq >= conv.lastMessage.seq) conv.unreadCount = 0;
      else void refreshConversation(conv.id);
      return;
    }
    case 'conversation.created':
      if (!state.conversations.has(e.data.conversation.id)) addConversation(e.data.conversation);
      return;
    case 'conversation.updated': {
      const conv = state.conversations.get(e.data.conversationId);
      if (conv) conv.title = e.data.title;
      return;
    }
    case 'member.added': {
      state.accounts.set(e.data.account.id, e.data.account);
      const conv = state.conversations.get(e.data.conversationId);
      if (!conv) return void refreshConversation(e.data.conversationId);
      if (!conv.members.some((m) => m.id === e.data.account.id)) {
        conv.members.push(e.data.account);
        schedulePresence();
      }
      if (state.chats.get(conv.id)?.members) void loadMembers(conv.id);
      return;
    }
    case 'member.removed': {
      const { conversationId, accountId } = e.data;
      if (accountId === me()) {
        const conv = state.conversations.get(conversationId);
        if (!conv) return;
        state.conversations.delete(conversationId);
        state.chats.delete(conversationId);
        if (state.route.name === 'chat' && state.route.id === conversationId) {
          navigate('/', true);
          toast(e.data.reason === 'left' ? 'You left the group.' : `You were removed from ${conv.title ?? 'the group'}.`);
        }
        return;
      }
      const conv = state.conversations.get(conversationId);
      if (conv) conv.members = conv.members.filter((m) => m.id !== accountId);
      const chat = state.chats.get(conversationId);
      if (chat?.members) chat.members = chat.members.filter((m) => m.accountId !== accountId);
      return;
    }
    case 'member.role': {
      const conv = state.conversations.get(e.data.conversationId);
      if (conv && e.data.accountId === me()) conv.role = e.data.role;
      const member = state.chats.get(e.data.conversationId)?.members?.find((m) => m.accountId === e.data.accountId);
      if (member) member.role = e.data.role;
      return;
    }
    case 'message.unread':
      setStatus(e.data.messageId, e.data.accountId, { unread: e.data });
      return;
    case 'fallback.sent':
      setStatus(e.data.messageId, e.data.accountId, { fallback: { state: 'sent', channel: e.data.channel } });
      return;
    case 'fallback.delivered':
      setStatus(e.data.messageId, e.data.accountId, { fallback: { state: 'delivered', channel: e.data.channel } });
      return;
    case 'fallback.failed':
      setStatus(e.data.messageId, e.data.accountId, { fallback: { state: 'failed', channel: e.data.channel, reason: e.data.reason } });
      return;
    case 'fallback.skipped':
      setStatus(e.data.messageId, e.data.accountId, { fallback: { state: 'skipped', reason: e.data.reason } });
      return;
    case 'fallback.deferred':
      setStatus(e.data.messageId, e.data.accountId, { fallback: { state: 'deferred', until: e.data.until } });
      return;
  }
}

const TYPING_SWEEP_MS = 1000;
setInterval(() => {
  const now = Date.now();
  let changed = false;
  for (const [conv, who] of state.typing) {
    for (const [account, until] of who) {
      if (until <= now) {
        who.delete(account);
        changed = true;
      }
    }
    if (who.size === 0) state.typing.delete(conv);
  }
  if (changed) notify();
}, TYPING_SWEEP_MS);

function handleEphemeral(event: EphemeralEvent): void {
  if (event.type === 'presence') {
    const p = event.data as Presence;
    state.presence.set(p.accountId, p);
  } else if (event.type === 'typing') {
    const t = event.data as EphemeralEvent<'typing'>['data'];
    if (t.accountId === me()) return;
    let who = state.typing.get(t.conversationId);
    if (!who) state.typing.set(t.conversationId, (who = new Map()));
    if (t.typing) who.set(t.accountId, Date.now() + t.ttlMs);
    else who.delete(t.accountId);
  }
}

// ── conversations ───────────────────────────────────────────────────────────────────────────────

let presenceTimer: ReturnType<typeof setTimeout> | undefined;
function addConversation(conv: Conversation): void {
  const isNew = !state.conversations.has(conv.id);
  state.conversations.set(conv.id, conv);
  for (const a of conv.members) state.accounts.set(a.id, a);
  // Presence frames only reach people who already shared a conversation: ask for the newcomers'.
  if (isNew && state.conversationsLoaded) schedulePresence();
}

function schedulePresence(): void {
  if (!presenceTimer) presenceTimer = setTimeout(() => ((presenceTimer = undefined), void refreshPresence()), 100);
}

let conversationsLoading: Promise<void> | undefined;
function loadConversations(): Promise<void> {
  return (conversationsLoading ??= fetchConversations().finally(() => (conversationsLoading = undefined)));
}

async function fetchConversations(): Promise<void> {
  try {
    const list = await client.conversations();
    state.conversations.clear();
    for (const conv of list) addConversation(conv);
    state.conversationsLoaded = true;
    state.conversationsError = '';
    void refreshPresence();
  } catch (err) {
    state.conversationsError = errorText(err);
  }
  notify();
}

const gone = new Set<string>();
const refreshing = new Map<string, Promise<void>>();
function refreshConversation(id: string): Promise<void> {
  if (gone.has(id)) return Promise.resolve();
  const running = refreshing.get(id);
  if (running) return running;
  const p = client
    .conversation(id)
    .then((conv) => {
      addConversation(conv);
      notify();
    })
    .catch((err) => {
      if (err instanceof ParleyError && (err.status === 403 || err.status === 404)) gone.add(id);
    })
    .finally(() => refreshing.delete(id));
  refreshing.set(id, p);
  return p;
}

async function refreshPresence(): Promise<void> {
  const ids = new Set<string>();
  for (const conv of state.conversations.values()) for (const a of conv.members) if (a.id !== me()) ids.add(a.id);
  if (ids.size === 0) return;
  try {
    for (const p of await client.presence([...ids].slice(0, 200))) state.presence.set(p.accountId, p);
    notify();
  } catch {
    // Presence is a nicety; the next reconnect asks again.
  }
}

export function sortedConversations(): Conversation[] {
  const when = (c: Conversation) => c.lastMessage?.createdAt ?? c.createdAt;
  return [...state.conversations.values()].sort((a, b) => (when(a) < when(b) ? 1 : when(a) > when(b) ? -1 : b.id.localeCompare(a.id)));
}

export function directPeer(conv: Conversation): PublicAccount | undefined {
  return conv.kind === 'direct' ? conv.members.find((a) => a.id !== me()) : undefined;
}

export function conversationTitle(conv: Conversation): string {
  if (conv.kind === 'group') return conv.title || 'Untitled group';
  const peer = directPeer(conv);
  return peer ? peer.displayName || peer.handle : 'Direct chat';
}

export function accountName(id: string): string {
  if (id === me()) return 'You';
  const a = state.accounts.get(id);
  return a ? a.displayName || a.handle : 'Someone';
}

export function typingNames(conversationId: string): string[] {
  return [...(state.typing.get(conversationId)?.keys() ?? [])].map(accountName);
}

export async function startDirect(handle: string): Promise<void> {
  const conv = await client.openDirect(handle.trim().replace(/^@/, ''));
  addConversation(conv);
  navigate(`/c/${conv.id}`);
}

export async function createGroup(title: string, handles: string[]): Promise<void> {
  const conv = await client.createGroup(title.trim(), handles);
  addConversation(conv);
  navigate(`/c/${conv.id}`);
}

export async function loadMembers(conversationId: string): Promise<void> {
  const members = await client.members(conversationId);
  const chat = state.chats.get(conversationId);
  if (chat) chat.members = members;
  for (const m of members) {
    if (!state.accounts.has(m.accountId)) state.accounts.set(m.accountId, { id: m.accountId, handle: m.handle, displayName: m.displayName, kind: 'person' });
    setWatermark(conversationId, m.accountId, 'delivered', m.deliveredSeq);
    setWatermark(conversationId, m.accountId, 'read', m.readSeq);
  }
  notify();
}

function applyMembers(conversationId: string, members: Member[]): void {
  const chat = state.chats.get(conversationId);
  if (chat) chat.members = members;
  const conv = state.conversations.get(conversationId);
  if (conv) conv.members = members.map((m) => state.accounts.get(m.accountId) ?? { id: m.accountId, handle: m.handle, displayName: m.displayName, kind: 'person' });
  notify();
}

export async function addMember(conversationId: string, handle: string, role: 'owner' | 'member'): Promise<void> {
  const account = await client.account(handle.trim().replace(/^@/, ''));
  state.accounts.set(account.id, account);
  applyMembers(conversationId, await client.addMember(conversationId, account.id, role));
}

export async function removeMember(conversationId: string, accountId: string): Promise<void> {
  await client.removeMember(conversationId, accountId);
  await loadMembers(conversationId);
  await refreshConversation(conversationId);
}

export async function setRole(conversationId: string, accountId: string, role: 'owner' | 'member'): Promise<void> {
  applyMembers(conversationId, await client.setRole(conversationId, accountId, role));
}

export async function renameGroup(conversationId: string, title: string): Promise<void> {
  addConversation(await client.rename(conversationId, title.trim()));
  notify();
}

export async function leaveGroup(conversationId: string): Promise<void> {
  await client.leave(conversationId);
  state.conversations.delete(conversationId);
  state.chats.delete(conversationId);
  navigate('/', true);
  toast('You left the group.');
}

// ── history and messages ────────────────────────────────────────────────────────────────────────

function chatState(id: string): ChatState {
  let chat = state.chats.get(id);
  if (!chat) state.chats.set(id, (chat = { messages: [], prevCursor: null, loaded: false, loadingOlder: false, members: null }));
  return chat;
}

/** Inserts or replaces by id, keeping seq order. An older snapshot (replayed edit) never wins. */
function mergeInto(list: Message[], m: Message): void {
  const at = list.findIndex((x) => x.id === m.id);
  if (at >= 0) {
    const old = list[at]!;
    if (old.deletedAt && !m.deletedAt) return;
    if (old.editedAt && m.editedAt && m.editedAt < old.editedAt) return;
    if (old.editedAt && !m.editedAt && !m.deletedAt) return;
    list[at] = m;
    return;
  }
  let i = list.length;
  while (i > 0 && list[i - 1]!.seq > m.seq) i--;
  list.splice(i, 0, m);
}

const opening = new Map<string, Promise<void>>();
export function openChat(id: string): Promise<void> {
  const running = opening.get(id);
  if (running) return running;
  const p = (async () => {
    const chat = chatState(id);
    try {
      if (!chat.loaded) {
        // One screenful and some: the first render stays cheap, scrolling up fetches the rest.
        const page = await client.history(id, { limit: 30 });
        for (const m of page.messages) mergeInto(chat.messages, m);
        chat.prevCursor = page.prevCursor;
        chat.loaded = true;
        chat.error = undefined;
        notify();
      }
      if (conversationsLoading) await conversationsLoading;
      if (!state.conversations.has(id)) await refreshConversation(id);
      await loadMembers(id);
      maybeMarkRead(id);
    } catch (err) {
      chat.error = errorText(err);
      notify();
    }
  })().finally(() => opening.delete(id));
  opening.set(id, p);
  return p;
}

export async function loadOlder(id: string): Promise<void> {
  const chat = state.chats.get(id);
  if (!chat || !chat.prevCursor || chat.loadingOlder) return;
  chat.loadingOlder = true;
  notify();
  try {
    const page = await client.history(id, { before: chat.prevCursor, limit: 50 });
    for (const m of page.messages) mergeInto(chat.messages, m);
    chat.prevCursor = page.prevCursor;
  } catch (err) {
    toast(errorText(err), 'error');
  } finally {
    chat.loadingOlder = false;
    notify();
  }
}

export function upsertMessage(m: Message, isNew: boolean): void {
  const conv = state.conversations.get(m.conversationId);
  if (!conv) void refreshConversation(m.conversationId);
  const chat = state.chats.get(m.conversationId);
  if (chat?.loaded) mergeInto(chat.messages, m);
  if (state.messageCache.has(m.id)) state.messageCache.set(m.id, m);
  if (conv) {
    const last = conv.lastMessage;
    if (!last || m.seq > last.seq) {
      conv.lastMessage = m;
      if (isNew && m.senderId !== me() && m.seq > conv.readSeq) conv.unreadCount += 1;
    } else if (last.id === m.id) {
      conv.lastMessage = m;
    }
  }
  if (m.senderId === me() && m.clientId && state.pending.delete(m.clientId)) persistPending();
  if (isNew && m.senderId !== me()) {
    if (state.route.name === 'chat' && state.route.id === m.conversationId) maybeMarkRead(m.conversationId);
  }
}

function markDeleted(conversationId: string, messageId: string, at: string): void {
  const chat = state.chats.get(conversationId);
  const m = chat?.messages.find((x) => x.id === messageId);
  if (m) Object.assign(m, { text: '', deletedAt: m.deletedAt ?? at });
  const last = state.conversations.get(conversationId)?.lastMessage;
  if (last?.id === messageId) Object.assign(last, { text: '', deletedAt: last.deletedAt ?? at });
  const cached = state.messageCache.get(messageId);
  if (cached) Object.assign(cached, { text: '', deletedAt: cached.deletedAt ?? at });
}

/** Finds a message for a reply quote: loaded history first, else fetched once. */
export function findMessage(id: string): Message | null {
  for (const chat of state.chats.values()) {
    const m = chat.messages.find((x) => x.id === id);
    if (m) return m;
  }
  if (!state.messageCache.has(id)) {
    state.messageCache.set(id, null);
    client
      .message(id)
      .then((m) => {
        state.messageCache.set(id, m);
        notify();
      })
      .catch(() => {});
  }
  return state.messageCache.get(id) ?? null;
}

const readInFlight = new Set<string>();
/** Moves my read watermark to the newest message while the chat is on screen. */
export function maybeMarkRead(conversationId: string): void {
  if (state.route.name !== 'chat' || state.route.id !== conversationId) return;
  if (document.visibilityState !== 'visible' || readInFlight.has(conversationId)) return;
  const conv = state.conversations.get(conversationId);
  const chat = state.chats.get(conversationId);
  if (!conv || !chat?.loaded) return;
  const newest = chat.messages.at(-1) ?? conv.lastMessage;
  if (!newest || newest.seq <= conv.readSeq) return;
  const unread = conv.unreadCount > 0 || chat.messages.some((m) => m.senderId !== me() && m.seq > conv.readSeq);
  if (!unread) return;
  const before = { readSeq: conv.readSeq, unreadCount: conv.unreadCount };
  conv.readSeq = newest.seq;
  conv.unreadCount = 0;
  readInFlight.add(conversationId);
  notify();
  client
    .markRead(conversationId, newest.id)
    .then(({ readSeq }) => {
      conv.readSeq = Math.max(conv.readSeq, readSeq);
    })
    .catch(() => {
      // Offline: put it back so the next chance (reconnect, new message) tries again.
      conv.readSeq = before.readSeq;
      conv.unreadCount = before.unreadCount;
    })
    .finally(() => {
      readInFlight.delete(conversationId);
      // Messages that arrived meanwhile need their own receipt.
      if (conv.readSeq >= before.readSeq) maybeMarkRead(conversationId);
      notify();
    });
}

// ── sending ─────────────────────────────────────────────────────────────────────────────────────

export interface SendOptions {
  readReceipt: boolean;
  /** Deadline for the read receipt in ms, or null for none. */
  withinMs: number | null;
  priority: 'low' | 'normal' | 'high' | 'urgent';
  fallback: 'auto' | 'ask' | 'never';
}

export function newClientId(): string {
  // getRandomValues works on plain http too (randomUUID needs a secure context).
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Set when I send: the message list jumps to the bottom on its next render, wherever it was. */
export const scrollRequest = { conversationId: '' };

export function sendMessage(conversationId: string, text: string, options: SendOptions, replyTo: string | null): void {
  scrollRequest.conversationId = conversationId;
  const body: SendMessageBody = { text, clientId: newClientId(), priority: options.priority, fallback: options.fallback };
  if (replyTo) body.replyTo = replyTo;
  if (options.readReceipt || options.withinMs) body.receipt = options.withinMs ? { read: true, within: options.withinMs } : { read: true };
  const pending: PendingMessage = { clientId: body.clientId!, conversationId, body, status: 'sending', createdAt: new Date().toISOString() };
  state.pending.set(pending.clientId, pending);
  persistPending();
  notify();
  void deliver(pending);
}

const inFlight = new Set<string>();
async function deliver(p: PendingMessage): Promise<void> {
  if (inFlight.has(p.clientId)) return;
  inFlight.add(p.clientId);
  p.status = 'sending';
  notify();
  try {
    // The same clientId on every try: the server stores the message once, however often we retry.
    const m = await client.send(p.conversationId, p.body);
    state.pending.delete(p.clientId);
    upsertMessage(m, true);
    persistPending();
  } catch (err) {
    if (err instanceof ParleyError && (err.code === 'NETWORK' || err.status >= 500 || err.status === 429)) {
      p.status = 'waiting';
    } else {
      p.status = 'failed';
      p.error = errorText(err);
      persistPending();
    }
  } finally {
    inFlight.delete(p.clientId);
    notify();
  }
}

export function flushPending(): void {
  for (const p of state.pending.values()) if (p.status === 'waiting') void deliver(p);
}
setInterval(flushPending, 3000);

export function retryPending(clientId: string): void {
  const p = state.pending.get(clientId);
  if (p) void deliver(p);
}

export function discardPending(clientId: string): void {
  state.pending.delete(clientId);
  persistPending();
  notify();
}

export async function editMessage(id: string, text: string): Promise<void> {
  upsertMessage(await client.edit(id, text), false);
  notify();
}

export async function deleteMessage(m: Message): Promise<void> {
  await client.deleteMessage(m.id);
  markDeleted(m.conversationId, m.id, new Date().toISOString());
  notify();
}

let lastTyping = { conversationId: '', at: 0 };
export function sendTyping(conversationId: string, typing: boolean): void {
  if (!stream || stream.state !== 'open') return;
  const now = Date.now();
  if (typing && lastTyping.conversationId === conversationId && now - lastTyping.at < 3000) return;
  if (!typing && lastTyping.conversationId !== conversationId) return;
  lastTyping = typing ? { conversationId, at: now } : { conversationId: '', at: 0 };
  stream.typing(conversationId, typing);
}

// ── receipts and statuses ───────────────────────────────────────────────────────────────────────

function setWatermark(conversationId: string, accountId: string, kind: 'delivered' | 'read', upToSeq: number): void {
  let byAccount = state.watermarks.get(conversationId);
  if (!byAccount) state.watermarks.set(conversationId, (byAccount = new Map()));
  const w = byAccount.get(accountId) ?? { delivered: 0, read: 0 };
  if (kind === 'read') w.read = Math.max(w.read, upToSeq);
  w.delivered = Math.max(w.delivered, upToSeq);
  byAccount.set(accountId, w);
}

export type Tick = 'sent' | 'delivered' | 'read';

/** Where my message stands with every other member who was there when it was sent. */
export function receiptSummary(m: Message): { tick: Tick; read: number; delivered: number; total: number } {
  const chat = state.chats.get(m.conversationId);
  const conv = state.conversations.get(m.conversationId);
  const recipients = chat?.members ? chat.members.filter((x) => x.accountId !== m.senderId && x.joinedAt <= m.createdAt).map((x) => x.accountId) : (conv?.members ?? []).filter((a) => a.id !== m.senderId).map((a) => a.id);
  const marks = state.watermarks.get(m.conversationId);
  let read = 0;
  let delivered = 0;
  for (const id of recipients) {
    const w = marks?.get(id);
    if ((w?.read ?? 0) >= m.seq) read++;
    if ((w?.delivered ?? 0) >= m.seq) delivered++;
  }
  const total = recipients.length;
  const tick: Tick = total > 0 && read === total ? 'read' : total > 0 && delivered === total ? 'delivered' : 'sent';
  return { tick, read, delivered, total };
}

function setStatus(messageId: string, accountId: string, patch: RecipientStatus): void {
  const status = { ...(state.statuses.get(messageId) ?? {}) };
  status[accountId] = { ...(status[accountId] ?? {}), ...patch };
  state.statuses.delete(messageId);
  state.statuses.set(messageId, status);
  persistStatuses();
}

/** "Send as SMS now": asks the server to send the message by SMS/e-mail to whoever has not read it. */
export async function sendAsSmsNow(m: Message): Promise<void> {
  try {
    const results = await client.fallback(m.id);
    const done: string[] = [];
    for (const r of results) {
      const fallbackState: FallbackState = r.outcome === 'deferred' ? 'deferred' : r.outcome === 'skipped' ? 'skipped' : 'requested';
      const current = state.statuses.get(m.id)?.[r.accountId]?.fallback;
      if (!current || current.state === 'requested' || fallbackState !== 'requested') setStatus(m.id, r.accountId, { fallback: { state: fallbackState, ...(r.reason ? { reason: r.reason } : {}) } });
      done.push(r.outcome);
    }
    toast(results.length === 0 ? 'Nobody left to text: everyone has read it.' : results.every((r) => r.outcome === 'skipped') ? `SMS not sent: ${results[0]?.reason?.replace(/_/g, ' ') ?? 'skipped'}.` : 'SMS requested.');
  } catch (err) {
    toast(errorText(err), 'error');
  }
  notify();
}

export async function updateMe(patch: Parameters<ParleyClient['updateMe']>[0]): Promise<void> {
  const account = await client.updateMe(patch);
  setMe(account);
}

export function setMe(account: Me): void {
  if (!state.session) return;
  state.session = { ...state.session, me: account };
  state.accounts.set(account.id, account);
  save(SESSION_KEY, state.session);
  notify();
}
