// Name resolution and safety for rule bodies: vars become frame slots or refs to documents
// (rules, imports, input, data), calls find their builtin or user function, and body literals are
// ordered so each runs once the variables it needs are bound.
import { documentPath, ruleRest, setRuleRest, type Body, type CallTerm, type ExprLiteral, type Literal, type Module, type Query, type ResolvedCall, type RootRef, type Rule, type Term, type VarTerm } from './ast.js';
import { AnnotationSet } from './annotations.js';
import { deprecatedBuiltinNames } from './builtins/index.js';
import type { BuiltinRegistry } from './builtins/registry.js';
import type { ErrorCollector, Location } from './errors.js';
import type { DocNode, RuleGroup } from './compiler.js';
import {
  bindableVars,
  comprehensionVars,
  declaredBy,
  collectFreeVars,
  declaredIn,
  displayName,
  exprPlan,
  generated,
  literalVars,
  needsBound,
  patternNeeds,
  patternVars,
  renameInComprehensions,
  renameVars,
  varsIn,
  visitLiteralVars,
  visitVars,
} from './safety.js';
import { canonicalText, typeName } from './value.js';

export const OPERATOR_NAMES = new Set(['eq', 'assign', 'internal.member_2', 'internal.member_3', 'print']);

interface Scope {
  /** Names that refer to documents (rules of the package, imports). */
  readonly globals: Map<string, Term[]>;
  readonly packagePath: readonly string[];
  /** Var name -> frame slot. */
  readonly slots: Map<string, number>;
  /** Names declared local with `some`, `:=`, function arguments, every/some-in. */
  readonly locals: Set<string>;
  wildcard: number;
}

export class Resolver {
  /** Group key -> keys of groups it depends on. */
  readonly dependencies = new Map<string, Set<string>>();
  private currentDeps: Set<string> | undefined;

  /** Rego version of the module being compiled (queries are v1): deprecated builtins are v0 only. */
  private regoVersion: 0 | 1 = 1;
  /** The rule being compiled: `rego.metadata.*` calls in it become its annotations. */
  private currentRule: Rule | undefined;
  private readonly annotations: AnnotationSet;
  /** Package path -> names of the rules its modules define. */
  private readonly ruleNames = new Map<string, Set<string>>();

  constructor(
    private readonly root: DocNode,
    private readonly functions: Map<string, RuleGroup>,
    private readonly builtins: BuiltinRegistry,
    private readonly errors: ErrorCollector,
    modules: readonly Module[] = [],
  ) {
    this.annotations = new AnnotationSet(modules);
    for (const module of modules) {
      const key = module.packagePath.join('.');
      const names = this.ruleNames.get(key) ?? new Set<string>();
      for (const rule of module.rules) names.add((rule.ref[0] as VarTerm).name);
      this.ruleNames.set(key, names);
    }
  }

  private readonly globalsCache = new Map<Module, Map<string, Term[]>>();

  private globalsFor(module: Module | undefined): Map<string, Term[]> {
    if (module === undefined) return new Map();
    const cached = this.globalsCache.get(module);
    if (cached !== undefined) return cached;
    const globals = new Map<string, Term[]>();
    this.globalsCache.set(module, globals);
    // Rules of the package take precedence over imports of the same name.
    for (const imp of module.imports) {
      const head = (imp.path.head as VarTerm).name;
      const last = imp.path.path.length > 0 ? (imp.path.path[imp.path.path.length - 1] as { value: string }).value : head;
      const alias = imp.alias ?? last;
      if (head === 'input') globals.set(alias, [{ type: 'var', name: 'input', loc: imp.loc, slot: -1 }, ...imp.path.path]);
      else globals.set(alias, imp.path.path);
      if (head === 'input') (globals.get(alias) as Term[] & { input?: boolean }).input = true;
    }
    const pkg = this.nodeAt(module.packagePath);
    const ruleNames = this.ruleNames.get(module.packagePath.join('.'));
    if (pkg) {
      for (const name of pkg.children.keys()) {
        // A subpackage does not hide an import; a rule does.
        if (globals.has(name) && !ruleNames?.has(name)) continue;
        globals.set(name, [...module.packagePath, name].map((p) => scalar(p, module.loc)));
      }
    }
    return globals;
  }

  private nodeAt(path: readonly string[]): DocNode | undefined {
    let node: DocNode | undefined = this.root;
    for (const p of path) node = node?.children.get(p);
    return node;
  }

