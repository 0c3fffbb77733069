import sift from 'sift';
import { AppError } from '../../errors.js';

export type Predicate = Record<string, unknown>;
export type Attributes = Record<string, unknown>;
export type Tester = (attributes: Attributes) => boolean;

/** The term every interest without an equality term is filed under: each offer looks there too. */
export const MATCH_ALL = '*';

// Only operators that run in bounded time on bounded input. $where/$function run code, $regex can
// backtrack catastrophically on a crafted pattern, $expr/$jsonSchema are not what sift implements.
const FIELD_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$all', '$size', '$elemMatch', '$not', '$type', '$mod']);
const LOGICAL_OPERATORS = new Set(['$and', '$or', '$nor']);
const MAX_DEPTH = 8;
const MAX_NODES = 500;

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
  const walk = (value: unknown, path: string, depth: number, inOperator: boolean): void => {
    if (++nodes > MAX_NODES) throw invalid(path, `more than ${MAX_NODES} nodes`);
    if (depth > MAX_DEPTH) throw invalid(path, `nested deeper than ${MAX_DEPTH}`);
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}[${i}]`, depth + 1, inOperator));
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
      walk(inner, at, depth + 1, inOperator || key.startsWith('$'));
    }
  };
  walk(predicate, '', 0, false);
  try {
    const test = compileSift(predicate);
    test({});
    return (attributes) => test(attributes);
  } catch (err) {
    throw invalid('', (err as Error).message);
  }
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
