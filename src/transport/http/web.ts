import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';

/** Where `npm run build:web` (run by `npm install` and `npm start`) puts the browser app. */
export const defaultWebDist = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** Paths that belong to the API (any version) and operations: never answered with the app's HTML. */
const API_PATHS = /^\/(v\d+|docs)(\/|$)|^\/(healthz|readyz|metrics)(\/|$)/;

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Parley</title>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>Parley is running</h1>
<p>The API is up, but the web app has not been built, so there is nothing to show here yet.</p>
<p>Build it with <code>npm run build:web</code> (<code>npm install</code> and <code>npm start</code> do this by themselves), then reload this page.</p>
<p>Meanwhile: <a href="/docs/json">/docs/json</a> (OpenAPI), <a href="/healthz">/healthz</a>, <a href="/metrics">/metrics</a>.</p>
</body></html>`;

/**
 * Serves the built web app (web/dist) at `/`, with index.html for any other GET path that is not
 * an API path, so the app's own URLs (/c/…, /settings) survive a reload. Without a build, `/`
 * explains how to make one.
 */
export async function webRoutes(app: FastifyInstance, dist = defaultWebDist): Promise<void> {
  const index = join(dist, 'index.html');
  if (!existsSync(index)) {
    app.get('/', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT));
    return;
  }
  await app.register(async (scope) => {
    // The app's files are public; the auth hook lets through routes marked so.
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), public: true } as typeof route.config;
    });
    await scope.register(fastifyStatic, {
      root: dist,
      prefix: '/',
      // One route per built file, listed at start-up, so the catch-all below handles the rest.
      wildcard: false,
      cacheControl: false,
      setHeaders(res, path) {
        // Vite names assets by content hash: they never change. index.html must always be re-checked.
        res.setHeader('cache-control', path.includes(`${join(dist, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    scope.get('/*', { schema: { hide: true } }, async (req, reply) => {
      const path = req.url.split('?')[0] ?? '/';
      // API paths keep their JSON 404; so do missing files (a path with an extension).
      if (API_PATHS.test(path) || /\.[a-z0-9]+$/i.test(path)) throw new AppError('NOT_FOUND', `No route ${req.method} ${path}.`);
      reply.header('cache-control', 'no-cache');
      return reply.sendFile('index.html');
    });
  });
}
