import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Actor } from '../../lib/actor.js';
import type { FileSettings, PeerVerifyBody, SendVia, TransferBody } from '../../protocol/requests.js';
import type { Attachment, AttachmentSource, ByteRange, TransferState } from '../../protocol/views.js';
import { toIso, type Clock } from '../../scheduler/clock.js';
import type { FiredTimer, Scheduler } from '../../scheduler/scheduler.js';
import type { BlobStore, StagedBlob } from '../../storage/blobs/blob-store.js';
import type { Db, Executor } from '../../storage/db.js';
import { lockAccounts } from '../../storage/locks.js';
import type { TransferStatus, TransfersTable } from '../../storage/schema.js';
import type { UpstreamClient } from '../../upstream/client.js';
import { requireMember, toMessageView } from '../conversations/index.js';
import type { EventLog } from '../events/index.js';
import type { MessagingService } from '../messaging/index.js';
import { newChallenge, proofOf, rangesWithin, sameProof } from './proof.js';
import type { HashingFileStore } from './upload-store.js';

export const UPLOAD_EXPIRY_TIMER = 'files.upload-expiry';
export const BLOB_GC_TIMER = 'files.blob-gc';
const GC_KEY = 'files-blob-gc';
const expiryKey = (transferId: string) => `upload-expiry:${transferId}`;
const GC_BATCH = 200;

type FilesConfig = Pick<
  Config,
  | 'maxFileBytes'
  | 'userQuotaBytes'
  | 'transfersPerMinute'
  | 'proofFailuresPerHour'
  | 'proofRanges'
  | 'proofRangeBytes'
  | 'challengeTtlMs'
  | 'uploadExpiryMs'
  | 'blobGcGraceMs'
  | 'blobGcIntervalMs'
  | 'peerTokens'
  | 'maxMessageChars'
>;

/** Where the upload of a transfer stands, for the tus endpoint in front of @tus/server. */
export type UploadGate = { kind: 'tus' } | { kind: 'done'; size: number };

/** Raised inside a delivery transaction when the stored bytes vanished (garbage-collected) meanwhile. */
class BlobGone extends Error {}

/**
 * Deduplicated file transfer. A sender names a file by SHA-256 and size; the message is delivered
 * without upload when this node (or its upstream) holds the bytes and the sender proves possession.
 *
 * Existence is never revealed to someone who cannot prove possession: every request is answered
 * with a `challenge` (unless the sender already showed this node they hold the bytes), whether the
 * bytes are here, upstream or nowhere; and a proof that cannot be confirmed — wrong, or nothing to
 * check it against — gets the one answer PROOF_FAILED carrying an upload URL. A sender with the file
 * then uploads it; someone with only the hash can do neither.
 */
export class FilesService {
  constructor(
    private readonly db: Db,
    private readonly events: EventLog,
    private readonly messaging: MessagingService,
    private readonly scheduler: Scheduler,
    private readonly clock: Clock,
    private readonly config: FilesConfig,
    readonly blobs: BlobStore & { init(): Promise<void> },
    readonly uploads: HashingFileStore,
    private readonly upstream: UpstreamClient | null,
  ) {
    scheduler.register(UPLOAD_EXPIRY_TIMER, (t) => this.onUploadExpiry(t));
    scheduler.register(BLOB_GC_TIMER, async () => {
      await this.collectGarbage();
    });
  }

  /** Creates the directories and makes sure the periodic garbage collection timer exists. */
  async start(): Promise<void> {
    await this.blobs.init();
    // Scheduling the key again would move it: on frequent restarts it would never come due.
    const existing = await this.db.selectFrom('timers').select('id').where('key', '=', GC_KEY).executeTakeFirst();
    if (!existing) await this.scheduler.schedule(this.db, { kind: BLOB_GC_TIMER, key: GC_KEY, dueAt: this.clock.now() + this.config.blobGcIntervalMs });
  }

  get settings(): FileSettings {
    return { central: this.upstream !== null, maxFileBytes: this.config.maxFileBytes };
  }

  // ── transfer request and proof ────────────────────────────────────────────────────────────────