  compileRule(module: Module, rule: Rule): void {
    this.regoVersion = module.regoVersion;
    this.currentRule = rule;
    const group = this.nodeAt(documentPath(module, rule).path);
    this.currentDeps = new Set();
    if (group?.group) {
      const existing = this.dependencies.get(group.group.key);
      if (existing) this.currentDeps = existing;
      else this.dependencies.set(group.group.key, this.currentDeps);
    }
    const scope: Scope = { globals: this.globalsFor(module), packagePath: module.packagePath, slots: new Map(), locals: new Set(), wildcard: 0 };
    const bound = new Set<string>();
    if (rule.args) {
      for (const arg of rule.args) {
        for (const name of varsIn(arg, new Set())) {
          scope.locals.add(name);
          bound.add(name);
        }
      }
      rule.args.forEach((arg, i) => (rule.args![i] = this.resolveTerm(arg, scope)));
    }
    const headLiterals = (terms: Term[]): ExprLiteral[] => terms.map((term) => ({ type: 'expr', negated: false, term, with: [], loc: rule.loc }));
    if (!rule.isDefault) this.moveWildcardHeadTermsToBody(rule, scope);
    this.declareLocals(rule.body, scope);
    this.declareLocals(headLiterals([...ruleRest(rule), rule.value]), scope);
    if (rule.isDefault) this.checkDefaultValue(rule.value);
    if (module.regoVersion === 1) {
      this.checkShadowing(rule.body, rule.loc);
      const name = (rule.ref[0] as VarTerm).name;
      if (name === 'input' || name === 'data') this.errors.add('rego_compile_error', `rules must not shadow ${name}: ${name} cannot be shadowed`, rule.loc);
    }
    const rest = ruleRest(rule);
    // Head vars refer to body locals, never to rules of the same name.
    for (const t of [...rest, rule.value]) for (const name of varsIn(t, new Set())) if (!scope.globals.has(name) && name !== 'input' && name !== 'data') scope.locals.add(name);
    const params = rule.args ? [...varsIn({ type: 'array', items: rule.args, loc: rule.loc }, new Set())] : [];
    rule.body = this.compileBody(rule.body, scope, bound, [...rest, rule.value], params);
    setRuleRest(rule, rest.map((t) => this.resolveTerm(t, scope)));
    rule.value = this.resolveTerm(rule.value, scope);
    for (const lit of headLiterals([...ruleRest(rule), rule.value])) {
      this.compileNested(lit, scope, bound);
      this.assignSlots(lit, scope);
      this.checkCalls(lit.term, false);
    }
    const headVars = new Set<string>();
    for (const t of [...ruleRest(rule), rule.value]) collectFreeVars(t, headVars);
    for (const name of headVars) {
      if (!bound.has(name)) this.errors.add('rego_unsafe_var_error', `var ${displayName(name)} is unsafe`, rule.loc);
    }
    rule.slots = scope.slots.size;
    this.currentDeps = undefined;
    this.currentRule = undefined;
  }

  compileQuery(query: Query, module: Module | undefined): string[] {
    this.regoVersion = 1;
    const scope: Scope = { globals: this.globalsFor(module), packagePath: module?.packagePath ?? [], slots: new Map(), locals: new Set(), wildcard: 0 };
    this.declareLocals(query.body, scope);
    const bound = new Set<string>();
    (query as { body: Body }).body = this.compileBody(query.body, scope, bound, []);
    query.slots = scope.slots.size;
    return [...scope.slots.keys()].filter((n) => !n.startsWith('$') && bound.has(n));
  }

  private checkShadowing(body: Body, loc: Location): void {
    for (const lit of body) {
      if (lit.type === 'expr' && lit.term.type === 'call' && lit.term.name === 'assign') {
        for (const name of varsIn(lit.term.args[0], new Set())) {
          if (name === 'input' || name === 'data') this.errors.add('rego_compile_error', `variables must not shadow ${name} (use a different variable name): ${name} cannot be shadowed`, lit.loc ?? loc);
        }
      }
      if (lit.type === 'some-decl') {
        for (const v of lit.vars) if (v.name === 'input' || v.name === 'data') this.errors.add('rego_compile_error', `variables must not shadow ${v.name}: ${v.name} cannot be shadowed`, lit.loc);
      }
    }
  }

