import { Type, type Static } from '@sinclair/typebox';
import { Duration, Handle } from './requests.js';

/**
 * Service accounts (issue 6): wire schemas and views. A user's request (a message or a menu click)
 * is acknowledged at once (`task.ack`) and answered later by the service's handler (webhook,
 * workers or an in-process plugin) with replies that arrive as messages from the service.
 */
const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const Url = Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://', description: 'An http(s):// URL.' });
const MenuKey = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' });
const ClientId = Type.String({ minLength: 1, maxLength: 64 });

export const MenuLeaf = Type.Object({ key: MenuKey, label: Type.String({ minLength: 1, maxLength: 40 }) }, { additionalProperties: false });
/** WeChat-style menu: top-level buttons, each either a leaf with a key or a group of leaves (two levels). */
export const MenuItem = Type.Union([
  MenuLeaf,
  Type.Object({ label: Type.String({ minLength: 1, maxLength: 40 }), items: Type.Array(MenuLeaf, { minItems: 1, maxItems: 5 }) }, { additionalProperties: false }),
]);
export type MenuItem = Static<typeof MenuItem>;
export const Menu = Type.Array(MenuItem, { maxItems: 3 });

export const ServiceHandler = Type.Union([
  Type.Object(
    {
      type: Type.Literal('webhook'),
      url: Url,
      /** Shared secret for the HMAC signature; generated when omitted (returned once). */
      secret: Type.Optional(Type.String({ minLength: 16, maxLength: 200 })),
    },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('workers') }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('plugin'), name: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
]);
export type ServiceHandler = Static<typeof ServiceHandler>;

export const CreateServiceBody = Type.Object(
  {
    handle: Handle,
    displayName: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    avatarUrl: Type.Optional(Url),
    menu: Type.Optional(Menu),
    handler: ServiceHandler,
    /** The "set time": the first reply must go out within it (default PARLEY_SERVICE_ACK_DEADLINE_MS). */
    ackDeadline: Type.Optional(Duration),
    /** The service may reply only this long after the user's last request (default 48 h). */
    replyWindow: Type.Optional(Duration),
    /** Requests waiting or leased at once; beyond it new ones fail at once (admission control). */
    maxQueue: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    /** Requests one user may make per minute. */
    ratePerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    /** How long a worker holds a pulled request before it returns to the queue. */
    lease: Type.Optional(Duration),
  },
  { additionalProperties: false },
);
export type CreateServiceBody = Static<typeof CreateServiceBody>;

