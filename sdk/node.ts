import { createHash } from 'node:crypto';
import { createReadStream, openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import WebSocket from 'ws';
import { ParleyClient, type ClientOptions, type DeliveredTransfer, type SendFileOptions } from './client.js';
import type { WebSocketLike } from './stream.js';

export * from './index.js';
export { verifyWebhook, signWebhook, SIGNATURE_HEADER, type SignatureCheck } from '../src/protocol/webhook-signature.js';

/** A client for Node.js 20+, where WebSocket is not global yet: uses the `ws` package. */
export function createNodeClient(options: ClientOptions): ParleyClient {
  return new ParleyClient({ WebSocket: WebSocket as unknown as new (url: string) => WebSocketLike, ...options });
}

/** Streaming SHA-256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A Blob backed by the file on disk (read lazily), for sendFile/upload. */
export function fileBlob(path: string, mime?: string): Promise<Blob> {
  return openAsBlob(path, mime ? { type: mime } : undefined);
}

/** Hashes the file at `path` and sends it through `client` (whichever node its baseUrl names). */
export async function sendFileFromPath(client: ParleyClient, conversationId: string, path: string, options: Partial<SendFileOptions> = {}): Promise<DeliveredTransfer> {
  const blob = await fileBlob(path, options.mime);
  const sha256 = options.sha256 ?? (await sha256File(path));
  return client.sendFile(conversationId, blob, { ...options, sha256, name: options.name ?? basename(path) });
}
