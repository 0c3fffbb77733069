import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Every setting Parley reads, with its default, its environment variable and one line of doc.
 * This is the only module that reads `process.env`; everything else receives a `Config`.
 * Precedence: explicit overrides (tests, CLI flags) > environment > config file > default.
 */

type Kind = 'string' | 'int' | 'bool' | 'enum';

interface SettingSpec<T> {
  env: string;
  kind: Kind;
  default: T;
  doc: string;
  values?: readonly string[];
  min?: number;
  max?: number;
  /** For strings: the value must match, else `expected` explains what would. */
  pattern?: RegExp;
  expected?: string;
}

function setting<T>(spec: SettingSpec<T>): SettingSpec<T> {
  return spec;
}

export const settings = {
  port: setting({ env: 'PORT', kind: 'int', default: 8787, min: 0, max: 65535, doc: 'TCP port of the HTTP and WebSocket server (0 picks a free port).' }),
  host: setting({ env: 'HOST', kind: 'string', default: '127.0.0.1', doc: 'Interface to listen on; 0.0.0.0 exposes the server to the network.' }),
  dataDir: setting({ env: 'DATA_DIR', kind: 'string', default: './data', doc: 'Directory for the SQLite database and local files.' }),
  databaseUrl: setting({ env: 'DATABASE_URL', kind: 'string', default: '', pattern: /^(postgres(ql)?:\/\/.+)?$/, expected: 'empty or a postgres:// URL', doc: 'postgres://… to use PostgreSQL; empty means SQLite at <dataDir>/parley.db.' }),
  redisUrl: setting({ env: 'REDIS_URL', kind: 'string', default: '', pattern: /^(rediss?:\/\/.+)?$/, expected: 'empty or a redis:// URL', doc: 'redis://… to fan events out across nodes; empty means in-process only.' }),
  sqliteSynchronous: setting({ env: 'PARLEY_SQLITE_SYNCHRONOUS', kind: 'enum', values: ['NORMAL', 'FULL'] as const, default: 'NORMAL', doc: 'SQLite WAL sync level: NORMAL survives a process crash, FULL also a power loss (slower).' }),
  sqliteCacheMb: setting({ env: 'PARLEY_SQLITE_CACHE_MB', kind: 'int', default: 64, min: 2, max: 65536, doc: 'SQLite page cache, in MiB. Too small a cache makes writes to a large database (e.g. a million pending timers) read index pages from disk again and again.' }),
  timerLeaseMs: setting({ env: 'PARLEY_TIMER_LEASE_MS', kind: 'int', default: 30_000, min: 1000, max: 3600_000, doc: 'How long a node\'s claim on due timers outlives the 5 s it claims ahead: a node that dies holding claims has its timers taken over by another this long after they were due, at most.' }),
  nodeId: setting({ env: 'PARLEY_NODE_ID', kind: 'string', default: '', doc: 'This node\'s name in timer claims; must differ between nodes sharing a database. Empty: <hostname>:<PORT>.' }),
  logLevel: setting({ env: 'PARLEY_LOG_LEVEL', kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, default: 'info', doc: 'Log level (pino).' }),
  openRegistration: setting({ env: 'PARLEY_OPEN_REGISTRATION', kind: 'bool', default: true, doc: 'Whether anyone may register over the API; when false only admins and the CLI create accounts.' }),
  maxBodyBytes: setting({ env: 'PARLEY_MAX_BODY_BYTES', kind: 'int', default: 65536, min: 1024, max: 16 * 1024 * 1024, doc: 'Largest accepted HTTP request body, in bytes.' }),
  maxFrameBytes: setting({ env: 'PARLEY_MAX_FRAME_BYTES', kind: 'int', default: 65536, min: 1024, max: 16 * 1024 * 1024, doc: 'Largest accepted WebSocket frame, in bytes; larger frames close the socket (1009).' }),
  maxMessageChars: setting({ env: 'PARLEY_MAX_MESSAGE_CHARS', kind: 'int', default: 8000, min: 1, max: 1_000_000, doc: 'Longest message text, in characters.' }),
  maxGroupMembers: setting({ env: 'PARLEY_MAX_GROUP_MEMBERS', kind: 'int', default: 1000, min: 2, max: 100_000, doc: 'Most members a group may have.' }),
  maxReceiptWithinMs: setting({ env: 'PARLEY_MAX_RECEIPT_WITHIN_MS', kind: 'int', default: 7 * 24 * 3600 * 1000, min: 1000, max: 365 * 24 * 3600 * 1000, doc: 'Longest read/delivery deadline a message may ask for, in ms.' }),
  streamMaxBufferedBytes: setting({ env: 'PARLEY_STREAM_MAX_BUFFERED_BYTES', kind: 'int', default: 4 * 1024 * 1024, min: 65536, max: 1024 * 1024 * 1024, doc: 'A socket whose unsent output exceeds this is closed as a slow consumer (4008); it resumes on reconnect.' }),
  streamReplayBatch: setting({ env: 'PARLEY_STREAM_REPLAY_BATCH', kind: 'int', default: 500, min: 1, max: 10_000, doc: 'Events read from storage per batch when a client catches up.' }),
  heartbeatMs: setting({ env: 'PARLEY_HEARTBEAT_MS', kind: 'int', default: 30_000, min: 100, max: 600_000, doc: 'Interval of WebSocket pings; a socket that misses one pong is closed.' }),
  longPollMaxMs: setting({ env: 'PARLEY_LONG_POLL_MAX_MS', kind: 'int', default: 30_000, min: 0, max: 120_000, doc: 'Longest time GET /v1/events waits for a new event.' }),
  presenceTtlMs: setting({ env: 'PARLEY_PRESENCE_TTL_MS', kind: 'int', default: 15_000, min: 300, max: 600_000, doc: 'With Redis: a node that stops renewing its presence heartbeat (renewed three times per period) for this long counts as gone, and its users as offline.' }),
  typingTtlMs: setting({ env: 'PARLEY_TYPING_TTL_MS', kind: 'int', default: 6_000, min: 500, max: 60_000, doc: 'A typing indicator expires after this long without a refresh.' }),
  verificationCodeTtlMs: setting({ env: 'PARLEY_VERIFICATION_CODE_TTL_MS', kind: 'int', default: 10 * 60_000, min: 10_000, max: 24 * 3600_000, doc: 'How long a phone/e-mail verification code stays valid.' }),
  verificationMaxAttempts: setting({ env: 'PARLEY_VERIFICATION_MAX_ATTEMPTS', kind: 'int', default: 5, min: 1, max: 100, doc: 'Wrong tries allowed per verification code.' }),
  fallbackPerRecipientPerHour: setting({ env: 'PARLEY_FALLBACK_PER_RECIPIENT_PER_HOUR', kind: 'int', default: 5, min: 0, max: 10_000, doc: 'Most fallback SMS/e-mails one recipient gets per hour (protects against SMS pumping).' }),
  fallbackPerSenderPerDay: setting({ env: 'PARLEY_FALLBACK_PER_SENDER_PER_DAY', kind: 'int', default: 50, min: 0, max: 1_000_000, doc: 'Most fallbacks one sender may cause per 24 h.' }),
  fallbackSmsMaxChars: setting({ env: 'PARLEY_FALLBACK_SMS_MAX_CHARS', kind: 'int', default: 320, min: 40, max: 1600, doc: 'Longest fallback SMS text; longer content is truncated and labelled.' }),
  smsChannel: setting({ env: 'PARLEY_SMS_CHANNEL', kind: 'enum', values: ['outbox', 'smpp', 'http'] as const, default: 'outbox', doc: 'Where SMS go: outbox stores them for GET /v1/outbox; smpp sends through an SMSC (PARLEY_SMPP_*); http through an HTTP SMS gateway (PARLEY_SMS_HTTP_*). See docs/channels.md.' }),
  smsFrom: setting({ env: 'PARLEY_SMS_FROM', kind: 'string', default: '', doc: 'Sender of SMS: alphanumeric sender id, short code or +E.164 number (SMPP source_addr, {from} in the HTTP template); empty lets the SMSC/gateway choose.' }),
  smppUrl: setting({ env: 'PARLEY_SMPP_URL', kind: 'string', default: '', pattern: /^(s?smpp:\/\/.+)?$/, expected: 'empty or smpp://system_id:password@host:port (ssmpp:// for TLS)', doc: 'The SMSC for PARLEY_SMS_CHANNEL=smpp: smpp://system_id:password@host:2775 (ssmpp:// for TLS).' }),
  smppSystemType: setting({ env: 'PARLEY_SMPP_SYSTEM_TYPE', kind: 'string', default: '', doc: 'system_type sent in bind_transceiver, if the SMSC asks for one.' }),
  smppWindow: setting({ env: 'PARLEY_SMPP_WINDOW', kind: 'int', default: 10, min: 1, max: 1000, doc: 'Most submit_sm awaiting the SMSC\'s answer at once; further parts wait in a queue.' }),
  smppEnquireLinkMs: setting({ env: 'PARLEY_SMPP_ENQUIRE_LINK_MS', kind: 'int', default: 30_000, min: 100, max: 600_000, doc: 'Interval of SMPP enquire_link keep-alives; an unanswered one drops and re-binds the session.' }),
  smsHttpUrl: setting({ env: 'PARLEY_SMS_HTTP_URL', kind: 'string', default: '', pattern: /^(https?:\/\/.+)?$/, expected: 'empty or an http(s):// URL', doc: 'The HTTP SMS gateway\'s send endpoint for PARLEY_SMS_CHANNEL=http.' }),
  smsHttpMethod: setting({ env: 'PARLEY_SMS_HTTP_METHOD', kind: 'enum', values: ['POST', 'PUT'] as const, default: 'POST', doc: 'HTTP method of the gateway\'s send endpoint.' }),
  smsHttpTemplate: setting({ env: 'PARLEY_SMS_HTTP_TEMPLATE', kind: 'string', default: '{"to":"{to}","text":"{text}","from":"{from}","reference":"{id}"}', doc: 'JSON body sent to the gateway; {to}, {text}, {from} and {id} (Parley\'s reference) in string values are filled in.' }),
  smsHttpAuth: setting({ env: 'PARLEY_SMS_HTTP_AUTH', kind: 'string', default: '', doc: 'Auth header for the gateway: "Bearer …"/"Basic …" (sent as Authorization) or "Header-Name: value"; empty sends none.' }),
  smsHttpIdPath: setting({ env: 'PARLEY_SMS_HTTP_ID_PATH', kind: 'string', default: 'id', doc: 'Dot path of the message id in the gateway\'s JSON answer (e.g. messages.0.id); delivery reports quote it.' }),
  smsHttpWebhookSecret: setting({ env: 'PARLEY_SMS_HTTP_WEBHOOK_SECRET', kind: 'string', default: '', doc: 'Secret the gateway\'s delivery-report/inbound webhooks prove with (HMAC-SHA256 X-Signature or Bearer token); empty disables them.' }),
  smsHttpReportIdPath: setting({ env: 'PARLEY_SMS_HTTP_REPORT_ID_PATH', kind: 'string', default: 'id', doc: 'Dot path of the message id in a delivery-report webhook body.' }),
  smsHttpReportStatusPath: setting({ env: 'PARLEY_SMS_HTTP_REPORT_STATUS_PATH', kind: 'string', default: 'status', doc: 'Dot path of the status (delivered, failed, UNDELIV…) in a delivery-report webhook body.' }),
  emailChannel: setting({ env: 'PARLEY_EMAIL_CHANNEL', kind: 'enum', values: ['outbox', 'smtp'] as const, default: 'outbox', doc: 'Where e-mail goes: outbox stores it for GET /v1/outbox; smtp sends it through PARLEY_SMTP_URL.' }),
  smtpUrl: setting({ env: 'PARLEY_SMTP_URL', kind: 'string', default: '', pattern: /^(smtps?:\/\/.+)?$/, expected: 'empty or smtp://user:pass@host:587 (smtps:// for implicit TLS)', doc: 'The mail server for PARLEY_EMAIL_CHANNEL=smtp: smtp://user:pass@host:587 or smtps://…:465.' }),
  emailFrom: setting({ env: 'PARLEY_EMAIL_FROM', kind: 'string', default: '', doc: 'From address of e-mail sent over SMTP, e.g. "Parley <noreply@example.com>".' }),
  maxFileBytes: setting({ env: 'PARLEY_MAX_FILE_BYTES', kind: 'int', default: 2 * 1024 * 1024 * 1024, min: 1, max: 2 ** 50, doc: 'Largest file that may be sent (transfer request and upload), in bytes.' }),
  userQuotaBytes: setting({ env: 'PARLEY_USER_QUOTA_BYTES', kind: 'int', default: 20 * 1024 * 1024 * 1024, min: 0, max: 2 ** 52, doc: 'Per-user storage quota: distinct files attached to the user\'s live messages plus their open uploads, in bytes; 0 means unlimited.' }),
  transfersPerMinute: setting({ env: 'PARLEY_TRANSFERS_PER_MINUTE', kind: 'int', default: 60, min: 1, max: 1_000_000, doc: 'Most transfer requests (POST /v1/transfers, each with at most one challenge) one user may make per minute.' }),
  proofFailuresPerHour: setting({ env: 'PARLEY_PROOF_FAILURES_PER_HOUR', kind: 'int', default: 200, min: 1, max: 1_000_000, doc: 'Most unconfirmed proofs of possession per user and hour that did not end in a completed upload (hash probing); further proofs are refused (RATE_LIMITED).' }),
  proofRanges: setting({ env: 'PARLEY_PROOF_RANGES', kind: 'int', default: 16, min: 1, max: 256, doc: 'Random byte ranges in a proof-of-possession challenge.' }),
  proofRangeBytes: setting({ env: 'PARLEY_PROOF_RANGE_BYTES', kind: 'int', default: 16_384, min: 1, max: 1024 * 1024, doc: 'Length of each challenged byte range (shorter when the file is).' }),
  challengeTtlMs: setting({ env: 'PARLEY_CHALLENGE_TTL_MS', kind: 'int', default: 5 * 60_000, min: 1000, max: 24 * 3600_000, doc: 'How long a proof-of-possession challenge may be answered.' }),
  uploadExpiryMs: setting({ env: 'PARLEY_UPLOAD_EXPIRY_MS', kind: 'int', default: 24 * 3600_000, min: 1000, max: 30 * 24 * 3600_000, doc: 'An upload with no activity for this long is abandoned: its partial bytes are deleted (durable timer).' }),
  blobGcGraceMs: setting({ env: 'PARLEY_BLOB_GC_GRACE_MS', kind: 'int', default: 24 * 3600_000, min: 0, max: 365 * 24 * 3600_000, doc: 'A stored file referenced by no live message is deleted once it has been unused for this long.' }),
  blobGcIntervalMs: setting({ env: 'PARLEY_BLOB_GC_INTERVAL_MS', kind: 'int', default: 3600_000, min: 1000, max: 7 * 24 * 3600_000, doc: 'How often unreferenced files and finished transfer records are swept (durable timer).' }),
  upstreamUrl: setting({ env: 'PARLEY_UPSTREAM_URL', kind: 'string', default: '', pattern: /^(https?:\/\/.+)?$/, expected: 'empty or an http(s):// URL', doc: 'The central Parley server this (private) node asks for files it does not hold; empty: none.' }),
  upstreamToken: setting({ env: 'PARLEY_UPSTREAM_TOKEN', kind: 'string', default: '', doc: 'Server-to-server credential this node presents to its upstream (one of the upstream\'s PARLEY_PEER_TOKENS).' }),
  upstreamTimeoutMs: setting({ env: 'PARLEY_UPSTREAM_TIMEOUT_MS', kind: 'int', default: 10_000, min: 100, max: 600_000, doc: 'How long a question to the upstream may take (a pull may take longer while bytes keep coming).' }),
  upstreamMissTtlMs: setting({ env: 'PARLEY_UPSTREAM_MISS_TTL_MS', kind: 'int', default: 5 * 60_000, min: 0, max: 24 * 3600_000, doc: 'Negative cache: a file the upstream does not hold is not asked for again for this long.' }),
  publicUrl: setting({ env: 'PARLEY_PUBLIC_URL', kind: 'string', default: '', pattern: /^(https?:\/\/.+)?$/, expected: 'empty or an http(s):// URL', doc: 'Base URL others reach this server at (webhook reply URLs); empty: the address it listens on.' }),
  echoService: setting({ env: 'PARLEY_ECHO_SERVICE', kind: 'bool', default: true, doc: 'Create the built-in "echo" service account (in-process handler) so a fresh install shows the request → acknowledgement → reply flow.' }),
  serviceAckDeadlineMs: setting({ env: 'PARLEY_SERVICE_ACK_DEADLINE_MS', kind: 'int', default: 5000, min: 100, max: 60_000, doc: 'Default "set time" of a service: a request not acknowledged within it fails (task.failed); each service may set its own.' }),
  serviceReplyWindowMs: setting({ env: 'PARLEY_SERVICE_REPLY_WINDOW_MS', kind: 'int', default: 48 * 3600_000, min: 1000, max: 30 * 24 * 3600_000, doc: 'Default reply window: a service may message a user only this long after the user\'s last request (REPLY_WINDOW_CLOSED after).' }),
  serviceMaxQueue: setting({ env: 'PARLEY_SERVICE_MAX_QUEUE', kind: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'Default bound of a service\'s queue (waiting + in progress); requests beyond it fail at once (admission control).' }),
  serviceMaxQueueTotal: setting({ env: 'PARLEY_SERVICE_MAX_QUEUE_TOTAL', kind: 'int', default: 100_000, min: 1, max: 100_000_000, doc: 'Bound of all services\' queues together (recounted at most once a second); requests beyond it fail at once (overloaded).' }),
  serviceRatePerMinute: setting({ env: 'PARLEY_SERVICE_RATE_PER_MINUTE', kind: 'int', default: 60, min: 1, max: 1_000_000, doc: 'Default number of requests one user may make to one service per minute; more fail at once (rate_limited).' }),
  serviceLeaseMs: setting({ env: 'PARLEY_SERVICE_LEASE_MS', kind: 'int', default: 30_000, min: 500, max: 3600_000, doc: 'Default lease of a pulled request: a worker that neither finishes nor replies within it loses it to the queue.' }),
  serviceMaxAttempts: setting({ env: 'PARLEY_SERVICE_MAX_ATTEMPTS', kind: 'int', default: 5, min: 1, max: 100, doc: 'Deliveries of a request (webhook calls, leases) before it is dead-lettered.' }),
  serviceRetryBaseMs: setting({ env: 'PARLEY_SERVICE_RETRY_BASE_MS', kind: 'int', default: 1000, min: 10, max: 3600_000, doc: 'First webhook retry delay; each further retry waits twice as long.' }),
  serviceWebhookTimeoutMs: setting({ env: 'PARLEY_SERVICE_WEBHOOK_TIMEOUT_MS', kind: 'int', default: 10_000, min: 100, max: 120_000, doc: 'How long a service\'s webhook may take to answer before the call counts as failed.' }),
  serviceReplyTokenTtlMs: setting({ env: 'PARLEY_SERVICE_REPLY_TOKEN_TTL_MS', kind: 'int', default: 30 * 60_000, min: 1000, max: 7 * 24 * 3600_000, doc: 'Lifetime of a reply token (like Slack\'s response_url).' }),
  serviceReplyTokenUses: setting({ env: 'PARLEY_SERVICE_REPLY_TOKEN_USES', kind: 'int', default: 5, min: 1, max: 1000, doc: 'Replies one reply token may send.' }),
  offerMaxDataBytes: setting({ env: 'PARLEY_OFFER_MAX_DATA_BYTES', kind: 'int', default: 1024 * 1024, min: 1024, max: 64 * 1024 * 1024, doc: 'Largest sealed target data of an offer (ciphertext bytes); the offer request may be this large plus 64 KiB.' }),
  offerMaxInterests: setting({ env: 'PARLEY_OFFER_MAX_INTERESTS', kind: 'int', default: 100, min: 1, max: 100_000, doc: 'Most interests one account may store.' }),
  voucherTtlMs: setting({ env: 'PARLEY_VOUCHER_TTL_MS', kind: 'int', default: 30 * 24 * 3600_000, min: 1000, max: 3650 * 24 * 3600_000, doc: 'How long a voucher stays valid after it is issued (its signed expiry).' }),
  voucherRedeemPoints: setting({ env: 'PARLEY_VOUCHER_REDEEM_POINTS', kind: 'int', default: 10, min: 0, max: 1_000_000, doc: 'Value-added credit points a provider earns for each redeemed voucher.' }),
  orderCreditHigh: setting({ env: 'PARLEY_ORDER_CREDIT_HIGH', kind: 'int', default: 70, min: 0, max: 101, doc: 'A provider whose credit score is at least this gets frictionless orders (placed at once); 101 turns them off.' }),
  orderCreditLow: setting({ env: 'PARLEY_ORDER_CREDIT_LOW', kind: 'int', default: 30, min: 0, max: 100, doc: 'Orders from a provider whose credit score is below this are refused; between the two thresholds the user confirms with a code.' }),
  orderCodeTtlMs: setting({ env: 'PARLEY_ORDER_CODE_TTL_MS', kind: 'int', default: 5 * 60_000, min: 1000, max: 24 * 3600_000, doc: 'How long an order verification code stays valid (durable timer).' }),
  orderCodeMaxAttempts: setting({ env: 'PARLEY_ORDER_CODE_MAX_ATTEMPTS', kind: 'int', default: 5, min: 1, max: 100, doc: 'Wrong tries one order code allows; then the order fails and even the right code is refused.' }),
  orderCodeResends: setting({ env: 'PARLEY_ORDER_CODE_RESENDS', kind: 'int', default: 3, min: 0, max: 100, doc: 'New codes a pending order may ask for after the first.' }),
  orderAccountFailureCap: setting({ env: 'PARLEY_ORDER_ACCOUNT_FAILURE_CAP', kind: 'int', default: 10, min: 1, max: 10_000, doc: 'Wrong order codes one account may send (across orders) before it must wait.' }),
  orderLockoutBaseMs: setting({ env: 'PARLEY_ORDER_LOCKOUT_BASE_MS', kind: 'int', default: 60_000, min: 0, max: 24 * 3600_000, doc: 'First wait after the failure cap; each further lockout of the account waits twice as long (until a right code).' }),
  orderShortCode: setting({ env: 'PARLEY_ORDER_SHORT_CODE', kind: 'string', default: '', doc: 'The short code (destination number) of SMS orders; empty: every inbound SMS that reads ORDER/STOP/a code is taken.' }),
  orderServiceHandle: setting({ env: 'PARLEY_ORDER_SERVICE_HANDLE', kind: 'string', default: 'orders', pattern: /^([a-z0-9_.-]{2,32})?$/, expected: 'a handle, or empty', doc: 'Handle of the operator\'s service account that takes ORDER <code> in chat (in-process plugin); empty: no chat gateway.' }),
  peerTokens: setting({ env: 'PARLEY_PEER_TOKENS', kind: 'string', default: '', doc: 'Comma-separated credentials private nodes present when they use this node as their upstream (/v1/peer); empty disables /v1/peer.' }),
} as const;

