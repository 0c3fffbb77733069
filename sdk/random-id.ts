/**
 * A random id for idempotency keys. `crypto.randomUUID` exists only in secure contexts (https or
 * localhost); a page served over plain http on a LAN address still has `getRandomValues`.
 */
export function randomId(): string {
  if (typeof globalThis.crypto.randomUUID === 'function') return globalThis.crypto.randomUUID();
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
