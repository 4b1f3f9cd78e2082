// The builtins about Rego itself, which need the parser (so they live beside it, not among the
// builtin families): rego.parse_module (a module's AST as OPA's JSON: `{"type": ..., "value": ...}`
// terms, rules with `head` and `body`) and rego.metadata.*, which the resolver replaces inside
// rules with the rule's annotations (annotations.ts): called anywhere else, they fail as in OPA.
import type { Body, Literal, Module, Rule, Term, WithModifier } from './ast.js';
import { createStandardBuiltins, type StandardBuiltinOptions } from './builtins/index.js';
import type { BuiltinRegistry } from './builtins/registry.js';
import { builtinError, define } from './builtins/support.js';
import { RegoError } from './errors.js';
import { parseModule } from './parser.js';
import { fromJSON, isArray, isObject, isSet, sortedValues, type Value } from './value.js';

type Json = Record<string, unknown>;

function scalarJson(value: Value): Json {
  if (value === null) return { type: 'null', value: null };
  if (typeof value === 'boolean') return { type: 'boolean', value };
  if (typeof value === 'string') return { type: 'string', value };
  if (typeof value === 'number' || typeof value === 'bigint') return { type: 'number', value };
  // Constant composites (folded by the parser) keep their shape.
  if (isArray(value)) return { type: 'array', value: value.map(scalarJson) };
  if (isSet(value)) return { type: 'set', value: sortedValues(value).map(scalarJson) };
  if (isObject(value)) return { type: 'object', value: [...value.entries()].map(([k, v]) => [scalarJson(k), scalarJson(v)]) };
  return { type: 'null', value: null };
}

/** `strings.replace_n` as OPA's operator ref: a var, then string segments. */
function operatorJson(name: string): Json {
  const [head, ...rest] = name.split('.');
  return { type: 'ref', value: [{ type: 'var', value: head }, ...rest.map((s) => ({ type: 'string', value: s }))] };
}

function termJson(term: Term): Json {
  switch (term.type) {
    case 'scalar':
      return scalarJson(term.value);
    case 'var':
      return { type: 'var', value: term.name };
    case 'ref':
      return { type: 'ref', value: [termJson(term.head), ...term.path.map(termJson)] };
    case 'array':
    case 'set':
      return { type: term.type, value: term.items.map(termJson) };
    case 'object':
      return { type: 'object', value: term.entries.map(([k, v]) => [termJson(k), termJson(v)]) };
    case 'call':
      return { type: 'call', value: [operatorJson(term.name), ...term.args.map(termJson)] };
    case 'comprehension': {
      const body = bodyJson(term.body);
      if (term.kind === 'object') return { type: 'objectcomprehension', value: { key: termJson(term.head), value: termJson(term.value!), body } };
      return { type: `${term.kind}comprehension`, value: { term: termJson(term.head), body } };
    }
  }
}

function withJson(modifiers: readonly WithModifier[]): Json {
  return modifiers.length === 0 ? {} : { with: modifiers.map((w) => ({ target: termJson(w.target), value: termJson(w.value) })) };
}

function literalTerms(lit: Literal): unknown {
  switch (lit.type) {
    case 'expr':
      return lit.term.type === 'call' ? [operatorJson(lit.term.name), ...lit.term.args.map(termJson)] : termJson(lit.term);
    case 'some-decl':
      return { symbols: lit.vars.map(termJson) };
    case 'some-in': {
      const operands = [...(lit.key ? [lit.key] : []), lit.value, lit.domain].map(termJson);
      return { symbols: [{ type: 'call', value: [operatorJson(`internal.member_${operands.length}`), ...operands] }] };
    }
    case 'every':
      return { ...(lit.key ? { key: termJson(lit.key) } : {}), value: termJson(lit.value), domain: termJson(lit.domain), body: bodyJson(lit.body) };
  }
}

function bodyJson(body: Body): Json[] {
  return body.map((lit, index) => ({ index, terms: literalTerms(lit), ...(lit.negated ? { negated: true } : {}), ...withJson(lit.with) }));
}

function ruleJson(rule: Rule): Json {
  const first = rule.ref[0]!;
  const name = first.type === 'var' ? first.name : '';
  const head: Json = { name, ref: rule.ref.map(termJson) };
  if (rule.kind === 'multi') head['key'] = termJson(rule.value);
  else head['value'] = termJson(rule.value);
  if (rule.args) head['args'] = rule.args.map(termJson);
  if (rule.assigned && rule.kind !== 'multi') head['assign'] = true;
  return {
    ...(rule.isDefault ? { default: true } : {}),
    head,
    body: bodyJson(rule.body),
    ...(rule.else ? { else: ruleJson(rule.else) } : {}),
  };
}

export function moduleJson(module: Module): Json {
  const path = [{ type: 'var', value: 'data' }, ...module.packagePath.map((s) => ({ type: 'string', value: s }))];
  return {
    package: { path },
    ...(module.imports.length > 0 ? { imports: module.imports.map((i) => ({ path: termJson(i.path), ...(i.alias ? { alias: i.alias } : {}) })) } : {}),
    ...(module.rules.length > 0 ? { rules: module.rules.map(ruleJson) } : {}),
  };
}

function outsideRule(name: string): never {
  throw builtinError(name, `the ${name} function must only be called within the scope of a rule`);
}

const regoBuiltins = [
  define('rego.parse_module', ['string', 'string'], ([file, source]) => {
    try {
      return fromJSON(moduleJson(parseModule(source as string, file as string)));
    } catch (err) {
      if (err instanceof RegoError) throw builtinError('rego.parse_module', `${err.code}: ${err.detail}`);
      throw err;
    }
  }),
  // Non-deterministic only so that compile-time folding leaves a query's call to fail when evaluated.
  define('rego.metadata.chain', [], () => outsideRule('rego.metadata.chain'), { nondeterministic: true }),
  define('rego.metadata.rule', [], () => outsideRule('rego.metadata.rule'), { nondeterministic: true }),
];

/** Every builtin the engine offers: the standard families and the Rego ones above. */
export function createEngineBuiltins(options: StandardBuiltinOptions = {}): BuiltinRegistry {
  return createStandardBuiltins(options).register(...regoBuiltins);
}
