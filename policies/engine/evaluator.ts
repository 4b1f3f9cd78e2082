// Top-down Rego evaluation with backtracking. Every step takes a continuation and returns
// whether the caller asked to stop (`true`), so a rule can stop at its first solution.
import { ruleRest, type Body, type Literal, type ResolvedCall, type RootRef, type Rule, type Term } from './ast.js';
import { BuiltinError, type BuiltinContext, type BuiltinDefinition, type BuiltinRegistry } from './builtins/registry.js';
import { setUnion } from './builtins/set-algebra.js';
import type { CompiledRules, DocNode, RuleGroup } from './compiler.js';
import { RegoError, sourceLine, type Location, type RegoErrorCode } from './errors.js';
import { candidateRules, type InputPath } from './rule-index.js';
import {
  canonicalText,
  equals,
  isArray,
  isObject,
  isSet,
  ObjectBuilder,
  RegoObject,
  RegoSet,
  SetBuilder,
  sortedValues,
  compare,
  toJSONText,
  makeArray,
  type Value,
} from './value.js';

type Next = () => boolean;
type NextValue = (value: Value) => boolean;

export interface EvaluationLimits {
  /** `performance.now()` time after which evaluation stops with `eval_cancel_error`. */
  readonly deadline?: number;
  /** Maximum number of evaluation steps. */
  readonly maxSteps?: number;
}

export interface EvaluationSetup extends EvaluationLimits {
  readonly rules: CompiledRules;
  readonly builtins: BuiltinRegistry;
  readonly sources: ReadonlyMap<string, string>;
  readonly input: Value | undefined;
  readonly data: Value;
  readonly strict: boolean;
  readonly print?: (line: string, location?: Location) => void;
  readonly nowNs?: bigint;
  /** Record which rule decided each complete document (see `decidedBy`). */
  readonly explain?: boolean;
}

const UNDEFINED = Symbol('undefined');
const NOT_DIRECT = Symbol('not direct');
type Direct = Value | typeof UNDEFINED | typeof NOT_DIRECT;

interface FunctionMock {
  readonly functionPath?: string;
  readonly builtin?: BuiltinDefinition;
  readonly value?: Value;
  /** The mocks in effect where the `with` was written: a replacing function runs under them, as in OPA. */
  readonly outer?: Map<string, FunctionMock>;
}

const stopAlways: Next = () => true;

/** How many keys a group's rules add before their set, when every rule is a multi-value rule with as many keys. */
function multiValueDepth(group: RuleGroup): number | undefined {
  const depths = new Set(group.rules.map((rule) => (rule.kind === 'multi' ? ruleRest(rule).length : -1)));
  const [depth] = depths;
  return depths.size === 1 && depth! > 0 ? depth : undefined;
}

/**
 * Whether every rule of a group has a ground head ref (`p[1] := 1`): OPA evaluates such rules as
 * complete documents (its index result's OnlyGroundRefs), so two values for a key are its
 * complete-rule conflict rather than an object-key one.
 */
function onlyGroundRefs(group: RuleGroup): boolean {
  return group.rules.every((rule) => rule.kind === 'single' && ruleRest(rule).every((t) => t.type === 'scalar'));
}

/** Two documents of multi-value rules: objects merged key by key `depth` levels down, then sets joined. */
function mergeSetLeaves(a: Value, b: Value, depth: number): Value | undefined {
  if (depth === 0) return isSet(a) && isSet(b) ? setUnion([a, b]) : undefined;
  if (!isObject(a) || !isObject(b)) return undefined;
  const builder = new ObjectBuilder();
  for (const [key, v] of a.entries()) builder.set(key, v);
  for (const [key, v] of b.entries()) {
    const existing = a.get(key);
    const merged = existing === undefined || equals(existing, v) ? v : mergeSetLeaves(existing, v, depth - 1);
    if (merged === undefined) return undefined;
    builder.set(key, merged);
  }
  return builder.build();
}

/** One step into a value; in a base document a number names an object member by its text. */
function stepInto(container: Value, key: Value, baseDoc: boolean): Value | undefined {
  if (baseDoc && (typeof key === 'number' || typeof key === 'bigint') && isObject(container)) return container.get(String(key));
  return lookup(container, key);
}

export class Evaluation implements BuiltinContext {
  readonly strict: boolean;
  /** Values of the top-level query expressions of the current solution. */
  capture: Value[] | undefined;
  /** Whether a captured false value fails its expression (see the facade). */
  captureChecked = false;
  private input: Value | undefined;
  private data: Value;
  private documents = new Map<unknown, Value | typeof UNDEFINED>();
  private mocks: Map<string, FunctionMock> | undefined;
  private overridden: Set<DocNode> | undefined;
  private steps = 0;
  private readonly maxSteps: number;
  private readonly deadline: number;
  private fixedNow: bigint | undefined;
  private builtinCache: Map<string, Value> | undefined;
  /** With explain: per document, the rule that gave a complete one its value, or those that added to a partial one. */
  private readonly decisions: Map<RuleGroup, Rule[]> | undefined;
  private readonly indexLookup = (path: InputPath): Value | undefined => this.inputAt(path);

  constructor(private readonly setup: EvaluationSetup) {
    this.strict = setup.strict;
    this.input = setup.input;
    this.data = setup.data;
    this.maxSteps = setup.maxSteps ?? Number.POSITIVE_INFINITY;
    this.deadline = setup.deadline ?? Number.POSITIVE_INFINITY;
    this.fixedNow = setup.nowNs;
    if (setup.explain) this.decisions = new Map();
  }