type Settings = typeof settings;
type ValueOf<S> = S extends SettingSpec<infer T> ? (T extends string ? string : T) : never;
export type Config = { -readonly [K in keyof Settings]: Settings[K] extends { values: readonly (infer V)[] } ? V : ValueOf<Settings[K]> };
export type SettingName = keyof Settings;
export type ConfigSource = 'default' | 'file' | 'env' | 'override';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parseValue(name: string, spec: SettingSpec<unknown>, raw: unknown): unknown {
  const fail = (why: string): never => {
    // A URL that fails to parse may still carry a password: never echo one.
    const shown = typeof raw === 'string' ? raw.replace(/\/\/([^:@/]*):[^@]*@/, '//$1:***@') : raw;
    throw new ConfigError(`setting ${name} (${spec.env}): ${why}, got ${JSON.stringify(shown)}`);
  };
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string') fail('expected a string');
      if (spec.pattern && !spec.pattern.test(raw as string)) fail(`expected ${spec.expected ?? spec.pattern}`);
      return raw;
    case 'enum':
      if (typeof raw !== 'string' || !spec.values!.includes(raw)) fail(`expected one of ${spec.values!.join(', ')}`);
      return raw;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      return fail('expected true or false');
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) fail('expected an integer');
      if (spec.min !== undefined && n < spec.min) fail(`must be ≥ ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) fail(`must be ≤ ${spec.max}`);
      return n;
    }
  }
}

export interface LoadedConfig {
  config: Config;
  sources: Record<SettingName, ConfigSource>;
  warnings: string[];
}

/**
 * Reads the config file named by PARLEY_CONFIG (JSON, keys as in `settings`), then the
 * environment, then `overrides`. Throws ConfigError on any invalid value.
 */
export function loadConfig(overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const warnings: string[] = [];
  let file: Record<string, unknown> = {};
  const filePath = env.PARLEY_CONFIG;
  if (filePath) {
    try {
      file = JSON.parse(readFileSync(resolve(filePath), 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`cannot read config file ${filePath}: ${(err as Error).message}`);
    }
    for (const key of Object.keys(file)) {
      if (!(key in settings)) warnings.push(`unknown key "${key}" in ${filePath} ignored`);
    }
  }
  const knownEnv = new Set(Object.values(settings).map((s) => s.env));
  for (const key of Object.keys(env)) {
    if (key.startsWith('PARLEY_') && key !== 'PARLEY_CONFIG' && !key.startsWith('PARLEY_TEST_') && !knownEnv.has(key)) {
      warnings.push(`unknown environment variable ${key} ignored`);
    }
  }

  const config = {} as Record<string, unknown>;
  const sources = {} as Record<SettingName, ConfigSource>;
  for (const [name, spec] of Object.entries(settings) as [SettingName, SettingSpec<unknown>][]) {
    let value: unknown = spec.default;
    let source: ConfigSource = 'default';
    if (name in file) {
      value = parseValue(name, spec, file[name]);
      source = 'file';
    }
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      value = parseValue(name, spec, fromEnv);
      source = 'env';
    }
    if (overrides[name] !== undefined) {
      value = parseValue(name, spec, overrides[name]);
      source = 'override';
    }
    config[name] = value;
    sources[name] = source;
  }
  return { config: config as Config, sources, warnings };
}

/** Whether the process runs under CI (tests that need PostgreSQL/Redis must not skip there). */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}
