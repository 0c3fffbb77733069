import type { CreateConversationBody, RegisterBody, SendMessageBody, UpdateMeBody } from '../src/protocol/requests.js';
import type { StreamEvent } from '../src/protocol/events.js';
import type { Conversation, Device, Me, Member, Message, MessagePage, MessageReceipts, OutboxItem, Presence, PublicAccount, Session } from '../src/protocol/views.js';
import { ParleyError } from './errors.js';
import { ParleyStream, type StreamOptions, type WebSocketLike } from './stream.js';

export interface ClientOptions {
  /** e.g. http://localhost:8787 */
  baseUrl: string;
  token?: string;
  fetch?: typeof fetch;
  /** WebSocket constructor; defaults to the global one (browsers, Node ≥ 22). */
  WebSocket?: new (url: string) => WebSocketLike;
}

type Query = Record<string, string | number | undefined>;

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

/** Typed client for the whole Parley API. Errors arrive as ParleyError with the server's code. */
export class ParleyClient {
  readonly baseUrl: string;
  token: string | undefined;
  deviceId: string | undefined;
  private readonly fetchImpl: typeof fetch;
  readonly WebSocketImpl: (new (url: string) => WebSocketLike) | undefined;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.token = options.token;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new ParleyError('NETWORK', (err as Error).message, 0);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ParleyError('INTERNAL', `Unexpected non-JSON answer (${res.status})`, res.status);
    }
    if (!res.ok) {
      const e = (json as { error?: { code: ParleyError['code']; message: string; requestId?: string; details?: unknown } })?.error;
      throw new ParleyError(e?.code ?? 'INTERNAL', e?.message ?? res.statusText, res.status, e?.requestId, e?.details);
    }
    return json as T;
  }

  // accounts
  async register(input: RegisterBody): Promise<Me> {
    return (await this.request<{ account: Me }>('POST', '/v1/accounts', input)).account;
  }
  async login(handle: string, password: string, deviceName?: string): Promise<Session> {
    const session = await this.request<Session>('POST', '/v1/sessions', { handle, password, deviceName });
    this.token = session.token;
    this.deviceId = session.deviceId;
    return session;
  }
  async logout(): Promise<void> {
    await this.request('DELETE', '/v1/sessions/current');
    this.token = undefined;
  }
  async me(): Promise<Me> {
    return (await this.request<{ account: Me }>('GET', '/v1/me')).account;
  }
  async updateMe(input: UpdateMeBody): Promise<Me> {
    return (await this.request<{ account: Me }>('PATCH', '/v1/me', input)).account;
  }
  async devices(): Promise<Device[]> {
    return (await this.request<{ devices: Device[] }>('GET', '/v1/me/devices')).devices;
  }
  revokeDevice(id: string): Promise<void> {
    return this.request('DELETE', `/v1/me/devices/${encodeURIComponent(id)}`);
  }
  bindPhone(phone: string): Promise<{ phone: string; expiresAt: string }> {
    return this.request('POST', '/v1/me/phone', { phone });
  }
  async verifyPhone(code: string): Promise<Me> {
    return (await this.request<{ account: Me }>('POST', '/v1/me/phone/verify', { code })).account;
  }
  bindEmail(email: string): Promise<{ email: string; expiresAt: string }> {
    return this.request('POST', '/v1/me/email', { email });
  }
  async verifyEmail(code: string): Promise<Me> {
    return (await this.request<{ account: Me }>('POST', '/v1/me/email/verify', { code })).account;
  }
  async account(ref: string): Promise<PublicAccount> {
    return (await this.request<{ account: PublicAccount }>('GET', `/v1/accounts/${encodeURIComponent(ref)}`)).account;
  }

  // conversations
  async openDirect(withRef: string): Promise<Conversation> {
    return (await this.request<{ conversation: Conversation }>('POST', '/v1/conversations', { kind: 'direct', with: withRef } satisfies CreateConversationBody)).conversation;
  }
  async createGroup(title: string, members: string[] = []): Promise<Conversation> {
    return (await this.request<{ conversation: Conversation }>('POST', '/v1/conversations', { kind: 'group', title, members } satisfies CreateConversationBody)).conversation;
  }
  async conversations(): Promise<Conversation[]> {
    return (await this.request<{ conversations: Conversation[] }>('GET', '/v1/conversations')).conversations;
  }
  async conversation(id: string): Promise<Conversation> {
    return (await this.request<{ conversation: Conversation }>('GET', `/v1/conversations/${id}`)).conversation;
  }
  async rename(id: string, title: string): Promise<Conversation> {
    return (await this.request<{ conversation: Conversation }>('PATCH', `/v1/conversations/${id}`, { title })).conversation;
  }
  async members(id: string): Promise<Member[]> {
    return (await this.request<{ members: Member[] }>('GET', `/v1/conversations/${id}/members`)).members;
  }
  async addMember(id: string, account: string, role?: 'owner' | 'member'): Promise<Member[]> {
    return (await this.request<{ members: Member[] }>('POST', `/v1/conversations/${id}/members`, { account, role })).members;
  }
  async setRole(id: string, accountId: string, role: 'owner' | 'member'): Promise<Member[]> {
    return (await this.request<{ members: Member[] }>('PATCH', `/v1/conversations/${id}/members/${accountId}`, { role })).members;
  }
  removeMember(id: string, accountId: string): Promise<void> {
    return this.request('DELETE', `/v1/conversations/${id}/members/${accountId}`);
  }
  leave(id: string): Promise<void> {
    return this.request('POST', `/v1/conversations/${id}/leave`);
  }

  // messages
  /** Sends a message. A clientId is generated when absent, so retrying the same input object is safe. */
  async send(conversationId: string, input: SendMessageBody): Promise<Message> {
    input.clientId ??= randomId();
    return (await this.request<{ message: Message }>('POST', `/v1/conversations/${conversationId}/messages`, input)).message;
  }
  history(conversationId: string, query: { before?: string; after?: string; limit?: number } = {}): Promise<MessagePage> {
    return this.request('GET', `/v1/conversations/${conversationId}/messages`, undefined, query);
  }
  async message(id: string): Promise<Message> {
    return (await this.request<{ message: Message }>('GET', `/v1/messages/${id}`)).message;
  }
  async edit(id: string, text: string): Promise<Message> {
    return (await this.request<{ message: Message }>('PATCH', `/v1/messages/${id}`, { text })).message;
  }
  deleteMessage(id: string): Promise<void> {
    return this.request('DELETE', `/v1/messages/${id}`);
  }

  /** Sends the message (or a notice) by SMS/e-mail now to recipients who have not read it. */
  async fallback(messageId: string, accountIds?: string[]): Promise<{ accountId: string; outcome: 'scheduled' | 'deferred' | 'skipped' | 'exists'; reason?: string }[]> {
    return (await this.request<{ results: { accountId: string; outcome: 'scheduled' | 'deferred' | 'skipped' | 'exists'; reason?: string }[] }>('POST', `/v1/messages/${messageId}/fallback`, accountIds ? { accountIds } : {})).results;
  }

  // receipts, presence
  markRead(conversationId: string, upTo: string): Promise<{ readSeq: number }> {
    return this.request('POST', `/v1/conversations/${conversationId}/read`, { upTo });
  }
  receipts(messageId: string): Promise<MessageReceipts> {
    return this.request('GET', `/v1/messages/${messageId}/receipts`);
  }
  async presence(accountIds: string[]): Promise<Presence[]> {
    return (await this.request<{ presence: Presence[] }>('GET', '/v1/presence', undefined, { ids: accountIds.join(',') })).presence;
  }

  // the stream over HTTP
  events(query: { after?: number; limit?: number; timeout?: number } = {}): Promise<{ events: StreamEvent[]; headSeq: number }> {
    return this.request('GET', '/v1/events', undefined, query);
  }
  ack(seq: number): Promise<{ ackedSeq: number }> {
    return this.request('POST', '/v1/events/ack', { seq });
  }

  // admin
  async outbox(query: { limit?: number; channel?: 'sms' | 'email' } = {}): Promise<OutboxItem[]> {
    return (await this.request<{ items: OutboxItem[] }>('GET', '/v1/outbox', undefined, query)).items;
  }

  /** Opens the WebSocket event stream; it reconnects and resumes by itself until closed. */
  stream(options: StreamOptions = {}): ParleyStream {
    if (!this.token) throw new ParleyError('UNAUTHENTICATED', 'Log in before opening the stream.', 401);
    if (!this.WebSocketImpl) throw new Error('No WebSocket implementation: pass one in ClientOptions.WebSocket (import from "ws" on Node 20).');
    const url = this.baseUrl.replace(/^http/, 'ws') + '/v1/stream';
    return new ParleyStream(url, this.token, this.WebSocketImpl, options);
  }
}
