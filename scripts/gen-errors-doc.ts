/**
 * Prints docs/errors.md from the catalogue in src/errors.ts: `npm run docs:errors` rewrites it, and
 * test/docs.test.ts fails when it is stale or misses a code.
 */
import { pathToFileURL } from 'node:url';
import { errorCatalogue, type ErrorCode } from '../src/errors.js';

/** Where each code comes from. A code without a note still gets its row (status and message). */
const where: Partial<Record<ErrorCode, string>> = {
  BAD_REQUEST: 'Binary WebSocket frame; a second `hello`; malformed HTTP framing (e.g. a wrong Content-Length).',
  INVALID_JSON: 'HTTP body or WebSocket frame that does not parse, or an empty body sent as `application/json`.',
  VALIDATION_FAILED: 'Body, query, path parameter or frame does not match its schema (`details` lists the paths); message text that is only whitespace; a NUL character in any string.',
  UNKNOWN_FRAME_TYPE: 'WebSocket frame whose `type` is not `hello`, `ack`, `typing` or `ping`.',
  INVALID_PHONE_NUMBER: '`POST /v1/me/phone`: not `+` and country code, or not a valid number for that country.',
  INVALID_EMAIL: '`POST /v1/me/email`.',
  INVALID_DURATION: '`receipt.within` is neither an ISO-8601 duration with D/H/M/S parts nor a non-negative integer of ms (years, months and weeks are refused).',
  DURATION_TOO_LONG: '`receipt.within` above `PARLEY_MAX_RECEIPT_WITHIN_MS` (7 days by default).',
  INVALID_CURSOR: 'History `before`/`after` is not a sequence number, or both were given.',
  MESSAGE_TOO_LONG: 'Send or edit with more than `PARLEY_MAX_MESSAGE_CHARS` characters (8000 by default).',
  SEQ_OUT_OF_RANGE: 'Acknowledging (HTTP or `ack` frame) or resuming (`hello.after`) beyond the last event of your stream; on `hello` the socket then closes with 4002.',
  CANNOT_CHAT_WITH_SELF: '`POST /v1/conversations` with `kind: "direct"` and yourself.',
  NOT_A_GROUP: 'Rename, member changes or leave on a direct conversation.',
  GROUP_TOO_LARGE: 'Creating or growing a group beyond `PARLEY_MAX_GROUP_MEMBERS`.',
  OWNER_MUST_REMAIN: 'Demoting the only owner. (Leaving as the only owner does not fail: the longest-standing member becomes owner.)',
  NO_PENDING_VERIFICATION: 'Verifying a phone number or e-mail address without binding one first.',
  VERIFICATION_FAILED: 'Wrong or expired code; counts as an attempt.',
  INVALID_TIME_ZONE: '`PATCH /v1/me` with `quietHours.timeZone` that is not an IANA zone.',
  INVALID_TIME_OF_DAY: '`PATCH /v1/me` with `quietHours.start`/`end` not in HH:MM.',
  UNAUTHENTICATED: 'No `Authorization: Bearer` token; on the stream: `hello` without a token, any other frame before `hello`, or no `hello` within 10 s.',
  INVALID_CREDENTIALS: '`POST /v1/sessions`: unknown handle or wrong password (the answer does not say which).',
  TOKEN_INVALID: 'Unknown or revoked token. An open stream of a revoked device gets this frame and close code 4001.',
  FORBIDDEN: 'Reserved; not returned by this version.',
  NOT_A_MEMBER: 'Any read or write on a conversation you are not in, including one that does not exist (the answer is the same, so ids cannot be probed).',
  NOT_GROUP_OWNER: 'Rename, add, remove or change roles as a plain member.',
  NOT_MESSAGE_SENDER: 'Editing or deleting someone else’s message, reading its receipts or commanding its fallback.',
  REGISTRATION_CLOSED: '`POST /v1/accounts` without an administrator’s token while `PARLEY_OPEN_REGISTRATION=false`.',
  ADMIN_ONLY: '`GET /v1/outbox`; registering a `service` or `provider` account without an administrator’s token.',
  NOT_FOUND: 'No route for this method and path (an unsupported method on a known path also answers 404).',
  ACCOUNT_NOT_FOUND: 'Unknown account id or handle (profile, direct conversation, group members).',
  DEVICE_NOT_FOUND: 'Revoking a device that is not yours or already revoked.',
  CONVERSATION_NOT_FOUND: 'Reserved; conversations you cannot see answer `NOT_A_MEMBER`.',
  MESSAGE_NOT_FOUND: 'Unknown message id, or one from before you joined the conversation (get, edit, delete, `upTo`, `replyTo`, receipts).',
  MEMBER_NOT_FOUND: 'Changing the role of, or removing, an account that is not a member; a fallback command whose `accountIds` name no recipient.',
  METHOD_NOT_ALLOWED: 'Not produced at present: see `NOT_FOUND`.',
  HANDLE_TAKEN: 'Registration or `parley user add` with a handle in use (handles are case-insensitive).',
  CLIENT_ID_REUSED: 'A `clientId` you already used for a message with different text or in another conversation.',
  MESSAGE_DELETED: 'Editing, deleting or commanding a fallback for a deleted message.',
  ALREADY_MEMBER: 'Adding a member twice.',
  FALLBACK_NO_CONTACT: '`POST /v1/messages/:id/fallback`: no recipient in question has a verified number or address.',
  FALLBACK_NOT_NEEDED: '`POST /v1/messages/:id/fallback`: every recipient in question has read the message.',
  FALLBACK_DISABLED: '`POST /v1/messages/:id/fallback` for a message sent with `fallback: "never"`.',
  PAYLOAD_TOO_LARGE: 'HTTP body above `PARLEY_MAX_BODY_BYTES`. (A WebSocket frame above `PARLEY_MAX_FRAME_BYTES` closes the socket with 1009 instead.)',
  UNSUPPORTED_MEDIA_TYPE: 'A body whose Content-Type is not `application/json` (text, forms, XML, none).',
  TOO_MANY_ATTEMPTS: '`PARLEY_VERIFICATION_MAX_ATTEMPTS` wrong codes: bind the number or address again for a new code.',
  RATE_LIMITED: '`POST /v1/messages/:id/fallback` when the recipients got `PARLEY_FALLBACK_PER_RECIPIENT_PER_HOUR` fallbacks in the last hour; `details.retryAfterMs`.',
  DAILY_CAP_REACHED: '`POST /v1/messages/:id/fallback` beyond `PARLEY_FALLBACK_PER_SENDER_PER_DAY`; `details.retryAfterMs`.',
  INTERNAL: 'A bug. The body carries only the request id; the server log has the details under it.',
  UNAVAILABLE: '`GET /readyz` when the database does not answer.',
};

