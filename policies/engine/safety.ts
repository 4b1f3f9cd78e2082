// Variable analysis for safety: which variables a term or literal needs bound, which it binds,
// and whether a literal can run yet. The compiler orders body literals with these plans.
import type { Body, Literal, ResolvedCall, RootRef, Term, VarTerm } from './ast.js';
import { equals } from './value.js';

/**
 * Calls `onVar` for each variable term, not counting the `input`/`data` heads of root refs.
 * With `nested`, comprehension heads and bodies (and their literals) are visited too.
 */
export function visitVars(term: Term | undefined, onVar: (v: VarTerm) => void, nested: boolean): void {
  if (term === undefined) return;
  switch (term.type) {
    case 'var':
      onVar(term);
      break;
    case 'ref':
      if ((term as RootRef).root === undefined) visitVars(term.head, onVar, nested);
      for (const p of term.path) visitVars(p, onVar, nested);
      break;
    case 'array':
    case 'set':
      for (const t of term.items) visitVars(t, onVar, nested);
      break;
    case 'object':
      for (const [k, v] of term.entries) {
        visitVars(k, onVar, nested);
        visitVars(v, onVar, nested);
      }
      break;
    case 'call':
      for (const a of term.args) visitVars(a, onVar, nested);
      break;
    case 'comprehension':
      if (!nested) break;
      visitVars(term.head, onVar, nested);
      visitVars(term.value, onVar, nested);
      for (const lit of term.body) visitLiteralVars(lit, onVar);
      break;
    default:
      break;
  }
}

/** `visitVars` over a literal and every body nested in it. */
/** Visits a literal's vars; `nested` false leaves out the bodies of comprehensions and `every`. */
export function visitLiteralVars(lit: Literal, onVar: (v: VarTerm) => void, nested = true): void {
  switch (lit.type) {
    case 'expr':
      visitVars(lit.term, onVar, nested);
      break;
    case 'some-decl':
      lit.vars.forEach(onVar);
      break;
    case 'some-in':
    case 'every':
      // every's key and value are its own: outside its body they are neither references nor bindings.
      if (lit.type === 'some-in' || nested) {
        visitVars(lit.key, onVar, nested);
        visitVars(lit.value, onVar, nested);
      }
      visitVars(lit.domain, onVar, nested);
      if (lit.type === 'every' && nested) for (const l of lit.body) visitLiteralVars(l, onVar);
      break;
  }
  for (const w of lit.with) visitVars(w.value, onVar, nested);
}

export function varsIn(term: Term | undefined, out: Set<string>): Set<string> {
  visitVars(term, (v) => out.add(v.name), true);
  return out;
}

export function literalVars(lit: Literal, out: Set<string>, nested = true): Set<string> {
  visitLiteralVars(lit, (v) => out.add(v.name), nested);
  return out;
}

