import type { EventData, StreamEvent } from '../src/protocol/events.js';
import type { LeasedTask, ReplyContent } from '../src/protocol/services.js';
import type { Message } from '../src/protocol/views.js';
import type { ParleyClient } from './client.js';
import { ParleyError } from './errors.js';
import { randomId } from './random-id.js';
import type { ParleyStream } from './stream.js';

export interface ServiceRequestOptions {
  /** The service's set time (ServiceView.ackDeadlineMs); no acknowledgement by then fails with ACK_TIMEOUT. Default 5000. */
  ackTimeoutMs?: number;
  clientId?: string;
}

export type ServiceAck = EventData['task.ack'];

/**
 * Sends a request to a service account — a message into the direct chat with it, or a menu click —
 * and resolves with its acknowledgement. The timer starts before sending: a server that does not
 * acknowledge in time is reported as ACK_TIMEOUT even if it is stalled and never answers;
 * `task.failed` rejects with TASK_FAILED. Retrying with the same clientId is processed once.
 */
export async function requestService(
  client: ParleyClient,
  stream: ParleyStream,
  target: { conversationId: string; text: string } | { service: string; menuKey: string },
  options: ServiceRequestOptions = {},
): Promise<ServiceAck> {
  const clientId = options.clientId ?? randomId();
  const timeoutMs = options.ackTimeoutMs ?? 5000;
  let off = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const answered = new Promise<ServiceAck>((resolve, reject) => {
    timer = setTimeout(() => reject(new ParleyError('ACK_TIMEOUT', `No acknowledgement within ${timeoutMs} ms: request failed, try again.`, 0)), timeoutMs);
    const settle = (event: StreamEvent) => {
      if (event.type === 'task.ack' && (event.data as ServiceAck).clientId === clientId) resolve(event.data as ServiceAck);
      if (event.type === 'task.failed' && (event.data as EventData['task.failed']).clientId === clientId) {
        const data = event.data as EventData['task.failed'];
        reject(new ParleyError('TASK_FAILED', `${data.message} (${data.reason})`, 0, undefined, data));
      }
    };
    off = stream.on('event', settle);
  });
  try {
    // Messages go over the open socket (no HTTP round trip), clicks over HTTP.
    const sent = 'text' in target ? stream.send(target.conversationId, { text: target.text, clientId }) : client.clickMenu(target.service, target.menuKey, clientId);
    // A send that fails outright is the answer; otherwise the acknowledgement (or the timer) is.
    await Promise.race([sent.then(() => answered), answered]);
    return await answered;
  } finally {
    clearTimeout(timer);
    off();
  }
}

export interface TaskContext {
  reply(content: ReplyContent): Promise<Message>;
  progress(progress: { text?: string; percent?: number }): Promise<void>;
}

/** Where a worker pulls and answers: ParleyClient (HTTP) or ParleyStream (the socket, opened with the service's token). */
export type TaskApi = Pick<ParleyClient, 'pullTasks' | 'replyTask' | 'taskProgress' | 'finishTask'>;

export interface WorkerOptions {
  /** Requests handled at once by this worker. Default 10. */
  concurrency?: number;
  /** Long-poll length of each pull. Default 10 s. */
  waitMs?: number;
  /** Returns the final replies (sent with the request's completion); may also reply earlier through the context. */
  handle(task: LeasedTask, context: TaskContext): Promise<ReplyContent[] | void>;
  onError?(err: unknown, task?: LeasedTask): void;
}

/**
 * A worker for a service whose handler is `workers`: pulls requests with the service's token and
 * answers them. Several workers (processes) share the load; a request is leased to one; a worker that
 * dies loses its requests to the others when their leases run out.
 */
export class ServiceWorker {
  private running = false;
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: TaskApi,
    private readonly options: WorkerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops pulling and waits for the requests in hand to finish. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    while (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  private async run(): Promise<void> {
    const concurrency = this.options.concurrency ?? 10;
    while (this.running) {
      if (this.inFlight >= concurrency) {
        await new Promise<void>((resolve) => (this.idle = resolve));
        continue;
      }
      let tasks: LeasedTask[];
      try {
        tasks = await this.client.pullTasks({ max: concurrency - this.inFlight, waitMs: this.options.waitMs ?? 10_000 });
      } catch (err) {
        this.options.onError?.(err);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      for (const task of tasks) void this.process(task);
    }
  }

  private async process(task: LeasedTask): Promise<void> {
    this.inFlight++;
    try {
      const context: TaskContext = {
        reply: (content) => this.client.replyTask(task.id, task.replyToken, content),
        progress: (progress) => this.client.taskProgress(task.id, task.replyToken, progress),
      };
      const replies = (await this.options.handle(task, context)) ?? [];
      for (const [i, content] of replies.entries()) await this.client.replyTask(task.id, task.replyToken, content, i === replies.length - 1);
      if (replies.length === 0) await this.client.finishTask(task.id, task.replyToken);
    } catch (err) {
      // The lease runs out and the request goes to another worker.
      this.options.onError?.(err, task);
    } finally {
      this.inFlight--;
      const idle = this.idle;
      this.idle = undefined;
      idle?.();
    }
  }
}
