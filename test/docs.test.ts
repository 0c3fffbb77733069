import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigDoc } from '../scripts/gen-config-doc.js';
import { renderErrorsDoc } from '../scripts/gen-errors-doc.js';
import { settings } from '../src/config.js';
import { errorCatalogue } from '../src/errors.js';

/** The reference pages are generated from the code; these tests keep them from drifting apart. */

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

/** The table row of docs/configuration.md or docs/errors.md whose first cell is `key`. */
function row(doc: string, key: string): string | undefined {
  return doc.split('\n').find((line) => line.startsWith(`| \`${key}\` |`));
}

describe('docs/configuration.md', () => {
  const doc = read('docs/configuration.md');

  it('lists every setting with its environment variable, file key and default', () => {
    for (const [name, spec] of Object.entries(settings)) {
      const line = row(doc, spec.env);
      expect(line, `no row for ${spec.env}: run npm run docs:config`).toBeDefined();
      expect(line).toContain(`\`${name}\``);
      const shown = spec.default === '' ? '""' : String(spec.default);
      expect(line, `${spec.env} should show the default ${shown}: run npm run docs:config`).toContain(`\`${shown}\``);
    }
  });

  it('is exactly what scripts/gen-config-doc.ts prints (run npm run docs:config)', () => {
    expect(doc === renderConfigDoc(), 'docs/configuration.md is stale: run npm run docs:config').toBe(true);
  });
});

describe('docs/errors.md', () => {
  const doc = read('docs/errors.md');

  it('lists every error code with its HTTP status', () => {
    for (const [code, { status }] of Object.entries(errorCatalogue)) {
      const line = row(doc, code);
      expect(line, `no row for ${code}: run npm run docs:errors`).toBeDefined();
      expect(line).toContain(`| ${status} |`);
    }
  });

  it('is exactly what scripts/gen-errors-doc.ts prints (run npm run docs:errors)', () => {
    expect(doc === renderErrorsDoc(), 'docs/errors.md is stale: run npm run docs:errors').toBe(true);
  });
});
