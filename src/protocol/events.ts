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
}

export type EphemeralType = keyof EphemeralData;

export interface EphemeralEvent<T extends EphemeralType = EphemeralType> {
  type: T;
  at: string;
  data: EphemeralData[T];
}
