import type { Channels, DeliveryReport } from '../../channels/channel.js';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Actor } from '../../lib/actor.js';
import type { EventData } from '../../protocol/events.js';
import type { Priority } from '../../protocol/views.js';
import { toIso, type Clock } from '../../scheduler/clock.js';
import type { FiredTimer, Scheduler } from '../../scheduler/scheduler.js';
import type { Db, Executor, Tx } from '../../storage/db.js';
import { lockAccounts } from '../../storage/locks.js';
import type { AccountsTable, FallbacksTable, MessagesTable } from '../../storage/schema.js';
import { findMember } from '../conversations/index.js';
import type { Emit, EventLog } from '../events/index.js';
import { DEADLINE_TIMER, type DeadlinePayload } from '../messaging/index.js';
import { quietUntil } from './quiet-hours.js';

export const FALLBACK_SEND_TIMER = 'fallback.send';
const PRIORITY_RANK: Record<Priority, number> = { low: 0, normal: 1, high: 2, urgent: 3 };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// After this many failed attempts to hand the SMS/e-mail to the channel, it is reported failed.
const SEND_ATTEMPTS = 5;
// A claim to send older than this belongs to a node that died mid-send: another firing may take it
// over. Shorter than a timer's lease (a crashed node's timer fires again only after it), longer
// than any channel takes to accept a message.
const SEND_CLAIM_MS = 30_000;

type Plan = { outcome: 'scheduled' | 'deferred'; until?: number } | { outcome: 'skipped'; reason: EventData['fallback.skipped']['reason'] } | { outcome: 'exists' };

export interface FallbackResult {
  accountId: string;
  outcome: 'scheduled' | 'deferred' | 'skipped' | 'exists';
  reason?: string;
}

/**
 * Unread/undelivered deadlines and the SMS/e-mail fallback they may trigger. A deadline handler
 * re-checks the watermark when it fires; a fallback is planned in the same transaction as the
 * "unread" event and sent by a durable timer, so a crash loses neither. A firing claims the send
 * with a conditional update first, so two nodes firing the same timer (one slower than its lease)
 * never both send; only a crash after the channel accepted the SMS but before it was recorded sends
 * it again, once the claim is stale.
 */
export class FallbackService {
  private readonly earlyReports = new Map<string, DeliveryReport>();

  constructor(
    private readonly db: Db,
    private readonly events: EventLog,
    private readonly scheduler: Scheduler,
    private readonly channels: Channels,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'fallbackPerRecipientPerHour' | 'fallbackPerSenderPerDay' | 'fallbackSmsMaxChars'>,
  ) {
    scheduler.register(DEADLINE_TIMER.read, (t) => this.onDeadline(t));
    scheduler.register(DEADLINE_TIMER.delivered, (t) => this.onDeadline(t));
    scheduler.register(FALLBACK_SEND_TIMER, (t) => this.send(t));
    channels.sms.onDeliveryReport((r) => void this.onReport('sms', r));
    channels.email.onDeliveryReport((r) => void this.onReport('email', r));
  }

  /** The sender's explicit command, allowed before the deadline too (fallback option permitting). */
  async command(actor: Actor, messageId: string, onlyFor?: string[]): Promise<FallbackResult[]> {
    return this.events.transact(async (trx, emit, now) => {
      const message = await trx.selectFrom('messages').selectAll().where('id', '=', messageId).executeTakeFirst();
      if (!message || !(await findMember(trx, message.conversation_id, actor.accountId))) throw new AppError('MESSAGE_NOT_FOUND');
      if (message.sender_id !== actor.accountId) throw new AppError('NOT_MESSAGE_SENDER');
      if (message.deleted_at !== null) throw new AppError('MESSAGE_DELETED');
      if (message.fallback === 'never') throw new AppError('FALLBACK_DISABLED');
      let recipients = await trx
        .selectFrom('members')
        .innerJoin('accounts', 'accounts.id', 'members.account_id')
        .selectAll('accounts')
        .select('members.read_seq')
        .where('members.conversation_id', '=', message.conversation_id)
        .where('members.account_id', '!=', actor.accountId)
        .execute();
      if (onlyFor) recipients = recipients.filter((r) => onlyFor.includes(r.id));
      if (recipients.length === 0) throw new AppError('MEMBER_NOT_FOUND');
      // Recipients with private receipts count as unread: skipping them would reveal that they read it.
      const unread = recipients.filter((r) => r.read_receipts === 'private' || Number(r.read_seq) < Number(message.seq));
      if (unread.length === 0) throw new AppError('FALLBACK_NOT_NEEDED');
      const results: FallbackResult[] = [];
      for (const recipient of unread) {
        const plan = await this.plan(trx, now, message, recipient, 'command');
        this.announce(emit, message, recipient.id, plan);
        results.push({ accountId: recipient.id, outcome: plan.outcome, reason: plan.outcome === 'skipped' ? plan.reason : undefined });
      }
      if (results.every((r) => r.outcome === 'skipped')) throw this.refusal(results[0]!.reason!, actor.accountId, now);
      return results;
    });
  }

