import type { Generated } from 'kysely';

/**
 * Table types shared by SQLite and PostgreSQL. Times are epoch milliseconds (bigint on
 * PostgreSQL, parsed back to numbers), flags are 0/1 integers and JSON is stored as text, so the
 * same queries run on both engines.
 */
export interface AccountsTable {
  id: string;
  handle: string;
  display_name: string;
  kind: 'person' | 'service' | 'provider';
  password_hash: string;
  is_admin: number;
  phone: string | null;
  phone_verified_at: number | null;
  email: string | null;
  email_verified_at: number | null;
  read_receipts: 'public' | 'private';
  last_seen_visible: number;
  last_seen_at: number | null;
  created_at: number;
  fallback_min_priority: 'low' | 'normal' | 'high' | 'urgent' | 'never';
  fallback_channel: 'sms' | 'email';
  quiet_start: string | null;
  quiet_end: string | null;
  time_zone: string;
}

export interface VerificationsTable {
  account_id: string;
  channel: 'sms' | 'email';
  address: string;
  code_hash: string;
  attempts: number;
  expires_at: number;
  created_at: number;
}

export interface DevicesTable {
  id: string;
  account_id: string;
  name: string;
  token_hash: string;
  acked_seq: number;
  created_at: number;
  last_used_at: number;
  revoked_at: number | null;
}

export interface StreamsTable {
  account_id: string;
  last_seq: number;
}

export interface EventsTable {
  account_id: string;
  seq: number;
  type: string;
  data: string;
  conversation_id: string | null;
  message_id: string | null;
  created_at: number;
}

export interface ConversationsTable {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  direct_key: string | null;
  created_by: string;
  created_at: number;
  last_seq: number;
  last_message_at: number | null;
}

export interface MembersTable {
  conversation_id: string;
  account_id: string;
  role: 'owner' | 'member';
  joined_at: number;
  joined_seq: number;
  delivered_seq: number;
  delivered_at: number | null;
  read_seq: number;
  read_at: number | null;
}

export interface MessagesTable {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  client_id: string | null;
  body: string;
  reply_to: string | null;
  receipt_read: number;
  receipt_within_ms: number | null;
  priority: 'low' | 'normal' | 'high' | 'urgent';
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
  delivered_within_ms: number | null;
  fallback: 'auto' | 'never' | 'ask';
  fallback_content: 'content' | 'notice';
  /** A file message's attachment (all null for a text message). */
  attachment_id: string | null;
  attachment_sha256: string | null;
  attachment_name: string | null;
  attachment_mime: string | null;
  attachment_size: number | null;
  attachment_source: 'local' | 'upstream' | 'uploaded' | null;
  /** JSON rich content of a service's reply (card, image…); null for ordinary messages. */
  content: string | null;
}

export interface OutboxTable {
  id: string;
  channel: 'sms' | 'email';
  recipient: string;
  subject: string | null;
  body: string;
  purpose: string;
  created_at: number;
}

export interface TimersTable {
  id: string;
  kind: string;
  /** Caller-chosen identity, e.g. "unread:<messageId>:<accountId>": scheduling it again moves it. */
  key: string;
  due_at: number;
  payload: string;
  attempts: number;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
}

export interface FallbacksTable {
  id: string;
  message_id: string;
  recipient_id: string;
  sender_id: string;
  channel: 'sms' | 'email';
  reason: 'unread' | 'undelivered' | 'command';
  /** `sending`: one timer firing claimed it (at `updated_at`) and is handing it to the channel. */
  status: 'pending' | 'sending' | 'sent' | 'delivered' | 'failed' | 'cancelled';
  channel_message_id: string | null;
  detail: string | null;
  created_at: number;
  updated_at: number;
}

export interface BlobsTable {
  sha256: string;
  size: number;
  created_at: number;
  last_used_at: number;
}

export type TransferStatus = 'challenge' | 'uploading' | 'delivered' | 'failed' | 'expired' | 'cancelled';

export interface TransfersTable {
  id: string;
  account_id: string;
  conversation_id: string;
  sha256: string;
  size: number;
  name: string;
  mime: string;
  text: string;
  client_id: string | null;
  reply_to: string | null;
  priority: 'low' | 'normal' | 'high' | 'urgent';
  status: TransferStatus;
  nonce: string | null;
  /** JSON [{offset, length}] of the challenge. */
  ranges: string | null;
  proof_failed: number;
  source: 'local' | 'upstream' | 'uploaded' | null;
  message_id: string | null;
  failure: string | null;
  /** Challenge: answer by then; uploading: abandoned after it (moved on each PATCH). */
  expires_at: number;
  created_at: number;
  updated_at: number;
}

/** Who has shown they hold which bytes (uploaded them or proved possession): they may resend without a challenge. */
export interface PossessionsTable {
  account_id: string;
  sha256: string;
  size: number;
  created_at: number;
}

export interface ServicesTable {
  account_id: string;
  description: string;
  avatar_url: string | null;
  /** JSON MenuItem[]. */
  menu: string;
  handler: 'webhook' | 'workers' | 'plugin';
  webhook_url: string | null;
  webhook_secret: string | null;
  plugin: string | null;
  ack_deadline_ms: number;
  reply_window_ms: number;
  max_queue: number;
  rate_per_minute: number;
  lease_ms: number;
  created_at: number;
}

