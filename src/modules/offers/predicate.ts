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
 * Decides a stored predicate (checked by compilePredicate when it was stored) against an offer's
 * attributes. sift takes ~30 µs to compile a predicate, and at a million stored interests most
 * candidates are in no cache (a cache of compiled closures that large also kept the garbage
 * collector busy for over a third of the matching time). So the common shape — fields compared
 * with scalars by equality, ranges and $in — is decided here straight from the parsed predicate,
 * exactly as sift decides it while the attributes it reads are scalars or absent, and nothing is
 * allocated; any other shape, or an array or object met in the attributes, goes to sift.
 */
export function matchesStored(predicate: Predicate, attributes: Attributes): boolean {
  const decided = decideCommonShape(predicate, attributes);
  return decided === DEFER ? siftTester(predicate)(attributes) : decided;
}

/** compilePredicate's answer: the same decision as a function. */
export function compileStored(predicate: Predicate): Tester {
  return (attributes) => matchesStored(predicate, attributes);
}

// Compiled sift predicates of other shapes, by identity of the parsed predicate and, across
// candidates, by its text; bounded, it starts over rather than grow.
const SIFT_CACHE = 10_000;
const siftByText = new Map<string, Tester>();
const siftByObject = new WeakMap<Predicate, Tester>();
function siftTester(predicate: Predicate): Tester {
  let test = siftByObject.get(predicate);
  if (test) return test;
  const text = JSON.stringify(predicate);
  test = siftByText.get(text);
  if (!test) {
    if (siftByText.size >= SIFT_CACHE) siftByText.clear();
    test = compileSift(predicate);
    siftByText.set(text, test);
  }
  siftByObject.set(predicate, test);
  return test;
}

type Scalar = string | number | boolean | null;
const DEFER = Symbol('defer to sift');

