import type { FastifyInstance } from 'fastify';
import { FallbackBody, IdParams } from '../../protocol/requests.js';
import type { Services } from '../../services.js';

export function fallbackRoutes(app: FastifyInstance, s: Services): void {
  app.post<{ Params: IdParams; Body: FallbackBody }>(
    '/v1/messages/:id/fallback',
    {
      schema: {
        tags: ['fallback'],
        summary: 'Send your message (or a notice) by SMS/e-mail to recipients who have not read it, now',
        params: IdParams,
        body: FallbackBody,
      },
    },
    async (req, reply) => {
      reply.code(202);
      return { results: await s.fallback.command(req.actor, req.params.id, req.body?.accountIds) };
    },
  );
}
