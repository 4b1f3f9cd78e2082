// The compiler: groups rules into documents, has the resolver resolve names and order body
// literals (./resolver.ts), detects recursion, shares constant terms and builds rule indexes.
import { documentPath, ruleRest, setRuleRest, type Module, type Query, type RootRef, type Rule } from './ast.js';
import type { BuiltinRegistry } from './builtins/registry.js';
import { ErrorCollector } from './errors.js';
import { Resolver } from './resolver.js';
import { checkRuleExtents } from './rule-extent.js';
import { buildRuleIndex, type InputPath, type RuleIndex } from './rule-index.js';
import { TermInterner } from './term-sharing.js';
import { equals, type Value } from './value.js';

export type GroupKind = 'complete' | 'set' | 'object' | 'function';

/** All rules defining one document (or one function) at one path. */
export interface RuleGroup {
  readonly path: readonly string[];
  readonly key: string;
  kind: GroupKind;
  readonly rules: Rule[];
  defaultRule?: Rule;
  /** The single value every rule of a complete group gives, when known at compile time. */
  constant?: Value;
  index?: RuleIndex;
  arity?: number;
  /**
   * A partial group whose every rule names its first key with a variable: a lookup of one key
   * evaluates the rules with that variable bound. Otherwise lookups use the whole (cached) document.
   */
  keyedLookups?: boolean;
}

/** A node of the document tree: a package, a rule document, or a prefix of either. */
export interface DocNode {
  readonly path: readonly string[];
  readonly children: Map<string, DocNode>;
  group?: RuleGroup;
}

export type { ResolvedCall, RootRef } from './ast.js';

export interface CompiledRules {
  readonly root: DocNode;
  readonly functions: ReadonlyMap<string, RuleGroup>;
  readonly groups: readonly RuleGroup[];
  readonly modules: readonly Module[];
}