function decideCommonShape(predicate: Predicate, attributes: Attributes): boolean | typeof DEFER {
  for (const key in predicate) {
    if (key.charCodeAt(0) === 36 /* $ */ || !indexablePath(key)) return DEFER;
    const condition = predicate[key];
    const value = resolve(attributes, key);
    if (value === DEFER) return DEFER;
    if (isScalar(condition)) {
      if (value !== condition) return false;
      continue;
    }
    if (!isPlainObject(condition)) return DEFER;
    let operators = 0;
    for (const op in condition) {
      operators++;
      const operand = condition[op];
      let holds: boolean;
      if (op === '$eq' && isScalar(operand)) holds = value === operand;
      else if (op === '$in' && Array.isArray(operand) && operand.every(isScalar)) holds = value !== undefined && (operand as unknown[]).includes(value);
      else if ((op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte') && (typeof operand === 'string' || (typeof operand === 'number' && Number.isFinite(operand)))) {
        // sift compares only values of the operand's type.
        holds = typeof value === typeof operand && compare(op, value as string | number, operand);
      } else return DEFER;
      if (!holds) return false;
    }
    if (operators === 0) return DEFER;
  }
  return true;
}

function compare(op: '$gt' | '$gte' | '$lt' | '$lte', a: string | number, b: string | number): boolean {
  return op === '$gt' ? a > b : op === '$gte' ? a >= b : op === '$lt' ? a < b : a <= b;
}

/** The scalar (or absence) at a dotted path; DEFER when an array or object is on the way or at the end. */
function resolve(attributes: Attributes, path: string): Scalar | undefined | typeof DEFER {
  let at: unknown = attributes;
  let from = 0;
  for (;;) {
    const dot = path.indexOf('.', from);
    const segment = dot === -1 ? (from === 0 ? path : path.slice(from)) : path.slice(from, dot);
    if (Array.isArray(at)) return DEFER;
    if (!isPlainObject(at)) return undefined;
    at = Object.hasOwn(at, segment) ? at[segment] : undefined;
    if (dot === -1) break;
    from = dot + 1;
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

/** No empty segment, and no numeric one: that addresses an array position, which offerTerms does not spell out. */
function indexablePath(path: string): boolean {
  let length = 0;
  let digits = 0;
  for (let i = 0; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 46; /* . */
    if (c === 46) {
      if (length === 0 || digits === length) return false;
      length = digits = 0;
    } else {
      length++;
      if (c >= 48 && c <= 57) digits++;
    }
  }
  return true;
}

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

/**
 * A pair of equality terms on two fields: an interest that needs both is filed under their pair,
 * so an offer carrying only one of them (the same category, another region) never reads it.
 */
export const pairTerm = (a: string, b: string): string => `p:${JSON.stringify(a < b ? [a, b] : [b, a])}`;
/** The single terms of a pair-filed interest, kept for offers with too many attributes to spell out their pairs. */
export const anchorTerm = (term: string): string => `s:${term}`;
// An offer with up to this many attribute terms spells out its pairs (≤ 496); beyond, it reads anchors.
const OFFER_PAIR_TERMS = 32;
// An interest is pair-filed only while its two smallest fields give at most this many pairs.
const INTEREST_PAIRS = 16;

/**
 * Every term an offer carries: each scalar at each dotted path (arrays contribute each element),
 * its tags, and the pairs of its attribute terms on different paths — or, for an offer with too
 * many attribute terms for that, each attribute term's anchor.
 */
export function offerTerms(attributes: Attributes, tags: string[]): string[] {
  const terms = new Set<string>([MATCH_ALL]);
  const byPath = new Map<string, string[]>();
  let attributeTerms = 0;
  const walk = (value: unknown, path: string, depth: number) => {
    if (depth > MAX_DEPTH) return;
    if (isScalar(value)) {
      if (!path) return;
      const term = attributeTerm(path, value);
      if (terms.has(term)) return;
      terms.add(term);
      attributeTerms++;
      const same = byPath.get(path);
      if (same) same.push(term);
      else byPath.set(path, [term]);
    } else if (Array.isArray(value)) {
      for (const v of value) walk(v, path, depth + 1);
    } else if (isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k, depth + 1);
    }
  };
  walk(attributes, '', 0);
  if (attributeTerms <= OFFER_PAIR_TERMS) {
    const groups = [...byPath.values()];
    for (let i = 0; i < groups.length; i++) for (let j = i + 1; j < groups.length; j++) for (const a of groups[i]!) for (const b of groups[j]!) terms.add(pairTerm(a, b));
  } else {
    for (const group of byPath.values()) for (const term of group) terms.add(anchorTerm(term));
  }
  for (const tag of tags) terms.add(tagTerm(tag));
  return [...terms];
}

/**
 * Terms an interest is filed under: one of its tags if it has any (the offer must carry them all);
 * else, when two fields of its predicate each need an equality term, the pairs of their terms and
 * the anchors of its required terms; else its required terms; else the match-all term.
 */
export function interestTerms(tags: string[], predicate: Predicate): string[] {
  if (tags.length > 0) return [tagTerm(tags[0]!)];
  const terms = requiredTerms(predicate);
  if (terms.length === 0) return [MATCH_ALL];
  const pairs = fieldPairs(predicate);
  return pairs ? [...pairs, ...terms.map(anchorTerm)] : terms;
}

/** The pairs of the two top-level fields with the fewest terms, if there are two and not too many pairs. */
function fieldPairs(predicate: Predicate): string[] | null {
  const fields: string[][] = [];
  for (const [key, value] of Object.entries(predicate)) {
    if (key.startsWith('$') || !indexablePath(key)) continue;
    const terms = fieldTerms(key, value);
    if (terms.length > 0) fields.push(terms);
  }
  if (fields.length < 2) return null;
  fields.sort((x, y) => x.length - y.length);
  const [a, b] = [fields[0]!, fields[1]!];
  if (a.length * b.length > INTEREST_PAIRS) return null;
  return a.flatMap((x) => b.map((y) => pairTerm(x, y)));
}

/** The full check a stored candidate must pass: all its tags on the offer (tags and predicate as stored, JSON), its predicate true of the attributes. */
export function storedInterestMatches(tagsJson: string, predicateJson: string, offerTags: ReadonlySet<string>, attributes: Attributes): boolean {
  if (tagsJson !== '[]') {
    for (const t of JSON.parse(tagsJson) as string[]) if (!offerTags.has(t)) return false;
  }
  return predicateJson === '{}' || matchesStored(JSON.parse(predicateJson) as Predicate, attributes);
}
