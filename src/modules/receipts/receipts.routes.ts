import type { FastifyInstance } from 'fastify';
import { IdParams, PresenceQuery, ReadBody } from '../../protocol/requests.js';
import type { Services } from '../../services.js';

export function receiptsRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['receipts'];
  app.post<{ Params: IdParams; Body: ReadBody }>('/v1/conversations/:id/read', { schema: { tags, summary: 'Mark every message up to `upTo` read', params: IdParams, body: ReadBody } }, async (req) =>
    s.receipts.markRead(req.actor, req.params.id, req.body.upTo),
  );
  app.get<{ Params: IdParams }>('/v1/messages/:id/receipts', { schema: { tags, summary: 'Per-recipient state of your message', params: IdParams } }, async (req) =>
    s.receipts.receipts(req.actor, req.params.id),
  );
  app.get<{ Querystring: PresenceQuery }>('/v1/presence', { schema: { tags, summary: 'Online status and last seen of your contacts', querystring: PresenceQuery } }, async (req) => ({
    presence: await s.receipts.presence(req.actor, req.query.ids.split(',').map((id) => id.trim()).filter(Boolean).slice(0, 200)),
  }));
}