  /** Names declared in a body (and nested bodies) with `some`, `:=`, some-in or every. */
  private declareLocals(body: Body, scope: Scope): void {
    const visitTerm = (term: Term | undefined): void => {
      if (term === undefined) return;
      if (term.type === 'comprehension') {
        this.declareLocals(term.body, scope);
        return;
      }
      if (term.type === 'call') term.args.forEach(visitTerm);
      else if (term.type === 'array' || term.type === 'set') term.items.forEach(visitTerm);
      else if (term.type === 'object') term.entries.forEach(([k, v]) => (visitTerm(k), visitTerm(v)));
      else if (term.type === 'ref') {
        visitTerm(term.head);
        term.path.forEach(visitTerm);
      }
    };
    for (const lit of body) {
      if (lit.type === 'some-decl') for (const v of lit.vars) scope.locals.add(v.name);
      else if (lit.type === 'some-in' || lit.type === 'every') {
        for (const t of [lit.key, lit.value]) if (t) for (const n of varsIn(t, new Set())) scope.locals.add(n);
        visitTerm(lit.domain);
        if (lit.type === 'every') this.declareLocals(lit.body, scope);
      } else if (lit.type === 'expr') {
        if (lit.term.type === 'call' && lit.term.name === 'assign') {
          for (const n of varsIn(lit.term.args[0], new Set())) scope.locals.add(n);
        }
        visitTerm(lit.term);
      }
    }
  }

  private slotOf(scope: Scope, name: string): number {
    let slot = scope.slots.get(name);
    if (slot === undefined) {
      slot = scope.slots.size;
      scope.slots.set(name, slot);
    }
    return slot;
  }

  /**
   * A head key or value with a wildcard (`q(_) := xs[_]`) is evaluated in the body and the head
   * takes its result (`q(_) := $h if { ...; $h = xs[_] }`), as OPA rewrites such heads.
   */
  private moveWildcardHeadTermsToBody(rule: Rule, scope: Scope): void {
    const move = (term: Term): Term => {
      if (!varsIn(term, new Set()).has('_')) return term;
      const result: VarTerm = { type: 'var', name: `$h${scope.wildcard++}`, loc: term.loc, slot: -1 };
      const call: Term = { type: 'call', name: 'eq', args: [result, term], loc: term.loc };
      rule.body = [...rule.body, { type: 'expr', negated: false, term: call, with: [], loc: term.loc }];
      return { ...result };
    };
    setRuleRest(rule, ruleRest(rule).map(move));
    rule.value = move(rule.value);
  }

  /** Rewrites names into refs/slots. */
  resolveTerm(term: Term, scope: Scope): Term {
    switch (term.type) {
      case 'scalar':
        return term;
      case 'var': {
        if (term.name === '_') {
          term.name = `$_${scope.wildcard++}`;
        }
        if (!scope.locals.has(term.name)) {
          if (term.name === 'input') return { type: 'ref', head: term, path: [], loc: term.loc, root: 'input' } as RootRef;
          if (term.name === 'data') return this.noteDataRef({ type: 'ref', head: term, path: [], loc: term.loc, root: 'data' } as RootRef);
          const global = scope.globals.get(term.name);
          if (global !== undefined) return this.globalRef(global, [], term.loc);
        }
        term.slot = this.slotOf(scope, term.name);
        return term;
      }
      case 'ref': {
        const path = term.path.map((p) => this.resolveTerm(p, scope));
        const head = term.head;
        if (head.type === 'var' && !scope.locals.has(head.name) && head.name !== '_') {
          if (head.name === 'input') return { type: 'ref', head, path, loc: term.loc, root: 'input' } as RootRef;
          if (head.name === 'data') return this.noteDataRef({ type: 'ref', head, path, loc: term.loc, root: 'data' } as RootRef);
          const global = scope.globals.get(head.name);
          if (global !== undefined) return this.globalRef(global, path, term.loc);
        }
        const resolvedHead = this.resolveTerm(head, scope);
        if (resolvedHead.type === 'ref') {
          const merged = { ...resolvedHead, path: [...resolvedHead.path, ...path] } as RootRef;
          return merged.root === 'data' ? this.noteDataRef(merged) : merged;
        }
        return { type: 'ref', head: resolvedHead, path, loc: term.loc };
      }
      case 'array':
        return { ...term, items: term.items.map((t) => this.resolveTerm(t, scope)) };
      case 'set':
        return { ...term, items: term.items.map((t) => this.resolveTerm(t, scope)) };
      case 'object':
        return { ...term, entries: term.entries.map(([k, v]) => [this.resolveTerm(k, scope), this.resolveTerm(v, scope)] as [Term, Term]) };
      case 'call':
        return this.resolveCall(term, scope);
      case 'comprehension':
        // Names are resolved now; the body is ordered when its literal is scheduled (compileNested).
        return {
          ...term,
          head: this.resolveTerm(term.head, scope),
          ...(term.value ? { value: this.resolveTerm(term.value, scope) } : {}),
          body: term.body.map((lit) => this.resolveLiteral(lit, scope)),
        };
    }
  }

