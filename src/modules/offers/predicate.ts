import sift from 'sift';
import { AppError } from '../../errors.js';
import { OFFER_LIMITS } from './limits.js';

export type Predicate = Record<string, unknown>;
export type Attributes = Record<string, unknown>;
export type Tester = (attributes: Attributes) => boolean;

/** The term every interest without an equality term is filed under: each offer looks there too. */
export const MATCH_ALL = '*';

// Only operators that run in bounded time on bounded input. $where/$function run code, $regex can
// backtrack catastrophically on a crafted pattern, $expr/$jsonSchema are not what sift implements.
const FIELD_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$all', '$size', '$elemMatch', '$not', '$type', '$mod']);
const LOGICAL_OPERATORS = new Set(['$and', '$or', '$nor']);
const MAX_DEPTH = OFFER_LIMITS.predicateDepth;
const MAX_NODES = OFFER_LIMITS.predicateNodes;

const isScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const compileSift = sift as unknown as (query: unknown) => (value: unknown) => boolean;

/** An equality term as both interests and offers spell it: `a:<path>=<JSON value>` or `t:<tag>`. */
export const attributeTerm = (path: string, value: string | number | boolean): string => `a:${path}=${JSON.stringify(value)}`;
export const tagTerm = (tag: string): string => `t:${tag}`;

/**
 * Checks a predicate against the operator allow-list and compiles it. Every failure is
 * INVALID_PREDICATE with the offending path, never an exception from sift.
 */
