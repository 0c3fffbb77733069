import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { ByteRange } from '../../protocol/views.js';

/**
 * Proof of possession: the server names a fresh nonce and k random byte ranges of the file; the
 * client answers SHA-256(nonce bytes ‖ bytes of range 1 ‖ … ‖ bytes of range k) in hex. Knowing
 * the hash alone cannot answer it, so a hash never buys the file (the "Dropship" attack).
 */
export function newChallenge(size: number, count: number, rangeBytes: number): { nonce: string; ranges: ByteRange[] } {
  const nonce = randomBytes(32).toString('hex');
  if (size <= count * rangeBytes) return { nonce, ranges: [{ offset: 0, length: size }] };
  const ranges: ByteRange[] = [];
  for (let i = 0; i < count; i++) {
    // randomInt takes a max below 2^48, which bounds files at 256 TiB: far above any limit here.
    ranges.push({ offset: randomInt(0, size - rangeBytes + 1), length: rangeBytes });
  }
  ranges.sort((a, b) => a.offset - b.offset);
  return { nonce, ranges };
}

export function proofOf(nonce: string, rangeBytes: Buffer): string {
  return createHash('sha256').update(Buffer.from(nonce, 'hex')).update(rangeBytes).digest('hex');
}

export function sameProof(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(given, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function rangesWithin(ranges: ByteRange[], size: number): boolean {
  return ranges.every((r) => r.offset + r.length <= size);
}