  // ---- BuiltinContext

  get nowNs(): bigint {
    this.fixedNow ??= BigInt(Date.now()) * 1_000_000n;
    return this.fixedNow;
  }
  get cache(): Map<string, Value> {
    return (this.builtinCache ??= new Map());
  }
  print(line: string): void {
    this.setup.print?.(line);
  }
  trace(note: string): void {
    this.setup.print?.(note);
  }

  // ---- entry points

  /** Evaluates a query body; `onResult` gets the frame for each solution and may stop. */
  query(body: Body, slots: number, onResult: (frame: (Value | undefined)[]) => boolean): void {
    const frame = new Array<Value | undefined>(slots);
    this.evalBody(body, 0, frame, () => onResult(frame));
  }

  evalTermAll(term: Term, frame: (Value | undefined)[], onValue: NextValue): boolean {
    return this.evalTerm(term, frame, onValue);
  }

  /** The value of the document at `path` under data, or undefined. */
  document(path: readonly string[]): Value | undefined {
    // The common decision: a path straight to a complete rule, whose base data is never read.
    let node: DocNode | undefined = this.setup.rules.root;
    for (let i = 0; i < path.length && node !== undefined && node.group === undefined; i++) node = node.children.get(path[i]!);
    if (node?.group?.kind === 'complete' && node.path.length === path.length) return this.groupValue(node.group, undefined);
    let result: Value | undefined;
    const ref: RootRef = {
      type: 'ref',
      head: { type: 'var', name: 'data', slot: -1, loc: NO_LOC },
      path: path.map((p) => ({ type: 'scalar', value: p, loc: NO_LOC })),
      loc: NO_LOC,
      root: 'data',
    };
    this.evalRef(ref, [], (v) => {
      result = v;
      return true;
    });
    return result;
  }

  // ---- errors and limits

  private error(code: RegoErrorCode, message: string, loc: Location | undefined): RegoError {
    return new RegoError(code, message, loc, loc ? sourceLine(this.setup.sources.get(loc.file), loc.row) : undefined);
  }

  private tick(loc: Location): void {
    const steps = ++this.steps;
    if (steps > this.maxSteps) throw this.error('eval_cancel_error', `evaluation exceeded its work limit of ${this.maxSteps} steps`, loc);
    if ((steps & 1023) === 0 && performance.now() > this.deadline) {
      throw this.error('eval_cancel_error', 'evaluation exceeded its deadline', loc);
    }
  }

  // ---- bodies and literals

  evalBody(body: Body, i: number, frame: (Value | undefined)[], k: Next): boolean {
    if (i === body.length) return k();
    const lit = body[i]!;
    this.tick(lit.loc);
    const next = (): boolean => this.evalBody(body, i + 1, frame, k);
    if (lit.with.length > 0) return this.evalWith(lit, frame, next);
    return this.evalLiteral(lit, frame, next);
  }

  private evalLiteral(lit: Literal, frame: (Value | undefined)[], k: Next): boolean {
    switch (lit.type) {
      case 'expr':
        if (lit.negated) {
          return this.evalExpr(lit.term, frame, stopAlways) ? false : k();
        }
        if (this.capture !== undefined && (lit as { captureIndex?: number }).captureIndex !== undefined) {
          return this.evalCaptured(lit.term, (lit as { captureIndex?: number }).captureIndex!, frame, k);
        }
        return this.evalExpr(lit.term, frame, k);
      case 'some-decl':
        return k();
      case 'some-in':
        return this.evalTerm(lit.domain, frame, (domain) =>
          this.forEachMember(domain, (key, value) =>
            lit.key
              ? this.unifyValue(lit.key, key, frame, () => this.unifyValue(lit.value, value, frame, k))
              : this.unifyValue(lit.value, value, frame, k),
          ),
        );
      case 'every':
        return this.evalTerm(lit.domain, frame, (domain) => {
          // A domain that is not a collection makes `every` false, as in OPA.
          if (!isArray(domain) && !isObject(domain) && !isSet(domain)) return false;
          let all = true;
          this.forEachMember(domain, (key, value) => {
            const ok = lit.key
              ? this.unifyValue(lit.key, key, frame, () => this.unifyValue(lit.value, value, frame, () => this.evalBody(lit.body, 0, frame, stopAlways)))
              : this.unifyValue(lit.value, value, frame, () => this.evalBody(lit.body, 0, frame, stopAlways));
            if (!ok) all = false;
            return !ok;
          });
          return all ? k() : false;
        });
    }
  }

  /** Calls `each(key, value)` for each member of a collection in OPA's order; stops when it returns true. */
  private forEachMember(collection: Value, each: (key: Value, value: Value) => boolean): boolean {
    if (isArray(collection)) {
      for (let i = 0; i < collection.length; i++) if (each(i, collection[i]!)) return true;
    } else if (isObject(collection)) {
      for (const key of sortedMembers(collection)) if (each(key, collection.get(key)!)) return true;
    } else if (isSet(collection)) {
      for (const value of sortedMembers(collection)) if (each(value, value)) return true;
    }
    return false;
  }

  private evalCaptured(term: Term, index: number, frame: (Value | undefined)[], k: Next): boolean {
    const capture = this.capture!;
    if (term.type === 'call' && (term.name === 'eq' || term.name === 'assign')) {
      capture[index] = true;
      return this.evalExpr(term, frame, k);
    }
    const evaluate = term.type === 'call' ? this.evalCall.bind(this, term as ResolvedCall) : this.evalTerm.bind(this, term);
    return evaluate(frame, (v: Value) => {
      if (v === false && this.captureChecked) return false;
      capture[index] = v;
      return k();
    });
  }

