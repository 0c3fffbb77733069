import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../../scheduler/clock.js';

/**
 * On close (SIGTERM), requests that change something and are already running get up to `maxMs` to
 * finish before the remaining connections are cut, so a client is not left guessing whether its
 * write happened. New requests meanwhile get 503 from Fastify (its routes close first). Reads,
 * long-polls above all, are not waited for: the client simply asks another node.
 */
export function drainWritesOnClose(app: FastifyInstance, clock: Clock, maxMs: number): void {
  const running = new Set<FastifyRequest>();
  app.addHook('onRequest', async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') running.add(req);
  });
  const finished = async (req: FastifyRequest) => {
    running.delete(req);
  };
  app.addHook('onResponse', finished);
  app.addHook('onRequestAbort', finished);
  app.addHook('preClose', async () => {
    const deadline = clock.now() + maxMs;
    while (running.size > 0 && clock.now() < deadline) await new Promise<void>((resolve) => clock.after(20, resolve));
  });
}
