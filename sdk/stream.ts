import type { EphemeralEvent, StreamEvent } from '../src/protocol/events.js';
import type { SendMessageBody } from '../src/protocol/requests.js';
import type { Message } from '../src/protocol/views.js';
import type { ServerFrame } from '../src/protocol/frames.js';
import type { LeasedTask, PullBody, ReplyContent, TaskView } from '../src/protocol/services.js';
import { Emitter } from './emitter.js';
import { ParleyError } from './errors.js';
import { randomId } from './random-id.js';

/** The part of the WebSocket API the SDK uses: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type StreamState = 'connecting' | 'open' | 'closed' | 'unauthorized';

export interface StreamOptions {
  /** Resume after this seq; default: where this device last acknowledged. */
  after?: number;
  /** Acknowledge processed events automatically (marks messages delivered). Default true. */
  autoAck?: boolean;
  /** Coalesce acknowledgements for this long. Default 20 ms. */
  ackDelayMs?: number;
  /** Reconnect backoff bounds. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Client-side liveness check: a ping every this many ms, reconnect if nothing comes back. 0 = off. */
  pingIntervalMs?: number;
  /** How many handed-over events `waitFor` looks back on. Default 1000. */
  recentLimit?: number;
}

type Events = {
  event: [StreamEvent];
  ephemeral: [EphemeralEvent];
  state: [StreamState];
  ready: [{ after: number; headSeq: number }];
  error: [ParleyError];
};

const OPEN = 1;

/**
 * The event stream with resume: every event is handed over once and in order, across reconnects.
 * `lastSeq` is the highest event handed to listeners; reconnecting asks the server for what
 * follows it, and anything at or below it is dropped as a duplicate.
 */