  private globalRef(global: Term[], path: Term[], loc: Location): Term {
    if ((global as Term[] & { input?: boolean }).input) {
      return { type: 'ref', head: global[0]!, path: [...global.slice(1), ...path], loc, root: 'input' } as RootRef;
    }
    return this.noteDataRef({ type: 'ref', head: { type: 'var', name: 'data', loc, slot: -1 }, path: [...global, ...path], loc, root: 'data' } as RootRef);
  }

  /** Records which rule documents a `data` ref may read, for recursion checks. */
  private noteDataRef(ref: RootRef): RootRef {
    if (this.currentDeps === undefined) return ref;
    let node: DocNode | undefined = this.root;
    for (const seg of ref.path) {
      if (node.group) break;
      // A number never names a rule; a computed key may read any document below this node.
      if (seg.type === 'scalar' && typeof seg.value !== 'string') return ref;
      if (seg.type !== 'scalar') break;
      const next: DocNode | undefined = node.children.get(seg.value as string);
      if (next === undefined) return ref;
      node = next;
    }
    const deps = this.currentDeps;
    const visit = (n: DocNode): void => {
      if (n.group) deps.add(n.group.key);
      for (const c of n.children.values()) visit(c);
    };
    visit(node);
    return ref;
  }

  private resolveCall(term: CallTerm, scope: Scope): Term {
    const args = term.args.map((a) => this.resolveTerm(a, scope));
    const call: ResolvedCall = { ...term, args };
    const name = term.name;
    if (OPERATOR_NAMES.has(name)) return call;
    // As OPA's compiler does: the rule's annotations, a constant (outside a rule, the builtin refuses).
    if (this.currentRule !== undefined && args.length === 0 && (name === 'rego.metadata.chain' || name === 'rego.metadata.rule')) {
      const value = name === 'rego.metadata.chain' ? this.annotations.chain(this.currentRule) : this.annotations.rule(this.currentRule);
      return { type: 'scalar', value, loc: term.loc };
    }
    // User functions: in the package, via an import, or by full data path.
    const parts = name.split('.');
    let fnPath: string | undefined;
    if (parts[0] === 'data') fnPath = name;
    else {
      const global = scope.globals.get(parts[0]!);
      if (global !== undefined && !(global as Term[] & { input?: boolean }).input) {
        fnPath = ['data', ...global.map((t) => (t as { value: string }).value), ...parts.slice(1)].join('.');
      }
    }
    if (fnPath !== undefined) {
      const group = this.functions.get(fnPath);
      if (group !== undefined) {
        call.functionPath = fnPath;
        call.arity = group.arity!;
        this.currentDeps?.add(group.key);
        if (args.length !== group.arity && args.length !== group.arity! + 1) {
          this.errors.add('rego_type_error', `${name}: arity mismatch: function has ${group.arity} arguments, got ${args.length}`, term.loc);
        }
        return call;
      }
      if (parts[0] === 'data' || !this.builtins.has(name)) {
        this.errors.add('rego_type_error', `undefined function ${name}`, term.loc);
        return call;
      }
    }
    const refusal = this.builtins.refusal(name);
    if (refusal !== undefined) {
      this.errors.add('rego_type_error', `${name}: ${refusal}`, term.loc);
      return call;
    }
    const builtin = this.builtins.get(name);
    if (builtin === undefined) {
      this.errors.add('rego_type_error', `undefined function ${name}`, term.loc);
      return call;
    }
    if (this.regoVersion === 1 && deprecatedBuiltinNames.has(name)) {
      this.errors.add('rego_type_error', `deprecated built-in function ${name} cannot be used in Rego v1 (could not find function ${name})`, term.loc);
      return call;
    }
    const arity = builtin.args.length;
    if (args.length !== arity && args.length !== arity + 1) {
      this.errors.add('rego_type_error', `${name}: arity mismatch: expected ${arity} arguments, got ${args.length}`, term.loc);
    }
    call.builtin = builtin;
    call.arity = arity;
    return call;
  }