export function renderErrorTable(): string {
  const rows = (Object.entries(errorCatalogue) as [ErrorCode, { status: number; message: string }][]).map(
    ([code, { status, message }]) => `| \`${code}\` | ${status} | ${message.replace(/\|/g, '\\|')} | ${(where[code] ?? '').replace(/\|/g, '\\|')} |`,
  );
  return ['| Code | HTTP | Default message | When |', '|---|---|---|---|', ...rows].join('\n');
}

export function renderErrorsDoc(): string {
  return `# Errors

<!-- Generated by \`npm run docs:errors\` (scripts/gen-errors-doc.ts) from src/errors.ts.
     Edit the catalogue or the script, not this file: test/docs.test.ts fails when it is stale. -->

Every error Parley returns, over HTTP and over the WebSocket stream, carries a **code** from one
catalogue (src/errors.ts). Codes are stable API: switch on them. Messages are for people, may be more
specific than the default message below, and may change.

## Shape

HTTP: the status from the table and a JSON body.

\`\`\`json
{
  "error": {
    "code": "VALIDATION_FAILED",
    "message": "body must NOT have fewer than 1 characters",
    "requestId": "4f0c7f7e-1b0e-4d0e-9d1a-6a3f1c2b9e10",
    "details": [{ "path": "/text", "message": "must NOT have fewer than 1 characters" }]
  }
}
\`\`\`

- \`requestId\` identifies the request (also in the server log); quote it when reporting a problem.
  A 500 says nothing else: the server logs the error under it. (\`/readyz\`'s 503 has none.)
- \`details\` is present only where there is more to say; for \`VALIDATION_FAILED\` it is a list of
  \`{ path, message }\` with JSON-pointer paths into the body, query or frame.

WebSocket (\`/v1/stream\`): the same object in a frame of type \`error\`, without \`requestId\`.

\`\`\`json
{ "type": "error", "error": { "code": "UNKNOWN_FRAME_TYPE", "message": "Unknown frame type \\"zap\\"; expected one of hello, ack, typing, ping." } }
\`\`\`

After \`ready\`, an error frame answers one bad frame and the socket stays open. An error on the first
frame is followed by a close: 4001 when a \`hello\` carries no valid token (\`UNAUTHENTICATED\`,
\`TOKEN_INVALID\`), 4002 for anything else. See [api.md](api.md#close-codes) for every close code.

The SDK turns both forms into a \`ParleyError\` with \`code\`, \`status\` (0 for stream errors),
\`requestId\` and \`details\`; a server that cannot be reached gives code \`NETWORK\`.

## Codes

${renderErrorTable()}
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.stdout.write(renderErrorsDoc());
