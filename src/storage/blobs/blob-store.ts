import type { Readable } from 'node:stream';

/** Bytes staged in a temporary file, hashed while written; `commit` moves them under their hash. */
export interface StagedBlob {
  path: string;
  sha256: string;
  size: number;
}

export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * Content-addressed file storage: each file is stored once, under its SHA-256, and never changes.
 * Writers stage bytes in a temporary file on the same file system and commit it by hash, so a
 * reader never sees a partial file and two writers of the same bytes store one copy.
 */
export interface BlobStore {
  /** Directory for temporary files (uploads in progress live under it too: same file system, so commits are renames/links). */
  readonly tempDir: string;
  /** Size of the stored file, or null when it is not stored. */
  stat(sha256: string): Promise<{ size: number } | null>;
  /** Streams the stored file, or a part of it (`end` inclusive). */
  read(sha256: string, range?: { start: number; end: number }): Readable;
  /** The bytes of each range, concatenated (for proofs of possession). */
  readRanges(sha256: string, ranges: ByteRange[]): Promise<Buffer>;
  /** Writes a stream to a new temporary file, hashing it on the way; stops with an error past `maxBytes`. */
  stage(source: AsyncIterable<Uint8Array>, maxBytes?: number): Promise<StagedBlob>;
  /** Flushes a temporary file to disk (stage() does it itself); call before commit, outside any transaction. */
  sync(tempPath: string): Promise<void>;
  /**
   * Makes a verified, synced temporary file the stored copy of `sha256` (a link: cheap, so it may
   * run inside a transaction). When the hash is already stored nothing is overwritten. The
   * temporary file is left for the caller to remove.
   */
  commit(tempPath: string, sha256: string): Promise<'stored' | 'existed'>;
  /** Removes a temporary file (no error when absent). */
  discard(tempPath: string): Promise<void>;
  /** Deletes the stored file (no error when absent). */
  remove(sha256: string): Promise<void>;
}