/** An edit of a service (administrators): only the fields given change. */
export const UpdateServiceBody = Type.Object(
  {
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    avatarUrl: Type.Optional(Type.Union([Url, Type.Null()])),
    menu: Type.Optional(Menu),
    /** A webhook without a secret keeps the current one, or gets a new one (answered once) if it had none. */
    handler: Type.Optional(ServiceHandler),
    ackDeadline: Type.Optional(Duration),
    replyWindow: Type.Optional(Duration),
    maxQueue: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    ratePerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    lease: Type.Optional(Duration),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateServiceBody = Static<typeof UpdateServiceBody>;

export const ClickBody = Type.Object({ key: MenuKey, clientId: Type.Optional(ClientId) }, { additionalProperties: false });
export type ClickBody = Static<typeof ClickBody>;

const Caption = Type.Optional(Type.String({ maxLength: 1000 }));
/**
 * An image, video or audio reply: by URL, or by the SHA-256 of bytes already in this server's file
 * store that the service holds (it sent or proved them through the file transfer before). Those
 * travel as the reply message's attachment, downloaded by each member with their own session.
 */
function media<T extends 'image' | 'video' | 'audio'>(type: T) {
  return Type.Union([
    Type.Object({ type: Type.Literal(type), url: Url, caption: Caption }, { additionalProperties: false }),
    Type.Object(
      {
        type: Type.Literal(type),
        sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
        mime: Type.String({ minLength: 3, maxLength: 127, pattern: '^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$' }),
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
        caption: Caption,
      },
      { additionalProperties: false },
    ),
  ]);
}

/** A second reply: text, an image, an image+text card, a video or audio. */
export const ReplyContent = Type.Union([
  Type.Object({ type: Type.Literal('text'), text: Type.String({ minLength: 1, maxLength: 8000 }) }, { additionalProperties: false }),
  media('image'),
  Type.Object(
    {
      type: Type.Literal('card'),
      title: Type.String({ minLength: 1, maxLength: 200 }),
      description: Type.Optional(Type.String({ maxLength: 2000 })),
      imageUrl: Type.Optional(Url),
      url: Type.Optional(Url),
    },
    { additionalProperties: false },
  ),
  media('video'),
  media('audio'),
]);
export type ReplyContent = Static<typeof ReplyContent>;

const Token = Type.String({ minLength: 1, maxLength: 200 });
export const ReplyBody = Type.Object({ token: Token, content: ReplyContent, done: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export type ReplyBody = Static<typeof ReplyBody>;
export const ProgressBody = Type.Object(
  { token: Token, text: Type.Optional(Type.String({ maxLength: 500 })), percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })) },
  { additionalProperties: false },
);
export type ProgressBody = Static<typeof ProgressBody>;
export const DoneBody = Type.Object({ token: Token }, { additionalProperties: false });
export type DoneBody = Static<typeof DoneBody>;
export const PullBody = Type.Object(
  {
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    /** Long poll: wait up to this long (ms) for a request when none is queued. */
    waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 30_000 })),
  },
  { additionalProperties: false },
);
export type PullBody = Static<typeof PullBody>;
export const ServiceParams = Type.Object({ ref: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
export type ServiceParams = Static<typeof ServiceParams>;
export const TaskParams = Type.Object({ id: Id }, { additionalProperties: false });
export type TaskParams = Static<typeof TaskParams>;

export type TaskStatus = 'queued' | 'leased' | 'waiting' | 'done' | 'failed' | 'dead';
export type TaskFailure = 'ack_timeout' | 'overloaded' | 'rate_limited' | 'handler_failed';

export interface ServiceView {
  id: string;
  handle: string;
  displayName: string;
  description: string;
  avatarUrl: string | null;
  menu: MenuItem[];
  ackDeadlineMs: number;
  replyWindowMs: number;
}

/** What an administrator sees: the profile plus how requests are handled. */
export interface ServiceAdminView extends ServiceView {
  handler: { type: 'webhook'; url: string } | { type: 'workers' } | { type: 'plugin'; name: string };
  maxQueue: number;
  ratePerMinute: number;
  leaseMs: number;
}

/** A request as its user and the admin see it. */
export interface TaskView {
  id: string;
  serviceId: string;
  accountId: string;
  conversationId: string;
  kind: 'message' | 'menu';
  clientId: string | null;
  messageId: string | null;
  menuKey: string | null;
  text: string;
  status: TaskStatus;
  failure: string | null;
  attempts: number;
  receivedAt: string;
  ackedAt: string | null;
  finishedAt: string | null;
}

/** A request as a worker or webhook receives it: who asked, from where, and how to answer. */
export interface LeasedTask {
  id: string;
  serviceId: string;
  kind: 'message' | 'menu';
  text: string;
  menuKey: string | null;
  user: { accountId: string; handle: string; displayName: string; deviceId: string | null; ip: string | null };
  conversationId: string;
  receivedAt: string;
  attempt: number;
  /** Answer with this (replies, progress, done); it expires and has limited uses. */
  replyToken: string;
  replyTokenExpiresAt: string;
  /** POST replies here with the token, like Slack's response_url. */
  replyUrl: string;
}

export interface ServiceStats {
  queued: number;
  leased: number;
  waiting: number;
  done: number;
  failed: number;
  dead: number;
  /** Milliseconds between receiving a request and sending its acknowledgement. */
  ackLatencyMs: { avg: number | null; max: number | null };
  /** Milliseconds between the acknowledgement and the request's completion. */
  processingMs: { avg: number | null; max: number | null };
}

export interface UpdatedService {
  service: ServiceAdminView;
  /** A webhook secret generated by this edit; shown once. */
  webhookSecret?: string;
}

export interface CreatedService {
  service: ServiceAdminView;
  /** Bearer token of the service account for workers and the API; shown once. */
  token: string;
  /** The webhook's signing secret; shown once. */
  webhookSecret?: string;
}

/** Rich content of a message a service sent as a reply (absent on ordinary messages). */
export type MessageContent = ReplyContent & { requestId: string };
