// Rule indexing: picks, for a group of rules, the input refs that rules compare with constants
// (`input.x == "GET"`, `startswith(input.path, "/api/")`) and maps each constant to the rules
// that can match, so evaluation cost does not grow with rules that cannot match. A rule's other
// comparisons of input with constants are checked by the lookup too (its guards), so a rule
// handed out by its bucket but failing one is never evaluated, and one passing them evaluates
// only the rest of its body: a large policy touches little more than a small one.
import type { Literal, RootRef, Rule, Term } from './ast.js';
import { equals, type Value } from './value.js';

/** A ref into input with a constant path, e.g. `input.attributes.request.http.method`. */
export type InputPath = readonly string[];

interface Constraint {
  readonly path: InputPath;
  readonly key: string;
  readonly kind: 'eq' | 'prefix';
  readonly value: Value;
  readonly literal: Literal;
}

/** A rule as a bucket hands it out, with the comparisons of input the lookup checks for it. */
interface Filed {
  readonly rule: Rule;
  readonly guards: readonly Guard[];
}

interface Guard {
  readonly path: InputPath;
  readonly kind: 'eq' | 'prefix';
  readonly value: Value;
}

export interface RuleIndex {
  readonly path: InputPath;
  readonly equal: Map<Value, Filed[]>;
  /** Prefix length -> prefix -> rules. */
  readonly prefixes: Map<number, Map<string, Filed[]>>;
  /** Rules not constrained on this path. */
  readonly rest: RuleIndex | readonly Rule[];
}

/** Finds the input path a `data` document stands for, when it is a plain alias of input. */
export type DataAlias = (path: readonly string[]) => InputPath | undefined;

function scalarPath(terms: readonly Term[]): string[] | undefined {
  const path: string[] = [];
  for (const seg of terms) {
    if (seg.type !== 'scalar' || typeof seg.value !== 'string') return undefined;
    path.push(seg.value);
  }
  return path;
}

/** The input path a term reads: `input.a.b`, a local alias of input (`x := input.a`), or a data alias. */
function inputPath(term: Term, locals: ReadonlyMap<string, InputPath>, dataAlias: DataAlias): InputPath | undefined {
  if (term.type === 'var') return locals.get(term.name);
  if (term.type !== 'ref') return undefined;
  const rest = scalarPath(term.path);
  if (rest === undefined) return undefined;
  const root = (term as RootRef).root;
  if (root === 'input') return rest;
  if (root === 'data') return dataAlias(rest);
  if (term.head.type !== 'var') return undefined;
  const base = locals.get(term.head.name);
  return base === undefined ? undefined : [...base, ...rest];
}

function isIndexable(value: Value): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function constraintsOf(rule: Rule, dataAlias: DataAlias): Constraint[] {
  const out: Constraint[] = [];
  // An else branch gives a value exactly when the body fails: such a rule is always a candidate.
  if (rule.else !== undefined) return out;
  // Variables bound to a part of input by `x := input.a` (or `=`) earlier in the body.
  const locals = new Map<string, InputPath>();
  for (const lit of rule.body) {
    if (lit.type !== 'expr' || lit.negated || lit.with.length > 0 || lit.term.type !== 'call') continue;
    const { name, args } = lit.term;
    if ((name === 'assign' || name === 'eq') && args.length === 2 && args[0]!.type === 'var') {
      const path = inputPath(args[1]!, locals, dataAlias);
      if (path !== undefined && !locals.has(args[0]!.name)) {
        locals.set(args[0]!.name, path);
        continue;
      }
    }
    if ((name === 'equal' || name === 'eq') && args.length === 2) {
      for (const [a, b] of [
        [args[0]!, args[1]!],
        [args[1]!, args[0]!],
      ] as const) {
        const path = inputPath(a, locals, dataAlias);
        if (path && b.type === 'scalar' && isIndexable(b.value)) {
          out.push({ path, key: path.join('\u0000'), kind: 'eq', value: b.value, literal: lit });
          break;
        }
      }
    } else if (name === 'startswith' && args.length === 2) {
      const path = inputPath(args[0]!, locals, dataAlias);
      const prefix = args[1]!;
      if (path && prefix.type === 'scalar' && typeof prefix.value === 'string') {
        out.push({ path, key: path.join('\u0000'), kind: 'prefix', value: prefix.value, literal: lit });
      }
    }
  }
  return out;
}