  /**
   * Resolves a body and orders its literals so that each runs once the variables it needs are
   * bound. `bound` holds the variables bound on entry and receives those bound by the body.
   */
  compileBody(body: Body, scope: Scope, bound: Set<string>, head: Term[], params: readonly string[] = []): Body {
    this.checkAssignments(body, params);
    const resolved = this.localizeComprehensionVars(body, scope).map((lit) => this.resolveLiteral(lit, scope));
    // Variables each literal can bind, for closures (comprehensions, not, every).
    const litVars = resolved.map((lit) => bindableVars(lit));
    const headVars = new Set<string>();
    for (const t of head) varsIn(t, headVars);
    const pending = resolved.map((lit, i) => ({ lit, i }));
    const ordered: Body = [];
    while (pending.length > 0) {
      let progress = false;
      for (let p = 0; p < pending.length; p++) {
        const { lit, i } = pending[p]!;
        const outer = new Set<string>(bound);
        for (const name of headVars) outer.add(name);
        litVars.forEach((vars, j) => {
          if (j !== i) for (const v of vars) outer.add(v);
        });
        const plan = this.planLiteral(lit, bound, outer);
        if (plan === undefined) continue;
        for (const v of plan) bound.add(v);
        this.compileNested(lit, scope, bound);
        ordered.push(lit);
        pending.splice(p, 1);
        progress = true;
        break;
      }
      if (!progress) {
        const { lit } = pending[0]!;
        const missing = [...literalVars(lit, new Set())].find((v) => !bound.has(v) && !v.startsWith('$_')) ?? [...literalVars(lit, new Set())].find((v) => !bound.has(v));
        this.errors.add('rego_unsafe_var_error', `var ${displayName(missing ?? '?')} is unsafe`, lit.loc);
        return ordered.concat(pending.map((p) => p.lit));
      }
    }
    for (const lit of ordered) {
      this.assignSlots(lit, scope);
      if (lit.type === 'expr') this.checkCalls(lit.term, true);
      this.checkPatterns(lit);
    }
    return ordered;
  }

  /** Patterns that can never match their literal value are type errors, as in OPA's checker. */
  private checkPatterns(lit: Literal): void {
    const mismatch = (a: Term, b: Term): string | undefined => {
      if (a.type === 'array' && b.type === 'array') {
        if (a.items.length !== b.items.length) return `match error: mismatch in number of array elements (${a.items.length} and ${b.items.length})`;
        for (let i = 0; i < a.items.length; i++) {
          const inner = mismatch(a.items[i]!, b.items[i]!);
          if (inner) return inner;
        }
        return undefined;
      }
      if (a.type === 'object' && b.type === 'object') {
        const keys = (t: typeof a): string[] => t.entries.map(([k]) => (k.type === 'scalar' ? canonicalText(k.value) : '?')).sort();
        const ka = keys(a);
        const kb = keys(b);
        if (!ka.includes('?') && !kb.includes('?') && ka.join(',') !== kb.join(',')) return `match error: object keys [${ka.join(', ')}] and [${kb.join(', ')}] differ`;
        return undefined;
      }
      const composite = (t: Term): boolean => t.type === 'array' || t.type === 'object' || t.type === 'set' || t.type === 'scalar';
      if (composite(a) && composite(b) && a.type !== b.type && (a.type === 'array' || a.type === 'object' || b.type === 'array' || b.type === 'object')) {
        return `match error: cannot unify ${a.type} with ${b.type}`;
      }
      return undefined;
    };
    if (lit.type === 'expr' && lit.term.type === 'call' && (lit.term.name === 'eq' || lit.term.name === 'assign')) {
      const problem = mismatch(lit.term.args[0]!, lit.term.args[1]!);
      if (problem) this.errors.add('rego_type_error', problem, lit.loc);
    }
    if (lit.type === 'some-in') {
      const domain = lit.domain;
      if (domain.type === 'scalar') {
        this.errors.add('rego_type_error', `some .. in: the collection must be an array, object or set, got ${typeName(domain.value)}`, lit.loc);
      } else if ((domain.type === 'array' || domain.type === 'set') && domain.items.length > 0 && lit.value.type === 'array') {
        const problems = domain.items.map((item) => mismatch(lit.value, item));
        if (problems.every((p) => p !== undefined)) this.errors.add('rego_type_error', problems[0]!, lit.loc);
      }
    }
  }

  /** A default value is a constant: no refs, calls or operators outside comprehensions. */
  private checkDefaultValue(term: Term): void {
    const visit = (t: Term): void => {
      switch (t.type) {
        case 'ref':
          this.errors.add('rego_type_error', 'invalid ref in default value: default rule values must be constants', t.loc);
          break;
        case 'call':
          this.errors.add('rego_type_error', `invalid call of ${t.name} in default value: default rule values must be constants`, t.loc);
          break;
        case 'array':
        case 'set':
          t.items.forEach(visit);
          break;
        case 'object':
          t.entries.forEach(([k, v]) => (visit(k), visit(v)));
          break;
        default:
          break;
      }
    };
    visit(term);
  }

