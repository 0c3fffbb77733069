import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';

// ajv-formats ships CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as unknown as FormatsPlugin;

/**
 * Two validators: bodies and frames are strict (a string is not coerced into a number, unknown
 * properties are refused); query strings and path parameters arrive as text and are coerced.
 */
export const strictAjv = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: false });
export const coercingAjv = new Ajv({ allErrors: false, coerceTypes: true, removeAdditional: false, useDefaults: true, strict: false });
addFormats(strictAjv);
addFormats(coercingAjv);

export function compileStrict<T>(schema: TSchema): ValidateFunction<T> {
  return strictAjv.compile<T>(schema);
}

/** One readable line per schema error, e.g. "/text must NOT have more than 8000 characters". */
export function describeErrors(errors: ErrorObject[] | null | undefined): { path: string; message: string }[] {
  return (errors ?? []).slice(0, 10).map((e) => ({
    path: e.instancePath || '/',
    message: e.keyword === 'additionalProperties' ? `unknown property "${(e.params as { additionalProperty: string }).additionalProperty}"` : (e.message ?? 'is invalid'),
  }));
}

/**
 * The path of the first string (value or key) holding a NUL character, if any. PostgreSQL cannot
 * store NUL in text, so such input is refused at the edge for every engine alike.
 */
export function findNul(value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return path || '/';
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (k.includes('\u0000')) return `${path}/${k}`;
        stack.push([child, `${path}/${k}`]);
      }
    }
  }
  return undefined;
}
