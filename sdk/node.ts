import WebSocket from 'ws';
import { ParleyClient, type ClientOptions } from './client.js';
import type { WebSocketLike } from './stream.js';

export * from './index.js';

/** A client for Node.js 20+, where WebSocket is not global yet: uses the `ws` package. */
export function createNodeClient(options: ClientOptions): ParleyClient {
  return new ParleyClient({ WebSocket: WebSocket as unknown as new (url: string) => WebSocketLike, ...options });
}