  private async onDeadline(timer: FiredTimer): Promise<void> {
    const { messageId, recipientId, kind } = timer.payload as DeadlinePayload;
    await this.events.transact(async (trx, emit, now) => {
      // The scheduler may fire a timer twice (a node slower than its lease, a crash before the
      // fired timer is deleted). Deleting the timer in this transaction makes the effect happen
      // once: a second firing waits on the row lock, then finds it gone.
      if (!(await this.scheduler.cancel(trx, timer.key))) return;
      const message = await trx.selectFrom('messages').selectAll().where('id', '=', messageId).executeTakeFirst();
      if (!message || message.deleted_at !== null) return;
      const member = await findMember(trx, message.conversation_id, recipientId);
      if (!member) return;
      const watermark = kind === 'read' ? member.read_seq : member.delivered_seq;
      if (Number(watermark) >= Number(message.seq)) return;
      const [recipient, sender] = await Promise.all([account(trx, recipientId), account(trx, message.sender_id)]);
      if (!recipient || !sender) return;
      // A recipient who keeps read receipts private: the sender learns neither "read" nor "unread",
      // and an SMS would tell them just as well, so nothing happens.
      if (kind === 'read' && recipient.read_receipts === 'private') return;

      let plan: Plan | undefined;
      const automatic = message.fallback === 'auto' && sender.fallback_min_priority !== 'never' && PRIORITY_RANK[message.priority] >= PRIORITY_RANK[sender.fallback_min_priority];
      if (automatic) plan = await this.plan(trx, now, message, recipient, kind === 'read' ? 'unread' : 'undelivered');
      const fallback = plan && plan.outcome !== 'skipped' ? 'scheduled' : message.fallback === 'never' ? 'none' : 'available';
      emit(
        message.sender_id,
        'message.unread',
        { conversationId: message.conversation_id, messageId, accountId: recipientId, kind, deadline: toIso(timer.dueAt), fallback },
        { conversationId: message.conversation_id, messageId },
      );
      if (plan) this.announce(emit, message, recipientId, plan);
    });
  }

  /** Decides whether a fallback may go out and, if so, stores it with a timer that sends it. */
  private async plan(trx: Tx, now: number, message: MessagesTable, recipient: AccountsTable, reason: FallbacksTable['reason']): Promise<Plan> {
    const existing = await trx.selectFrom('fallbacks').select('id').where('message_id', '=', message.id).where('recipient_id', '=', recipient.id).executeTakeFirst();
    if (existing) return { outcome: 'exists' };
    const channel = contactChannel(recipient);
    if (!channel) return { outcome: 'skipped', reason: 'no_verified_contact' };
    // Fallbacks planned at once on several nodes must not all pass the same counts.
    await lockAccounts(trx, [recipient.id, message.sender_id]);
    if ((await this.countSince(trx, 'recipient_id', recipient.id, now - HOUR)) >= this.config.fallbackPerRecipientPerHour) return { outcome: 'skipped', reason: 'rate_limited' };
    if ((await this.countSince(trx, 'sender_id', message.sender_id, now - DAY)) >= this.config.fallbackPerSenderPerDay) return { outcome: 'skipped', reason: 'daily_cap' };
    const id = newId();
    await trx
      .insertInto('fallbacks')
      .values({ id, message_id: message.id, recipient_id: recipient.id, sender_id: message.sender_id, channel, reason, status: 'pending', channel_message_id: null, detail: null, created_at: now, updated_at: now })
      .execute();
    const until = message.priority === 'urgent' ? undefined : quietUntil(now, recipient.quiet_start, recipient.quiet_end, recipient.time_zone);
    await this.scheduler.schedule(trx, { kind: FALLBACK_SEND_TIMER, key: `fallback:${id}`, dueAt: until ?? now, payload: { fallbackId: id } });
    return until ? { outcome: 'deferred', until } : { outcome: 'scheduled' };
  }