  /** Only a call that is a whole expression may take an extra output argument. */
  private checkCalls(term: Term | undefined, top: boolean): void {
    if (term === undefined) return;
    switch (term.type) {
      case 'call': {
        const call = term as ResolvedCall;
        if (!top && call.arity !== undefined && call.args.length > call.arity) {
          this.errors.add('rego_type_error', `${call.name}: too many arguments: expects ${call.arity} argument${call.arity === 1 ? '' : 's'}, got ${call.args.length}`, call.loc);
        }
        call.args.forEach((a) => this.checkCalls(a, false));
        break;
      }
      case 'ref':
        this.checkCalls(term.head, false);
        term.path.forEach((t) => this.checkCalls(t, false));
        break;
      case 'array':
      case 'set':
        term.items.forEach((t) => this.checkCalls(t, false));
        break;
      case 'object':
        term.entries.forEach(([k, v]) => (this.checkCalls(k, false), this.checkCalls(v, false)));
        break;
      case 'comprehension':
        this.checkCalls(term.head, false);
        this.checkCalls(term.value, false);
        for (const lit of term.body) if (lit.type === 'expr') this.checkCalls(lit.term, true);
        break;
      default:
        break;
    }
  }

  /**
   * A comprehension before the literal that declares one of its variable names (`:=`, `some`)
   * does not close over that later variable: OPA rewrites a declared variable only from its
   * declaration on, so the comprehension's variable is its own (renamed apart here).
   */
  private localizeComprehensionVars(body: Body, scope: Scope): Body {
    const declaredAt = new Map<string, number>();
    body.forEach((lit, i) => {
      for (const name of declaredBy(lit, new Set())) if (!declaredAt.has(name)) declaredAt.set(name, i);
    });
    if (declaredAt.size === 0) return body;
    return body.map((lit, i) => {
      const renames = new Map<string, string>();
      for (const name of comprehensionVars(lit, new Set())) {
        const at = declaredAt.get(name);
        if (at !== undefined && at > i && name !== '_') renames.set(name, `$c${scope.wildcard++}_${name}`);
      }
      if (renames.size === 0) return lit;
      for (const fresh of renames.values()) scope.locals.add(fresh);
      return renameInComprehensions(lit, renames);
    });
  }

  /** `x := 1; x := 2` and use-before-`:=` are errors, as in OPA. */
  private checkAssignments(body: Body, params: readonly string[] = []): void {
    const declared = new Map<string, number>(params.map((p) => [p, -1]));
    body.forEach((lit, i) => {
      if (lit.type === 'some-in') {
        for (const t of [lit.key, lit.value]) {
          for (const name of varsIn(t, new Set())) {
            if (name === '_') continue;
            if (declared.has(name)) this.errors.add('rego_compile_error', `var ${name} declared above`, lit.loc);
            declared.set(name, i);
            for (let j = 0; j < i; j++) {
              if (literalVars(body[j]!, new Set(), false).has(name)) {
                this.errors.add('rego_compile_error', `var ${name} referenced above`, body[j]!.loc);
                break;
              }
            }
          }
        }
      }
      if (lit.type === 'expr' && lit.term.type === 'call' && lit.term.name === 'assign') {
        const lhs = lit.term.args[0]!;
        if (lhs.type !== 'var' && lhs.type !== 'array' && lhs.type !== 'object') {
          this.errors.add('rego_compile_error', 'cannot assign to ' + lhs.type, lit.loc);
        }
        const names = varsIn(lhs, new Set());
        if (lhs.type !== 'var' && [...names].every((n) => n === '_')) {
          this.errors.add('rego_compile_error', 'assignment operator := requires left-hand side to have bindable variables', lit.loc);
        }
        for (const name of names) {
          if (name === '_') continue;
          if (declared.has(name)) this.errors.add('rego_compile_error', `var ${name} assigned above`, lit.loc);
          declared.set(name, i);
          // A comprehension's or every's body is a scope of its own: its vars are not references here, as in OPA.
          for (let j = 0; j < i; j++) {
            if (literalVars(body[j]!, new Set(), false).has(name)) {
              this.errors.add('rego_compile_error', `var ${name} referenced above`, body[j]!.loc);
              break;
            }
          }
        }
      } else if (lit.type === 'some-decl') {
        for (const v of lit.vars) {
          if (declared.has(v.name)) this.errors.add('rego_compile_error', `var ${v.name} declared above`, lit.loc);
          declared.set(v.name, i);
        }
      }
    });
  }

