import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import { AppError, errorBody, type ErrorCode } from '../../errors.js';
import { accountsRoutes } from '../../modules/accounts/index.js';
import { conversationsRoutes } from '../../modules/conversations/index.js';
import { eventsRoutes } from '../../modules/events/index.js';
import { fallbackRoutes } from '../../modules/fallback/index.js';
import { filesRoutes } from '../../modules/files/index.js';
import { inboundRoutes } from '../../modules/inbound/index.js';
import { messagingRoutes } from '../../modules/messaging/index.js';
import { offersRoutes } from '../../modules/offers/index.js';
import { ordersRoutes } from '../../modules/orders/index.js';
import { outboxRoutes } from '../../modules/outbox/index.js';
import { receiptsRoutes } from '../../modules/receipts/index.js';
import { servicesRoutes } from '../../modules/services/index.js';
import { CloseCodes } from '../../protocol/frames.js';
import { coercingAjv, describeErrors, findNul, strictAjv } from '../../protocol/validate.js';
import type { Services } from '../../services.js';
import { streamRoute } from '../ws/stream.js';
import { bearerToken } from './auth.js';
import { drainWritesOnClose } from './drain.js';
import { createMetrics } from './metrics.js';
import { webRoutes } from './web.js';

/** How long a stopping node lets running writes finish. */
const DRAIN_MS = 10_000;

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
};

/** Maps anything thrown in a route to one catalogue error; unknown errors become INTERNAL. */
export function toAppError(err: FastifyError | Error): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError;
  if (fe.validation) return new AppError('VALIDATION_FAILED', `${fe.validationContext ?? 'request'} ${describeErrors(fe.validation as never)[0]?.message ?? 'is invalid'}`, describeErrors(fe.validation as never));
  if (fe.code && FASTIFY_CODES[fe.code]) return new AppError(FASTIFY_CODES[fe.code]!);
  if (err instanceof SyntaxError && fe.statusCode === 400) return new AppError('INVALID_JSON');
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new AppError(fe.statusCode === 405 ? 'METHOD_NOT_ALLOWED' : 'BAD_REQUEST', fe.message);
  return new AppError('INTERNAL');
}

export async function buildHttpServer(s: Services): Promise<FastifyInstance> {
  const metrics = createMetrics();
  for (const metric of Object.values(s.serviceAccounts.metrics)) metrics.registry.registerMetric(metric);
  const app = Fastify({
    logger: s.config.logLevel === 'silent' ? false : { level: s.config.logLevel },
    bodyLimit: s.config.maxBodyBytes,
    genReqId: () => randomUUID(),
    // Per-request logs only when debugging: at chat volumes they would drown everything else.
    logController: new LogController({ disableRequestLogging: s.config.logLevel !== 'debug' && s.config.logLevel !== 'trace' }),
    forceCloseConnections: true,
  });

  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema));
  app.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err as FastifyError);
    if (appError.code === 'INTERNAL') req.log.error({ err, requestId: req.id }, 'unhandled error');
    return reply.code(appError.status).send(errorBody(appError, req.id));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody(new AppError('NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}.`), req.id)));

  // Fastify parses text/plain by default; Parley speaks JSON only, so that is a 415 like any other type.
  app.removeContentTypeParser('text/plain');
  app.addHook('preValidation', async (req) => {
    for (const [part, value] of [['body', req.body], ['params', req.params], ['querystring', req.query]] as const) {
      const path = findNul(value);
      if (path !== undefined) throw new AppError('VALIDATION_FAILED', `${part} must not contain NUL characters`, [{ path, message: 'must not contain NUL characters' }]);
    }
  });

  app.decorateRequest('actor', null as never);
  app.decorateRequest('actorIfAny', undefined);
  app.addHook('preHandler', async (req) => {
    const config = req.routeOptions.config;
    if (config.public || req.routeOptions.url === undefined) return;
    // Service requests record when and from where they came (their set time runs from here).
    const origin = { ip: req.ip, receivedAt: s.clock.now() };
    if (config.optionalAuth) {
      const token = bearerToken(req);
      if (token) req.actorIfAny = { ...(await s.accounts.authenticate(token)), origin };
      return;
    }
    req.actor = { ...(await s.accounts.authenticate(bearerToken(req))), origin };
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpDuration.labels(req.method, req.routeOptions.url ?? 'unmatched', String(reply.statusCode)).observe(reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Parley API', version: '0.1.0', description: 'Messaging with delivery/read receipts. Errors: { error: { code, message, requestId } }.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  drainWritesOnClose(app, s.clock, DRAIN_MS);
  await app.register(websocket, {
    options: { maxPayload: s.config.maxFrameBytes },
    // Going away (1001) tells clients to reconnect, possibly to another node, and resume.
    preClose(done) {
      for (const client of app.websocketServer.clients) client.close(CloseCodes.goingAway, 'server shutting down');
      app.websocketServer.close();
      done();
    },
  });

  app.get('/healthz', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    try {
      await s.storage.db.selectFrom('streams').select('account_id').limit(1).execute();
      return { status: 'ready', engine: s.storage.engine };
    } catch {
      return reply.code(503).send(errorBody(new AppError('UNAVAILABLE', 'The database is unreachable.')));
    }
  });
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    metrics.wsConnections.set(s.hub.connectionCount());
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get('/docs/json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  await webRoutes(app);

  accountsRoutes(app, s);
  conversationsRoutes(app, s);
  messagingRoutes(app, s);
  receiptsRoutes(app, s);
  eventsRoutes(app, s);
  outboxRoutes(app, s);
  fallbackRoutes(app, s);
  inboundRoutes(app, s);
  filesRoutes(app, s);
  servicesRoutes(app, s);
  offersRoutes(app, s);
  ordersRoutes(app, s);
  streamRoute(app, s, metrics);
  return app;
}
