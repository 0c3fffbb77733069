import type { FastifyInstance } from 'fastify';
import { EditMessageBody, HistoryQuery, IdParams, SendMessageBody } from '../../protocol/requests.js';
import type { Services } from '../../services.js';

export function messagingRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['messages'];
  app.post<{ Params: IdParams; Body: SendMessageBody }>(
    '/v1/conversations/:id/messages',
    { schema: { tags, summary: 'Send a message; 201 when stored ("sent"), 200 when the clientId was already used for it', params: IdParams, body: SendMessageBody } },
    async (req, reply) => {
      const { message, created } = await s.messaging.send(req.actor, req.params.id, req.body);
      reply.code(created ? 201 : 200);
      return { message };
    },
  );
  app.get<{ Params: IdParams; Querystring: HistoryQuery }>(
    '/v1/conversations/:id/messages',
    { schema: { tags, summary: 'History page: newest by default, `before`/`after` cursors page in either direction', params: IdParams, querystring: HistoryQuery } },
    async (req) => s.messaging.history(req.actor, req.params.id, req.query),
  );
  app.get<{ Params: IdParams }>('/v1/messages/:id', { schema: { tags, params: IdParams } }, async (req) => ({ message: await s.messaging.get(req.actor, req.params.id) }));
  app.patch<{ Params: IdParams; Body: EditMessageBody }>('/v1/messages/:id', { schema: { tags, summary: 'Edit your message', params: IdParams, body: EditMessageBody } }, async (req) => ({
    message: await s.messaging.edit(req.actor, req.params.id, req.body.text),
  }));
  app.delete<{ Params: IdParams }>('/v1/messages/:id', { schema: { tags, summary: 'Delete your message for everyone (tombstone)', params: IdParams } }, async (req, reply) => {
    await s.messaging.delete(req.actor, req.params.id);
    return reply.code(204).send();
  });
}