export function compilePredicate(predicate: unknown): Tester {
  if (!isPlainObject(predicate)) throw invalid('', 'the predicate must be an object');
  let nodes = 0;
  const walk = (value: unknown, path: string, depth: number): void => {
    if (++nodes > MAX_NODES) throw invalid(path, `more than ${MAX_NODES} nodes`);
    if (depth > MAX_DEPTH) throw invalid(path, `nested deeper than ${MAX_DEPTH}`);
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}[${i}]`, depth + 1));
    if (!isPlainObject(value)) return;
    for (const [key, inner] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      if (key.startsWith('$')) {
        if (LOGICAL_OPERATORS.has(key)) {
          if (!Array.isArray(inner) || inner.length === 0 || !inner.every(isPlainObject)) throw invalid(at, `${key} takes a non-empty array of predicates`);
        } else if (!FIELD_OPERATORS.has(key)) {
          throw invalid(at, `unknown or disallowed operator ${key}`);
        }
        if ((key === '$in' || key === '$nin' || key === '$all') && !Array.isArray(inner)) throw invalid(at, `${key} takes an array`);
      } else if (key.length === 0) {
        throw invalid(at, 'empty field name');
      }
      walk(inner, at, depth + 1);
    }
  };
  walk(predicate, '', 0);
  try {
    const test = compileSift(predicate);
    test({});
  } catch (err) {
    throw invalid('', (err as Error).message);
  }
  return compileStored(predicate);
}

/**
 * Compiles a predicate already checked by compilePredicate. sift takes ~30 µs to compile one, which
 * at a million stored interests (most candidates not in any cache) dominated matching; the common
 * shape — fields compared with scalars by equality, ranges and $in — gets a closure that decides
 * exactly as sift does whenever the attribute it reads is a scalar or absent, and hands the
 * evaluation to sift (compiled on first need) when it meets an array or an object there.
 */
export function compileStored(predicate: Record<string, unknown>): Tester {
  let full: Tester | undefined;
  const viaSift: Tester = (attributes) => (full ??= compileSift(predicate))(attributes);
  const checks = fastChecks(predicate);
  if (!checks) return viaSift;
  return (attributes) => {
    for (const check of checks) {
      const value = resolve(attributes, check.path);
      if (value === DEFER) return viaSift(attributes);
      if (!check.test(value as Scalar | undefined)) return false;
    }
    return true;
  };
}

type Scalar = string | number | boolean | null;
const DEFER = Symbol('defer to sift');
const RANGE: Record<string, (a: string | number, b: string | number) => boolean> = {
  $gt: (a, b) => a > b,
  $gte: (a, b) => a >= b,
  $lt: (a, b) => a < b,
  $lte: (a, b) => a <= b,
};

function fastChecks(predicate: Record<string, unknown>): { path: string[]; test: (v: Scalar | undefined) => boolean }[] | null {
  const checks: { path: string[]; test: (v: Scalar | undefined) => boolean }[] = [];
  for (const [key, condition] of Object.entries(predicate)) {
    if (key.startsWith('$') || !indexablePath(key)) return null;
    const path = key.split('.');
    if (isScalar(condition)) {
      checks.push({ path, test: (v) => v === condition });
      continue;
    }
    if (!isPlainObject(condition) || Object.keys(condition).length === 0) return null;
    for (const [op, operand] of Object.entries(condition)) {
      if (op === '$eq' && isScalar(operand)) checks.push({ path, test: (v) => v === operand });
      else if (op === '$in' && Array.isArray(operand) && operand.every(isScalar)) {
        const set = new Set<unknown>(operand);
        checks.push({ path, test: (v) => v !== undefined && set.has(v) });
      } else if (op in RANGE && (typeof operand === 'string' || (typeof operand === 'number' && Number.isFinite(operand)))) {
        // sift compares only values of the operand's type.
        const cmp = RANGE[op]!;
        checks.push({ path, test: (v) => typeof v === typeof operand && cmp(v as string | number, operand) });
      } else return null;
    }
  }
  return checks;
}

function resolve(attributes: Attributes, path: string[]): Scalar | undefined | typeof DEFER {
  let at: unknown = attributes;
  for (const segment of path) {
    if (Array.isArray(at)) return DEFER;
    if (!isPlainObject(at)) return undefined;
    at = Object.hasOwn(at, segment) ? at[segment] : undefined;
  }
  if (at === undefined || at === null || isScalar(at)) return at as Scalar | undefined;
  return DEFER;
}

function invalid(path: string, why: string): AppError {
  return new AppError('INVALID_PREDICATE', `The predicate is not valid${path ? ` at ${path}` : ''}: ${why}.`, { path, reason: why });
}

/**
 * Terms an offer must carry one of for the predicate to possibly match it. An empty result means
 * "no such guarantee": the interest goes to the match-all bucket. Sound by construction: a
 * conjunction needs any one conjunct's terms, a disjunction needs every branch to give some.
 */
export function requiredTerms(predicate: Predicate): string[] {
  let best: string[] = [];
  const consider = (terms: string[]) => {
    if (terms.length > 0 && (best.length === 0 || terms.length < best.length)) best = terms;
  };
  for (const [key, value] of Object.entries(predicate)) {
    if (key === '$and') for (const branch of value as Predicate[]) consider(requiredTerms(branch));
    else if (key === '$or') {
      const branches = (value as Predicate[]).map(requiredTerms);
      if (branches.every((b) => b.length > 0)) consider([...new Set(branches.flat())]);
    } else if (!key.startsWith('$') && indexablePath(key)) consider(fieldTerms(key, value));
  }
  return best;
}

// A numeric segment addresses an array position, which offerTerms does not spell out.
const indexablePath = (path: string): boolean => path.split('.').every((segment) => segment.length > 0 && !/^\d+$/.test(segment));

function fieldTerms(path: string, condition: unknown): string[] {
  if (isScalar(condition)) return [attributeTerm(path, condition)];
  if (!isPlainObject(condition)) return [];
  const keys = Object.keys(condition);
  // Plain sub-documents compare whole: not an operator object, no term.
  if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) return [];
  let best: string[] = [];
  const eq = condition.$eq;
  if (isScalar(eq)) best = [attributeTerm(path, eq)];
  const anyOf = condition.$in;
  if (best.length === 0 && Array.isArray(anyOf) && anyOf.length > 0 && anyOf.every(isScalar)) best = [...new Set(anyOf.map((v) => attributeTerm(path, v)))];
  const all = condition.$all;
  if (best.length === 0 && Array.isArray(all) && all.length > 0 && isScalar(all[0])) best = [attributeTerm(path, all[0])];
  return best;
}

/** Every term an offer carries: each scalar at each dotted path (arrays contribute each element), and its tags. */
export function offerTerms(attributes: Attributes, tags: string[]): string[] {
  const terms = new Set<string>([MATCH_ALL]);
  const walk = (value: unknown, path: string, depth: number) => {
    if (depth > MAX_DEPTH) return;
    if (isScalar(value)) {
      if (path) terms.add(attributeTerm(path, value));
    } else if (Array.isArray(value)) {
      for (const v of value) walk(v, path, depth + 1);
    } else if (isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k, depth + 1);
    }
  };
  walk(attributes, '', 0);
  for (const tag of tags) terms.add(tagTerm(tag));
  return [...terms];
}

/** Terms an interest is filed under: one of its tags if it has any (the offer must carry them all), else its predicate's. */
export function interestTerms(tags: string[], predicate: Predicate): string[] {
  if (tags.length > 0) return [tagTerm(tags[0]!)];
  const terms = requiredTerms(predicate);
  return terms.length > 0 ? terms : [MATCH_ALL];
}

/** The full check a candidate must pass: all its tags on the offer, its predicate true of the attributes. */
export function interestMatches(interestTags: string[], test: Tester, offerTags: ReadonlySet<string>, attributes: Attributes): boolean {
  return interestTags.every((t) => offerTags.has(t)) && test(attributes);
}
