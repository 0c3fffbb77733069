import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import type { Bus } from '../../bus/bus.js';
import type { Channels } from '../../channels/index.js';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Actor } from '../../lib/actor.js';
import { DUMMY_PASSWORD_HASH, hashPassword, newNumericCode, newToken, safeEqualHex, sha256Hex, verifyPassword } from '../../lib/secrets.js';
import type { Device, Me, PublicAccount, Session } from '../../protocol/views.js';
import type { LoginBody, RegisterBody, UpdateMeBody } from '../../protocol/requests.js';
import { toIso, type Clock } from '../../scheduler/clock.js';
import type { Db } from '../../storage/db.js';
import { checkTimeZone, parseTimeOfDay } from '../fallback/quiet-hours.js';
import { countAccounts, findAccountByHandle, insertAccount, findAccountById, findAccountsByIds, findDeviceByTokenHash, type AccountRow } from './accounts.repo.js';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// Writing last_used_at on every request would turn each read into a write.
const LAST_USED_GRANULARITY_MS = 60_000;

export function toPublicAccount(row: AccountRow): PublicAccount {
  return { id: row.id, handle: row.handle, displayName: row.display_name, kind: row.kind };
}

function toMe(row: AccountRow): Me {
  return {
    ...toPublicAccount(row),
    isAdmin: row.is_admin === 1,
    phone: row.phone,
    phoneVerified: row.phone_verified_at !== null,
    email: row.email,
    emailVerified: row.email_verified_at !== null,
    privacy: { readReceipts: row.read_receipts, lastSeen: row.last_seen_visible ? 'visible' : 'hidden' },
    fallback: { minPriority: row.fallback_min_priority, channel: row.fallback_channel },
    quietHours: row.quiet_start && row.quiet_end ? { start: row.quiet_start, end: row.quiet_end, timeZone: row.time_zone } : null,
    createdAt: toIso(Number(row.created_at)),
  };
}

export interface CreateAccountInput extends RegisterBody {
  isAdmin?: boolean;
}

export class AccountsService {
  constructor(
    private readonly db: Db,
    private readonly config: Pick<Config, 'openRegistration' | 'verificationCodeTtlMs' | 'verificationMaxAttempts'>,
    private readonly clock: Clock,
    private readonly bus: Bus,
    private readonly channels: Channels,
  ) {}

  /** Self-service registration; the first account on a server becomes its administrator. */
  async register(input: RegisterBody, actor?: Actor): Promise<Me> {
    const byAdmin = actor?.isAdmin === true;
    if (!this.config.openRegistration && !byAdmin) throw new AppError('REGISTRATION_CLOSED');
    if (input.kind && input.kind !== 'person' && !byAdmin) throw new AppError('ADMIN_ONLY', 'Only an administrator may create service and provider accounts.');
    return this.create(input);
  }

  /** Creates an account without policy checks (CLI and admin). */
  async create(input: CreateAccountInput): Promise<Me> {
    const handle = input.handle.toLowerCase();
    const passwordHash = await hashPassword(input.password);
    const now = this.clock.now();
    const id = newId();
    try {
      await this.db.transaction().execute(async (trx) => {
        const first = (await countAccounts(trx)) === 0;
        await insertAccount(trx, { id, handle, displayName: input.displayName, kind: input.kind ?? 'person', passwordHash, isAdmin: input.isAdmin === true || first, now });
      });
    } catch (err) {
      if (await findAccountByHandle(this.db, handle)) throw new AppError('HANDLE_TAKEN');
      throw err;
    }
    return toMe((await findAccountById(this.db, id))!);
  }

  async login(input: LoginBody): Promise<Session> {
    const row = await findAccountByHandle(this.db, input.handle);
    const ok = await verifyPassword(input.password, row?.password_hash ?? DUMMY_PASSWORD_HASH);
    if (!row || !ok) throw new AppError('INVALID_CREDENTIALS');
    const token = newToken();
    const now = this.clock.now();
    const deviceId = newId();
    await this.db
      .insertInto('devices')
      .values({ id: deviceId, account_id: row.id, name: input.deviceName ?? 'device', token_hash: sha256Hex(token), acked_seq: 0, created_at: now, last_used_at: now, revoked_at: null })
      .execute();
    return { token, deviceId, account: toMe(row) };
  }

