import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestServer } from '../support/server.js';
import type { ParleyClient, TransferState } from '../../sdk/index.js';
import { ParleyError, possessionProof } from '../../sdk/index.js';

export interface TestFile {
  bytes: Buffer;
  sha256: string;
  blob: Blob;
}

export function testFile(size: number): TestFile {
  const bytes = randomBytes(size);
  return { bytes, sha256: sha256(bytes), blob: new Blob([bytes]) };
}

export function sha256(bytes: Buffer | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Stored blob rows and files (excluding temporary files and uploads in progress). */
export async function storedBlobs(server: TestServer): Promise<{ rows: string[]; files: string[] }> {
  const rows = (await server.app.services.storage.db.selectFrom('blobs').select('sha256').execute()).map((r) => r.sha256);
  const root = join(server.config.dataDir, 'blobs');
  const files: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && depth < 2 && entry.name !== 'tmp') walk(join(dir, entry.name), depth + 1);
      else if (entry.isFile() && depth === 2) files.push(entry.name);
    }
  };
  walk(root, 0);
  return { rows: rows.sort(), files: files.sort() };
}

/** Files left in the temporary and upload directories. */
export function leftovers(server: TestServer): string[] {
  const out: string[] = [];
  const tmp = join(server.config.dataDir, 'blobs', 'tmp');
  if (!existsSync(tmp)) return out;
  for (const entry of readdirSync(tmp, { withFileTypes: true })) {
    if (entry.isFile()) out.push(entry.name);
    else if (entry.name === 'uploads') out.push(...readdirSync(join(tmp, 'uploads')).map((n) => `uploads/${n}`));
  }
  return out;
}

/** Requests a transfer and answers its challenge with the given bytes; the PROOF_FAILED error's details when refused. */
export async function requestAndProve(
  client: ParleyClient,
  to: string,
  file: { sha256: string; size: number; bytes: Buffer },
  extra: { name?: string; proof?: string } = {},
): Promise<{ first: TransferState; answer: TransferState | ParleyError }> {
  const first = await client.requestTransfer({ sha256: file.sha256, size: file.size, name: extra.name ?? 'file.bin', mime: 'application/octet-stream', to });
  if (first.status !== 'challenge') return { first, answer: first };
  const proof = extra.proof ?? (await possessionProof(new Blob([new Uint8Array(file.bytes)]), first.nonce, first.ranges));
  try {
    return { first, answer: await client.proveTransfer(first.transferId, proof) };
  } catch (err) {
    if (err instanceof ParleyError) return { first, answer: err };
    throw err;
  }
}

export async function expectCode(promise: Promise<unknown>, code: string): Promise<ParleyError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ParleyError && err.code === code) return err;
    throw new Error(`expected ${code}, got ${err instanceof ParleyError ? `${err.code} (${err.message})` : String(err)}`);
  }
  throw new Error(`expected ${code}, but it succeeded`);
}