  async request(actor: Actor, input: TransferBody): Promise<TransferState> {
    if (input.size > this.config.maxFileBytes) throw new AppError('FILE_TOO_LARGE', `Files may be at most ${this.config.maxFileBytes} bytes.`);
    const text = input.text ?? '';
    if (text.length > this.config.maxMessageChars) throw new AppError('MESSAGE_TOO_LONG', `Captions may have at most ${this.config.maxMessageChars} characters.`);
    if (input.clientId !== undefined) {
      const existing = await this.db.selectFrom('messages').selectAll().where('sender_id', '=', actor.accountId).where('client_id', '=', input.clientId).executeTakeFirst();
      if (existing) {
        if (existing.conversation_id !== input.to || existing.attachment_sha256 !== input.sha256) throw new AppError('CLIENT_ID_REUSED');
        const message = toMessageView(existing);
        return { status: 'delivered', transferId: existing.attachment_id!, source: existing.attachment_source!, message };
      }
    }
    await requireMember(this.db, input.to, actor.accountId);
    const now = this.clock.now();

    const { nonce, ranges } = newChallenge(input.size, this.config.proofRanges, this.config.proofRangeBytes);
    const row: TransfersTable = {
      id: newId(),
      account_id: actor.accountId,
      conversation_id: input.to,
      sha256: input.sha256,
      size: input.size,
      name: input.name,
      mime: input.mime.toLowerCase(),
      text,
      client_id: input.clientId ?? null,
      reply_to: input.replyTo ?? null,
      priority: input.priority ?? 'normal',
      status: 'challenge',
      nonce,
      ranges: JSON.stringify(ranges),
      proof_failed: 0,
      source: null,
      message_id: null,
      failure: null,
      expires_at: now + this.config.challengeTtlMs,
      created_at: now,
      updated_at: now,
    };
    // Counted and recorded under the account's lock: requests racing on several nodes cannot all pass one count.
    await this.db.transaction().execute(async (trx) => {
      await lockAccounts(trx, [actor.accountId]);
      const recent = await trx
        .selectFrom('transfers')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_id', '=', actor.accountId)
        .where('created_at', '>', now - 60_000)
        .executeTakeFirstOrThrow();
      if (Number(recent.n) >= this.config.transfersPerMinute) throw new AppError('RATE_LIMITED', `At most ${this.config.transfersPerMinute} transfer requests per minute.`);
      await this.checkQuota(trx, actor.accountId, input.sha256, input.size, now);
      await trx.insertInto('transfers').values(row).execute();
    });

    // Someone who uploaded or proved these very bytes here before has nothing left to prove.
    const held = await this.db.selectFrom('possessions').select('size').where('account_id', '=', actor.accountId).where('sha256', '=', input.sha256).executeTakeFirst();
    if (held && Number(held.size) === input.size && (await this.localSize(input.sha256)) === input.size) {
      const delivered = await this.tryDeliver(row, 'challenge', 'local', null);
      if (delivered) return delivered;
    }
    return { status: 'challenge', transferId: row.id, nonce, ranges, expiresAt: toIso(row.expires_at) };
  }

  async prove(actor: Actor, transferId: string, proof: string, via: SendVia = 'central'): Promise<TransferState> {
    const t = await this.own(actor, transferId);
    if (t.status === 'delivered') return this.state(t);
    if (t.status === 'uploading') throw this.proofFailed(t);
    if (t.status !== 'challenge') throw new AppError('TRANSFER_CLOSED');
    const now = this.clock.now();
    if (t.expires_at < now) {
      await this.db.updateTable('transfers').set({ status: 'expired', failure: 'challenge expired', updated_at: now }).where('id', '=', t.id).where('status', '=', 'challenge').execute();
      throw new AppError('CHALLENGE_EXPIRED');
    }
    const failures = await this.db
      .selectFrom('transfers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', actor.accountId)
      .where('proof_failed', '=', 1)
      // Uploads that then completed do not count: an honest sender of new files is not held back.
      .where('status', '!=', 'delivered')
      .where('updated_at', '>', now - 3600_000)
      .executeTakeFirstOrThrow();
    if (Number(failures.n) >= this.config.proofFailuresPerHour) throw new AppError('RATE_LIMITED', `At most ${this.config.proofFailuresPerHour} unconfirmed proofs per hour.`);

    const ranges = JSON.parse(t.ranges!) as ByteRange[];
    if ((await this.localSize(t.sha256)) === Number(t.size)) {
      const expected = proofOf(t.nonce!, await this.blobs.readRanges(t.sha256, ranges));
      if (sameProof(expected, proof)) {
        const delivered = await this.tryDeliver(t, 'challenge', 'local', null);
        if (delivered) return delivered;
      }
    } else if (this.upstream && via === 'central' && (await this.upstream.verify(t.sha256, Number(t.size), t.nonce!, ranges, proof)) === 'ok') {
      // The central confirmed the proof: only now are the bytes pulled (and checked against the hash).
      const staged = await this.upstream.pull(t.sha256, Number(t.size), this.blobs);
      if (staged) {
        try {
          const delivered = await this.tryDeliver(t, 'challenge', 'upstream', staged);
          if (delivered) return delivered;
        } finally {
          await this.blobs.discard(staged.path);
        }
      }
    }
    // Not confirmed: the same answer whether the bytes are held anywhere or not.
    const opened = await this.openUpload(t);
    throw this.proofFailed(opened);
  }