  private evalExpr(term: Term, frame: (Value | undefined)[], k: Next): boolean {
    if (term.type === 'call') {
      const name = term.name;
      if (name === 'eq' || name === 'assign') return this.unifyTerms(term.args[0]!, term.args[1]!, frame, k);
      return this.evalCall(term as ResolvedCall, frame, (v) => (v === false ? false : k()));
    }
    return this.evalTerm(term, frame, (v) => (v === false ? false : k()));
  }

  // ---- with

  private evalWith(lit: Literal, frame: (Value | undefined)[], k: Next): boolean {
    const values: Value[] = [];
    for (const w of lit.with) {
      let value: Value | undefined;
      const mockPath = functionNameOf(w.value, this.setup.rules);
      if (mockPath === undefined) {
        this.evalTerm(w.value, frame, (v) => {
          value = v;
          return true;
        });
        if (value === undefined) return false;
      }
      values.push(value ?? null);
    }
    const saved = { input: this.input, data: this.data, cache: this.documents, mocks: this.mocks, overridden: this.overridden };
    const apply = (): void => {
      lit.with.forEach((w, i) => this.applyWith(w.target, w.value, values[i]!));
      this.documents = new Map();
    };
    const applied = { input: undefined as Value | undefined, data: undefined as unknown as Value, cache: undefined as unknown as Map<unknown, Value | typeof UNDEFINED>, mocks: undefined as Map<string, FunctionMock> | undefined, overridden: undefined as Set<DocNode> | undefined };
    const restore = (state: typeof saved): void => {
      this.input = state.input;
      this.data = state.data;
      this.documents = state.cache;
      this.mocks = state.mocks;
      this.overridden = state.overridden;
    };
    apply();
    Object.assign(applied, { input: this.input, data: this.data, cache: this.documents, mocks: this.mocks, overridden: this.overridden });
    try {
      return this.evalLiteral(lit, frame, () => {
        restore(saved);
        try {
          return k();
        } finally {
          restore(applied);
        }
      });
    } finally {
      restore(saved);
    }
  }

  private applyWith(target: Term, valueTerm: Term, value: Value): void {
    if (target.type === 'scalar') {
      const name = target.value as string;
      const outer = this.mocks;
      this.mocks = new Map(this.mocks);
      const fnPath = functionNameOf(valueTerm, this.setup.rules);
      if (fnPath !== undefined) {
        if (this.setup.rules.functions.has(fnPath)) this.mocks.set(name, { functionPath: fnPath, ...(outer ? { outer } : {}) });
        else this.mocks.set(name, { builtin: this.setup.builtins.get(fnPath)! });
      } else this.mocks.set(name, { value });
      return;
    }
    const ref = target as RootRef;
    const keys = ref.path.map((seg) => (seg as { value: Value }).value);
    if (ref.root === 'input') {
      this.input = keys.length === 0 ? value : upsert(this.input ?? RegoObject.empty, keys, value);
      return;
    }
    this.data = keys.length === 0 ? value : upsert(this.data, keys, value);
    this.overridden = new Set(this.overridden);
    // Documents at the path (rules included) are replaced; a path below every node only patches base data.
    let node: DocNode | undefined = this.setup.rules.root;
    for (const key of keys) {
      node = typeof key === 'string' ? node.children.get(key) : undefined;
      if (node === undefined) break;
    }
    if (node !== undefined) this.overridden.add(node);
  }

  // ---- terms

  /** The value of a simple term without enumeration, when that is possible. */
  private direct(term: Term, frame: (Value | undefined)[]): Direct {
    switch (term.type) {
      case 'scalar':
        return term.value;
      case 'var': {
        const v = frame[term.slot];
        return v === undefined ? NOT_DIRECT : v;
      }
      case 'ref': {
        const root = (term as RootRef).root;
        let value: Value | undefined;
        if (root === 'input') value = this.input;
        else if (root === undefined && term.head.type === 'var') value = frame[term.head.slot];
        else return NOT_DIRECT;
        if (value === undefined) return root === 'input' ? UNDEFINED : NOT_DIRECT;
        for (const seg of term.path) {
          let key: Value | undefined;
          if (seg.type === 'scalar') key = seg.value;
          else if (seg.type === 'var') {
            key = frame[seg.slot];
            if (key === undefined) return NOT_DIRECT;
          } else return NOT_DIRECT;
          const child = lookup(value!, key);
          if (child === undefined) return UNDEFINED;
          value = child;
        }
        return value!;
      }
      default:
        return NOT_DIRECT;
    }
  }

  private evalTerm(term: Term, frame: (Value | undefined)[], k: NextValue): boolean {
    switch (term.type) {
      case 'scalar':
        return k(term.value);
      case 'var': {
        const v = frame[term.slot];
        if (v === undefined) throw this.error('rego_unsafe_var_error', `var ${term.name} is unsafe`, term.loc);
        return k(v);
      }
      case 'ref':
        return this.evalRef(term, frame, k);
      case 'array':
        return this.evalItems(term.items, 0, [], frame, (items) => k(makeArray(items)));
      case 'set':
        return this.evalItems(term.items, 0, [], frame, (items) => {
          const builder = new SetBuilder();
          for (const item of items) builder.add(item);
          return k(builder.build());
        });
      case 'object': {
        const flat = term.entries.flat();
        return this.evalItems(flat, 0, [], frame, (items) => {
          const builder = new ObjectBuilder();
          for (let i = 0; i < items.length; i += 2) builder.set(items[i]!, items[i + 1]!);
          return k(builder.build());
        });
      }
      case 'call':
        return this.evalCall(term as ResolvedCall, frame, k);
      case 'comprehension':
        return this.evalComprehension(term, frame, k);
    }
  }

