import type { FastifyInstance } from 'fastify';
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

  app.get('/v1/stream', { websocket: true, config: { public: true }, schema: { hide: true } }, (socket, req) => {
    const session = new StreamSession(socket, s, metrics, bearerToken(req), req.log);
    sessions.add(session);
    socket.on('close', () => sessions.delete(session));
  });
}
