import type { FastifyInstance } from 'fastify';
import { OutboxQuery } from '../../protocol/requests.js';
import type { Services } from '../../services.js';

export function outboxRoutes(app: FastifyInstance, s: Services): void {
  app.get<{ Querystring: OutboxQuery }>('/v1/outbox', { schema: { tags: ['outbox'], summary: 'What the outbox SMS/e-mail channels would have sent (admin)', querystring: OutboxQuery } }, async (req) => ({
    items: await s.outbox.list(req.actor, req.query),
  }));
}