  /**
   * A call's operands in order, except that an operand which is a variable still unbound waits
   * for the refs among the others that enumerate it (`i == xs[i]`), as in OPA.
   */
  private evalOperands(terms: readonly Term[], frame: (Value | undefined)[], k: (items: Value[]) => boolean): boolean {
    let waiting = false;
    for (const t of terms) if (t.type === 'var' && frame[t.slot] === undefined) waiting = true;
    if (!waiting) return this.evalItems(terms, 0, [], frame, k);
    const unbound = (t: Term): boolean => t.type === 'var' && frame[t.slot] === undefined;
    const order = [...terms.keys()].sort((a, b) => Number(unbound(terms[a]!)) - Number(unbound(terms[b]!)));
    return this.evalItems(
      order.map((i) => terms[i]!),
      0,
      [],
      frame,
      (values) => {
        const args: Value[] = [];
        order.forEach((i, j) => (args[i] = values[j]!));
        return k(args);
      },
    );
  }

  private evalItems(terms: readonly Term[], i: number, acc: Value[], frame: (Value | undefined)[], k: (items: Value[]) => boolean): boolean {
    for (; i < terms.length; i++) {
      const d = this.direct(terms[i]!, frame);
      if (d === UNDEFINED) return false;
      if (d === NOT_DIRECT) break;
      acc.push(d);
    }
    if (i === terms.length) return k(acc);
    const at = acc.length;
    return this.evalTerm(terms[i]!, frame, (v) => {
      acc.length = at;
      acc.push(v);
      return this.evalItems(terms, i + 1, acc, frame, k);
    });
  }

  private evalComprehension(term: Extract<Term, { type: 'comprehension' }>, frame: (Value | undefined)[], k: NextValue): boolean {
    if (term.kind === 'array') {
      const items: Value[] = [];
      this.evalBody(term.body, 0, frame, () => this.evalTerm(term.head, frame, (v) => (items.push(v), false)));
      return k(makeArray(items));
    }
    if (term.kind === 'set') {
      const builder = new SetBuilder();
      this.evalBody(term.body, 0, frame, () => this.evalTerm(term.head, frame, (v) => (builder.add(v), false)));
      return k(builder.build());
    }
    const builder = new ObjectBuilder();
    this.evalBody(term.body, 0, frame, () =>
      this.evalTerm(term.head, frame, (key) =>
        this.evalTerm(term.value!, frame, (value) => {
          const existing = builder.get(key);
          if (existing !== undefined && !equals(existing, value)) {
            throw this.error('eval_conflict_error', `object keys must be unique: key ${canonicalText(key)} generated with values ${canonicalText(existing)} and ${canonicalText(value)}`, term.loc);
          }
          builder.set(key, value);
          return false;
        }),
      ),
    );
    return k(builder.build());
  }

  // ---- refs

  private evalRef(ref: Extract<Term, { type: 'ref' }>, frame: (Value | undefined)[], k: NextValue): boolean {
    const root = (ref as RootRef).root;
    if (root === 'input') {
      if (this.input === undefined) return false;
      return this.walkValue(this.input, ref.path, 0, frame, k);
    }
    if (root === 'data') return this.walkData(this.setup.rules.root, this.data, ref.path, 0, frame, k);
    const head = ref.head;
    if (head.type === 'var') {
      const v = frame[head.slot];
      if (v === undefined) throw this.error('rego_unsafe_var_error', `var ${head.name} is unsafe`, head.loc);
      return this.walkValue(v, ref.path, 0, frame, k);
    }
    return this.evalTerm(head, frame, (v) => this.walkValue(v, ref.path, 0, frame, k));
  }

  /**
   * Walks `path` from `i` through a value. In a base document (`baseDoc`, JSON from data) a number
   * indexes an object by its text, as OPA's storage reads `data.x[2]` as the key "2".
   */
  private walkValue(value: Value, path: readonly Term[], i: number, frame: (Value | undefined)[], k: NextValue, baseDoc = false): boolean {
    for (; i < path.length; i++) {
      const seg = path[i]!;
      const d = this.direct(seg, frame);
      if (d === UNDEFINED) return false;
      if (d === NOT_DIRECT) break;
      const child = stepInto(value, d, baseDoc);
      if (child === undefined) return false;
      value = child;
    }
    if (i === path.length) return k(value);
    const seg = path[i]!;
    if (isPattern(seg, frame)) {
      return this.forEachMember(value, (key, child) => this.unifyValue(seg, key, frame, () => this.walkValue(child, path, i + 1, frame, k, baseDoc)));
    }
    return this.evalTerm(seg, frame, (key) => {
      const child = stepInto(value, key, baseDoc);
      return child === undefined ? false : this.walkValue(child, path, i + 1, frame, k, baseDoc);
    });
  }

