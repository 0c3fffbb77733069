import type { FastifyInstance } from 'fastify';
import { ClickBody, CreateServiceBody, DoneBody, ProgressBody, PullBody, ReplyBody, ServiceParams, TaskParams, UpdateServiceBody } from '../../protocol/services.js';
import type { Services } from '../../services.js';

/**
 * Service accounts over HTTP. Reply, progress and done are authenticated by the request's reply
 * token alone (in the body), so a webhook receiver needs no other credential to answer later.
 */
export function servicesRoutes(app: FastifyInstance, s: Services): void {
  const tags = ['services'];
  app.post<{ Body: CreateServiceBody }>(
    '/v1/services',
    { schema: { tags, summary: 'Create a service account (administrators): profile, menu, handler, set time, reply window; answers its token once', body: CreateServiceBody } },
    async (req, reply) => reply.code(201).send(await s.serviceAccounts.create(req.actor, req.body)),
  );
  app.get('/v1/services', { schema: { tags, summary: 'Service accounts: profile and menu' } }, async () => ({ services: await s.serviceAccounts.list() }));
  app.get<{ Params: ServiceParams }>('/v1/services/:ref', { schema: { tags, summary: 'One service (id or handle): profile and menu; its handler for administrators', params: ServiceParams } }, async (req) => ({
    service: await s.serviceAccounts.get(req.actor, req.params.ref),
  }));
  app.patch<{ Params: ServiceParams; Body: UpdateServiceBody }>(
    '/v1/services/:ref',
    { schema: { tags, summary: 'Edit a service (administrators): profile, menu, handler, set time, limits; only the fields given change', params: ServiceParams, body: UpdateServiceBody } },
    async (req) => s.serviceAccounts.update(req.actor, req.params.ref, req.body),
  );
  app.post<{ Params: ServiceParams }>(
    '/v1/services/:ref/token',
    { schema: { tags, summary: 'Rotate the service\'s token (administrators): answers the new one once; earlier ones stop working and their sockets close', params: ServiceParams } },
    async (req) => s.serviceAccounts.rotateToken(req.actor, req.params.ref),
  );
  app.post<{ Params: ServiceParams; Body: ClickBody }>(
    '/v1/services/:ref/clicks',
    { schema: { tags, summary: 'Click a menu item: a request, acknowledged on your stream (task.ack) and answered in your chat with the service', params: ServiceParams, body: ClickBody } },
    async (req, reply) => reply.code(202).send({ task: await s.serviceAccounts.click(req.actor, req.params.ref, req.body) }),
  );
  app.get<{ Params: ServiceParams }>('/v1/services/:ref/stats', { schema: { tags, summary: 'Queue depth, acknowledgement latency, processing time, failures (administrators, the service)', params: ServiceParams } }, async (req) =>
    s.serviceAccounts.stats(req.actor, req.params.ref),
  );
  app.get<{ Params: ServiceParams }>('/v1/services/:ref/dead-letters', { schema: { tags, summary: 'Requests whose handler kept failing (administrators, the service)', params: ServiceParams } }, async (req) => ({
    tasks: await s.serviceAccounts.deadLetters(req.actor, req.params.ref),
  }));

  app.post<{ Body: PullBody }>(
    '/v1/tasks/pull',
    { schema: { tags, summary: 'Workers (service token): lease waiting requests, long-polling up to waitMs', body: PullBody } },
    async (req, reply) => {
      const aborted = new AbortController();
      reply.raw.once('close', () => aborted.abort());
      return { tasks: await s.serviceAccounts.pull(req.actor, req.body, aborted.signal) };
    },
  );
  app.get<{ Params: TaskParams }>('/v1/tasks/:id', { schema: { tags, summary: 'A request (its user, its service, administrators)', params: TaskParams } }, async (req) => ({
    task: await s.serviceAccounts.task(req.actor, req.params.id),
  }));
  app.post<{ Params: TaskParams }>('/v1/tasks/:id/retry', { schema: { tags, summary: 'Put a dead-lettered request back in the queue (administrators, the service)', params: TaskParams } }, async (req) => ({
    task: await s.serviceAccounts.retry(req.actor, req.params.id),
  }));
  app.post<{ Params: TaskParams; Body: ReplyBody }>(
    '/v1/tasks/:id/replies',
    { config: { public: true }, schema: { tags, summary: 'Second reply with the reply token: a message from the service in the user\'s chat; done: true finishes the request', params: TaskParams, body: ReplyBody, security: [] } },
    async (req, reply) => reply.code(201).send(await s.serviceAccounts.reply(req.params.id, req.body)),
  );
  app.post<{ Params: TaskParams; Body: ProgressBody }>(
    '/v1/tasks/:id/progress',
    { config: { public: true }, schema: { tags, summary: 'Report progress (task.progress to the user); extends the lease', params: TaskParams, body: ProgressBody, security: [] } },
    async (req, reply) => {
      await s.serviceAccounts.progress(req.params.id, req.body);
      return reply.code(204).send();
    },
  );
  app.post<{ Params: TaskParams; Body: DoneBody }>(
    '/v1/tasks/:id/done',
    { config: { public: true }, schema: { tags, summary: 'Finish the request (task.done to the user)', params: TaskParams, body: DoneBody, security: [] } },
    async (req) => ({ task: await s.serviceAccounts.done(req.params.id, req.body.token) }),
  );
}