  private resolveLiteral(lit: Literal, scope: Scope): Literal {
    const withs = lit.with.map((w) => ({ ...w, target: this.resolveWithTarget(w.target, scope), value: this.resolveWithValue(w.value, scope) }));
    switch (lit.type) {
      case 'expr':
        return { ...lit, term: this.resolveTerm(lit.term, scope), with: withs };
      case 'some-decl':
        return lit;
      case 'some-in':
        return {
          ...lit,
          ...(lit.key ? { key: this.resolveTerm(lit.key, scope) } : {}),
          value: this.resolveTerm(lit.value, scope),
          domain: this.resolveTerm(lit.domain, scope),
          with: withs,
        };
      case 'every': {
        // The key and value of `every` are fresh variables, whatever the enclosing body binds.
        const renames = new Map<string, string>();
        for (const t of [lit.key, lit.value]) {
          if (t === undefined) continue;
          for (const name of varsIn(t, new Set())) {
            if (!name.startsWith('$')) renames.set(name, `$every${scope.wildcard++}_${name}`);
          }
        }
        for (const fresh of renames.values()) scope.locals.add(fresh);
        const renamed = renameVars(lit, renames) as typeof lit;
        return {
          ...renamed,
          ...(renamed.key ? { key: this.resolveTerm(renamed.key, scope) } : {}),
          value: this.resolveTerm(renamed.value, scope),
          domain: this.resolveTerm(lit.domain, scope),
          body: renamed.body.map((l) => this.resolveLiteral(l, scope)),
          with: withs,
        };
      }
    }
  }

  /** `with f as count`: a builtin named as the replacement becomes a builtin reference. */
  private resolveWithValue(value: Term, scope: Scope): Term {
    if ((value as { builtinRef?: boolean }).builtinRef) return value;
    const name = value.type === 'var' ? value.name : refName(value);
    if (name !== undefined && !scope.locals.has(name.split('.')[0]!) && !scope.globals.has(name.split('.')[0]!) && this.builtins.has(name)) {
      return { type: 'scalar', value: name, loc: value.loc, builtinRef: true } as Term;
    }
    return this.resolveTerm(value, scope);
  }

  /** `with` targets: `input...`, `data...`, or a function/builtin name. */
  private resolveWithTarget(target: Term, scope: Scope): Term {
    if (target.type === 'scalar' || (target.type === 'ref' && (target as RootRef).root !== undefined)) return target;
    const name = target.type === 'var' ? target.name : refName(target);
    if (name !== undefined && !name.startsWith('input') && !name.startsWith('data')) {
      const global = scope.globals.get(name.split('.')[0]!);
      const aliased = global !== undefined && !(global as Term[] & { input?: boolean }).input
        ? ['data', ...global.map((t) => (t as { value: string }).value), ...name.split('.').slice(1)].join('.')
        : undefined;
      if (aliased !== undefined && this.functions.has(aliased)) return { type: 'scalar', value: aliased, loc: target.loc };
      if (global === undefined || this.builtins.has(name)) {
        // A refused builtin is what OPA calls unsafe (removed by capabilities): mocking it is refused too.
        if (this.builtins.refusal(name) !== undefined) {
          this.errors.add('rego_compile_error', `with keyword replacing built-in function: target must not be unsafe: ${JSON.stringify(name)}`, target.loc);
        } else if (!this.builtins.has(name)) this.errors.add('rego_compile_error', `with keyword target ${name} is not a function, input or data`, target.loc);
        return { type: 'scalar', value: name, loc: target.loc };
      }
    }
    if (name !== undefined) {
      const parts = name.split('.');
      const global = scope.globals.get(parts[0]!);
      if (global !== undefined && !(global as Term[] & { input?: boolean }).input) {
        const fnPath = ['data', ...global.map((t) => (t as { value: string }).value), ...parts.slice(1)].join('.');
        if (this.functions.has(fnPath)) return { type: 'scalar', value: fnPath, loc: target.loc };
      }
      if (this.functions.has(name)) return { type: 'scalar', value: name, loc: target.loc };
    }
    const saved = this.currentDeps;
    this.currentDeps = undefined;
    const resolved = this.resolveTerm(target, { ...scope, locals: new Set() });
    this.currentDeps = saved;
    if (resolved.type !== 'ref' || (resolved as RootRef).root === undefined) {
      this.errors.add('rego_compile_error', 'with keyword target must reference existing input, data, or a function', target.loc);
    }
    return resolved;
  }

