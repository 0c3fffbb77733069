import type { MessageContent } from './services.js';
/** Shapes the server returns; shared by the server, the SDK and the web app. Times are ISO-8601 UTC. */
export type AccountKind = 'person' | 'service' | 'provider';
export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export type ReceiptState = 'sent' | 'delivered' | 'read';

export interface PublicAccount {
  id: string;
  handle: string;
  displayName: string;
  kind: AccountKind;
}

export interface Me extends PublicAccount {
  isAdmin: boolean;
  phone: string | null;
  phoneVerified: boolean;
  email: string | null;
  emailVerified: boolean;
  privacy: Privacy;
  fallback: { minPriority: Priority | 'never'; channel: 'sms' | 'email' };
  quietHours: { start: string; end: string; timeZone: string } | null;
  createdAt: string;
}

export interface Privacy {
  readReceipts: 'public' | 'private';
  lastSeen: 'visible' | 'hidden';
}

export interface Device {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string;
  current: boolean;
  ackedSeq: number;
}

export interface Session {
  token: string;
  deviceId: string;
  account: Me;
}

export interface MessageOptions {
  receipt: { read: boolean; within: string | null; deliveredWithin: string | null };
  priority: Priority;
  fallback: 'auto' | 'never' | 'ask';
  fallbackContent: 'content' | 'notice';
}

/** Where a file's bytes came from when it was sent: this server, its upstream (central) server, or the sender's upload. */
export type AttachmentSource = 'local' | 'upstream' | 'uploaded';

export interface Attachment {
  id: string;
  name: string;
  mime: string;
  size: number;
  /** Hex SHA-256 of the bytes; also the download's ETag. */
  sha256: string;
  source: AttachmentSource;
}

export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  clientId: string | null;
  text: string;
  replyTo: string | null;
  options: MessageOptions;
  /** The file of a file message (download: GET /v1/messages/:id/attachment); null for text and deleted messages. */
  attachment: Attachment | null;
  /** A service's rich reply (card, image, video, audio, text) with the request it answers; absent on ordinary messages. */
  content?: MessageContent;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

export interface Member {
  accountId: string;
  handle: string;
  displayName: string;
  role: 'owner' | 'member';
  joinedAt: string;
  /** Highest message seq delivered to at least one device of this member. */
  deliveredSeq: number;
  /** Read watermark; 0 when the member keeps read receipts private and you are not them. */
  readSeq: number;
}

export interface Conversation {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  createdAt: string;
  role: 'owner' | 'member';
  members: PublicAccount[];
  lastMessage: Message | null;
  unreadCount: number;
  readSeq: number;
}

export interface MessagePage {
  messages: Message[];
  /** Pass as `before` for older messages; null at the beginning of the visible history. */
  prevCursor: string | null;
  /** Pass as `after` for newer messages; null when this page reaches the newest message. */
  nextCursor: string | null;
}

export interface RecipientReceipt {
  accountId: string;
  state: ReceiptState;
  devices: { deviceId: string; delivered: boolean }[];
}

export interface MessageReceipts {
  messageId: string;
  recipients: RecipientReceipt[];
  counts: { sent: number; delivered: number; read: number };
}

export interface Presence {
  accountId: string;
  status: 'online' | 'offline';
  /** Null when offline and the account hides last seen. */
  lastSeenAt: string | null;
}

export interface OutboxItem {
  id: string;
  channel: 'sms' | 'email';
  recipient: string;
  subject: string | null;
  body: string;
  purpose: string;
  createdAt: string;
}

/** A byte range of a proof-of-possession challenge. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * The answer to a transfer request (POST /v1/transfers) and the state of a transfer
 * (GET /v1/transfers/:id). `challenge`: prove you hold the bytes (POST /v1/transfers/:id/proof);
 * `upload`: send the bytes with tus to `uploadUrl` (relative to the server's base URL), from `offset`.
 */
export type TransferState =
  | { status: 'delivered'; transferId: string; source: AttachmentSource; message: Message }
  | { status: 'challenge'; transferId: string; nonce: string; ranges: ByteRange[]; expiresAt: string }
  | { status: 'upload'; transferId: string; uploadUrl: string; offset: number; size: number; expiresAt: string }
  | { status: 'failed' | 'expired' | 'cancelled'; transferId: string; reason: string | null };
