import { type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileStore } from '@tus/file-store';
import { ERRORS, Upload } from '@tus/server';
import { hashFile } from '../../storage/blobs/fs.js';

/**
 * The tus data store for uploads in progress: @tus/file-store's files (bytes + a JSON record per
 * upload, so an upload survives a restart), hashed while they are written so that verifying a
 * finished 2 GiB upload does not read it again. The running hash lives in memory; after a
 * restart (or a write that failed midway) it is rebuilt from the bytes on disk before the next write.
 */
export class HashingFileStore extends FileStore {
  private readonly hashes = new Map<string, { hash: Hash; offset: number }>();

  constructor(directory: string) {
    // Expiry is Parley's own durable timer (from the last activity), not tus's (from creation).
    super({ directory, expirationPeriodInMilliseconds: 0 });
  }

  pathOf(id: string): string {
    return join(this.directory, id);
  }

  async createUpload(id: string, size: number, metadata: Record<string, string>): Promise<void> {
    await this.create(new Upload({ id, size, offset: 0, metadata, creation_date: new Date().toISOString() }));
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    let state = this.hashes.get(id);
    this.hashes.delete(id);
    if (!state || state.offset !== offset) {
      const rebuilt = await hashFile(this.pathOf(id), offset);
      state = { hash: rebuilt.hash, offset: rebuilt.size };
      if (state.offset !== offset) throw ERRORS.FILE_WRITE_ERROR;
    }
    const { hash } = state;
    let written = offset;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        written += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(readable, tap, createWriteStream(this.pathOf(id), { flags: 'r+', start: offset }));
    } catch {
      // Part of what was hashed may not be on disk: the next write rebuilds the hash from the file.
      throw ERRORS.FILE_WRITE_ERROR;
    }
    this.hashes.set(id, { hash, offset: written });
    return written;
  }

  /** Hex SHA-256 of the upload's bytes, which must be exactly `size` long; null otherwise. */
  async digest(id: string, size: number): Promise<string | null> {
    const state = this.hashes.get(id);
    if (state && state.offset === size) return state.hash.copy().digest('hex');
    const { hash, size: read } = await hashFile(this.pathOf(id));
    return read === size ? hash.digest('hex') : null;
  }

  /** Bytes received so far, or null when there is no such upload. */
  async offsetOf(id: string): Promise<number | null> {
    try {
      return (await this.getUpload(id)).offset;
    } catch {
      return null;
    }
  }

  /** Deletes an upload's bytes and record; no error when already gone. */
  async discardUpload(id: string): Promise<void> {
    this.hashes.delete(id);
    try {
      await this.remove(id);
    } catch {
      // Already removed (or only one of the two files was left): remove what remains.
      await this.configstore.delete(id).catch(() => {});
    }
  }
}
