import type { AnswerOutcome, CreditView, OfferView, VoucherView, WinnerKeys } from './offers.js';
import type { OrderView } from './orders.js';
import type { TaskFailure } from './services.js';
import type { Conversation, Message, Presence, PublicAccount, ReceiptState } from './views.js';

/** Data carried by each kind of stream event. Stream events are stored and numbered per user. */
export interface EventData {
  'message.new': { message: Message };
  'message.edited': { message: Message };
  'message.deleted': { conversationId: string; messageId: string; seq: number };
  /** Watermark: every message of `conversationId` with seq ≤ `upToSeq` reached `state` for `accountId`. */
  receipt: { conversationId: string; accountId: string; state: Exclude<ReceiptState, 'sent'>; upToSeq: number; upToMessageId: string };
  /** Your own read watermark moved (on another device): sync unread counts. */
  'conversation.read': { conversationId: string; upToSeq: number };
  'conversation.created': { conversation: Conversation };
  'conversation.updated': { conversationId: string; title: string | null; by: string };
  'member.added': { conversationId: string; account: PublicAccount; role: 'owner' | 'member'; by: string };
  'member.removed': { conversationId: string; accountId: string; by: string; reason: 'removed' | 'left' };
  'member.role': { conversationId: string; accountId: string; role: 'owner' | 'member'; by: string };
  /**
   * Your message was not read (kind "read") or not received by any device (kind "delivered") by
   * `accountId` before the deadline. `fallback` says what happens next.
   */
  'message.unread': {
    conversationId: string;
    messageId: string;
    accountId: string;
    kind: 'read' | 'delivered';
    deadline: string;
    fallback: 'scheduled' | 'available' | 'none';
  };
  /** The message (or a notice) went out to `accountId` by SMS or e-mail; the number is never shown. */
  'fallback.sent': { conversationId: string; messageId: string; accountId: string; channel: 'sms' | 'email'; parts: number };
  'fallback.delivered': { conversationId: string; messageId: string; accountId: string; channel: 'sms' | 'email' };
  'fallback.failed': { conversationId: string; messageId: string; accountId: string; channel: 'sms' | 'email'; reason: string };
  /** A fallback that was due did not go out: rate limit, daily cap, no verified contact, already read. */
  'fallback.skipped': { conversationId: string; messageId: string; accountId: string; reason: 'rate_limited' | 'daily_cap' | 'no_verified_contact' | 'read_meanwhile' };
  /** Postponed to the end of the recipient's quiet hours. */
  'fallback.deferred': { conversationId: string; messageId: string; accountId: string; until: string };
  /** First reply to a request to a service account: it is queued (the answer comes later as messages). */
  'task.ack': TaskEventBase & { receivedAt: string; ackedAt: string };
  /** The request failed: not acknowledged in time, overload, rate limit, or its handler kept failing. */
  'task.failed': TaskEventBase & { reason: TaskFailure; message: string };
  /** The service reports progress on your request. */
  'task.progress': TaskEventBase & { text: string | null; percent: number | null };
  /** The service finished your request (its replies arrived as messages before this). */
  'task.done': TaskEventBase;
  /** To the service account: a request is waiting (wakes workers' pulls). */
  'task.new': { requestId: string; kind: 'message' | 'menu' };
  /** An offer matched one of your interests; answer it with accept or decline before its deadline. */
  offer: { offer: OfferView; interestId: string };
  /** To the provider: a matched user answered (receipt time and what came of it). */
  'offer.answered': { offerId: string; accountId: string; answer: 'accept' | 'decline'; answeredAt: string; outcome: AnswerOutcome };
  /** To the provider's devices: release your share to this winner's devices (sealed to each key). */
  'offer.winner': WinnerKeys & { offerId: string };
  /** The offer's deadline passed or the provider withdrew it. */
  'offer.closed': { offerId: string; reason: 'expired' | 'withdrawn' };
  /** You won a voucher. */
  voucher: { voucher: VoucherView };
  /** The provider's share, sealed to one of your devices' keys. */
  'voucher.share': { voucherId: string; offerId: string; deviceId: string; sealed: string };
  /** To the provider: a winner accepted, rejected or redeemed a voucher (credit after redemption). */
  'voucher.status': { voucherId: string; offerId: string; accountId: string; status: 'accepted' | 'rejected' | 'redeemed'; credit: CreditView };
  /** Your order was placed (to the user and to the provider): frictionless, or after the right code. */
  'order.placed': { order: OrderView };
  /** A verification code went out for your order through its channel; answer before `expiresAt`. */
  'order.verification': { order: OrderView; expiresAt: string };
  /** Your order was refused (the reason is a stable code, e.g. PROVIDER_CREDIT_LOW). */
  'order.refused': { order: OrderView; reason: string };
  /** The order ended: cancelled (STOP), its code expired, too many wrong codes (locked), or refunded. */
  'order.closed': { order: OrderView; reason: 'cancelled' | 'expired' | 'locked' | 'refunded' };
  /** To the provider: the user complained about an order. */
  'order.complaint': { order: OrderView; reason: string };
  /** An order notice on the im channel (the text an SMS or e-mail would carry, with the code when verifying). */
  'order.notice': { orderId: string; text: string };
}

export interface TaskEventBase {
  requestId: string;
  serviceId: string;
  conversationId: string;
  /** The client id of the message or click that made the request, to match it on the client. */
  clientId: string | null;
  messageId: string | null;
}

export type EventType = keyof EventData;

export interface StreamEvent<T extends EventType = EventType> {
  seq: number;
  type: T;
  at: string;
  data: EventData[T];
}

/** Not stored, not numbered: only delivered to sockets that are open right now. */
export interface EphemeralData {
  typing: { conversationId: string; accountId: string; typing: boolean; ttlMs: number };
  presence: Presence;
  /** Something happened for an account whose events are not stored (a service account): look at its queue. */
  'stream.nudge': Record<string, never>;
}

export type EphemeralType = keyof EphemeralData;

export interface EphemeralEvent<T extends EphemeralType = EphemeralType> {
  type: T;
  at: string;
  data: EphemeralData[T];
}