  /** Resolves a bearer token; a revoked or unknown token is refused. */
  async authenticate(token: string | undefined): Promise<Actor> {
    if (!token) throw new AppError('UNAUTHENTICATED');
    const device = await findDeviceByTokenHash(this.db, sha256Hex(token));
    if (!device || device.revoked_at !== null) throw new AppError('TOKEN_INVALID');
    const now = this.clock.now();
    if (now - Number(device.last_used_at) > LAST_USED_GRANULARITY_MS) {
      await this.db.updateTable('devices').set({ last_used_at: now }).where('id', '=', device.device_id).execute();
    }
    return { accountId: device.account_id, deviceId: device.device_id, isAdmin: device.is_admin === 1 };
  }

  logout(actor: Actor): Promise<void> {
    return this.revokeDevice(actor, actor.deviceId);
  }

  async me(actor: Actor): Promise<Me> {
    const row = await findAccountById(this.db, actor.accountId);
    if (!row) throw new AppError('ACCOUNT_NOT_FOUND');
    return toMe(row);
  }

  async updateMe(actor: Actor, input: UpdateMeBody): Promise<Me> {
    const patch: Partial<Pick<AccountRow, 'display_name' | 'read_receipts' | 'last_seen_visible' | 'fallback_min_priority' | 'fallback_channel' | 'quiet_start' | 'quiet_end' | 'time_zone'>> = {};
    if (input.fallback?.minPriority !== undefined) patch.fallback_min_priority = input.fallback.minPriority;
    if (input.fallback?.channel !== undefined) patch.fallback_channel = input.fallback.channel;
    if (input.quietHours === null) Object.assign(patch, { quiet_start: null, quiet_end: null });
    if (input.quietHours) {
      parseTimeOfDay(input.quietHours.start);
      parseTimeOfDay(input.quietHours.end);
      Object.assign(patch, { quiet_start: input.quietHours.start, quiet_end: input.quietHours.end, time_zone: checkTimeZone(input.quietHours.timeZone) });
    }
    if (input.displayName !== undefined) patch.display_name = input.displayName;
    if (input.privacy?.readReceipts !== undefined) patch.read_receipts = input.privacy.readReceipts;
    if (input.privacy?.lastSeen !== undefined) patch.last_seen_visible = input.privacy.lastSeen === 'visible' ? 1 : 0;
    if (Object.keys(patch).length) await this.db.updateTable('accounts').set(patch).where('id', '=', actor.accountId).execute();
    return this.me(actor);
  }

