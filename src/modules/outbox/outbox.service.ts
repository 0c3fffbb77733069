import { AppError } from '../../errors.js';
import type { Actor } from '../../lib/actor.js';
import type { OutboxItem } from '../../protocol/views.js';
import { toIso } from '../../scheduler/clock.js';
import type { Db } from '../../storage/db.js';

/** What the outbox channels "sent": the default install's window onto SMS and e-mail. */
export class OutboxService {
  constructor(private readonly db: Db) {}

  async list(actor: Actor, query: { limit?: number; channel?: 'sms' | 'email' }): Promise<OutboxItem[]> {
    if (!actor.isAdmin) throw new AppError('ADMIN_ONLY');
    return this.recent(query);
  }

  /** Newest first, without an authorization check: for the operator's CLI. */
  async recent(query: { limit?: number; channel?: 'sms' | 'email' }): Promise<OutboxItem[]> {
    let q = this.db.selectFrom('outbox').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit ?? 50);
    if (query.channel) q = q.where('channel', '=', query.channel);
    const rows = await q.execute();
    return rows.map((r) => ({ id: r.id, channel: r.channel, recipient: r.recipient, subject: r.subject, body: r.body, purpose: r.purpose, createdAt: toIso(Number(r.created_at)) }));
  }
}
