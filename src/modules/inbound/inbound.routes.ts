import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';

/** Callbacks of an HTTP SMS gateway. The signature covers the raw body, so it is kept as bytes. */
export function inboundRoutes(app: FastifyInstance, s: Services): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const schema = { tags: ['channels'], hide: false };
    scope.post('/v1/webhooks/sms/report', { config: { public: true }, schema: { ...schema, summary: 'Delivery report from the HTTP SMS gateway (signed)' } }, async (req, reply) => {
      const answer = s.inbound.gatewayReport({ body: (req.body as Buffer | undefined) ?? Buffer.alloc(0), headers: req.headers });
      return reply.code(answer.status).send(answer.body);
    });
    scope.post('/v1/webhooks/sms/inbound', { config: { public: true }, schema: { ...schema, summary: 'Mobile-originated SMS from the HTTP SMS gateway (signed)' } }, async (req, reply) => {
      const answer = s.inbound.gatewayInbound({ body: (req.body as Buffer | undefined) ?? Buffer.alloc(0), headers: req.headers });
      return reply.code(answer.status).send(answer.body);
    });
  });
}