export interface ServiceRequestsTable {
  id: string;
  service_id: string;
  account_id: string;
  device_id: string | null;
  ip: string | null;
  conversation_id: string;
  kind: 'message' | 'menu';
  client_id: string | null;
  message_id: string | null;
  menu_key: string | null;
  text: string;
  status: 'queued' | 'leased' | 'waiting' | 'done' | 'failed' | 'dead';
  failure: string | null;
  attempts: number;
  received_at: number;
  acked_at: number | null;
  finished_at: number | null;
  /** Who holds the request now (a worker's lease id, or "webhook"), until lease_until. */
  lease_owner: string | null;
  lease_until: number | null;
  /** The current holder's reply token (SHA-256), its uses so far and its expiry. */
  reply_token_hash: string | null;
  reply_uses: number;
  reply_expires_at: number | null;
}

export interface InterestsTable {
  id: string;
  account_id: string;
  name: string;
  /** JSON array of strings. */
  tags: string;
  /** JSON: the MongoDB-style predicate over offer attributes. */
  predicate: string;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
}

/** Each interest once per term it is filed under, with what confirming a candidate needs. */
export interface InterestTermsTable {
  term: string;
  interest_id: string;
  account_id: string;
  tags: string;
  predicate: string;
  expires_at: number | null;
  updated_at: number;
}

export interface OffersTable {
  id: string;
  provider_id: string;
  /** JSON: name, identifier, tags, attributes. */
  descriptor: string;
  /** JSON: the deadline as the provider gave it. */
  deadline: string;
  opens_at: number;
  closes_at: number;
  received_at: number;
  cap: number | null;
  winners: number;
  /** JSON: contact / location the provider chose to share. */
  shared: string;
  ciphertext: string | null;
  server_share: string | null;
  link: string | null;
  status: 'open' | 'closed' | 'withdrawn';
  closed_at: number | null;
}

export interface OfferRecipientsTable {
  offer_id: string;
  account_id: string;
  interest_id: string;
  offered_at: number;
  answer: 'accept' | 'decline' | null;
  answered_at: number | null;
  outcome: 'voucher' | 'declined' | 'too_early' | 'too_late' | 'cap_reached' | 'withdrawn' | null;
}

export interface VouchersTable {
  id: string;
  offer_id: string;
  provider_id: string;
  holder_id: string;
  token: string;
  status: 'issued' | 'accepted' | 'rejected' | 'redeemed';
  issued_at: number;
  expires_at: number;
  share_released_at: number | null;
  decided_at: number | null;
}

export interface DeviceKeysTable {
  device_id: string;
  account_id: string;
  public_key: string;
  created_at: number;
}

export interface ProviderCreditTable {
  account_id: string;
  points: number;
  redemptions: number;
}

export interface ServerKeysTable {
  name: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
}

export interface CatalogueTable {
  id: string;
  provider_id: string;
  code: string;
  name: string;
  description: string;
  price: number;
  currency: string;
  period: 'once' | 'monthly';
  active: number;
  created_at: number;
  updated_at: number;
}

export interface OrdersTable {
  id: string;
  user_id: string;
  provider_id: string;
  service_id: string;
  service_code: string;
  service_name: string;
  price: number;
  currency: string;
  period: 'once' | 'monthly';
  status: 'pending' | 'active' | 'completed' | 'cancelled' | 'refused' | 'expired' | 'failed' | 'refunded';
  band: 'high' | 'medium' | 'low';
  score: number;
  gateway: 'http' | 'im' | 'sms';
  channel: 'im' | 'sms' | 'email';
  refusal: string | null;
  client_key: string | null;
  open_key: string | null;
  requested_at: number;
  placed_at: number | null;
  closed_at: number | null;
  complained_at: number | null;
}

export interface OrderCodesTable {
  order_id: string;
  user_id: string;
  /** HMAC under the server's order-code secret of the order's hash and the code. */
  code_hash: string;
  attempts: number;
  sends: number;
  expires_at: number;
  used_at: number | null;
}

export interface OrderLockoutsTable {
  account_id: string;
  failures: number;
  lockouts: number;
  locked_until: number;
}

export interface ProviderRecordsTable {
  provider_id: string;
  orders_placed: number;
  quick_cancellations: number;
  complaints: number;
  failed_verifications: number;
  refunds: number;
  adjustment: number;
  adjustment_reason: string | null;
  adjusted_by: string | null;
  adjusted_at: number | null;
}

export interface ConsentLogTable {
  id: string;
  order_id: string;
  account_id: string;
  actor_id: string | null;
  action: string;
  channel: string | null;
  code_hash: string | null;
  detail: string;
  at: number;
}

export interface ServerSecretsTable {
  name: string;
  secret: string;
  created_at: number;
}

export interface Database {
  accounts: AccountsTable;
  verifications: VerificationsTable;
  devices: DevicesTable;
  streams: StreamsTable;
  events: EventsTable;
  conversations: ConversationsTable;
  members: MembersTable;
  messages: MessagesTable;
  outbox: OutboxTable;
  timers: TimersTable;
  fallbacks: FallbacksTable;
  blobs: BlobsTable;
  transfers: TransfersTable;
  possessions: PossessionsTable;
  services: ServicesTable;
  service_requests: ServiceRequestsTable;
  interests: InterestsTable;
  interest_terms: InterestTermsTable;
  offers: OffersTable;
  offer_recipients: OfferRecipientsTable;
  vouchers: VouchersTable;
  device_keys: DeviceKeysTable;
  provider_credit: ProviderCreditTable;
  server_keys: ServerKeysTable;
  catalogue: CatalogueTable;
  orders: OrdersTable;
  order_codes: OrderCodesTable;
  order_lockouts: OrderLockoutsTable;
  provider_records: ProviderRecordsTable;
  consent_log: ConsentLogTable;
  server_secrets: ServerSecretsTable;
}

export type { Generated };