/** An index over `rules`, or undefined when no input ref discriminates enough of them. */
export function buildRuleIndex(rules: readonly Rule[], dataAlias: DataAlias = () => undefined): RuleIndex | undefined {
  const constraints = new Map(rules.map((rule) => [rule, constraintsOf(rule, dataAlias)]));
  return build(rules, constraints);
}

function build(rules: readonly Rule[], constraints: Map<Rule, Constraint[]>): RuleIndex | undefined {
  const counts = new Map<string, { path: InputPath; count: number }>();
  for (const rule of rules) {
    const seen = new Set<string>();
    for (const c of constraints.get(rule)!) {
      if (seen.has(c.key)) continue;
      seen.add(c.key);
      const entry = counts.get(c.key) ?? { path: c.path, count: 0 };
      entry.count++;
      counts.set(c.key, entry);
    }
  }
  let best: { key: string; path: InputPath; count: number } | undefined;
  for (const [key, entry] of counts) if (best === undefined || entry.count > best.count) best = { key, ...entry };
  if (best === undefined || best.count < 2) return undefined;
  const equal = new Map<Value, Filed[]>();
  const prefixes = new Map<number, Map<string, Filed[]>>();
  const rest: Rule[] = [];
  for (const rule of rules) {
    const own = constraints.get(rule)!.filter((c) => c.key === best.key);
    // An equality pins the value; otherwise the longest prefix is the tightest constraint.
    const eq = own.find((c) => c.kind === 'eq');
    if (eq) {
      const list = equal.get(eq.value) ?? [];
      list.push(filed(rule, eq, constraints.get(rule)!));
      equal.set(eq.value, list);
      continue;
    }
    const prefix = own.filter((c) => c.kind === 'prefix').sort((a, b) => (b.value as string).length - (a.value as string).length)[0];
    if (prefix) {
      const text = prefix.value as string;
      let byLength = prefixes.get(text.length);
      if (byLength === undefined) {
        byLength = new Map();
        prefixes.set(text.length, byLength);
      }
      const list = byLength.get(text) ?? [];
      list.push(filed(rule, prefix, constraints.get(rule)!));
      byLength.set(text, list);
      continue;
    }
    rest.push(rule);
  }
  const remaining = new Map([...constraints].map(([rule, cs]) => [rule, cs.filter((c) => c.key !== best.key)]));
  return { path: best.path, equal, prefixes, rest: build(rest, remaining) ?? rest };
}

/**
 * The rule as its bucket hands it out: the lookup checks the literal it was filed under and its
 * other comparisons of input with a constant (each free of variables, so order does not matter),
 * and evaluation skips them all.
 */
function filed(rule: Rule, under: Constraint, all: readonly Constraint[]): Filed {
  const guards = all.filter((c) => c !== under);
  const checked = new Set([under, ...guards].map((c) => c.literal));
  return { rule: { ...rule, body: rule.body.filter((lit) => !checked.has(lit)) }, guards: guards.map(({ path, kind, value }) => ({ path, kind, value })) };
}

function passes(guards: readonly Guard[], lookup: (path: InputPath) => Value | undefined): boolean {
  for (const guard of guards) {
    const value = lookup(guard.path);
    if (value === undefined) return false;
    if (guard.kind === 'eq' ? !equals(value, guard.value) : typeof value !== 'string' || !value.startsWith(guard.value as string)) return false;
  }
  return true;
}

function add(rules: readonly Filed[], lookup: (path: InputPath) => Value | undefined, out: Rule[]): void {
  for (const { rule, guards } of rules) if (guards.length === 0 || passes(guards, lookup)) out.push(rule);
}

/** Rules of the index that may match, given a lookup of input paths. */
export function candidateRules(index: RuleIndex, lookup: (path: InputPath) => Value | undefined, out: Rule[]): Rule[] {
  const value = lookup(index.path);
  if (value !== undefined) {
    const equal = index.equal.get(value);
    if (equal) add(equal, lookup, out);
    if (typeof value === 'string') {
      for (const [length, byPrefix] of index.prefixes) {
        if (length > value.length) continue;
        const rules = byPrefix.get(value.slice(0, length));
        if (rules) add(rules, lookup, out);
      }
    }
  }
  if (Array.isArray(index.rest)) {
    for (const rule of index.rest as readonly Rule[]) out.push(rule);
  } else candidateRules(index.rest as RuleIndex, lookup, out);
  return out;
}
