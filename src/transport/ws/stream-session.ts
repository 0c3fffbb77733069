import type { ValidateFunction } from 'ajv';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { AppError, errorBody } from '../../errors.js';
import type { Actor } from '../../lib/actor.js';
import type { EphemeralEvent, StreamEvent } from '../../protocol/events.js';
import { clientFrameSchemas, clientFrameTypes, CloseCodes, type ClientFrame, type ServerFrame } from '../../protocol/frames.js';
import { compileStrict, describeErrors, findNul } from '../../protocol/validate.js';
import type { TimerHandle } from '../../scheduler/clock.js';
import type { Services } from '../../services.js';
import type { Metrics } from '../http/metrics.js';

const validators = Object.fromEntries(
  Object.entries(clientFrameSchemas).map(([type, schema]) => [type, compileStrict<ClientFrame>(schema)]),
) as Record<keyof typeof clientFrameSchemas, ValidateFunction<ClientFrame>>;
const HELLO_TIMEOUT_MS = 10_000;

/**
 * One WebSocket on /v1/stream. After `hello` it sends every event of the account in order, first
 * the stored ones after the resume point (read in batches, waiting for the socket to drain), then
 * live ones from the bus; a gap in live events sends it back to storage, so nothing is skipped
 * and nothing is sent twice on one socket.
 */
export class StreamSession {
  private actor: Actor | undefined;
  private state: 'hello' | 'starting' | 'live' | 'closed' = 'hello';
  private sentSeq = 0;
  private knownHead = 0;
  private pumping = false;
  private detach: () => void = () => {};
  private readonly helloTimer: TimerHandle;
  private ackInFlight = false;
  private pendingAck: number | undefined;
  private readonly afterHello: [string, boolean][] = [];
  private sendQueue: Promise<void> = Promise.resolve();
  /** Resolves when the session ends, so nothing waits forever on a write a dead socket never finishes. */
  private readonly ended: Promise<void>;
  /** Ends a worker's long-polling pull when the socket goes. */
  private readonly aborter = new AbortController();
  private markEnded: () => void = () => {};
  alive = true;

  constructor(
    private readonly socket: WebSocket,
    private readonly s: Services,
    private readonly metrics: Metrics,
    private readonly headerToken: string | undefined,
    private readonly log: FastifyBaseLogger,
    private readonly ip = '',
  ) {
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    this.helloTimer = s.clock.after(HELLO_TIMEOUT_MS, () => {
      if (this.state === 'hello') this.fail(new AppError('UNAUTHENTICATED', 'Send a hello frame with a token first.'), CloseCodes.protocolError);
    });
    socket.on('message', (data, isBinary) => void this.onMessage(data.toString(), isBinary));
    socket.on('pong', () => (this.alive = true));
    socket.on('close', () => this.close());
    socket.on('error', () => this.close());
  }

  get deviceId(): string {
    return this.actor?.deviceId ?? '';
  }