export class ParleyStream extends Emitter<Events> {
  state: StreamState = 'connecting';
  lastSeq = -1;
  ackedSeq = 0;
  private socket: WebSocketLike | undefined;
  private closedByUser = false;
  private backoff: number;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private heardSincePing = true;
  private readonly options: Required<StreamOptions>;
  private readonly recent: StreamEvent[] = [];
  /** Requests sent over the socket, by ref, waiting for their result or error frame. */
  private readonly pending = new Map<string, { resolve: (result: never) => void; reject: (err: ParleyError) => void }>();
  private nextRef = 0;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly WebSocketImpl: new (url: string) => WebSocketLike,
    options: StreamOptions,
  ) {
    super();
    this.options = { after: -1, autoAck: true, ackDelayMs: 20, minBackoffMs: 200, maxBackoffMs: 10_000, pingIntervalMs: 25_000, recentLimit: 1000, ...options };
    if (options.after !== undefined) this.lastSeq = options.after;
    this.backoff = this.options.minBackoffMs;
    this.connect();
  }

  /**
   * Resolves on the first matching event: among the last `recentLimit` already handed over, else
   * the next one that arrives.
   */
  waitFor(predicate: (event: StreamEvent) => boolean, timeoutMs = 10_000): Promise<StreamEvent> {
    const seen = this.recent.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`waitFor timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on('event', (event) => {
        if (!predicate(event)) return;
        clearTimeout(timer);
        off();
        resolve(event);
      });
    });
  }

  waitForState(state: StreamState, timeoutMs = 10_000): Promise<void> {
    if (this.state === state) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`stream did not reach ${state}`)), timeoutMs);
      const off = this.on('state', (s) => {
        if (s !== state) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /**
   * Sends a message over the socket (no HTTP round trip). A clientId is generated when absent, so
   * after a NETWORK error the same input can be sent again without creating a duplicate.
   */
  async send(conversationId: string, input: SendMessageBody): Promise<Message> {
    input.clientId ??= randomId();
    return (await this.request<{ message: Message }>({ type: 'send', conversationId, message: input })).message;
  }

  /** Marks every message up to `upTo` read, over the socket. */
  markRead(conversationId: string, upTo: string): Promise<{ readSeq: number }> {
    return this.request({ type: 'read', conversationId, upTo });
  }

  /** Workers (stream opened with the service's token): the task API over the socket, as ParleyClient has it over HTTP. */
  async pullTasks(options: PullBody = {}): Promise<LeasedTask[]> {
    return (await this.request<{ tasks: LeasedTask[] }>({ type: 'task.pull', ...options })).tasks;
  }
  async replyTask(taskId: string, token: string, content: ReplyContent, done = false): Promise<Message> {
    return (await this.request<{ message: Message }>({ type: 'task.reply', taskId, token, content, ...(done ? { done } : {}) })).message;
  }
  async taskProgress(taskId: string, token: string, progress: { text?: string; percent?: number }): Promise<void> {
    await this.request({ type: 'task.progress', taskId, token, ...progress });
  }
  async finishTask(taskId: string, token: string): Promise<TaskView> {
    return (await this.request<{ task: TaskView }>({ type: 'task.done', taskId, token })).task;
  }

  private request<T>(frame: { type: 'send' | 'read' | 'task.pull' | 'task.reply' | 'task.progress' | 'task.done' } & Record<string, unknown>): Promise<T> {
    const ref = String(++this.nextRef);
    return new Promise<T>((resolve, reject) => {
      if (!this.sendFrame({ ...frame, ref })) return reject(new ParleyError('NETWORK', 'The stream is not open.', 0));
      this.pending.set(ref, { resolve: resolve as (result: never) => void, reject });
    });
  }

  typing(conversationId: string, typing: boolean): void {
    this.sendFrame({ type: 'typing', conversationId, typing });
  }

  /** Acknowledges everything up to `seq` (default: all handed over so far). */
  ack(seq = this.lastSeq): void {
    if (seq <= this.ackedSeq) return;
    if (this.sendFrame({ type: 'ack', seq })) this.ackedSeq = seq;
  }

  /** Drops the connection without closing the stream, as a network failure would; it resumes. */
  dropConnection(): void {
    this.socket?.close(4000, 'client dropped');
  }

  /**
   * Connects now instead of when the backoff ends, e.g. when the browser says the network is back.
   * Does nothing while a socket exists or after close().
   */
  reconnect(): void {
    if (this.closedByUser || this.socket) return;
    clearTimeout(this.retryTimer);
    this.backoff = this.options.minBackoffMs;
    this.connect();
  }

  close(): void {
    this.closedByUser = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.ackTimer);
    clearInterval(this.pingTimer);
    if (this.state !== 'open') this.setState('closed');
    this.socket?.close(1000, 'bye');
  }

  private connect(): void {
    this.setState('connecting');
    const socket = new this.WebSocketImpl(this.url);
    this.socket = socket;
    socket.onopen = () => {
      const hello: { type: 'hello'; token: string; after?: number } = { type: 'hello', token: this.token };
      if (this.lastSeq >= 0) hello.after = this.lastSeq;
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = (ev) => this.onFrame(String(ev.data));
    socket.onerror = () => {};
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      clearInterval(this.pingTimer);
      this.socket = undefined;
      // Whether the server stored them is unknown: callers retry (sends are idempotent by clientId).
      for (const waiting of this.pending.values()) waiting.reject(new ParleyError('NETWORK', 'The connection closed before the answer.', 0));
      this.pending.clear();
      if (this.closedByUser) return this.setState('closed');
      if (ev.code === 4001) return this.setState('unauthorized');
      this.setState('connecting');
      const delay = this.backoff;
      this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs);
      this.retryTimer = setTimeout(() => !this.closedByUser && this.connect(), delay * (0.5 + Math.random() / 2));
    };
  }

  private onFrame(raw: string): void {
    this.heardSincePing = true;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(raw) as ServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'ready':
        if (this.lastSeq < 0) this.lastSeq = frame.after;
        this.ackedSeq = Math.max(this.ackedSeq, Math.min(frame.after, this.lastSeq));
        this.backoff = this.options.minBackoffMs;
        this.startPing();
        this.setState('open');
        this.emit('ready', { after: frame.after, headSeq: frame.headSeq });
        return;
      case 'event':
        if (frame.event.seq <= this.lastSeq) return;
        this.lastSeq = frame.event.seq;
        this.recent.push(frame.event);
        if (this.recent.length > this.options.recentLimit) this.recent.shift();
        this.emit('event', frame.event);
        if (this.options.autoAck) this.scheduleAck();
        return;
      case 'ephemeral':
        this.emit('ephemeral', frame.event);
        return;
      case 'result': {
        const waiting = this.pending.get(frame.ref);
        this.pending.delete(frame.ref);
        waiting?.resolve(frame.result as never);
        return;
      }
      case 'error': {
        const error = new ParleyError(frame.error.code, frame.error.message, 0, frame.error.requestId, frame.error.details);
        const waiting = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
        if (waiting) {
          this.pending.delete(frame.ref!);
          waiting.reject(error);
        } else this.emit('error', error);
        return;
      }
      case 'pong':
        return;
    }
  }

  private scheduleAck(): void {
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.ack();
    }, this.options.ackDelayMs);
  }

  private startPing(): void {
    clearInterval(this.pingTimer);
    if (!this.options.pingIntervalMs) return;
    this.heardSincePing = true;
    this.pingTimer = setInterval(() => {
      if (!this.heardSincePing) return this.socket?.close(4000, 'no answer to ping');
      this.heardSincePing = false;
      this.sendFrame({ type: 'ping' });
    }, this.options.pingIntervalMs);
  }

  private sendFrame(frame: object): boolean {
    if (!this.socket || this.socket.readyState !== OPEN || this.state !== 'open') return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private setState(state: StreamState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}