  private announce(emit: Emit, message: MessagesTable, accountId: string, plan: Plan): void {
    const base = { conversationId: message.conversation_id, messageId: message.id, accountId };
    const refs = { conversationId: message.conversation_id, messageId: message.id };
    if (plan.outcome === 'skipped') emit(message.sender_id, 'fallback.skipped', { ...base, reason: plan.reason }, refs);
    if (plan.outcome === 'deferred') emit(message.sender_id, 'fallback.deferred', { ...base, until: toIso(plan.until!) }, refs);
  }

  private async countSince(ex: Executor, column: 'recipient_id' | 'sender_id', id: string, since: number): Promise<number> {
    const row = await ex
      .selectFrom('fallbacks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(column, '=', id)
      .where('created_at', '>', since)
      .where('status', '!=', 'cancelled')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private refusal(reason: string, senderId: string, now: number): AppError {
    if (reason === 'no_verified_contact') return new AppError('FALLBACK_NO_CONTACT');
    if (reason === 'daily_cap') return new AppError('DAILY_CAP_REACHED', undefined, { retryAfterMs: DAY, senderId, at: toIso(now) });
    return new AppError('RATE_LIMITED', 'The recipient got too many fallback messages in the last hour; retry later.', { retryAfterMs: HOUR });
  }

  /** Timer handler: hands the SMS or e-mail to the channel, unless it is no longer needed. */
  private async send(timer: FiredTimer): Promise<void> {
    const { fallbackId } = timer.payload as { fallbackId: string };
    const now = this.clock.now();
    const claimed = await this.db
      .updateTable('fallbacks')
      .set({ status: 'sending', updated_at: now })
      .where('id', '=', fallbackId)
      .where((eb) => eb.or([eb('status', '=', 'pending'), eb.and([eb('status', '=', 'sending'), eb('updated_at', '<', now - SEND_CLAIM_MS)])]))
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) {
      const current = await this.db.selectFrom('fallbacks').select('status').where('id', '=', fallbackId).executeTakeFirst();
      // Another firing is sending it right now: look again later (the timer retries), in case that node dies.
      if (current?.status === 'sending') throw new Error(`fallback ${fallbackId} is being sent by another firing`);
      return;
    }
    const row = await this.db.selectFrom('fallbacks').selectAll().where('id', '=', fallbackId).executeTakeFirstOrThrow();
    const [message, recipient, sender] = await Promise.all([
      this.db.selectFrom('messages').selectAll().where('id', '=', row.message_id).executeTakeFirst(),
      account(this.db, row.recipient_id),
      account(this.db, row.sender_id),
    ]);
    const member = message && (await findMember(this.db, message.conversation_id, row.recipient_id));
    if (!message || !recipient || !sender || !member || message.deleted_at !== null) return this.finish(row, 'cancelled');
    if (row.reason !== 'command') {
      const watermark = row.reason === 'unread' ? member.read_seq : member.delivered_seq;
      if (Number(watermark) >= Number(message.seq)) return this.finish(row, 'cancelled', message, row.reason === 'unread' ? 'read_meanwhile' : 'delivered_meanwhile');
    }
    const address = row.channel === 'sms' ? (recipient.phone_verified_at !== null ? recipient.phone : null) : recipient.email_verified_at !== null ? recipient.email : null;
    if (!address) return this.finish(row, 'cancelled', message, 'no_verified_contact');

    const text = this.compose(message, sender.display_name, row.channel);
    let result: { id: string; parts?: number };
    try {
      result =
        row.channel === 'sms'
          ? await this.channels.sms.send({ to: address, text, purpose: 'fallback' })
          : await this.channels.email.send({ to: address, subject: `Unread message from ${sender.display_name}`, text, purpose: 'fallback' });
    } catch (err) {
      if (timer.attempts + 1 >= SEND_ATTEMPTS) return this.fail(row, message, `channel refused: ${(err as Error).message}`);
      // Released for the timer's retry.
      await this.db.updateTable('fallbacks').set({ status: 'pending', updated_at: this.clock.now() }).where('id', '=', row.id).where('status', '=', 'sending').execute();
      throw err;
    }
    await this.events.transact(async (trx, emit, now) => {
      await trx.updateTable('fallbacks').set({ status: 'sent', channel_message_id: result.id, updated_at: now }).where('id', '=', row.id).where('status', '=', 'sending').execute();
      emit(
        row.sender_id,
        'fallback.sent',
        { conversationId: message.conversation_id, messageId: message.id, accountId: row.recipient_id, channel: row.channel, parts: result.parts ?? 1 },
        { conversationId: message.conversation_id, messageId: message.id },
      );
    });
    const early = this.earlyReports.get(`${row.channel}:${result.id}`);
    if (early) {
      this.earlyReports.delete(`${row.channel}:${result.id}`);
      await this.onReport(row.channel, early);
    }
  }

  private compose(message: MessagesTable, senderName: string, channel: 'sms' | 'email'): string {
    if (message.fallback_content === 'notice') return `[Parley] ${senderName} sent you a message you have not read yet. Open Parley to read it.`;
    const prefix = `[Parley] ${senderName}: `;
    // A file travels by reference only: its name, and that it waits in Parley.
    const content = message.attachment_name !== null ? `sent you a file, ${message.attachment_name}. Open Parley to download it.` : message.body;
    if (channel === 'email') return prefix + content;
    const max = this.config.fallbackSmsMaxChars;
    const full = prefix + content;
    const chars = [...full];
    if (chars.length <= max) return full;
    const label = '… (truncated)';
    return chars.slice(0, max - label.length).join('') + label;
  }

  private async finish(row: FallbacksTable, status: 'cancelled', message?: MessagesTable, reason?: EventData['fallback.skipped']['reason'] | 'delivered_meanwhile'): Promise<void> {
    await this.events.transact(async (trx, emit, now) => {
      const changed = await trx.updateTable('fallbacks').set({ status, detail: reason ?? null, updated_at: now }).where('id', '=', row.id).where('status', '=', 'sending').executeTakeFirst();
      if (!message || !reason || Number(changed.numUpdatedRows) === 0) return;
      const skipReason = reason === 'delivered_meanwhile' ? 'read_meanwhile' : reason;
      emit(row.sender_id, 'fallback.skipped', { conversationId: message.conversation_id, messageId: message.id, accountId: row.recipient_id, reason: skipReason }, { conversationId: message.conversation_id, messageId: message.id });
    });
  }

  private async fail(row: FallbacksTable, message: MessagesTable, reason: string): Promise<void> {
    await this.events.transact(async (trx, emit, now) => {
      await trx.updateTable('fallbacks').set({ status: 'failed', detail: reason, updated_at: now }).where('id', '=', row.id).execute();
      emit(row.sender_id, 'fallback.failed', { conversationId: message.conversation_id, messageId: message.id, accountId: row.recipient_id, channel: row.channel, reason }, { conversationId: message.conversation_id, messageId: message.id });
    });
  }

  /** Delivery reports from the SMSC/SMTP: the sender sees `fallback.delivered` or `fallback.failed`. */
  private async onReport(channel: 'sms' | 'email', report: DeliveryReport): Promise<void> {
    await this.events.transact(async (trx, emit, now) => {
      const row = await trx.selectFrom('fallbacks').selectAll().where('channel', '=', channel).where('channel_message_id', '=', report.id).executeTakeFirst();
      if (!row) {
        // The report beat our own record of the send (the outbox reports at once): keep it briefly.
        this.earlyReports.set(`${channel}:${report.id}`, report);
        this.clock.after(60_000, () => this.earlyReports.delete(`${channel}:${report.id}`));
        return;
      }
      if (row.status !== 'sent') return;
      await trx.updateTable('fallbacks').set({ status: report.status, detail: report.detail ?? null, updated_at: now }).where('id', '=', row.id).execute();
      const message = await trx.selectFrom('messages').select(['conversation_id']).where('id', '=', row.message_id).executeTakeFirstOrThrow();
      const base = { conversationId: message.conversation_id, messageId: row.message_id, accountId: row.recipient_id, channel };
      const refs = { conversationId: message.conversation_id, messageId: row.message_id };
      if (report.status === 'delivered') emit(row.sender_id, 'fallback.delivered', base, refs);
      else emit(row.sender_id, 'fallback.failed', { ...base, reason: report.detail ?? 'not delivered' }, refs);
    });
  }
}

function account(ex: Executor, id: string): Promise<AccountsTable | undefined> {
  return ex.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The recipient's preferred verified channel, else the other verified one. */
function contactChannel(recipient: AccountsTable): 'sms' | 'email' | undefined {
  const sms = recipient.phone !== null && recipient.phone_verified_at !== null;
  const email = recipient.email !== null && recipient.email_verified_at !== null;
  if (recipient.fallback_channel === 'email') return email ? 'email' : sms ? 'sms' : undefined;
  return sms ? 'sms' : email ? 'email' : undefined;
}