  private walkData(node: DocNode, base: Value | undefined, path: readonly Term[], i: number, frame: (Value | undefined)[], k: NextValue): boolean {
    if (this.overridden !== undefined && this.overridden.has(node)) {
      return base === undefined ? false : this.walkValue(base, path, i, frame, k);
    }
    if (node.group !== undefined) {
      const group = node.group;
      if (group.kind === 'function') {
        // A function without parameters can be referred to like a document.
        if (group.arity !== 0) return false;
        const value = this.callFunction(group, [], NO_LOC);
        return value === undefined ? false : this.walkValue(value, path, i, frame, k);
      }
      let key: Value | undefined;
      if (group.keyedLookups === true && i < path.length) {
        const d = this.direct(path[i]!, frame);
        if (d !== UNDEFINED && d !== NOT_DIRECT) key = d;
      }
      let value = this.groupValue(group, key);
      if (value === undefined) return false;
      if (node.children.size > 0 && isObject(value)) value = this.mergeChildren(value, node, base);
      return this.walkValue(value, path, i, frame, k);
    }
    if (i === path.length) return k(this.nodeValue(node, base));
    const seg = path[i]!;
    const visit = (key: Value): boolean => {
      // Base documents are JSON: a number indexes the member named by its text.
      if (typeof key === 'number' || typeof key === 'bigint') key = String(key);
      const child = typeof key === 'string' ? node.children.get(key) : undefined;
      const childBase = base === undefined ? undefined : lookup(base, key);
      if (child !== undefined) return this.walkData(child, childBase, path, i + 1, frame, k);
      if (childBase === undefined) return false;
      return this.walkValue(childBase, path, i + 1, frame, k, true);
    };
    const d = this.direct(seg, frame);
    if (d === UNDEFINED) return false;
    if (d !== NOT_DIRECT) return visit(d);
    if (isPattern(seg, frame)) {
      const keys = new Set<Value>(node.children.keys());
      if (base !== undefined && isObject(base)) for (const key of base.keys()) keys.add(key);
      for (const key of [...keys].sort(compare)) {
        if (this.unifyValue(seg, key, frame, () => visit(key))) return true;
      }
      return false;
    }
    return this.evalTerm(seg, frame, visit);
  }

  private nodeValue(node: DocNode, base: Value | undefined): Value {
    if (this.overridden !== undefined && this.overridden.has(node)) return base ?? null;
    if (node.group !== undefined) {
      const value = this.groupValue(node.group, undefined);
      if (value === undefined) return undefined as unknown as Value;
      return node.children.size > 0 && isObject(value) ? this.mergeChildren(value, node, base) : value;
    }
    const builder = new ObjectBuilder();
    if (base !== undefined && isObject(base)) for (const [key, value] of base.entries()) builder.set(key, value);
    else if (base !== undefined && node.children.size === 0) return base;
    for (const [name, child] of node.children) {
      if (child.group?.kind === 'function') continue;
      const value = this.nodeValue(child, base === undefined ? undefined : lookup(base, name));
      if (value !== undefined) builder.set(name, value);
    }
    return builder.build();
  }

  /**
   * A rule group's object with the documents of the rules below it (`p.q[k] := 1` beside
   * `p.q.r := 2`): one key given two different values is a conflict, as in OPA, except where
   * both are sets of multi-value rules at the same path (`p[q] contains r` beside `p.b contains 1`).
   */
  private mergeChildren(value: RegoObject, node: DocNode, base: Value | undefined): Value {
    const builder = new ObjectBuilder();
    for (const [key, v] of value.entries()) builder.set(key, v);
    const depth = multiValueDepth(node.group!);
    for (const [name, child] of node.children) {
      if (child.group?.kind === 'function') continue;
      const v = this.nodeValue(child, base === undefined ? undefined : lookup(base, name));
      if (v === undefined) continue;
      const existing = value.get(name);
      const merged = existing === undefined || equals(existing, v) ? v : depth === undefined ? undefined : mergeSetLeaves(existing, v, depth - 1);
      if (merged === undefined) throw this.error('eval_conflict_error', 'object keys must be unique', node.group?.rules[0]?.loc ?? NO_LOC);
      builder.set(name, merged);
    }
    return builder.build();
  }

  private inputAt(path: InputPath): Value | undefined {
    let value = this.input;
    for (const key of path) {
      if (value === undefined) return undefined;
      value = lookup(value, key);
    }
    return value;
  }

  // ---- rule documents

  private groupValue(group: RuleGroup, key: Value | undefined): Value | undefined {
    const cacheKey = key === undefined ? group : `${group.key}\u0000${canonicalText(key)}`;
    const cached = this.documents.get(cacheKey);
    if (cached !== undefined) return cached === UNDEFINED ? undefined : cached;
    const value = group.kind === 'complete' ? this.completeValue(group) : this.partialValue(group, key);
    this.documents.set(cacheKey, value === undefined ? UNDEFINED : value);
    return value;
  }

  private candidates(group: RuleGroup): readonly Rule[] {
    // Under `with data...`, an alias the index follows may no longer read input: use every rule.
    if (group.index === undefined || this.overridden !== undefined) return group.rules;
    return candidateRules(group.index, this.indexLookup, []);
  }

  private completeValue(group: RuleGroup): Value | undefined {
    let result: Value | undefined;
    const stopAtFirst = group.constant !== undefined;
    let resultRule: Rule | undefined;
    for (const rule of this.candidates(group)) {
      this.evalChain(rule, undefined, (value, r) => {
        if (result === undefined) {
          result = value;
          resultRule = r;
        } else if (!equals(result, value)) {
          throw this.error('eval_conflict_error', `complete rules must not produce multiple outputs`, (r ?? resultRule)!.loc);
        }
        return stopAtFirst;
      });
      if (stopAtFirst && result !== undefined) break;
    }
    if (result === undefined && group.defaultRule !== undefined) {
      resultRule = group.defaultRule;
      result = this.defaultValue(group.defaultRule);
    }
    if (resultRule !== undefined) this.decisions?.set(group, [resultRule]);
    return result;
  }

