import { Type, type Static } from '@sinclair/typebox';

/**
 * Request schemas, validated at the edge (HTTP bodies, query strings and WebSocket frames) before a
 * service sees them. Limits documented in docs/limits.md; text lengths beyond the schema's are
 * checked against configuration in the services.
 */
const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const Handle = Type.String({ minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$', description: 'Letters, digits, _ . -; case-insensitive.' });
const AccountRef = Type.String({ minLength: 1, maxLength: 64, description: 'Account id or handle.' });
// Any string or number passes the schema so that parseDuration answers every malformed duration
// (negative, fractional, "P1M") with the one code INVALID_DURATION.
export const Duration = Type.Union([Type.String({ maxLength: 32 }), Type.Number()], {
  description: 'ISO-8601 duration (PT5M) or milliseconds (a non-negative integer).',
});

export const RegisterBody = Type.Object(
  {
    handle: Handle,
    displayName: Type.String({ minLength: 1, maxLength: 100 }),
    password: Type.String({ minLength: 8, maxLength: 256 }),
    kind: Type.Optional(Type.Union([Type.Literal('person'), Type.Literal('service'), Type.Literal('provider')])),
  },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object(
  {
    handle: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
    deviceName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const UpdateMeBody = Type.Object(
  {
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    fallback: Type.Optional(
      Type.Object(
        {
          minPriority: Type.Optional(
            Type.Union([Type.Literal('low'), Type.Literal('normal'), Type.Literal('high'), Type.Literal('urgent'), Type.Literal('never')], {
              description: 'Your messages fall back automatically from this priority up (default urgent).',
            }),
          ),
          channel: Type.Optional(Type.Union([Type.Literal('sms'), Type.Literal('email')], { description: 'How you prefer to receive fallbacks.' })),
        },
        { additionalProperties: false },
      ),
    ),
    quietHours: Type.Optional(
      Type.Union([
        Type.Object(
          { start: Type.String({ maxLength: 5 }), end: Type.String({ maxLength: 5 }), timeZone: Type.String({ minLength: 1, maxLength: 64 }) },
          { additionalProperties: false, description: 'No fallback SMS/e-mail to you between start and end (HH:MM, your time zone), except urgent ones.' },
        ),
        Type.Null(),
      ]),
    ),
    privacy: Type.Optional(
      Type.Object(
        {
          readReceipts: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')])),
          lastSeen: Type.Optional(Type.Union([Type.Literal('visible'), Type.Literal('hidden')])),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type UpdateMeBody = Static<typeof UpdateMeBody>;

export const BindPhoneBody = Type.Object({ phone: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: false });
export type BindPhoneBody = Static<typeof BindPhoneBody>;
export const BindEmailBody = Type.Object({ email: Type.String({ minLength: 3, maxLength: 254 }) }, { additionalProperties: false });
export type BindEmailBody = Static<typeof BindEmailBody>;
export const VerifyCodeBody = Type.Object({ code: Type.String({ minLength: 1, maxLength: 16 }) }, { additionalProperties: false });
export type VerifyCodeBody = Static<typeof VerifyCodeBody>;

export const CreateConversationBody = Type.Union([
  Type.Object({ kind: Type.Literal('direct'), with: AccountRef }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('group'),
      title: Type.String({ minLength: 1, maxLength: 200 }),
      members: Type.Optional(Type.Array(AccountRef, { maxItems: 1000 })),
    },
    { additionalProperties: false },
  ),
]);
export type CreateConversationBody = Static<typeof CreateConversationBody>;

export const RenameConversationBody = Type.Object({ title: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export type RenameConversationBody = Static<typeof RenameConversationBody>;

const Role = Type.Union([Type.Literal('owner'), Type.Literal('member')]);
export const AddMemberBody = Type.Object({ account: AccountRef, role: Type.Optional(Role) }, { additionalProperties: false });
export type AddMemberBody = Static<typeof AddMemberBody>;
export const SetRoleBody = Type.Object({ role: Role }, { additionalProperties: false });
export type SetRoleBody = Static<typeof SetRoleBody>;

export const SendMessageBody = Type.Object(
  {
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$', description: 'Idempotency key chosen by the client: resending it returns the same message.' })),
    text: Type.String({ minLength: 1, maxLength: 1_000_000 }),
    replyTo: Type.Optional(Id),
    receipt: Type.Optional(
      Type.Object(
        {
          read: Type.Optional(Type.Boolean({ description: 'Ask for a read receipt.' })),
          within: Type.Optional(Duration),
          deliveredWithin: Type.Optional(Duration),
        },
        { additionalProperties: false, description: '`within`: tell me if it is not read in time; `deliveredWithin`: tell me if no device of the recipient received it in time.' },
      ),
    ),
    fallback: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('never'), Type.Literal('ask')], {
        description: 'When a deadline passes: auto = by the sender\'s priority rule (default), never, ask = only on POST /v1/messages/:id/fallback.',
      }),
    ),
    fallbackContent: Type.Optional(Type.Union([Type.Literal('content'), Type.Literal('notice')], { description: 'What the SMS/e-mail carries: the text (truncated) or a notice.' })),
    priority: Type.Optional(Type.Union([Type.Literal('low'), Type.Literal('normal'), Type.Literal('high'), Type.Literal('urgent')])),
  },
  { additionalProperties: false },
);
export type SendMessageBody = Static<typeof SendMessageBody>;

export const FallbackBody = Type.Union([
  Type.Object(
    { accountIds: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 1000, description: 'Only these recipients (default: every recipient who has not read it).' })) },
    { additionalProperties: false },
  ),
  Type.Null(),
]);
export type FallbackBody = Static<typeof FallbackBody>;

export const EditMessageBody = Type.Object({ text: Type.String({ minLength: 1, maxLength: 1_000_000 }) }, { additionalProperties: false });
export type EditMessageBody = Static<typeof EditMessageBody>;

export const ReadBody = Type.Object({ upTo: Id }, { additionalProperties: false });
export type ReadBody = Static<typeof ReadBody>;

export const AckBody = Type.Object({ seq: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
export type AckBody = Static<typeof AckBody>;

export const HistoryQuery = Type.Object(
  {
    before: Type.Optional(Type.String({ maxLength: 32 })),
    after: Type.Optional(Type.String({ maxLength: 32 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

export const EventsQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: 120_000, description: 'Long-poll wait in ms when no event is ready.' })),
  },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof EventsQuery>;

export const PresenceQuery = Type.Object({ ids: Type.String({ minLength: 1, maxLength: 4000, description: 'Comma-separated account ids.' }) }, { additionalProperties: false });
export type PresenceQuery = Static<typeof PresenceQuery>;

export const OutboxQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })), channel: Type.Optional(Type.Union([Type.Literal('sms'), Type.Literal('email')])) },
  { additionalProperties: false },
);
export type OutboxQuery = Static<typeof OutboxQuery>;

export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;
export const MemberParams = Type.Object({ id: Id, accountId: Id }, { additionalProperties: false });
export type MemberParams = Static<typeof MemberParams>;
export const RefParams = Type.Object({ ref: AccountRef }, { additionalProperties: false });
export type RefParams = Static<typeof RefParams>;

// Files (issue 5): transfer request, proof of possession, server-to-server proof check.
export const Sha256Hex = Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-f]{64}$', description: 'Lower-case hex SHA-256 of the whole file.' });
export const TransferBody = Type.Object(
  {
    sha256: Sha256Hex,
    size: Type.Integer({ minimum: 1, maximum: 2 ** 52, description: 'Bytes; at most PARLEY_MAX_FILE_BYTES.' }),
    name: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\u0000-\\u001f\\u007f/\\\\]+$', description: 'File name shown to recipients (no path, no control characters).' }),
    mime: Type.String({ minLength: 3, maxLength: 127, pattern: '^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$', description: 'Media type, e.g. image/png.' }),
    to: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Conversation id.' }),
    text: Type.Optional(Type.String({ maxLength: 1_000_000, description: 'Caption.' })),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$', description: 'Idempotency key: a transfer whose message was delivered answers `delivered` again.' })),
    replyTo: Type.Optional(Id),
    priority: Type.Optional(Type.Union([Type.Literal('low'), Type.Literal('normal'), Type.Literal('high'), Type.Literal('urgent')])),
  },
  { additionalProperties: false },
);
export type TransferBody = Static<typeof TransferBody>;

export const SendVia = Type.Union([Type.Literal('private'), Type.Literal('central')], {
  description: "Which node looks for bytes this node does not hold: 'private' keeps it to this node (its central is not asked), 'central' (the default) lets it ask its central node.",
});
export type SendVia = Static<typeof SendVia>;
export const ProofBody = Type.Object(
  {
    proof: Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256(nonce bytes ‖ the bytes of each range, in order).' }),
    via: Type.Optional(SendVia),
  },
  { additionalProperties: false },
);
export type ProofBody = Static<typeof ProofBody>;

/** GET /v1/files/settings: what a client needs before sending a file. */
export interface FileSettings {
  /** Whether this node has a central node to ask (so `via: 'central'` means something). */
  central: boolean;
  maxFileBytes: number;
}

export const ByteRangeSchema = Type.Object({ offset: Type.Integer({ minimum: 0, maximum: 2 ** 52 }), length: Type.Integer({ minimum: 0, maximum: 16 * 1024 * 1024 }) }, { additionalProperties: false });
export const PeerVerifyBody = Type.Object(
  {
    size: Type.Integer({ minimum: 1, maximum: 2 ** 52 }),
    nonce: Type.String({ minLength: 2, maxLength: 128, pattern: '^([0-9a-f]{2})+$' }),
    ranges: Type.Array(ByteRangeSchema, { minItems: 1, maxItems: 256 }),
    proof: ProofBody.properties.proof,
  },
  { additionalProperties: false },
);
export type PeerVerifyBody = Static<typeof PeerVerifyBody>;
export const Sha256Params = Type.Object({ sha256: Sha256Hex }, { additionalProperties: false });
export type Sha256Params = Static<typeof Sha256Params>;
