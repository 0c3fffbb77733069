import type { FastifyInstance } from 'fastify';
import { AppError, errorBody } from '../../errors.js';
import type { Services } from '../../services.js';
import { bearerToken } from '../http/auth.js';
import type { Metrics } from '../http/metrics.js';
import { StreamSession } from './stream-session.js';

/** WebSocket /v1/stream. Authentication happens in the first frame (browsers cannot set headers). */
export function streamRoute(app: FastifyInstance, s: Services, metrics: Metrics): void {
  const sessions = new Set<StreamSession>();
  const heartbeat = s.clock.every(s.config.heartbeatMs, () => {
    for (const session of sessions) session.heartbeat();
  });
  app.addHook('onClose', async () => heartbeat.cancel());

  app.route({
    method: 'GET',
    url: '/v1/stream',
    config: { public: true },
    schema: { hide: true },
    // A plain GET (no Upgrade header) gets a catalogue error instead of an empty 404.
    handler: async (req, reply) => reply.code(426).header('upgrade', 'websocket').send(errorBody(new AppError('UPGRADE_REQUIRED'), req.id)),
    wsHandler: (socket, req) => {
      const session = new StreamSession(socket, s, metrics, bearerToken(req), req.log, req.ip);
      sessions.add(session);
      socket.on('close', () => sessions.delete(session));
    },
  });
}