  /** The rule (its location) that gave a complete document its value, when `explain` was asked. */
  decidedBy(group: RuleGroup): Location | undefined {
    return group.kind === 'complete' ? this.decisions?.get(group)?.[0]?.loc : undefined;
  }

  /**
   * Every document given a value so far, in that order, with the rule that gave a complete one its
   * value, or each rule that added an entry to a partial one (set or object).
   */
  decided(): readonly (readonly [RuleGroup, Rule])[] {
    const decided: [RuleGroup, Rule][] = [];
    for (const [group, rules] of this.decisions ?? []) for (const rule of rules) decided.push([group, rule]);
    return decided;
  }

  /**
   * Evaluates a rule and its else chain: the first rule of the chain with a solution gives the
   * value(s). `args` are function arguments.
   */
  private evalChain(rule: Rule, args: readonly Value[] | undefined, onValue: (value: Value, rule: Rule) => boolean): boolean {
    for (let r: Rule | undefined = rule; r !== undefined; r = r.else) {
      const current = r;
      const frame = new Array<Value | undefined>(current.slots);
      let found = false;
      const body = (): boolean =>
        this.evalBody(current.body, 0, frame, () =>
          this.evalTerm(current.value, frame, (v) => {
            found = true;
            return onValue(v, current) || current.else !== undefined || rule.else !== undefined;
          }),
        );
      const stopped = args === undefined ? body() : this.unifyArgs(current.args!, args, 0, frame, body);
      if (found) return stopped;
    }
    return false;
  }

  private unifyArgs(params: readonly Term[], args: readonly Value[], i: number, frame: (Value | undefined)[], k: Next): boolean {
    if (i === params.length) return k();
    return this.unifyValue(params[i]!, args[i]!, frame, () => this.unifyArgs(params, args, i + 1, frame, k));
  }

  private partialValue(group: RuleGroup, key: Value | undefined): Value | undefined {
    const tree = new DocTree(group.kind === 'set');
    for (const rule of this.candidates(group)) {
      // A rule whose keys and value are constants adds one entry: its first solution is enough.
      const ground = rule.value.type === 'scalar' && ruleRest(rule).every((t) => t.type === 'scalar');
      const frame = new Array<Value | undefined>(rule.slots);
      const rest = ruleRest(rule);
      if (key !== undefined) {
        const first = rest.length > 0 ? rest[0]! : rule.value;
        if (first.type === 'var' && frame[first.slot] === undefined) frame[first.slot] = key;
      }
      let added = false;
      this.evalBody(rule.body, 0, frame, () =>
        this.evalItems(rest, 0, [], frame, (keys) =>
          this.evalTerm(rule.value, frame, (value) => {
            const conflict = tree.insert(keys, value, rule.kind === 'multi');
            if (conflict) {
              const message = onlyGroundRefs(group) ? 'complete rules must not produce multiple outputs' : 'object keys must be unique';
              throw this.error('eval_conflict_error', message, rule.loc);
            }
            added = true;
            return ground;
          }),
        ),
      );
      if (added && this.decisions !== undefined) this.explainPartial(group, rule);
    }
    if (group.kind === 'set' || tree.size > 0) return tree.build();
    return tree.build();
  }

  private explainPartial(group: RuleGroup, rule: Rule): void {
    let rules = this.decisions!.get(group);
    if (rules === undefined) this.decisions!.set(group, (rules = []));
    if (!rules.includes(rule)) rules.push(rule);
  }

  private callFunction(group: RuleGroup, args: readonly Value[], loc: Location): Value | undefined {
    let result: Value | undefined;
    for (const rule of this.candidates(group)) {
      this.evalChain(rule, args, (value) => {
        if (result === undefined) result = value;
        else if (!equals(result, value)) {
          throw this.error('eval_conflict_error', 'functions must not produce multiple outputs for same inputs', loc);
        }
        return false;
      });
    }
    if (result === undefined && group.defaultRule !== undefined) result = this.defaultValue(group.defaultRule);
    return result;
  }

  /** The value of a `default` rule (a constant term, possibly a comprehension). */
  private defaultValue(rule: Rule): Value | undefined {
    let value: Value | undefined;
    this.evalTerm(rule.value, new Array(rule.slots), (v) => {
      value = v;
      return true;
    });
    return value;
  }

  // ---- calls

  private evalCall(call: ResolvedCall, frame: (Value | undefined)[], k: NextValue): boolean {
    const name = call.name;
    if (name === 'eq' || name === 'assign') return this.unifyTerms(call.args[0]!, call.args[1]!, frame, () => k(true));
    if (name === 'internal.member_2') {
      return this.evalItems(call.args, 0, [], frame, ([item, collection]) => k(isMember(item!, collection!)));
    }
    if (name === 'internal.member_3') {
      return this.evalItems(call.args, 0, [], frame, ([key, item, collection]) => {
        const found = lookup(collection!, key!);
        return k(found !== undefined && !isSet(collection!) && equals(found, item!));
      });
    }
    if (name === 'print') return this.evalPrint(call, frame, k);
    const arity = call.arity ?? call.args.length;
    const mock = this.mocks?.get(call.functionPath ?? name);
    return this.evalOperands(call.args.slice(0, arity), frame, (args) => {
      let result: Value | undefined;
      if (mock !== undefined) {
        if (mock.value !== undefined) result = mock.value;
        else if (mock.functionPath !== undefined) result = this.callReplacement(mock, args, call);
        else result = this.callBuiltin(mock.builtin!, args, call);
      } else if (call.functionPath !== undefined) {
        result = this.callFunction(this.setup.rules.functions.get(call.functionPath)!, args, call.loc);
      } else if (call.builtin !== undefined) {
        if (call.builtin.relation) {
          const outputs = this.callBuiltin(call.builtin, args, call);
          if (outputs === undefined) return false;
          for (const output of outputs as readonly Value[]) {
            if (this.output(call, arity, output, frame, k)) return true;
          }
          return false;
        }
        result = this.callBuiltin(call.builtin, args, call);
      } else throw this.error('rego_type_error', `undefined function ${name}`, call.loc);
      if (result === undefined) return false;
      return this.output(call, arity, result, frame, k);
    });
  }