/** A copy of an AST fragment with variables renamed (`renames`: old name -> new name). */
export function renameVars<T>(node: T, renames: ReadonlyMap<string, string>): T {
  if (renames.size === 0 || node === null || typeof node !== 'object') return node;
  if (Array.isArray(node)) return node.map((item: unknown) => renameVars(item, renames)) as T;
  const record = node as Record<string, unknown>;
  if (record['type'] === 'var' && typeof record['name'] === 'string' && renames.has(record['name'])) {
    return { ...record, name: renames.get(record['name']) } as T;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = key === 'loc' ? value : renameVars(value, renames);
  return out as T;
}

/** Vars a comprehension shares with its enclosing body: all it mentions but what it declares. */
export function closureVars(term: Extract<Term, { type: 'comprehension' }>): Set<string> {
  const vars = varsIn(term, new Set());
  for (const v of declaredIn(term.body)) vars.delete(v);
  return vars;
}

/** Vars a literal declares local by `some`, some-in or `:=`. */
export function declaredBy(lit: Literal, out: Set<string>): Set<string> {
  if (lit.type === 'some-decl') for (const v of lit.vars) out.add(v.name);
  else if (lit.type === 'some-in') {
    for (const t of [lit.key, lit.value]) if (t) varsIn(t, out);
  } else if (lit.type === 'expr' && lit.term.type === 'call' && lit.term.name === 'assign') varsIn(lit.term.args[0], out);
  return out;
}

/** Vars declared local in a body by `some`, some-in or `:=`. */
export function declaredIn(body: Body): Set<string> {
  const out = new Set<string>();
  for (const lit of body) declaredBy(lit, out);
  return out;
}

/** Vars mentioned inside the comprehensions of an AST fragment. */
export function comprehensionVars(node: unknown, out: Set<string>): Set<string> {
  if (node === null || typeof node !== 'object') return out;
  if (Array.isArray(node)) {
    for (const item of node) comprehensionVars(item, out);
    return out;
  }
  const record = node as Record<string, unknown>;
  if (record['type'] === 'comprehension') return varsIn(node as Term, out);
  for (const [key, value] of Object.entries(record)) if (key !== 'loc') comprehensionVars(value, out);
  return out;
}

/** A copy of an AST fragment with variables renamed inside its comprehensions only. */
export function renameInComprehensions<T>(node: T, renames: ReadonlyMap<string, string>): T {
  if (node === null || typeof node !== 'object') return node;
  if (Array.isArray(node)) return node.map((item: unknown) => renameInComprehensions(item, renames)) as T;
  const record = node as Record<string, unknown>;
  if (record['type'] === 'comprehension') return renameVars(node, renames);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = key === 'loc' ? value : renameInComprehensions(value, renames);
  return out as T;
}

/** Vars a literal of the enclosing body can bind: not those only inside closures or negations. */
export function bindableVars(lit: Literal): Set<string> {
  const out = new Set<string>();
  const add = (v: VarTerm): void => void out.add(v.name);
  switch (lit.type) {
    case 'expr':
      if (!lit.negated) visitVars(lit.term, add, false);
      break;
    case 'some-in':
      visitVars(lit.key, add, false);
      visitVars(lit.value, add, false);
      visitVars(lit.domain, add, false);
      break;
    case 'every':
      visitVars(lit.domain, add, false);
      break;
    default:
      break;
  }
  return out;
}

export function displayName(name: string): string {
  return name.startsWith('$_') ? '_' : name;
}

/** Vars (after resolution) that are not global refs: every var term left is local. */
export function collectFreeVars(term: Term, out: Set<string>): void {
  visitVars(term, (v) => out.add(v.name), false);
}

/**
 * Whether a term can be evaluated with `bound` (vars in ref brackets are generated by
 * evaluation; comprehension closures need only the outer vars they share).
 */
export function needsBound(term: Term, bound: Set<string>, outer: Set<string>): boolean {
  switch (term.type) {
    case 'scalar':
      return true;
    case 'var':
      return bound.has(term.name);
    case 'ref': {
      if ((term as RootRef).root !== undefined) {
        // input and data are always available.
      } else if (term.head.type === 'var') {
        if (!bound.has(term.head.name)) return false;
      } else if (!needsBound(term.head, bound, outer)) return false;
      const local = new Set(bound);
      for (const seg of term.path) {
        if (seg.type === 'var') local.add(seg.name);
        else if (seg.type === 'array' || seg.type === 'object') patternVars(seg, local, local);
        else if (!needsBound(seg, local, outer)) return false;
      }
      return true;
    }
    case 'array':
    case 'set':
      return term.items.every((t) => needsBound(t, bound, outer));
    case 'object':
      return term.entries.every(([k, v]) => needsBound(k, bound, outer) && needsBound(v, bound, outer));
    case 'call': {
      const call = term as ResolvedCall;
      if (call.name === 'eq' || call.name === 'assign') return exprPlan(term, new Set(bound), outer) !== undefined;
      const inputs = call.arity !== undefined ? call.args.slice(0, call.arity) : call.args;
      return inputs.every((t) => needsBound(t, bound, outer));
    }
    case 'comprehension': {
      for (const v of closureVars(term)) if (outer.has(v) && !bound.has(v)) return false;
      return true;
    }
  }
}

/** Vars generated by evaluating a term: unbound vars in ref brackets. */
export function generated(term: Term, bound: Set<string>, out: Set<string>): Set<string> {
  switch (term.type) {
    case 'ref':
      if ((term as RootRef).root === undefined) generated(term.head, bound, out);
      for (const seg of term.path) {
        if (seg.type === 'var' && !bound.has(seg.name)) out.add(seg.name);
        else if (seg.type === 'array' || seg.type === 'object') patternVars(seg, bound, out);
        else generated(seg, bound, out);
      }
      break;
    case 'array':
    case 'set':
      term.items.forEach((t) => generated(t, bound, out));
      break;
    case 'object':
      term.entries.forEach(([k, v]) => (generated(k, bound, out), generated(v, bound, out)));
      break;
    case 'call':
      term.args.forEach((t) => generated(t, bound, out));
      break;
    default:
      break;
  }
  return out;
}

/** Unbound vars a pattern binds by unification (vars, array items, object values). */
export function patternVars(term: Term, bound: Set<string>, out: Set<string>): Set<string> {
  switch (term.type) {
    case 'var':
      if (!bound.has(term.name)) out.add(term.name);
      break;
    case 'array':
      term.items.forEach((t) => patternVars(t, bound, out));
      break;
    case 'object':
      term.entries.forEach(([, v]) => patternVars(v, bound, out));
      break;
    default:
      generated(term, bound, out);
      break;
  }
  return out;
}

/** Whether the non-pattern parts of a pattern (object keys, refs, calls) can be evaluated. */
export function patternNeeds(term: Term, bound: Set<string>, outer: Set<string>): boolean {
  switch (term.type) {
    case 'var':
      return true;
    case 'array':
      return term.items.every((t) => patternNeeds(t, bound, outer));
    case 'object':
      return term.entries.every(([k, v]) => needsBound(k, bound, outer) && patternNeeds(v, bound, outer));
    default:
      return needsBound(term, bound, outer);
  }
}

export function isPatternTerm(term: Term, bound: Set<string>): boolean {
  switch (term.type) {
    case 'var':
      return !bound.has(term.name);
    case 'array':
      return term.items.some((t) => isPatternTerm(t, bound));
    case 'object':
      return term.entries.some(([, v]) => isPatternTerm(v, bound));
    default:
      return false;
  }
}

/** Plan for unifying two terms: the vars it binds, or undefined when it cannot run yet. */
export function unifyPlan(a: Term, b: Term, bound: Set<string>, outer: Set<string>): Set<string> | undefined {
  const aPattern = isPatternTerm(a, bound);
  const bPattern = isPatternTerm(b, bound);
  if (!aPattern && needsBound(a, bound, outer)) {
    const out = generated(a, bound, new Set());
    const after = new Set([...bound, ...out]);
    if (!patternNeeds(b, after, outer)) return undefined;
    return patternVars(b, after, out);
  }
  if (!bPattern && needsBound(b, bound, outer)) {
    const out = generated(b, bound, new Set());
    const after = new Set([...bound, ...out]);
    if (!patternNeeds(a, after, outer)) return undefined;
    return patternVars(a, after, out);
  }
  if (a.type === 'array' && b.type === 'array' && a.items.length === b.items.length) {
    const local = new Set(bound);
    const out = new Set<string>();
    const pending = a.items.map((t, i) => [t, b.items[i]!] as const);
    while (pending.length > 0) {
      const index = pending.findIndex(([x, y]) => unifyPlan(x, y, local, outer) !== undefined);
      if (index < 0) return undefined;
      const [x, y] = pending.splice(index, 1)[0]!;
      for (const v of unifyPlan(x, y, local, outer)!) {
        local.add(v);
        out.add(v);
      }
    }
    return out;
  }
  if (a.type === 'object' && b.type === 'object' && a.entries.length === b.entries.length) {
    const local = new Set(bound);
    const out = new Set<string>();
    for (const [ka, va] of a.entries) {
      const match = b.entries.find(([kb]) => kb.type === 'scalar' && ka.type === 'scalar' && equals(ka.value, kb.value));
      if (match === undefined) return undefined;
      const plan = unifyPlan(va, match[1], local, outer);
      if (plan === undefined) return undefined;
      for (const v of plan) {
        local.add(v);
        out.add(v);
      }
    }
    return out;
  }
  return undefined;
}

export function exprPlan(term: Term, bound: Set<string>, outer: Set<string>): Set<string> | undefined {
  if (term.type === 'call') {
    const call = term as ResolvedCall;
    if (call.name === 'eq' || call.name === 'assign') return unifyPlan(call.args[0]!, call.args[1]!, bound, outer);
    const arity = call.arity ?? call.args.length;
    const inputs = call.args.slice(0, arity);
    // As OPA: variables that a ref among the operands enumerates (`input.xs[i]`) are bound for
    // the other operands too (`i == input.xs[i]`).
    const out = new Set<string>();
    for (const t of inputs) generated(t, bound, out);
    const available = new Set([...bound, ...out]);
    if (!inputs.every((t) => needsBound(t, available, outer))) return undefined;
    if (call.args.length > arity) {
      const output = call.args[arity]!;
      const after = new Set([...bound, ...out]);
      if (!patternNeeds(output, after, outer)) return undefined;
      patternVars(output, after, out);
    }
    return out;
  }
  if (!needsBound(term, bound, outer)) return undefined;
  return generated(term, bound, new Set());
}