  async listDevices(actor: Actor): Promise<Device[]> {
    const rows = await this.db
      .selectFrom('devices')
      .selectAll()
      .where('account_id', '=', actor.accountId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at')
      .execute();
    return rows.map((d) => ({
      id: d.id,
      name: d.name,
      createdAt: toIso(Number(d.created_at)),
      lastUsedAt: toIso(Number(d.last_used_at)),
      current: d.id === actor.deviceId,
      ackedSeq: Number(d.acked_seq),
    }));
  }

  /** Revokes a device's token at once, also closing its open sockets on every node. */
  async revokeDevice(actor: Actor, deviceId: string): Promise<void> {
    const result = await this.db
      .updateTable('devices')
      .set({ revoked_at: this.clock.now() })
      .where('id', '=', deviceId)
      .where('account_id', '=', actor.accountId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new AppError('DEVICE_NOT_FOUND');
    this.bus.publish({ kind: 'device.revoked', accountId: actor.accountId, deviceId });
  }

  async bindPhone(actor: Actor, rawPhone: string): Promise<{ phone: string; expiresAt: string }> {
    const phone = normalizePhone(rawPhone);
    await this.db.updateTable('accounts').set({ phone, phone_verified_at: null }).where('id', '=', actor.accountId).execute();
    const { code, expiresAt } = await this.storeCode(actor.accountId, 'sms', phone);
    await this.channels.sms.send({ to: phone, text: `Your Parley verification code is ${code}. It expires in ${Math.round(this.config.verificationCodeTtlMs / 60_000)} min.`, purpose: 'verification' });
    return { phone, expiresAt: toIso(expiresAt) };
  }

  async bindEmail(actor: Actor, rawEmail: string): Promise<{ email: string; expiresAt: string }> {
    const email = rawEmail.trim().toLowerCase();
    if (!EMAIL.test(email)) throw new AppError('INVALID_EMAIL');
    await this.db.updateTable('accounts').set({ email, email_verified_at: null }).where('id', '=', actor.accountId).execute();
    const { code, expiresAt } = await this.storeCode(actor.accountId, 'email', email);
    await this.channels.email.send({ to: email, subject: 'Your Parley verification code', text: `Your Parley verification code is ${code}.`, purpose: 'verification' });
    return { email, expiresAt: toIso(expiresAt) };
  }

  verifyPhone(actor: Actor, code: string): Promise<Me> {
    return this.verify(actor, 'sms', code);
  }

  verifyEmail(actor: Actor, code: string): Promise<Me> {
    return this.verify(actor, 'email', code);
  }

  /** Finds an account by id or handle. */
  async find(ref: string): Promise<PublicAccount> {
    const row = (await findAccountById(this.db, ref)) ?? (await findAccountByHandle(this.db, ref));
    if (!row) throw new AppError('ACCOUNT_NOT_FOUND', `No account "${ref}".`);
    return toPublicAccount(row);
  }

  async findMany(ids: string[]): Promise<Map<string, AccountRow>> {
    const rows = await findAccountsByIds(this.db, [...new Set(ids)]);
    return new Map(rows.map((r) => [r.id, r]));
  }

  private async storeCode(accountId: string, channel: 'sms' | 'email', address: string): Promise<{ code: string; expiresAt: number }> {
    const code = newNumericCode();
    const now = this.clock.now();
    const expiresAt = now + this.config.verificationCodeTtlMs;
    const row = { account_id: accountId, channel, address, code_hash: codeHash(accountId, address, code), attempts: 0, expires_at: expiresAt, created_at: now };
    // One upsert, not delete + insert: two requests for a code at once (a double click) would
    // otherwise both insert, and on PostgreSQL the second fails on the primary key.
    await this.db
      .insertInto('verifications')
      .values(row)
      .onConflict((oc) => oc.columns(['account_id', 'channel']).doUpdateSet({ address: row.address, code_hash: row.code_hash, attempts: 0, expires_at: row.expires_at, created_at: row.created_at }))
      .execute();
    return { code, expiresAt };
  }

  private async verify(actor: Actor, channel: 'sms' | 'email', code: string): Promise<Me> {
    const now = this.clock.now();
    // Every try first claims one attempt in a single statement: concurrent guesses must not all pass
    // a read-then-check of the counter (that would allow unlimited parallel brute force).
    const pending = await this.db
      .updateTable('verifications')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('account_id', '=', actor.accountId)
      .where('channel', '=', channel)
      .where('attempts', '<', this.config.verificationMaxAttempts)
      .returning(['address', 'code_hash', 'expires_at'])
      .executeTakeFirst();
    if (!pending) {
      const exists = await this.db.selectFrom('verifications').select('attempts').where('account_id', '=', actor.accountId).where('channel', '=', channel).executeTakeFirst();
      throw new AppError(exists ? 'TOO_MANY_ATTEMPTS' : 'NO_PENDING_VERIFICATION');
    }
    if (Number(pending.expires_at) < now || !safeEqualHex(pending.code_hash, codeHash(actor.accountId, pending.address, code.trim()))) {
      throw new AppError('VERIFICATION_FAILED');
    }
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('verifications').where('account_id', '=', actor.accountId).where('channel', '=', channel).execute();
      const set = channel === 'sms' ? { phone: pending.address, phone_verified_at: now } : { email: pending.address, email_verified_at: now };
      await trx.updateTable('accounts').set(set).where('id', '=', actor.accountId).execute();
    });
    return this.me(actor);
  }
}

function codeHash(accountId: string, address: string, code: string): string {
  return sha256Hex(`${accountId}\n${address}\n${code}`);
}

/** Accepts E.164 only (a leading + and country code), so numbers are unambiguous without a region. */
export function normalizePhone(raw: string): string {
  const trimmed = raw.replace(/[\s()-]/g, '');
  if (!/^\+[1-9]\d{6,14}$/.test(trimmed)) throw new AppError('INVALID_PHONE_NUMBER');
  try {
    const parsed = parsePhoneNumberWithError(trimmed);
    if (!parsed.isValid()) throw new AppError('INVALID_PHONE_NUMBER');
    return parsed.number;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('INVALID_PHONE_NUMBER');
  }
}