  /**
   * Calls the function a `with` put in place of another. It runs under the mocks of the place the
   * `with` was written, so `g(x) := f(x)` replacing `f` calls the real `f`, not itself; with its
   * own document cache, since those mocks differ from the ones the cache was filled under.
   */
  private callReplacement(mock: FunctionMock, args: readonly Value[], call: ResolvedCall): Value | undefined {
    const saved = { mocks: this.mocks, documents: this.documents };
    this.mocks = mock.outer;
    this.documents = new Map();
    try {
      return this.callFunction(this.setup.rules.functions.get(mock.functionPath!)!, args, call.loc);
    } finally {
      this.mocks = saved.mocks;
      this.documents = saved.documents;
    }
  }

  private output(call: ResolvedCall, arity: number, result: Value, frame: (Value | undefined)[], k: NextValue): boolean {
    if (call.args.length > arity) return this.unifyValue(call.args[arity]!, result, frame, () => k(true));
    return k(result);
  }

  private callBuiltin(builtin: BuiltinDefinition, args: readonly Value[], call: ResolvedCall): Value | undefined {
    try {
      return builtin.call(args, this);
    } catch (error) {
      if (error instanceof RegoError) throw error;
      if (!this.strict) return undefined;
      if (error instanceof BuiltinError) throw this.error(error.code, error.message, call.loc);
      throw this.error('eval_builtin_error', `${builtin.name}: ${(error as Error).message}`, call.loc);
    }
  }

  private evalPrint(call: ResolvedCall, frame: (Value | undefined)[], k: NextValue): boolean {
    const parts = call.args.map((arg) => {
      const values: Value[] = [];
      this.evalTerm(arg, frame, (v) => (values.push(v), false));
      return values.length === 0 ? '<undefined>' : values.map(printText).join(' ');
    });
    this.setup.print?.(parts.join(' '), call.loc);
    return k(true);
  }

  // ---- unification

  private unifyTerms(a: Term, b: Term, frame: (Value | undefined)[], k: Next): boolean {
    if (!isPattern(a, frame)) return this.evalTerm(a, frame, (v) => this.unifyValue(b, v, frame, k));
    if (!isPattern(b, frame)) return this.evalTerm(b, frame, (v) => this.unifyValue(a, v, frame, k));
    if (a.type === 'array' && b.type === 'array') {
      if (a.items.length !== b.items.length) return false;
      return this.unifyPairs(a.items.map((t, i) => [t, b.items[i]!] as const), frame, k);
    }
    if (a.type === 'object' && b.type === 'object') {
      if (a.entries.length !== b.entries.length) return false;
      const pairs: (readonly [Term, Term])[] = [];
      for (const [ka, va] of a.entries) {
        const match = b.entries.find(([kb]) => kb.type === 'scalar' && ka.type === 'scalar' && equals(kb.value, ka.value));
        if (match === undefined) return false;
        pairs.push([va, match[1]]);
      }
      return this.unifyPairs(pairs, frame, k);
    }
    throw this.error('rego_unsafe_var_error', 'cannot unify two unbound patterns', a.loc);
  }

  private unifyPairs(pairs: readonly (readonly [Term, Term])[], frame: (Value | undefined)[], k: Next): boolean {
    if (pairs.length === 0) return k();
    let index = pairs.findIndex(([x, y]) => !isPattern(x, frame) || !isPattern(y, frame));
    if (index < 0) index = 0;
    const [x, y] = pairs[index]!;
    const rest = pairs.filter((_, i) => i !== index);
    return this.unifyTerms(x, y, frame, () => this.unifyPairs(rest, frame, k));
  }

  unifyValue(pattern: Term, value: Value, frame: (Value | undefined)[], k: Next): boolean {
    switch (pattern.type) {
      case 'var': {
        const current = frame[pattern.slot];
        if (current === undefined) {
          frame[pattern.slot] = value;
          try {
            return k();
          } finally {
            frame[pattern.slot] = undefined;
          }
        }
        return equals(current, value) ? k() : false;
      }
      case 'scalar':
        return equals(pattern.value, value) ? k() : false;
      case 'array':
        if (!isArray(value) || value.length !== pattern.items.length) return false;
        return this.unifyItems(pattern.items, value, 0, frame, k);
      case 'object': {
        if (!isObject(value) || value.size !== pattern.entries.length) return false;
        return this.unifyEntries(pattern.entries, value, 0, frame, k);
      }
      default:
        return this.evalTerm(pattern, frame, (v) => (equals(v, value) ? k() : false));
    }
  }

  private unifyItems(items: readonly Term[], values: readonly Value[], i: number, frame: (Value | undefined)[], k: Next): boolean {
    if (i === items.length) return k();
    return this.unifyValue(items[i]!, values[i]!, frame, () => this.unifyItems(items, values, i + 1, frame, k));
  }

