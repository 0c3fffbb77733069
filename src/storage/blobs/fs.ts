import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, open, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { BlobStore, ByteRange, StagedBlob } from './blob-store.js';

const SHA256 = /^[0-9a-f]{64}$/;

export class TooLargeError extends Error {
  override name = 'TooLargeError';
}

/** Blobs on the local (or a shared) file system: <root>/ab/cd/<sha256>, temporary files in <root>/tmp. */
export class FsBlobStore {
  readonly tempDir: string;

  constructor(readonly root: string) {
    this.tempDir = join(root, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.tempDir, { recursive: true });
  }

  pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
    return join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async stat(sha256: string): Promise<{ size: number } | null> {
    try {
      const s = await stat(this.pathOf(sha256));
      return { size: s.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  read(sha256: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.pathOf(sha256), range ? { start: range.start, end: range.end } : {});
  }

  async readRanges(sha256: string, ranges: ByteRange[]): Promise<Buffer> {
    const handle = await open(this.pathOf(sha256), 'r');
    try {
      const parts: Buffer[] = [];
      for (const r of ranges) {
        const buf = Buffer.alloc(r.length);
        let done = 0;
        while (done < r.length) {
          const { bytesRead } = await handle.read(buf, done, r.length - done, r.offset + done);
          if (bytesRead === 0) throw new Error('range past the end of the file');
          done += bytesRead;
        }
        parts.push(buf);
      }
      return Buffer.concat(parts);
    } finally {
      await handle.close();
    }
  }

  newTempPath(): string {
    return join(this.tempDir, `${Date.now()}-${randomBytes(8).toString('hex')}.part`);
  }

  async stage(source: AsyncIterable<Uint8Array>, maxBytes = Number.MAX_SAFE_INTEGER): Promise<StagedBlob> {
    const path = this.newTempPath();
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > maxBytes) return cb(new TooLargeError(`more than ${maxBytes} bytes`));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(source, tap, createWriteStream(path));
      await this.sync(path);
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    return { path, sha256: hash.digest('hex'), size };
  }

  /** Durable before it becomes visible: a message may point at it right after. */
  async sync(tempPath: string): Promise<void> {
    const handle = await open(tempPath, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async commit(tempPath: string, sha256: string): Promise<'stored' | 'existed'> {
    const target = this.pathOf(sha256);
    await mkdir(dirname(target), { recursive: true });
    try {
      // link() never replaces: the first writer of these bytes wins, later ones find it there.
      await link(tempPath, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return 'existed';
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
      // No hard links here (another file system, some shared mounts): copy beside, then link that.
      const beside = `${target}.${randomBytes(6).toString('hex')}.tmp`;
      await copyFile(tempPath, beside);
      await this.sync(beside);
      try {
        await link(beside, target);
      } catch (err2) {
        if ((err2 as NodeJS.ErrnoException).code === 'EEXIST') return 'existed';
        throw err2;
      } finally {
        await rm(beside, { force: true });
      }
    }
    await syncDir(dirname(target));
    return 'stored';
  }

  async discard(tempPath: string): Promise<void> {
    await rm(tempPath, { force: true });
  }

  async remove(sha256: string): Promise<void> {
    try {
      await unlink(this.pathOf(sha256));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the file itself is synced.
  }
}

/** SHA-256 of the first `length` bytes of a file (the whole file when omitted). */
export async function hashFile(path: string, length?: number): Promise<{ hash: ReturnType<typeof createHash>; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  if (length === 0) return { hash, size };
  const stream = createReadStream(path, length === undefined ? { highWaterMark: 1 << 20 } : { start: 0, end: length - 1, highWaterMark: 1 << 20 });
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash, size };
}

FsBlobStore satisfies new (root: string) => BlobStore;