export function compileModules(modules: readonly Module[], builtins: BuiltinRegistry): CompiledRules {
  const sources = new Map(modules.map((m) => [m.file, m.source]));
  const errors = new ErrorCollector(sources);
  const root: DocNode = { path: [], children: new Map() };
  const groups: RuleGroup[] = [];
  const functions = new Map<string, RuleGroup>();

  const nodeAt = (path: readonly string[]): DocNode => {
    let node = root;
    for (let i = 0; i < path.length; i++) {
      let child = node.children.get(path[i]!);
      if (child === undefined) {
        child = { path: path.slice(0, i + 1), children: new Map() };
        node.children.set(path[i]!, child);
      }
      node = child;
    }
    return node;
  };

  // 1. Group rules by document path. A document's default rules beyond the first, for OPA's error
  // naming where each of them is.
  const extraDefaults = new Map<RuleGroup, Rule[]>();
  for (const module of modules) {
    nodeAt(module.packagePath);
    for (const rule of module.rules) {
      const { path, restStart } = documentPath(module, rule);
      const rest = rule.ref.slice(restStart);
      setRuleRest(rule, rest);
      const node = nodeAt(path);
      const kind: GroupKind = rule.kind === 'function' ? 'function' : rule.kind === 'multi' && rest.length === 0 ? 'set' : rest.length > 0 ? 'object' : 'complete';
      if (node.group === undefined) {
        node.group = { path, key: path.join('.'), kind, rules: [] };
        groups.push(node.group);
        if (kind === 'function') functions.set(`data.${path.join('.')}`, node.group);
      } else if (node.group.kind !== kind) {
        errors.add('rego_type_error', `conflicting rules data.${path.join('.')} found`, rule.loc);
        continue;
      }
      const group = node.group;
      if (kind === 'function') {
        const arity = rule.args!.length;
        if (group.arity !== undefined && group.arity !== arity) {
          errors.add('rego_type_error', `conflicting rules data.${path.join('.')} found: function arity mismatch`, rule.loc);
        }
        group.arity = arity;
      }
      if (rule.isDefault && kind === 'object') {
        // `default p["k"] := v`: a constant entry of a partial object.
        group.rules.push(rule);
      } else if (rule.isDefault) {
        if (kind !== 'complete' && kind !== 'function') errors.add('rego_type_error', 'default rules must be complete', rule.loc);
        if (group.defaultRule !== undefined) extraDefaults.set(group, [...(extraDefaults.get(group) ?? [group.defaultRule]), rule]);
        group.defaultRule = rule;
      } else group.rules.push(rule);
    }
  }
  for (const [group, defaults] of extraDefaults) {
    const where = defaults.map((rule) => `${rule.loc.file}:${rule.loc.row}`).join(', ');
    errors.add('rego_type_error', `multiple default rules data.${group.path.join('.')} found at ${where}`, defaults[0]!.loc);
  }
  checkRuleExtents(groups, (group) => nodeAt(group.path), errors);
  errors.throwIfAny();

  // 2. Resolve names, check safety, order literals, assign frame slots.
  const resolver = new Resolver(root, functions, builtins, errors, modules);
  for (const module of modules) {
    for (const rule of module.rules) {
      for (let r: Rule | undefined = rule; r !== undefined; r = r.else) resolver.compileRule(module, r);
    }
  }
  errors.throwIfAny();

  // 3. Recursion.
  checkRecursion(groups, resolver.dependencies, errors);
  errors.throwIfAny();

  // 4. Share identical constant terms between rules: a large policy then touches the same few
  // objects on every decision, which keeps evaluation cache-friendly as rules are added.
  const interner = new TermInterner();
  for (const group of groups) {
    for (const rule of [...group.rules, ...(group.defaultRule ? [group.defaultRule] : [])]) {
      for (let r: Rule | undefined = rule; r !== undefined; r = r.else) interner.rule(r);
    }
  }

  // 5. Constants and indexes. A document defined by one body-less rule `x := input.a.b` (no
  // default) is an alias of that input path: rules comparing `x.c` with constants index on it.
  const dataAlias = (path: readonly string[]): InputPath | undefined => {
    let node: DocNode | undefined = root;
    let i = 0;
    for (; i < path.length && node !== undefined && node.group === undefined; i++) node = node.children.get(path[i]!);
    const group = node?.group;
    if (group === undefined || group.kind !== 'complete' || group.defaultRule !== undefined || group.rules.length !== 1) return undefined;
    const rule = group.rules[0]!;
    const body = rule.body[0];
    if (rule.else !== undefined || rule.body.length !== 1 || body?.type !== 'expr' || body.term.type !== 'scalar' || body.term.value !== true) return undefined;
    const value = rule.value;
    if (value.type !== 'ref' || (value as RootRef).root !== 'input') return undefined;
    const base: string[] = [];
    for (const seg of value.path) {
      if (seg.type !== 'scalar' || typeof seg.value !== 'string') return undefined;
      base.push(seg.value);
    }
    return [...base, ...path.slice(i)];
  };
  for (const group of groups) {
    if (group.kind === 'set' || group.kind === 'object') {
      group.keyedLookups = group.rules.every((rule) => (ruleRest(rule)[0] ?? rule.value).type === 'var');
    }
    if (group.kind === 'complete') group.constant = constantValue(group.rules);
    if (group.rules.length >= 4) group.index = buildRuleIndex(group.rules, dataAlias);
  }
  return { root, functions, groups, modules };
}

function constantValue(rules: readonly Rule[]): Value | undefined {
  let value: Value | undefined;
  for (const rule of rules) {
    if (rule.else !== undefined || rule.value.type !== 'scalar') return undefined;
    if (value === undefined) value = rule.value.value;
    else if (!equals(value, rule.value.value)) return undefined;
  }
  return value;
}

export function compileQuery(query: Query, compiled: CompiledRules, builtins: BuiltinRegistry, module?: Module): string[] {
  const errors = new ErrorCollector(new Map([['query', '']]));
  const resolver = new Resolver(compiled.root, compiled.functions as Map<string, RuleGroup>, builtins, errors);
  const names = resolver.compileQuery(query, module);
  errors.throwIfAny();
  return names;
}

// ---- recursion

function checkRecursion(groups: readonly RuleGroup[], dependencies: Map<string, Set<string>>, errors: ErrorCollector): void {
  const state = new Map<string, 1 | 2>();
  const byKey = new Map(groups.map((g) => [g.key, g]));
  const stack: string[] = [];
  const visit = (key: string): void => {
    const s = state.get(key);
    if (s === 2) return;
    if (s === 1) {
      const cycle = stack.slice(stack.indexOf(key)).concat(key);
      const group = byKey.get(key);
      errors.add('rego_recursion_error', `rule data.${key} is recursive: ${cycle.map((k) => `data.${k}`).join(' -> ')}`, group?.rules[0]?.loc ?? group?.defaultRule?.loc);
      return;
    }
    state.set(key, 1);
    stack.push(key);
    for (const dep of dependencies.get(key) ?? []) visit(dep);
    stack.pop();
    state.set(key, 2);
  };
  for (const group of groups) visit(group.key);
}