  async get(actor: Actor, transferId: string): Promise<TransferState> {
    let t = await this.own(actor, transferId);
    if (t.status === 'uploading' && (await this.uploads.offsetOf(t.id)) === Number(t.size)) {
      // Every byte arrived but the server stopped before finishing (crash): finish now.
      await this.finishUpload(t.id).catch(() => {});
      t = await this.own(actor, transferId);
    }
    return this.state(t);
  }

  // ── uploads (tus) ─────────────────────────────────────────────────────────────────────────────

  /** Checks an upload request (HEAD/PATCH) before @tus/server sees it; PATCH moves the expiry. */
  async gateUpload(actor: Actor, transferId: string, method: string): Promise<UploadGate> {
    const t = await this.own(actor, transferId);
    if (t.status === 'delivered') return { kind: 'done', size: Number(t.size) };
    if (t.status !== 'uploading') throw new AppError('TRANSFER_CLOSED');
    const offset = await this.uploads.offsetOf(t.id);
    if (offset === null) {
      // The server stopped between opening the transfer for upload and creating the file.
      await this.uploads.createUpload(t.id, Number(t.size), { transferId: t.id });
    } else if (offset === Number(t.size) && method === 'HEAD') {
      const finished = await this.finishUpload(t.id);
      if (finished.status === 'delivered') return { kind: 'done', size: Number(t.size) };
    }
    if (method === 'PATCH') await this.touchUpload(t.id);
    return { kind: 'tus' };
  }

  /** Called when the last byte arrived: verify size and hash, store once, deliver once. */
  async finishUpload(transferId: string): Promise<TransferState> {
    const t = await this.find(transferId);
    if (!t) throw new AppError('TRANSFER_NOT_FOUND');
    if (t.status === 'delivered') return this.state(t);
    if (t.status !== 'uploading') throw new AppError('TRANSFER_CLOSED');
    let digest: string | null;
    try {
      digest = await this.uploads.digest(t.id, Number(t.size));
    } catch (err) {
      // Finished by a concurrent call meanwhile (its file is gone)?
      const now = await this.find(transferId);
      if (now && now.status !== 'uploading') return this.state(now);
      throw err;
    }
    if (digest !== t.sha256) {
      await this.closeUpload(t, 'failed', digest === null ? 'size mismatch' : 'hash mismatch');
      throw new AppError('TRANSFER_HASH_MISMATCH');
    }
    const path = this.uploads.pathOf(t.id);
    await this.blobs.sync(path);
    let delivered: TransferState | null;
    try {
      delivered = await this.tryDeliver(t, 'uploading', 'uploaded', { path, sha256: t.sha256, size: Number(t.size) });
    } catch (err) {
      if (err instanceof AppError) await this.closeUpload(t, 'failed', err.code);
      throw err;
    }
    await this.uploads.discardUpload(t.id);
    return delivered ?? this.state((await this.find(transferId))!);
  }

  async cancelUpload(actor: Actor, transferId: string): Promise<void> {
    const t = await this.own(actor, transferId);
    if (t.status === 'delivered') throw new AppError('TRANSFER_CLOSED');
    if (t.status === 'uploading' || t.status === 'challenge') await this.closeUpload(t, 'cancelled', 'cancelled by the sender');
  }

  private async touchUpload(transferId: string): Promise<void> {
    const dueAt = this.clock.now() + this.config.uploadExpiryMs;
    await this.db.updateTable('transfers').set({ expires_at: dueAt }).where('id', '=', transferId).where('status', '=', 'uploading').execute();
    await this.scheduler.schedule(this.db, { kind: UPLOAD_EXPIRY_TIMER, key: expiryKey(transferId), dueAt, payload: { transferId } });
  }

