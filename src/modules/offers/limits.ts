/** The fixed limits of interests and offers (docs/limits.md states them; test/offers/limits-doc.test.ts holds them together). */
export const OFFER_LIMITS = {
  /** JSON characters of one interest's predicate. */
  predicateChars: 8192,
  /** Nesting depth of a predicate (objects and arrays). */
  predicateDepth: 8,
  /** Objects, arrays and values in one predicate. */
  predicateNodes: 500,
  /** JSON characters of an offer's attributes. */
  attributesChars: 16_384,
  /** Sealed data: at least IV (12 bytes) and GCM tag (16 bytes). */
  minCiphertextBytes: 28,
  /** The server's share, and a device's X25519 public key. */
  shareBytes: 32,
} as const;
