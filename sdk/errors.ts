import type { ErrorCode } from '../src/errors.js';

/** An error answered by the server (HTTP or WebSocket), or NETWORK when it could not be reached. */
export class ParleyError extends Error {
  override name = 'ParleyError';
  constructor(
    readonly code: ErrorCode | 'NETWORK',
    message: string,
    readonly status: number,
    readonly requestId?: string,
    readonly details?: unknown,
  ) {
    super(`${code}: ${message}`);
  }
}
