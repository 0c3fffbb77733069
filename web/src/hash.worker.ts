/**
 * Hashes a file off the main thread: SHA-256, streaming, so a 2 GiB file neither blocks the UI
 * nor sits whole in memory. WebCrypto's digest() takes the whole input at once, hence the library.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export type HashRequest = { file: Blob };
export type HashReply = { kind: 'progress'; done: number } | { kind: 'done'; sha256: string } | { kind: 'error'; message: string };

// Big enough that the per-read overhead vanishes, small enough to post progress a few times a second.
const CHUNK = 4 * 1024 * 1024;

// The app's tsconfig has the DOM library, not WebWorker's: type the little of the scope used here.
const scope = self as unknown as { onmessage: ((e: MessageEvent<HashRequest>) => void) | null; postMessage(reply: HashReply): void };

scope.onmessage = async (e) => {
  const { file } = e.data;
  try {
    const hash = sha256.create();
    for (let at = 0; at < file.size; at += CHUNK) {
      hash.update(new Uint8Array(await file.slice(at, at + CHUNK).arrayBuffer()));
      scope.postMessage({ kind: 'progress', done: Math.min(file.size, at + CHUNK) });
    }
    scope.postMessage({ kind: 'done', sha256: bytesToHex(hash.digest()) });
  } catch (err) {
    scope.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