  /** challenge → uploading (once): creates the tus upload and its expiry timer. */
  private async openUpload(t: TransfersTable): Promise<TransfersTable> {
    const now = this.clock.now();
    const expiresAt = now + this.config.uploadExpiryMs;
    const claimed = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('transfers')
        .set({ status: 'uploading', proof_failed: 1, expires_at: expiresAt, updated_at: now })
        .where('id', '=', t.id)
        .where('status', '=', 'challenge')
        .returning('id')
        .executeTakeFirst();
      if (row) await this.scheduler.schedule(trx, { kind: UPLOAD_EXPIRY_TIMER, key: expiryKey(t.id), dueAt: expiresAt, payload: { transferId: t.id } });
      return row !== undefined;
    });
    if (claimed) await this.uploads.createUpload(t.id, Number(t.size), { transferId: t.id });
    const current = (await this.find(t.id))!;
    if (current.status !== 'uploading') {
      if (current.status === 'delivered') return current;
      throw new AppError('TRANSFER_CLOSED');
    }
    return current;
  }

  private async closeUpload(t: TransfersTable, status: Extract<TransferStatus, 'failed' | 'expired' | 'cancelled'>, reason: string): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('transfers')
        .set({ status, failure: reason, updated_at: now })
        .where('id', '=', t.id)
        .where('status', 'in', ['challenge', 'uploading'])
        .returning('id')
        .executeTakeFirst();
      if (row) await this.scheduler.cancel(trx, expiryKey(t.id));
    });
    await this.uploads.discardUpload(t.id);
  }

  private async onUploadExpiry(timer: FiredTimer): Promise<void> {
    const { transferId } = timer.payload as { transferId: string };
    const t = await this.find(transferId);
    if (!t || t.status !== 'uploading') {
      if (t && t.status !== 'delivered') await this.uploads.discardUpload(transferId);
      return;
    }
    // Moved by activity after this timer was claimed: the moved timer decides.
    if (Number(t.expires_at) > this.clock.now()) return;
    await this.closeUpload(t, 'expired', 'upload abandoned');
  }

  // ── delivery ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Delivers the file message if the transfer is still in `from` (exactly once: the status change
   * is the claim). `staged` bytes become the stored blob in the same transaction; without them the
   * stored blob must still exist. Null when another call delivered it, or the blob vanished.
   */
  private async tryDeliver(t: TransfersTable, from: TransferStatus, source: AttachmentSource, staged: StagedBlob | null): Promise<TransferState | null> {
    const actor: Actor = { accountId: t.account_id, deviceId: '', isAdmin: false };
    const size = Number(t.size);
    const attachment: Attachment = { id: t.id, name: t.name, mime: t.mime, size, sha256: t.sha256, source };
    try {
      return await this.events.transact(async (trx, emit, now) => {
        const claimed = await trx
          .updateTable('transfers')
          .set({ status: 'delivered', source, updated_at: now })
          .where('id', '=', t.id)
          .where('status', '=', from)
          .returning('id')
          .executeTakeFirst();
        if (!claimed) return null;
        if (staged) {
          // The row first: it serializes against garbage collection of the same hash.
          await trx
            .insertInto('blobs')
            .values({ sha256: t.sha256, size, created_at: now, last_used_at: now })
            .onConflict((oc) => oc.column('sha256').doUpdateSet({ last_used_at: now }))
            .execute();
        } else {
          const touched = await trx.updateTable('blobs').set({ last_used_at: now }).where('sha256', '=', t.sha256).where('size', '=', size).executeTakeFirst();
          if (Number(touched.numUpdatedRows) === 0) throw new BlobGone();
        }
        const input = { text: t.text, clientId: t.client_id ?? undefined, replyTo: t.reply_to ?? undefined, priority: t.priority };
        const { message } = await this.messaging.sendAttachment(trx, emit, now, actor, t.conversation_id, input, attachment);
        await trx.updateTable('transfers').set({ message_id: message.id }).where('id', '=', t.id).execute();
        await trx
          .insertInto('possessions')
          .values({ account_id: t.account_id, sha256: t.sha256, size, created_at: now })
          .onConflict((oc) => oc.columns(['account_id', 'sha256']).doNothing())
          .execute();
        if (from === 'uploading') await this.scheduler.cancel(trx, expiryKey(t.id));
        // Last, so a refusal above leaves no file behind; written once: an existing copy is kept.
        if (staged) await this.blobs.commit(staged.path, t.sha256);
        return { status: 'delivered', transferId: t.id, source, message } satisfies TransferState;
      });
    } catch (err) {
      if (err instanceof BlobGone) return null;
      throw err;
    }
  }

  // ── downloads ─────────────────────────────────────────────────────────────────────────────────

  /** The attachment of a message the actor may see (members only, from their joining on). */
  async attachment(actor: Actor, messageId: string): Promise<Attachment> {
    const message = await this.messaging.get(actor, messageId);
    if (!message.attachment) throw new AppError('NO_ATTACHMENT');
    const stat = await this.blobs.stat(message.attachment.sha256);
    if (!stat) throw new AppError('BLOB_NOT_FOUND', 'The file\'s bytes are missing on this server.');
    return message.attachment;
  }

  // ── server to server (this node as a central) ─────────────────────────────────────────────────

  /** Whether `token` is one of PARLEY_PEER_TOKENS (constant time per token). */
  peerAllowed(token: string | undefined): boolean {
    if (!token || !this.config.peerTokens) return false;
    const given = createHash('sha256').update(token).digest();
    let ok = false;
    for (const allowed of this.config.peerTokens.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (timingSafeEqual(given, createHash('sha256').update(allowed).digest())) ok = true;
    }
    return ok;
  }

  /** A private node checks its user's proof against the bytes held here. */
  async peerVerify(sha256: string, input: PeerVerifyBody): Promise<{ ok: true }> {
    if ((await this.localSize(sha256)) !== input.size) throw new AppError('BLOB_NOT_FOUND');
    if (!rangesWithin(input.ranges, input.size)) throw new AppError('INVALID_RANGE');
    const total = input.ranges.reduce((n, r) => n + r.length, 0);
    if (total > 64 * 1024 * 1024) throw new AppError('VALIDATION_FAILED', 'The ranges cover more than 64 MiB.');
    const expected = proofOf(input.nonce, await this.blobs.readRanges(sha256, input.ranges));
    if (!sameProof(expected, input.proof)) throw new AppError('PROOF_FAILED', 'The proof does not match the bytes.');
    await this.db.updateTable('blobs').set({ last_used_at: this.clock.now() }).where('sha256', '=', sha256).execute();
    return { ok: true };
  }

  async peerBlob(sha256: string): Promise<{ size: number }> {
    const size = await this.localSize(sha256);
    if (size === null) throw new AppError('BLOB_NOT_FOUND');
    return { size };
  }

  // ── garbage collection ────────────────────────────────────────────────────────────────────────

  /**
   * Deletes blobs referenced by no live message and unused for the grace period, and old records
   * of transfers that ended without delivery; then schedules itself again.
   */
  async collectGarbage(): Promise<{ blobs: number; transfers: number }> {
    const now = this.clock.now();
    const cutoff = now - this.config.blobGcGraceMs;
    let removedBlobs = 0;
    for (;;) {
      const candidates = await this.unreferenced(this.db, cutoff).select('sha256').limit(GC_BATCH).execute();
      for (const { sha256 } of candidates) {
        const gone = await this.db.transaction().execute(async (trx) => {
          const row = await this.unreferenced(trx, cutoff, sha256).executeTakeFirst();
          if (!row) return false;
          await trx.deleteFrom('blobs').where('sha256', '=', sha256).execute();
          await trx.deleteFrom('possessions').where('sha256', '=', sha256).execute();
          // Inside the transaction: a concurrent store of the same bytes waits on the row, then writes them anew.
          await this.blobs.remove(sha256);
          return true;
        });
        if (gone) removedBlobs++;
      }
      if (candidates.length < GC_BATCH) break;
    }
    const ended = await this.db
      .deleteFrom('transfers')
      .where((eb) =>
        eb.or([
          eb.and([eb('status', 'in', ['failed', 'expired', 'cancelled']), eb('updated_at', '<', cutoff)]),
          eb.and([eb('status', '=', 'challenge'), eb('expires_at', '<', cutoff)]),
        ]),
      )
      .executeTakeFirst();
    await this.scheduler.schedule(this.db, { kind: BLOB_GC_TIMER, key: GC_KEY, dueAt: now + this.config.blobGcIntervalMs });
    return { blobs: removedBlobs, transfers: Number(ended.numDeletedRows) };
  }

  private unreferenced(ex: Executor, cutoff: number, sha256?: string) {
    let q = ex
      .selectFrom('blobs')
      .select('blobs.sha256')
      .where('blobs.last_used_at', '<', cutoff)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('messages').select('messages.id').whereRef('messages.attachment_sha256', '=', 'blobs.sha256').where('messages.deleted_at', 'is', null))))
      .where((eb) => eb.not(eb.exists(eb.selectFrom('transfers').select('transfers.id').whereRef('transfers.sha256', '=', 'blobs.sha256').where('transfers.status', '=', 'uploading'))));
    if (sha256 !== undefined) q = q.where('blobs.sha256', '=', sha256);
    return q;
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────────

  /** Size of the stored blob when both its record and its file exist, else null. */
  private async localSize(sha256: string): Promise<number | null> {
    const row = await this.db.selectFrom('blobs').select('size').where('sha256', '=', sha256).executeTakeFirst();
    if (!row) return null;
    const stat = await this.blobs.stat(sha256);
    return stat && stat.size === Number(row.size) ? stat.size : null;
  }

  /**
   * Storage a user accounts for: the distinct files attached to their live messages plus their
   * transfers in progress (a live challenge may become a delivered file without an upload, so it
   * holds its size too). A file they already account for costs nothing more. Runs under the
   * account's lock, so transfers requested at once, on any node, cannot share the same headroom.
   */
  private async checkQuota(trx: Executor, accountId: string, sha256: string, size: number, now: number): Promise<void> {
    const quota = this.config.userQuotaBytes;
    if (quota <= 0) return;
    const files = trx
      .selectFrom('messages')
      .select(['attachment_sha256', 'attachment_size'])
      .distinct()
      .where('sender_id', '=', accountId)
      .where('deleted_at', 'is', null)
      .where('attachment_sha256', 'is not', null)
      .as('f');
    const sent = await trx
      .selectFrom(files)
      .select((eb) => [eb.fn.sum<number | string | null>('f.attachment_size').as('bytes'), eb.fn.countAll<number>().as('n')])
      .executeTakeFirstOrThrow();
    const already = await trx
      .selectFrom('messages')
      .select('id')
      .where('sender_id', '=', accountId)
      .where('attachment_sha256', '=', sha256)
      .where('deleted_at', 'is', null)
      .limit(1)
      .executeTakeFirst();
    const open = await trx
      .selectFrom('transfers')
      .select((eb) => eb.fn.sum<number | string | null>('size').as('bytes'))
      .where('account_id', '=', accountId)
      .where((eb) => eb.or([eb('status', '=', 'uploading'), eb.and([eb('status', '=', 'challenge'), eb('expires_at', '>', now)])]))
      .executeTakeFirstOrThrow();
    const used = Number(sent.bytes ?? 0) + Number(open.bytes ?? 0);
    if (!already && used + size > quota) throw new AppError('QUOTA_EXCEEDED', `The file would exceed your storage quota (${used} of ${quota} bytes used).`);
  }

  private find(id: string): Promise<TransfersTable | undefined> {
    return this.db.selectFrom('transfers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The actor's own transfer; another user's is as unknown as a missing one. */
  private async own(actor: Actor, id: string): Promise<TransfersTable> {
    const t = await this.find(id);
    if (!t || t.account_id !== actor.accountId) throw new AppError('TRANSFER_NOT_FOUND');
    return t;
  }

  private uploadState(t: TransfersTable, offset: number): TransferState {
    return { status: 'upload', transferId: t.id, uploadUrl: `/v1/uploads/${t.id}`, offset, size: Number(t.size), expiresAt: toIso(Number(t.expires_at)) };
  }

  private proofFailed(t: TransfersTable): AppError {
    if (t.status === 'delivered') return new AppError('TRANSFER_CLOSED');
    return new AppError('PROOF_FAILED', undefined, this.uploadState(t, 0));
  }

  private async state(t: TransfersTable): Promise<TransferState> {
    switch (t.status) {
      case 'delivered': {
        const row = await this.db.selectFrom('messages').selectAll().where('id', '=', t.message_id!).executeTakeFirstOrThrow();
        return { status: 'delivered', transferId: t.id, source: t.source!, message: toMessageView(row) };
      }
      case 'challenge':
        return { status: 'challenge', transferId: t.id, nonce: t.nonce!, ranges: JSON.parse(t.ranges!) as ByteRange[], expiresAt: toIso(Number(t.expires_at)) };
      case 'uploading':
        return this.uploadState(t, (await this.uploads.offsetOf(t.id)) ?? 0);
      default:
        return { status: t.status, transferId: t.id, reason: t.failure };
    }
  }
}