  private unifyEntries(entries: readonly [Term, Term][], object: RegoObject, i: number, frame: (Value | undefined)[], k: Next): boolean {
    if (i === entries.length) return k();
    const [keyTerm, valueTerm] = entries[i]!;
    return this.evalTerm(keyTerm, frame, (key) => {
      const value = object.get(key);
      if (value === undefined) return false;
      return this.unifyValue(valueTerm, value, frame, () => this.unifyEntries(entries, object, i + 1, frame, k));
    });
  }
}

/** Object keys or set members in OPA's order, sorted once per collection (values are immutable). */
const sortedCache = new WeakMap<RegoObject | RegoSet, readonly Value[]>();
function sortedMembers(collection: RegoObject | RegoSet): readonly Value[] {
  if (collection.size <= 1) return collection instanceof RegoSet ? [...collection.values()] : [...collection.keys()];
  let sorted = sortedCache.get(collection);
  if (sorted === undefined) {
    sorted = collection instanceof RegoSet ? sortedValues(collection) : [...collection.keys()].sort(compare);
    sortedCache.set(collection, sorted);
  }
  return sorted;
}

const NO_LOC: Location = { file: 'query', row: 1, col: 1 };

/** `with f as g`: the path of a user function or the name of a builtin, if `term` names one. */
function functionNameOf(term: Term, rules: CompiledRules): string | undefined {
  if ((term as { builtinRef?: boolean }).builtinRef) return (term as { value: string }).value;
  if (term.type === 'ref' && (term as RootRef).root === 'data') {
    const path = term.path.map((seg) => (seg.type === 'scalar' ? String(seg.value) : '\u0000')).join('.');
    if (rules.functions.has(`data.${path}`)) return `data.${path}`;
    return undefined;
  }
  return undefined;
}

function isPattern(term: Term, frame: (Value | undefined)[]): boolean {
  switch (term.type) {
    case 'var':
      return frame[term.slot] === undefined;
    case 'array':
      for (const item of term.items) if (isPattern(item, frame)) return true;
      return false;
    case 'object':
      for (const [, v] of term.entries) if (isPattern(v, frame)) return true;
      return false;
    default:
      return false;
  }
}

export function lookup(value: Value, key: Value): Value | undefined {
  if (value instanceof RegoObject) return value.get(key);
  if (Array.isArray(value)) {
    if (typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < value.length) return (value as Value[])[key];
    return undefined;
  }
  if (value instanceof RegoSet) return value.has(key) ? key : undefined;
  return undefined;
}

function isMember(item: Value, collection: Value): boolean {
  if (isArray(collection)) return collection.some((v) => equals(v, item));
  if (isSet(collection)) return collection.has(item);
  if (isObject(collection)) {
    for (const v of collection.values()) if (equals(v, item)) return true;
  }
  return false;
}

/** Sets `keys` in `target` to `value`, creating objects on the way. */
function upsert(target: Value, keys: readonly Value[], value: Value): Value {
  if (keys.length === 0) return value;
  const object = isObject(target) ? target : RegoObject.empty;
  const [key, ...rest] = keys;
  const child = object.get(key!);
  return object.with(key!, upsert(child ?? RegoObject.empty, rest, value));
}

/** How `print` shows a value: strings bare, other values as Rego literals. */
function printText(value: Value): string {
  if (typeof value === 'string') return value;
  return regoText(value);
}

function regoText(value: Value): string {
  if (isSet(value)) return value.size === 0 ? 'set()' : `{${sortedValues(value).map(regoText).join(', ')}}`;
  if (isArray(value)) return `[${value.map(regoText).join(', ')}]`;
  if (isObject(value)) {
    return `{${[...value.keys()].sort(compare).map((k) => `${regoText(k)}: ${regoText(value.get(k)!)}`).join(', ')}}`;
  }
  return toJSONText(value);
}

/** Builds the document of a partial rule group: a set, or nested objects of values/sets. */
class DocTree {
  private readonly entries = new Map<string, [Value, Value | DocTree | SetBuilder]>();
  private readonly set: SetBuilder | undefined;
  constructor(isSet: boolean) {
    if (isSet) this.set = new SetBuilder();
  }
  get size(): number {
    return this.entries.size + (this.set?.size ?? 0);
  }
  /** Returns true on a conflict (same key, different values). */
  insert(keys: readonly Value[], value: Value, multi: boolean): boolean {
    if (keys.length === 0) {
      this.set!.add(value);
      return false;
    }
    const text = typeof keys[0] === 'string' ? keys[0] : `\u0001${canonicalText(keys[0]!)}`;
    const existing = this.entries.get(text);
    if (keys.length === 1) {
      if (multi) {
        let set = existing?.[1];
        if (!(set instanceof SetBuilder)) {
          set = new SetBuilder();
          this.entries.set(text, [keys[0]!, set]);
        }
        set.add(value);
        return false;
      }
      if (existing !== undefined) return !(existing[1] instanceof DocTree) && !(existing[1] instanceof SetBuilder) ? !equals(existing[1] as Value, value) : true;
      this.entries.set(text, [keys[0]!, value]);
      return false;
    }
    let child = existing?.[1];
    if (!(child instanceof DocTree)) {
      if (existing !== undefined) return true;
      child = new DocTree(false);
      this.entries.set(text, [keys[0]!, child]);
    }
    return child.insert(keys.slice(1), value, multi);
  }
  build(): Value {
    if (this.set !== undefined) return this.set.build();
    const builder = new ObjectBuilder();
    for (const [key, value] of this.entries.values()) {
      builder.set(key, value instanceof DocTree || value instanceof SetBuilder ? value.build() : value);
    }
    return builder.build();
  }
}
