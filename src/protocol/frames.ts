import { Type, type Static } from '@sinclair/typebox';
import type { EphemeralEvent, StreamEvent } from './events.js';
import type { ErrorBody } from '../errors.js';
import { ReadBody, SendMessageBody } from './requests.js';
import type { Message } from './views.js';
import { DoneBody, ProgressBody, PullBody, ReplyBody, type LeasedTask, type TaskView } from './services.js';

/** WebSocket /v1/stream: frames are JSON text. The client's first frame must be `hello`. */
export const HelloFrame = Type.Object(
  {
    type: Type.Literal('hello'),
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** Resume after this sequence; omitted = after the device's last acknowledged sequence. */
    after: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export const AckFrame = Type.Object({ type: Type.Literal('ack'), seq: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
export const TypingFrame = Type.Object(
  { type: Type.Literal('typing'), conversationId: Type.String({ minLength: 1, maxLength: 64 }), typing: Type.Boolean() },
  { additionalProperties: false },
);
export const PingFrame = Type.Object({ type: Type.Literal('ping') }, { additionalProperties: false });

/** Chosen by the client; the server's `result` or `error` frame quotes it. */
const Ref = Type.String({ minLength: 1, maxLength: 64 });
const ConversationId = Type.String({ minLength: 1, maxLength: 64 });
/** POST /v1/conversations/:id/messages over the socket: same body, same idempotency by clientId. */
export const SendFrame = Type.Object({ type: Type.Literal('send'), ref: Ref, conversationId: ConversationId, message: SendMessageBody }, { additionalProperties: false });
/** POST /v1/conversations/:id/read over the socket. */
export const ReadFrame = Type.Object({ type: Type.Literal('read'), ref: Ref, conversationId: ConversationId, upTo: ReadBody.properties.upTo }, { additionalProperties: false });

const TaskId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
/** Workers of a service (hello with the service's token): POST /v1/tasks/pull over the socket. */
export const TaskPullFrame = Type.Object({ type: Type.Literal('task.pull'), ref: Ref, ...PullBody.properties }, { additionalProperties: false });
/** POST /v1/tasks/:id/replies, /progress and /done over the socket. */
export const TaskReplyFrame = Type.Object({ type: Type.Literal('task.reply'), ref: Ref, taskId: TaskId, ...ReplyBody.properties }, { additionalProperties: false });
export const TaskProgressFrame = Type.Object({ type: Type.Literal('task.progress'), ref: Ref, taskId: TaskId, ...ProgressBody.properties }, { additionalProperties: false });
export const TaskDoneFrame = Type.Object({ type: Type.Literal('task.done'), ref: Ref, taskId: TaskId, ...DoneBody.properties }, { additionalProperties: false });

export const ClientFrame = Type.Union([HelloFrame, AckFrame, TypingFrame, PingFrame, SendFrame, ReadFrame, TaskPullFrame, TaskReplyFrame, TaskProgressFrame, TaskDoneFrame]);
export type ClientFrame = Static<typeof ClientFrame>;
/** Each frame type's own schema, so a bad frame is judged against the type it claims to be. */
export const clientFrameSchemas = {
  hello: HelloFrame,
  ack: AckFrame,
  typing: TypingFrame,
  ping: PingFrame,
  send: SendFrame,
  read: ReadFrame,
  'task.pull': TaskPullFrame,
  'task.reply': TaskReplyFrame,
  'task.progress': TaskProgressFrame,
  'task.done': TaskDoneFrame,
} as const;
export const clientFrameTypes = Object.keys(clientFrameSchemas) as (keyof typeof clientFrameSchemas)[];

export type ServerFrame =
  | { type: 'ready'; accountId: string; deviceId: string; after: number; headSeq: number }
  | { type: 'event'; event: StreamEvent }
  | { type: 'ephemeral'; event: EphemeralEvent }
  | { type: 'pong' }
  | { type: 'result'; ref: string; result: { message: Message } | { readSeq: number } | { tasks: LeasedTask[] } | { task: TaskView } | Record<string, never> }
  /** `ref` is present when the error answers a send or read frame. */
  | ({ type: 'error'; ref?: string } & ErrorBody);

/** Close codes Parley uses besides the standard ones. */
export const CloseCodes = {
  /** Token invalid or revoked: do not reconnect with the same token. */
  unauthorized: 4001,
  /** First frame was not a valid hello, or came too late. */
  protocolError: 4002,
  /** The client did not read fast enough; reconnect and resume. */
  slowConsumer: 4008,
  /** Server shutting down; reconnect (possibly to another node) and resume. */
  goingAway: 1001,
} as const;
