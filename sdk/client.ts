import type { CreateConversationBody, FileSettings, RegisterBody, SendMessageBody, SendVia, TransferBody, UpdateMeBody } from '../src/protocol/requests.js';
import type { StreamEvent } from '../src/protocol/events.js';
import type { ByteRange, Conversation, Device, Me, Member, Message, MessagePage, MessageReceipts, OutboxItem, Presence, PublicAccount, Session, TransferState } from '../src/protocol/views.js';
import type { CreateServiceBody, CreatedService, LeasedTask, PullBody, ReplyContent, ServiceAdminView, ServiceStats, ServiceView, TaskView, UpdatedService, UpdateServiceBody } from '../src/protocol/services.js';
import { ParleyError } from './errors.js';
import { randomId } from './random-id.js';
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

export type DeliveredTransfer = Extract<TransferState, { status: 'delivered' }>;
export type UploadTarget = Extract<TransferState, { status: 'upload' }>;

export interface UploadOptions {
  /** Bytes per PATCH request (default: the whole rest in one request). Progress is reported per request. */
  chunkSize?: number;
  /** Aborting pauses the upload; calling upload() again resumes from the server's offset. */
  signal?: AbortSignal;
  onProgress?: (sent: number, total: number) => void;
}

export interface SendFileOptions extends UploadOptions {
  /** Lower-case hex SHA-256 of the file (hash it in a worker or with sha256File in sdk/node). */
  sha256: string;
  name: string;
  /** Defaults to the Blob's type, else application/octet-stream. */
  mime?: string;
  text?: string;
  clientId?: string;
  replyTo?: string;
  priority?: TransferBody['priority'];
  /** 'private': only the node this client talks to looks for the bytes; 'central' (default): it may ask its central node too. */
  via?: SendVia;
  /**
   * Resumes a paused or interrupted upload (the target `onStep('upload')` gave): the bytes go on
   * from the server's offset. Without it a new transfer starts, and a miss uploads from byte 0.
   */
  resume?: Pick<UploadTarget, 'transferId' | 'uploadUrl'>;
  /** Called with each step: 'challenge', 'upload' (the bytes must be sent), 'delivered'. */
  onStep?: (step: 'challenge' | 'upload' | 'delivered', state: TransferState) => void;
}

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** SHA-256(nonce bytes ‖ bytes of each range, in order), hex: the answer to a possession challenge. */
export async function possessionProof(file: Blob, nonce: string, ranges: ByteRange[]): Promise<string> {
  const nonceBytes = new Uint8Array(nonce.length / 2);
  for (let i = 0; i < nonceBytes.length; i++) nonceBytes[i] = parseInt(nonce.slice(i * 2, i * 2 + 2), 16);
  const parts: Uint8Array[] = [nonceBytes];
  for (const r of ranges) parts.push(new Uint8Array(await file.slice(r.offset, r.offset + r.length).arrayBuffer()));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.length;
  }
  return hex(await globalThis.crypto.subtle.digest('SHA-256', joined));
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

  // service accounts
  createService(input: CreateServiceBody): Promise<CreatedService> {
    return this.request('POST', '/v1/services', input);
  }
  /** Administrators: changes the fields given. */
  updateService(ref: string, input: UpdateServiceBody): Promise<UpdatedService> {
    return this.request('PATCH', `/v1/services/${encodeURIComponent(ref)}`, input);
  }
  /** Administrators: a new token for the service; earlier ones stop working. */
  rotateServiceToken(ref: string): Promise<{ token: string }> {
    return this.request('POST', `/v1/services/${encodeURIComponent(ref)}/token`);
  }
  async services(): Promise<ServiceView[]> {
    return (await this.request<{ services: ServiceView[] }>('GET', '/v1/services')).services;
  }
  async service(ref: string): Promise<ServiceView | ServiceAdminView> {
    return (await this.request<{ service: ServiceView }>('GET', `/v1/services/${encodeURIComponent(ref)}`)).service;
  }
  /** Clicks a menu item. Acknowledgement and answer come on the stream (see requestService). */
  async clickMenu(ref: string, key: string, clientId: string = randomId()): Promise<TaskView> {
    return (await this.request<{ task: TaskView }>('POST', `/v1/services/${encodeURIComponent(ref)}/clicks`, { key, clientId })).task;
  }
  async task(id: string): Promise<TaskView> {
    return (await this.request<{ task: TaskView }>('GET', `/v1/tasks/${id}`)).task;
  }
  serviceStats(ref: string): Promise<ServiceStats> {
    return this.request('GET', `/v1/services/${encodeURIComponent(ref)}/stats`);
  }
  async deadLetters(ref: string): Promise<TaskView[]> {
    return (await this.request<{ tasks: TaskView[] }>('GET', `/v1/services/${encodeURIComponent(ref)}/dead-letters`)).tasks;
  }
  async retryTask(id: string): Promise<TaskView> {
    return (await this.request<{ task: TaskView }>('POST', `/v1/tasks/${id}/retry`)).task;
  }
  /** Workers (logged in with the service's token): leases waiting requests, waiting up to waitMs for one. */
  async pullTasks(options: PullBody = {}): Promise<LeasedTask[]> {
    return (await this.request<{ tasks: LeasedTask[] }>('POST', '/v1/tasks/pull', options)).tasks;
  }
  /** A second reply with the task's reply token; `done` also finishes the request. */
  async replyTask(taskId: string, token: string, content: ReplyContent, done = false): Promise<Message> {
    return (await this.request<{ message: Message }>('POST', `/v1/tasks/${taskId}/replies`, { token, content, ...(done ? { done } : {}) })).message;
  }
  taskProgress(taskId: string, token: string, progress: { text?: string; percent?: number }): Promise<void> {
    return this.request('POST', `/v1/tasks/${taskId}/progress`, { token, ...progress });
  }
  async finishTask(taskId: string, token: string): Promise<TaskView> {
    return (await this.request<{ task: TaskView }>('POST', `/v1/tasks/${taskId}/done`, { token })).task;
  }

  // files
  /**
   * Asks to send a file by hash: `delivered` at once when you showed this server these bytes before,
   * otherwise `challenge`. Which node you send through is which baseUrl this client talks to.
   */
  requestTransfer(input: TransferBody): Promise<TransferState> {
    return this.request('POST', '/v1/transfers', input);
  }
  /** Answers a challenge: `delivered`, or ParleyError PROOF_FAILED whose `details` is the upload target. */
  proveTransfer(transferId: string, proof: string, via?: SendVia): Promise<TransferState> {
    return this.request('POST', `/v1/transfers/${transferId}/proof`, { proof, via });
  }
  /** Whether this node has a central node to send through, and the largest file it takes. */
  fileSettings(): Promise<FileSettings> {
    return this.request('GET', '/v1/files/settings');
  }
  transfer(transferId: string): Promise<TransferState> {
    return this.request('GET', `/v1/transfers/${transferId}`);
  }
  cancelUpload(transferId: string): Promise<void> {
    return this.request('DELETE', `/v1/uploads/${transferId}`);
  }

  /** The server's offset of a tus upload (HEAD). */
  async uploadOffset(uploadUrl: string): Promise<number> {
    const res = await this.raw('HEAD', uploadUrl, { 'tus-resumable': '1.0.0' });
    // A HEAD answer has no body to carry the code: the status tells.
    if (!res.ok) await this.fail(res, { 401: 'UNAUTHENTICATED', 404: 'TRANSFER_NOT_FOUND', 409: 'TRANSFER_CLOSED', 422: 'TRANSFER_HASH_MISMATCH' });
    return Number(res.headers.get('upload-offset'));
  }

  /**
   * Sends the bytes of `file` with tus from the server's offset (so it also resumes an interrupted
   * upload). The last request answers only after the server verified size and hash and delivered
   * the message; a mismatch throws TRANSFER_HASH_MISMATCH.
   */
  async upload(uploadUrl: string, file: Blob, options: UploadOptions = {}): Promise<void> {
    let offset = await this.uploadOffset(uploadUrl);
    const chunk = options.chunkSize ?? Infinity;
    options.onProgress?.(offset, file.size);
    while (offset < file.size) {
      const end = Math.min(file.size, offset + chunk);
      const res = await this.raw('PATCH', uploadUrl, { 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, file.slice(offset, end), options.signal);
      if (!res.ok) await this.fail(res);
      await res.arrayBuffer().catch(() => undefined);
      offset = Number(res.headers.get('upload-offset'));
      options.onProgress?.(offset, file.size);
    }
  }

  /** The whole flow: request → (challenge → proof) → (upload) → delivered. Pause with `signal`; resume by calling again with `resume`. */
  async sendFile(conversationId: string, file: Blob, options: SendFileOptions): Promise<DeliveredTransfer> {
    const state = options.resume ? await this.finishUpload(options.resume, file, options) : await this.startTransfer(conversationId, file, options);
    if (state.status !== 'delivered') throw new ParleyError('TRANSFER_CLOSED', `transfer ${state.transferId} is ${state.status}`, 409);
    options.onStep?.('delivered', state);
    return state;
  }

  private async startTransfer(conversationId: string, file: Blob, options: SendFileOptions): Promise<TransferState> {
    options.clientId ??= randomId();
    let state = await this.requestTransfer({
      sha256: options.sha256,
      size: file.size,
      name: options.name,
      mime: options.mime ?? (file.type || 'application/octet-stream'),
      to: conversationId,
      text: options.text,
      clientId: options.clientId,
      replyTo: options.replyTo,
      priority: options.priority,
    });
    if (state.status === 'challenge') {
      options.onStep?.('challenge', state);
      try {
        state = await this.proveTransfer(state.transferId, await possessionProof(file, state.nonce, state.ranges), options.via);
      } catch (err) {
        const details = (err as ParleyError).details as TransferState | undefined;
        if (!(err instanceof ParleyError) || err.code !== 'PROOF_FAILED' || details?.status !== 'upload') throw err;
        state = details;
      }
    }
    if (state.status !== 'upload') return state;
    options.onStep?.('upload', state);
    return this.finishUpload(state, file, options);
  }

  private async finishUpload(target: Pick<UploadTarget, 'transferId' | 'uploadUrl'>, file: Blob, options: UploadOptions): Promise<TransferState> {
    await this.upload(target.uploadUrl, file, options);
    return this.transfer(target.transferId);
  }

  /** Downloads a message's file; `range` asks for part of it (206). The Response streams the body. */
  async downloadAttachment(messageId: string, options: { range?: { start: number; end?: number }; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.range) headers.range = `bytes=${options.range.start}-${options.range.end ?? ''}`;
    const res = await this.raw('GET', `/v1/messages/${messageId}/attachment`, headers);
    if (!res.ok && res.status !== 304) await this.fail(res);
    return res;
  }
  async attachmentBytes(messageId: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.downloadAttachment(messageId)).arrayBuffer());
  }

  private async raw(method: string, pathOrUrl: string, headers: Record<string, string>, body?: Blob, signal?: AbortSignal): Promise<Response> {
    const url = /^https?:/.test(pathOrUrl) ? pathOrUrl : this.baseUrl + pathOrUrl;
    const all: Record<string, string> = { ...headers };
    if (this.token) all.authorization = `Bearer ${this.token}`;
    try {
      return await this.fetchImpl(url, { method, headers: all, body, signal });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ParleyError('NETWORK', (err as Error).message, 0);
    }
  }

  private async fail(res: Response, byStatus: Record<number, ParleyError['code']> = {}): Promise<never> {
    const text = await res.text().catch(() => '');
    let e: { code?: ParleyError['code']; message?: string; requestId?: string; details?: unknown } | undefined;
    try {
      e = (JSON.parse(text) as { error?: typeof e }).error;
    } catch {
      // tus answers some errors in plain text
    }
    const fallback = byStatus[res.status] ?? (res.status === 413 ? 'FILE_TOO_LARGE' : res.status === 409 ? 'TRANSFER_CLOSED' : res.status === 404 ? 'NOT_FOUND' : res.status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
    throw new ParleyError(e?.code ?? fallback, e?.message ?? (text.trim() || res.statusText), res.status, e?.requestId, e?.details);
  }

  /** Opens the WebSocket event stream; it reconnects and resumes by itself until closed. */
  stream(options: StreamOptions = {}): ParleyStream {
    if (!this.token) throw new ParleyError('UNAUTHENTICATED', 'Log in before opening the stream.', 401);
    if (!this.WebSocketImpl) throw new Error('No WebSocket implementation: pass one in ClientOptions.WebSocket (import from "ws" on Node 20).');
    const url = this.baseUrl.replace(/^http/, 'ws') + '/v1/stream';
    return new ParleyStream(url, this.token, this.WebSocketImpl, options);
  }
}
