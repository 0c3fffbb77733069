import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { INTEREST_SWEEP_MS } from '../../src/modules/offers/index.js';
import { OFFER_LIMITS } from '../../src/modules/offers/limits.js';

/** docs/limits.md states the offers limits; these are the numbers the code enforces. */
describe('docs/limits.md, offers section', () => {
  const doc = readFileSync(new URL('../../docs/limits.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Offers, interests and vouchers'));
  const row = (start: string) => section.split('\n').find((line) => line.startsWith(`| ${start}`)) ?? '';
  const { config } = loadConfig({}, {});

  it('states the fixed predicate, attribute and key limits the code enforces', () => {
    expect(row('interest predicate size')).toContain(`${OFFER_LIMITS.predicateChars} characters`);
    expect(row('interest predicate shape')).toContain(`nesting depth ${OFFER_LIMITS.predicateDepth}, ${OFFER_LIMITS.predicateNodes} nodes`);
    expect(row('offer attributes')).toContain(`${OFFER_LIMITS.attributesChars} characters`);
    expect(row('sealed data')).toContain(`at least ${OFFER_LIMITS.minCiphertextBytes} bytes`);
    expect(row('sealed data')).toContain(`exactly ${OFFER_LIMITS.shareBytes} bytes`);
    expect(row('device public key')).toContain(`${OFFER_LIMITS.shareBytes}-byte`);
    expect(row('expired interests')).toContain(`every ${INTEREST_SWEEP_MS / 60_000} minutes`);
  });

  it('states the configurable defaults', () => {
    expect(row('interests per account')).toContain(`${config.offerMaxInterests} (`);
    expect(row('sealed data')).toContain(`at most ${config.offerMaxDataBytes / (1024 * 1024)} MiB`);
  });
});
