/**
 * The one catalogue of errors Parley returns, over HTTP and the WebSocket alike.
 * Codes are stable API: clients switch on them. Messages are for humans and may change.
 * Body shape everywhere: { "error": { "code", "message", "requestId", "details"? } }.
 */
export const errorCatalogue = {
  // 400 — the request itself is wrong
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  INVALID_JSON: { status: 400, message: 'The body is not valid JSON.' },
  VALIDATION_FAILED: { status: 400, message: 'The request does not match the schema.' },
  UNKNOWN_FRAME_TYPE: { status: 400, message: 'Unknown frame type.' },
  INVALID_PHONE_NUMBER: { status: 400, message: 'The phone number is not a valid E.164 number (e.g. +4915112345678).' },
  INVALID_EMAIL: { status: 400, message: 'The e-mail address is not valid.' },
  INVALID_DURATION: { status: 400, message: 'The duration is not a valid ISO-8601 duration (e.g. PT5M) or millisecond count.' },
  DURATION_TOO_LONG: { status: 400, message: 'The duration is longer than allowed.' },
  INVALID_CURSOR: { status: 400, message: 'The cursor is not valid.' },
  MESSAGE_TOO_LONG: { status: 400, message: 'The message text is longer than allowed.' },
  SEQ_OUT_OF_RANGE: { status: 400, message: 'The acknowledged sequence is beyond the end of the stream.' },
  CANNOT_CHAT_WITH_SELF: { status: 400, message: 'A direct conversation needs another account.' },
  NOT_A_GROUP: { status: 400, message: 'This operation applies to group conversations only.' },
  GROUP_TOO_LARGE: { status: 400, message: 'The group would exceed the maximum number of members.' },
  OWNER_MUST_REMAIN: { status: 400, message: 'A group needs an owner: make another member owner before demoting the last one.' },
  NO_PENDING_VERIFICATION: { status: 400, message: 'There is no pending verification for this account.' },
  VERIFICATION_FAILED: { status: 400, message: 'The verification code is wrong or expired.' },
  INVALID_TIME_ZONE: { status: 400, message: 'The time zone is not a valid IANA zone name (e.g. Europe/Berlin).' },
  INVALID_TIME_OF_DAY: { status: 400, message: 'Times of day are HH:MM, 00:00 to 23:59.' },
  UNKNOWN_MENU_KEY: { status: 400, message: 'The service has no menu item with that key.' },
  INVALID_MENU: { status: 400, message: 'The menu is not valid: at most 3 buttons of at most 5 items, keys unique.' },
  UNKNOWN_PLUGIN: { status: 400, message: 'No in-process service handler is registered under that name.' },
  INVALID_RANGE: { status: 400, message: 'A challenged range is outside the file.' },
  INVALID_PREDICATE: { status: 400, message: 'The interest predicate is not a valid query (MongoDB syntax, allowed operators only; details name the path).' },
  INVALID_DEADLINE: { status: 400, message: 'The deadline is not valid: give {by}, {from,to} or {within} with ISO-8601 UTC instants or a duration.' },
  DEADLINE_PASSED: { status: 400, message: 'The deadline is already past.' },
  INVALID_WINDOW: { status: 400, message: 'The window ends before it starts (from > to).' },
  OFFER_INCOMPLETE: { status: 400, message: 'An offer needs a name or identifier, and sealed data or a link (not both).' },
  INVALID_PUBLIC_KEY: { status: 400, message: 'The public key is not a raw 32-byte X25519 key in base64url.' },
  ORDER_CODE_REJECTED: { status: 400, message: 'The code does not confirm this order (wrong, expired, used, or for another order).' },
  // 401 / 403 — who you are and what you may do
  UNAUTHENTICATED: { status: 401, message: 'Authentication is required.' },
  INVALID_CREDENTIALS: { status: 401, message: 'Handle or password is wrong.' },
  TOKEN_INVALID: { status: 401, message: 'The access token is invalid or revoked.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  NOT_A_MEMBER: { status: 403, message: 'You are not a member of this conversation.' },
  NOT_GROUP_OWNER: { status: 403, message: 'Only a group owner may do this.' },
  NOT_MESSAGE_SENDER: { status: 403, message: 'Only the sender may change this message.' },
  REGISTRATION_CLOSED: { status: 403, message: 'Registration is closed on this server.' },
  ADMIN_ONLY: { status: 403, message: 'Only an administrator may do this.' },
  PROOF_FAILED: { status: 403, message: 'Possession of the file could not be confirmed; upload it to send it (details name the upload).' },
  NOT_A_SERVICE: { status: 403, message: 'Only a service account may do this (use the service\'s token).' },
  REPLY_TOKEN_INVALID: { status: 403, message: 'The reply token is not valid for this request (wrong, or the request was handed to another worker).' },
  REPLY_WINDOW_CLOSED: { status: 403, message: 'The user\'s last request to this service is older than its reply window.' },
  QUOTA_EXCEEDED: { status: 403, message: 'The file would exceed your storage quota.' },
  NOT_OFFER_PROVIDER: { status: 403, message: 'Only the provider of the offer may do this.' },
  VOUCHER_INVALID: { status: 403, message: 'The voucher is forged, altered or not issued by this server.' },
  VOUCHER_NOT_YOURS: { status: 403, message: 'The voucher was issued to another account.' },
  NOT_A_PROVIDER: { status: 403, message: 'Only a provider account may publish services.' },
  NOT_ORDER_USER: { status: 403, message: 'Only the user who ordered may do this.' },
  NOT_ORDER_PROVIDER: { status: 403, message: 'Only the provider of the order (or an administrator) may do this.' },
  // 404
  NOT_FOUND: { status: 404, message: 'No such route.' },
  ACCOUNT_NOT_FOUND: { status: 404, message: 'No such account.' },
  DEVICE_NOT_FOUND: { status: 404, message: 'No such device.' },
  CONVERSATION_NOT_FOUND: { status: 404, message: 'No such conversation.' },
  MESSAGE_NOT_FOUND: { status: 404, message: 'No such message.' },
  MEMBER_NOT_FOUND: { status: 404, message: 'That account is not a member of this conversation.' },
  TRANSFER_NOT_FOUND: { status: 404, message: 'No such transfer.' },
  NO_ATTACHMENT: { status: 404, message: 'This message has no attachment.' },
  SERVICE_NOT_FOUND: { status: 404, message: 'No such service account.' },
  REPLY_FILE_NOT_FOUND: { status: 404, message: 'The service holds no file with that hash on this server: send it through the file transfer first.' },
  TASK_NOT_FOUND: { status: 404, message: 'No such service request.' },
  BLOB_NOT_FOUND: { status: 404, message: 'This server does not hold that file.' },
  INTEREST_NOT_FOUND: { status: 404, message: 'No such interest.' },
  OFFER_NOT_FOUND: { status: 404, message: 'No such offer (or it was not offered to you).' },
  VOUCHER_NOT_FOUND: { status: 404, message: 'No such voucher.' },
  CATALOGUE_SERVICE_NOT_FOUND: { status: 404, message: 'No such service in the catalogue (or it was withdrawn).' },
  ORDER_NOT_FOUND: { status: 404, message: 'No such order.' },
  PROVIDER_NOT_FOUND: { status: 404, message: 'No such provider account.' },
  // 405 / 409 / 413 / 415 / 429
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed.' },
  HANDLE_TAKEN: { status: 409, message: 'That handle is taken.' },
  CLIENT_ID_REUSED: { status: 409, message: 'This client id was already used for a different message.' },
  MESSAGE_DELETED: { status: 409, message: 'The message was deleted.' },
  ALREADY_MEMBER: { status: 409, message: 'That account is already a member.' },
  FALLBACK_NO_CONTACT: { status: 409, message: 'The recipient has no verified mobile number or e-mail address.' },
  FALLBACK_NOT_NEEDED: { status: 409, message: 'Every recipient has already read the message.' },
  FALLBACK_DISABLED: { status: 409, message: 'The message was sent with fallback "never".' },
  TRANSFER_CLOSED: { status: 409, message: 'This transfer is no longer open (delivered, failed or expired).' },
  CHALLENGE_EXPIRED: { status: 409, message: 'The challenge expired; request the transfer again.' },
  TASK_CLOSED: { status: 409, message: 'The request is already finished (done, failed or dead-lettered).' },
  TASK_NOT_DEAD: { status: 409, message: 'Only a dead-lettered request can be retried.' },
  ANSWER_TOO_EARLY: { status: 409, message: 'The answer arrived before the offer\'s window opened (details give both times).' },
  ANSWER_TOO_LATE: { status: 409, message: 'The answer arrived after the offer\'s deadline (details give both times).' },
  OFFER_CAP_REACHED: { status: 409, message: 'All vouchers of this offer are taken.' },
  OFFER_CLOSED: { status: 409, message: 'The offer was withdrawn or has closed.' },
  ALREADY_ANSWERED: { status: 409, message: 'You already answered this offer.' },
  VOUCHER_CLOSED: { status: 409, message: 'The voucher was already rejected or redeemed.' },
  TOO_MANY_INTERESTS: { status: 409, message: 'You reached the most interests an account may store.' },
  SERVICE_CODE_TAKEN: { status: 409, message: 'Another service already uses that code.' },
  ORDER_NOT_PENDING: { status: 409, message: 'The order is not waiting for a verification code.' },
  ORDER_CLOSED: { status: 409, message: 'The order is already cancelled, refused, expired, failed or refunded.' },
  ALREADY_COMPLAINED: { status: 409, message: 'You already complained about this order.' },
  VOUCHER_EXPIRED: { status: 410, message: 'The voucher expired.' },
  REPLY_TOKEN_EXPIRED: { status: 410, message: 'The reply token expired or was used up.' },
  TRANSFER_HASH_MISMATCH: { status: 422, message: 'The uploaded bytes do not match the declared SHA-256 and size; nothing was stored or delivered.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than allowed.' },
  FILE_TOO_LARGE: { status: 413, message: 'The file is larger than this server accepts.' },
  OFFER_DATA_TOO_LARGE: { status: 413, message: 'The sealed offer data is larger than this server accepts.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send JSON (Content-Type: application/json).' },
  UPGRADE_REQUIRED: { status: 426, message: 'This is a WebSocket endpoint: connect with Upgrade: websocket.' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested byte range is outside the file.' },
  TOO_MANY_ATTEMPTS: { status: 429, message: 'Too many attempts; request a new code.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry later.' },
  DAILY_CAP_REACHED: { status: 429, message: 'You reached your daily fallback limit; retry later.' },
  RESEND_LIMIT_REACHED: { status: 429, message: 'No more codes are sent for this order; order again later.' },
  ORDER_CODES_LOCKED: { status: 429, message: 'Too many wrong codes from this account; wait before trying again (details.retryAfter).' },
  // 5xx
  INTERNAL: { status: 500, message: 'Internal error. The server logged it under the request id.' },
  UNAVAILABLE: { status: 503, message: 'The server is not ready.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId?: string; details?: unknown };
}

/** The error services throw. Only transport/ turns it into HTTP statuses or WebSocket frames. */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? errorCatalogue[code].message);
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.details = details;
  }
}

export function errorBody(err: AppError, requestId?: string): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (requestId) body.error.requestId = requestId;
  if (err.details !== undefined) body.error.details = err.details;
  return body;
}
