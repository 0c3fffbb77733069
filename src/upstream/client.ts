import { Readable } from 'node:stream';
import type { Config } from '../config.js';
import type { Clock } from '../scheduler/clock.js';
import type { BlobStore, ByteRange, StagedBlob } from '../storage/blobs/blob-store.js';

export type UpstreamVerdict = 'ok' | 'mismatch' | 'missing' | 'unavailable';

/**
 * A private node's link to its central node (PARLEY_UPSTREAM_URL), authenticated with the
 * server-to-server credential PARLEY_UPSTREAM_TOKEN. The central checks a user's proof of
 * possession itself, so a private node pulls bytes only for a user who proved they hold them;
 * the pull is verified against the hash before anything is stored. Misses are remembered for
 * PARLEY_UPSTREAM_MISS_TTL_MS (negative cache) so the central is not asked again and again.
 */
export class UpstreamClient {
  private readonly misses = new Map<string, number>();
  private readonly base: string;

  constructor(
    private readonly config: Pick<Config, 'upstreamUrl' | 'upstreamToken' | 'upstreamTimeoutMs' | 'upstreamMissTtlMs'>,
    private readonly clock: Clock,
    private readonly fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis),
  ) {
    this.base = config.upstreamUrl.replace(/\/$/, '');
  }

  /** Whether the negative cache says the upstream lacks these bytes. */
  knownMissing(sha256: string, size: number): boolean {
    const key = `${sha256}:${size}`;
    const until = this.misses.get(key);
    if (until === undefined) return false;
    if (until > this.clock.now()) return true;
    this.misses.delete(key);
    return false;
  }

  private rememberMiss(sha256: string, size: number): void {
    if (this.config.upstreamMissTtlMs <= 0) return;
    // Bounded: the oldest entries go first (Map keeps insertion order).
    if (this.misses.size >= 100_000) this.misses.delete(this.misses.keys().next().value!);
    this.misses.set(`${sha256}:${size}`, this.clock.now() + this.config.upstreamMissTtlMs);
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.config.upstreamToken}` };
  }

  /** Asks the central whether `proof` answers the challenge for the bytes it holds. */
  async verify(sha256: string, size: number, nonce: string, ranges: ByteRange[], proof: string): Promise<UpstreamVerdict> {
    if (this.knownMissing(sha256, size)) return 'missing';
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}/v1/peer/blobs/${sha256}/verify`, {
        method: 'POST',
        headers: { ...this.headers(), 'content-type': 'application/json' },
        body: JSON.stringify({ size, nonce, ranges, proof }),
        signal: AbortSignal.timeout(this.config.upstreamTimeoutMs),
      });
    } catch {
      return 'unavailable';
    }
    const body = (await res.json().catch(() => undefined)) as { ok?: boolean; error?: { code?: string } } | undefined;
    if (res.ok) return body?.ok === true ? 'ok' : 'mismatch';
    if (res.status === 404 && body?.error?.code === 'BLOB_NOT_FOUND') {
      this.rememberMiss(sha256, size);
      return 'missing';
    }
    if (res.status === 403 && body?.error?.code === 'PROOF_FAILED') return 'mismatch';
    return 'unavailable';
  }

  /**
   * Downloads the bytes into a staged temporary file and checks size and hash; null when the
   * upstream cannot deliver them or they do not match (the staged file is then removed).
   */
  async pull(sha256: string, size: number, blobs: BlobStore): Promise<StagedBlob | null> {
    const controller = new AbortController();
    // The timeout covers the answer's start; a large body may take longer while it keeps coming.
    const timer = this.clock.after(this.config.upstreamTimeoutMs, () => controller.abort());
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}/v1/peer/blobs/${sha256}`, { headers: this.headers(), signal: controller.signal });
    } catch {
      timer.cancel();
      return null;
    } finally {
      timer.cancel();
    }
    if (!res.ok || !res.body) {
      if (res.status === 404) this.rememberMiss(sha256, size);
      await res.body?.cancel().catch(() => {});
      return null;
    }
    let staged: StagedBlob;
    try {
      staged = await blobs.stage(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), size);
    } catch {
      return null;
    }
    if (staged.sha256 !== sha256 || staged.size !== size) {
      await blobs.discard(staged.path);
      return null;
    }
    return staged;
  }
}