  /** Sends a ping; a socket that has not answered the previous one is dead. */
  heartbeat(): void {
    if (!this.alive) {
      this.metrics.wsClosed.labels('heartbeat').inc();
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.markEnded();
    this.aborter.abort();
    this.helloTimer.cancel();
    this.detach();
  }

  private async onMessage(raw: string, isBinary: boolean): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'starting') {
      // A client may send frames right behind its hello; they wait until the hello is answered.
      this.afterHello.push([raw, isBinary]);
      return;
    }
    let frame: unknown;
    try {
      if (isBinary) throw new AppError('BAD_REQUEST', 'Frames must be JSON text.');
      try {
        frame = JSON.parse(raw);
      } catch {
        throw new AppError('INVALID_JSON', 'The frame is not valid JSON.');
      }
      const type = (frame as { type?: unknown } | null)?.type;
      if (typeof type !== 'string' || !(clientFrameTypes as readonly string[]).includes(type)) {
        throw new AppError('UNKNOWN_FRAME_TYPE', `Unknown frame type ${JSON.stringify(type)}; expected one of ${clientFrameTypes.join(', ')}.`);
      }
      const validateFrame = validators[type as keyof typeof validators];
      if (!validateFrame(frame)) throw new AppError('VALIDATION_FAILED', `${type} frame ${describeErrors(validateFrame.errors)[0]?.message}`, describeErrors(validateFrame.errors));
      const nulPath = findNul(frame);
      if (nulPath !== undefined) throw new AppError('VALIDATION_FAILED', `${type} frame must not contain NUL characters`, [{ path: nulPath, message: 'must not contain NUL characters' }]);
      this.metrics.wsFrames.labels('in', type).inc();
      await this.handle(frame);
    } catch (err) {
      const appError = err instanceof AppError ? err : new AppError('INTERNAL');
      if (!(err instanceof AppError)) this.log.error({ err }, 'stream frame failed');
      // 4001 tells the client its token is bad (do not retry with it); any other first frame that
      // is not a usable hello is a protocol error, 4002.
      const badToken = appError.code === 'TOKEN_INVALID' || (appError.code === 'UNAUTHENTICATED' && (frame as { type?: unknown } | undefined)?.type === 'hello');
      if (this.state === 'hello') this.fail(appError, badToken ? CloseCodes.unauthorized : CloseCodes.protocolError);
      else {
        const ref = (frame as { ref?: unknown } | undefined)?.ref;
        this.send({ type: 'error', ...(typeof ref === 'string' ? { ref } : {}), ...errorBody(appError) });
      }
    }
  }

  private async handle(frame: ClientFrame): Promise<void> {
    if (frame.type === 'ping') return this.send({ type: 'pong' });
    if (frame.type === 'hello') {
      try {
        return await this.hello(frame.token ?? this.headerToken, frame.after);
      } finally {
        for (const [raw, isBinary] of this.afterHello.splice(0)) void this.onMessage(raw, isBinary);
      }
    }
    if (!this.actor || this.state === 'hello') throw new AppError('UNAUTHENTICATED', 'Send a hello frame first.');
    if (frame.type === 'ack') return this.ack(frame.seq);
    if (frame.type === 'typing') return this.s.receipts.typing(this.actor, frame.conversationId, frame.typing);
    if (frame.type === 'read') {
      const { readSeq } = await this.s.receipts.markRead(this.actor, frame.conversationId, frame.upTo);
      return this.send({ type: 'result', ref: frame.ref, result: { readSeq } });
    }
    if (frame.type === 'task.pull') {
      const tasks = await this.s.serviceAccounts.pull(this.actor, { max: frame.max, waitMs: frame.waitMs }, this.aborter.signal);
      return this.send({ type: 'result', ref: frame.ref, result: { tasks } });
    }
    if (frame.type === 'task.reply') {
      const { message } = await this.s.serviceAccounts.reply(frame.taskId, { token: frame.token, content: frame.content, done: frame.done });
      return this.send({ type: 'result', ref: frame.ref, result: { message } });
    }
    if (frame.type === 'task.progress') {
      await this.s.serviceAccounts.progress(frame.taskId, { token: frame.token, text: frame.text, percent: frame.percent });
      return this.send({ type: 'result', ref: frame.ref, result: {} });
    }
    if (frame.type === 'task.done') {
      const task = await this.s.serviceAccounts.done(frame.taskId, frame.token);
      return this.send({ type: 'result', ref: frame.ref, result: { task } });
    }
    if (frame.type === 'send') {
      // A send to a service account records when and from where it came.
      const actor = { ...this.actor, origin: { ip: this.ip, receivedAt: this.s.clock.now() } };
      // Sends from one socket are stored in the order they arrived, as over one HTTP connection.
      const stored = this.sendQueue.then(() => this.s.messaging.send(actor, frame.conversationId, frame.message));
      this.sendQueue = stored.then(
        () => undefined,
        () => undefined,
      );
      const { message } = await stored;
      return this.send({ type: 'result', ref: frame.ref, result: { message } });
    }
  }

  private async hello(token: string | undefined, after: number | undefined): Promise<void> {
    if (this.state !== 'hello') throw new AppError('BAD_REQUEST', 'Already authenticated.');
    this.state = 'starting';
    let actor: Actor;
    try {
      actor = await this.s.accounts.authenticate(token);
    } catch (err) {
      this.state = 'hello';
      throw err;
    }
    this.actor = actor;
    this.helloTimer.cancel();
    this.detach = this.s.hub.attach(actor.accountId, this, true);
    const head = await this.s.events.head(actor.accountId);
    const resumeFrom = after ?? (await this.s.accounts.listDevices(actor)).find((d) => d.current)?.ackedSeq ?? 0;
    if (resumeFrom > head) {
      this.state = 'hello';
      this.detach();
      throw new AppError('SEQ_OUT_OF_RANGE', `The stream ends at ${head}.`);
    }
    this.sentSeq = resumeFrom;
    this.knownHead = Math.max(this.knownHead, head);
    this.send({ type: 'ready', accountId: actor.accountId, deviceId: actor.deviceId, after: resumeFrom, headSeq: head });
    this.state = 'live';
    void this.pump();
  }

  /** Acknowledgements are coalesced: while one is being stored, only the highest newer one waits. */
  private async ack(seq: number): Promise<void> {
    if (this.ackInFlight) {
      this.pendingAck = Math.max(this.pendingAck ?? 0, seq);
      return;
    }
    this.ackInFlight = true;
    try {
      let next: number | undefined = seq;
      while (next !== undefined && this.actor) {
        this.pendingAck = undefined;
        await this.s.receipts.ack(this.actor, next);
        next = this.pendingAck;
      }
    } finally {
      this.ackInFlight = false;
    }
  }

  onEvents(events: StreamEvent[]): void {
    if (this.state === 'closed' || events.length === 0) return;
    const last = events[events.length - 1]!.seq;
    if (this.state === 'live' && !this.pumping && events[0]!.seq === this.sentSeq + 1) {
      for (const event of events) this.send({ type: 'event', event });
      this.sentSeq = last;
      this.knownHead = Math.max(this.knownHead, last);
      return;
    }
    this.knownHead = Math.max(this.knownHead, last);
    if (this.state === 'live') void this.pump();
  }

  onEphemeral(event: EphemeralEvent): void {
    if (this.state === 'live') this.send({ type: 'ephemeral', event });
  }

  /** The bus may have dropped events: the stored head says whether any are missing here. */
  onMissed(): void {
    if (this.state !== 'live' || !this.actor) return;
    this.s.events.head(this.actor.accountId).then(
      (head) => {
        this.knownHead = Math.max(this.knownHead, head);
        if (this.state === 'live') void this.pump();
      },
      // Storage unreachable as well: the next event, or the client's resume, catches up instead.
      () => {},
    );
  }

  onRevoked(): void {
    this.fail(new AppError('TOKEN_INVALID', 'This device was logged out.'), CloseCodes.unauthorized);
  }

  private async pump(): Promise<void> {
    if (this.pumping || !this.actor) return;
    this.pumping = true;
    try {
      while (this.state === 'live' && this.sentSeq < this.knownHead) {
        const batch = await this.s.events.readAfter(this.actor.accountId, this.sentSeq, this.s.config.streamReplayBatch);
        if (batch.length === 0 || this.state !== 'live') break;
        // Catch-up goes at the reader's pace: while earlier frames still wait for the kernel, wait
        // for them rather than queue more. Sending a whole batch at once could pass the slow-consumer
        // limit by itself and close a reader that keeps up; a reader that stops reading leaves this
        // waiting with little buffered, and the heartbeat ends it.
        let flushed = Promise.resolve();
        for (const event of batch) {
          if (this.socket.bufferedAmount > 0) await Promise.race([flushed, this.ended]);
          if (this.state !== 'live') break;
          flushed = new Promise<void>((resolve) => this.send({ type: 'event', event }, resolve));
          this.sentSeq = event.seq;
        }
        await Promise.race([flushed, this.ended]);
      }
    } catch (err) {
      this.fail(err instanceof AppError ? err : new AppError('INTERNAL'), 1011);
    } finally {
      this.pumping = false;
    }
  }

  private send(frame: ServerFrame, written?: () => void): void {
    if (this.socket.readyState !== this.socket.OPEN) return written?.();
    this.socket.send(JSON.stringify(frame), written && (() => written()));
    this.metrics.wsFrames.labels('out', frame.type).inc();
    if (this.socket.bufferedAmount > this.s.config.streamMaxBufferedBytes) {
      this.metrics.wsClosed.labels('slow_consumer').inc();
      this.socket.close(CloseCodes.slowConsumer, 'slow consumer: reconnect and resume');
      this.close();
    }
  }

  private fail(err: AppError, code: number): void {
    this.send({ type: 'error', ...errorBody(err) });
    this.metrics.wsClosed.labels(err.code.toLowerCase()).inc();
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(code, err.code);
    this.close();
  }
}
