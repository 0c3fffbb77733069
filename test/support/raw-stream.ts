import { expect } from 'vitest';
import WebSocket from 'ws';

type Frame = { type: string; [k: string]: unknown };

/** `promise`, or a clear failure when it does not settle within `ms` (rather than the test timeout). */
export function settle<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A raw WebSocket on /v1/stream that records every frame and the close, for tests that speak the
 * protocol by hand (bad frames, revoked tokens) where the SDK would hide what the server sent.
 */
export class RawStream {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    socket.on('error', () => {});
  }

  /** Opens a socket that has not said hello yet. */
  static async open(baseUrl: string): Promise<RawStream> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/stream`);
    const stream = new RawStream(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return stream;
  }

  /** Opens a socket and authenticates it with the token of `who` (a test user or an SDK client). */
  static async ready(baseUrl: string, who: { token?: string }, after?: number): Promise<RawStream> {
    if (!who.token) throw new Error('RawStream.ready needs a logged-in user');
    const stream = await RawStream.open(baseUrl);
    stream.send({ type: 'hello', token: who.token, after });
    await stream.next((f) => f.type === 'ready');
    return stream;
  }

  /** Sends a frame; strings and buffers go as they are, so tests can send malformed JSON. */
  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** The first recorded frame after `from` that matches. */
  async next(predicate: (f: Frame) => boolean, from = 0, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(this.frames.slice(from))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Sends `frame` and returns the error frame it caused. */
  async errorFor(frame: unknown): Promise<{ code: string; message: string }> {
    const from = this.frames.length;
    this.send(frame);
    const f = await this.next((x) => x.type === 'error', from);
    return f.error as { code: string; message: string };
  }

  /** The socket still answers: a ping gets a pong. */
  async expectAlive(): Promise<void> {
    const from = this.frames.length;
    this.send({ type: 'ping' });
    await this.next((f) => f.type === 'pong', from);
    expect(this.socket.readyState).toBe(WebSocket.OPEN);
  }

  close(): void {
    this.socket.close();
  }
}
