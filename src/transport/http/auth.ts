import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../lib/actor.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set on every route not marked public. */
    actor: Actor;
    /** Set on routes with optionalAuth when a valid token was sent. */
    actorIfAny: Actor | undefined;
  }
  interface FastifyContextConfig {
    /** No token needed (login, health…). */
    public?: boolean;
    /** A token is used if present (registration by an admin) but not required. */
    optionalAuth?: boolean;
  }
}

export function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
