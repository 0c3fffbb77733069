import type { ErrorCode } from '../src/errors.js';

/**
 * An error answered by the server (HTTP or WebSocket), NETWORK when it could not be reached, or
 * from a request to a service account: ACK_TIMEOUT (no acknowledgement within its set time) and
 * TASK_FAILED (the server answered task.failed).
 */
export class ParleyError extends Error {
  override name = 'ParleyError';
  constructor(
    readonly code: ErrorCode | 'NETWORK' | 'ACK_TIMEOUT' | 'TASK_FAILED',
    message: string,
    readonly status: number,
    readonly requestId?: string,
    readonly details?: unknown,
  ) {
    super(`${code}: ${message}`);
  }
}
