import type { FastifyInstance } from 'fastify';
import { AckBody, EventsQuery } from '../../protocol/requests.js';
import type { Services } from '../../services.js';
import { longPoll } from './long-poll.js';

export function eventsRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['stream'];
  app.get<{ Querystring: EventsQuery }>(
    '/v1/events',
    {
      schema: {
        tags,
        summary: 'The event stream over HTTP (long-poll): events after `after` (default: this device’s acknowledged seq)',
        querystring: EventsQuery,
      },
    },
    async (req, reply) => {
      const after = req.query.after ?? (await s.accounts.listDevices(req.actor)).find((d) => d.current)?.ackedSeq ?? 0;
      const timeout = Math.min(req.query.timeout ?? 0, s.config.longPollMaxMs);
      const aborted = new AbortController();
      // The response's close fires when the client goes away before we answer.
      reply.raw.once('close', () => aborted.abort());
      const events = await longPoll(s, req.actor, after, req.query.limit ?? 100, timeout, aborted.signal);
      return { events, headSeq: await s.events.head(req.actor.accountId) };
    },
  );
  app.post<{ Body: AckBody }>('/v1/events/ack', { schema: { tags, summary: 'Acknowledge every event up to `seq` on this device (marks messages delivered)', body: AckBody } }, async (req) =>
    s.receipts.ack(req.actor, req.body.seq),
  );
}