  /** Variables a literal binds when scheduled now, or undefined if it cannot run yet. */
  private planLiteral(lit: Literal, bound: Set<string>, outer: Set<string>): Set<string> | undefined {
    for (const w of lit.with) if (!needsBound(w.value, bound, outer)) return undefined;
    switch (lit.type) {
      case 'some-decl':
        return new Set();
      case 'some-in': {
        if (!needsBound(lit.domain, bound, outer)) return undefined;
        const out = generated(lit.domain, bound, new Set());
        for (const t of [lit.key, lit.value]) if (t) patternVars(t, bound, out);
        for (const t of [lit.key, lit.value]) if (t && !patternNeeds(t, new Set([...bound, ...out]), outer)) return undefined;
        return out;
      }
      case 'every': {
        if (!needsBound(lit.domain, bound, outer)) return undefined;
        const inner = new Set<string>();
        for (const l of lit.body) literalVars(l, inner);
        for (const v of declaredIn(lit.body)) inner.delete(v);
        for (const t of [lit.key, lit.value]) if (t) for (const v of varsIn(t, new Set())) inner.delete(v);
        for (const v of inner) if (outer.has(v) && !bound.has(v)) return undefined;
        return new Set();
      }
      case 'expr': {
        if (lit.negated) {
          const vars = varsIn(lit.term, new Set());
          for (const v of vars) if (outer.has(v) && !bound.has(v)) return undefined;
          return new Set();
        }
        return exprPlan(lit.term, bound, outer);
      }
    }
  }

  /** Compiles bodies nested in a scheduled literal (comprehensions, every, not) with what is bound now. */
  private compileNested(lit: Literal, scope: Scope, bound: Set<string>): void {
    const visit = (term: Term | undefined): Term | undefined => {
      if (term === undefined) return undefined;
      switch (term.type) {
        case 'comprehension': {
          const inner = new Set(bound);
          const c = term as { body: Body; head: Term; value?: Term };
          c.body = this.compileBody(term.body, scope, inner, [term.head, ...(term.value ? [term.value] : [])]);
          c.head = this.resolveTerm(term.head, scope);
          if (term.value) c.value = this.resolveTerm(term.value, scope);
          c.head = visit(c.head)!;
          if (c.value) c.value = visit(c.value);
          generated(c.head, inner, inner);
          if (c.value) generated(c.value, inner, inner);
          const free = new Set<string>();
          collectFreeVars(c.head, free);
          if (c.value) collectFreeVars(c.value, free);
          for (const v of free) if (!inner.has(v)) this.errors.add('rego_unsafe_var_error', `var ${displayName(v)} is unsafe`, term.loc);
          return term;
        }
        case 'ref':
          visit(term.head);
          term.path.forEach(visit);
          return term;
        case 'call':
          term.args.forEach(visit);
          return term;
        case 'array':
        case 'set':
          term.items.forEach(visit);
          return term;
        case 'object':
          term.entries.forEach(([k, v]) => (visit(k), visit(v)));
          return term;
        default:
          return term;
      }
    };
    switch (lit.type) {
      case 'expr': {
        visit(lit.term);
        if (lit.negated) {
          const inner = new Set(bound);
          const plan = exprPlan(lit.term, inner, new Set());
          if (plan === undefined) {
            const missing = [...varsIn(lit.term, new Set())].find((v) => !bound.has(v));
            this.errors.add('rego_unsafe_var_error', `var ${displayName(missing ?? '?')} is unsafe`, lit.loc);
          }
        }
        break;
      }
      case 'some-in':
        visit(lit.domain);
        break;
      case 'every': {
        visit(lit.domain);
        const inner = new Set(bound);
        for (const t of [lit.key, lit.value]) if (t) varsIn(t, inner);
        (lit as { body: Body }).body = this.compileBody(lit.body, scope, inner, []);
        break;
      }
      default:
        break;
    }
    for (const w of lit.with) visit(w.value);
  }

  private assignSlots(lit: Literal, scope: Scope): void {
    visitLiteralVars(lit, (v) => (v.slot = this.slotOf(scope, v.name)));
    for (const w of lit.with) visitVars(w.target, (v) => (v.slot = this.slotOf(scope, v.name)), true);
  }
}

function scalar(value: string, loc: Location): Term {
  return { type: 'scalar', value, loc };
}

function refName(term: Term): string | undefined {
  if (term.type !== 'ref' || term.head.type !== 'var') return undefined;
  const parts = [term.head.name];
  for (const seg of term.path) {
    if (seg.type !== 'scalar' || typeof seg.value !== 'string') return undefined;
    parts.push(seg.value);
  }
  return parts.join('.');
}
