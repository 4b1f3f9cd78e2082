// The Rego abstract syntax tree produced by the parser and annotated by the compiler.
import type { ModuleAnnotations } from './annotations.js';
import type { BuiltinDefinition } from './builtins/registry.js';
import type { Location } from './errors.js';
import type { Value } from './value.js';

export type Term =
  | ScalarTerm
  | VarTerm
  | RefTerm
  | ArrayTerm
  | ObjectTerm
  | SetTerm
  | CallTerm
  | ComprehensionTerm;

export interface ScalarTerm {
  readonly type: 'scalar';
  readonly value: Value;
  readonly loc: Location;
}

export interface VarTerm {
  readonly type: 'var';
  name: string;
  readonly loc: Location;
  /** Slot in the evaluation frame, assigned by the compiler. */
  slot: number;
}

export interface RefTerm {
  readonly type: 'ref';
  head: Term;
  readonly path: Term[];
  readonly loc: Location;
}

export interface ArrayTerm {
  readonly type: 'array';
  readonly items: Term[];
  readonly loc: Location;
}

export interface ObjectTerm {
  readonly type: 'object';
  readonly entries: [Term, Term][];
  readonly loc: Location;
}

export interface SetTerm {
  readonly type: 'set';
  readonly items: Term[];
  readonly loc: Location;
}

/** A call of a builtin, a user function or an operator (under its OPA name, e.g. `plus`). */
export interface CallTerm {
  readonly type: 'call';
  /** Dotted name as written (`count`, `data.lib.f`, `plus`); resolved by the compiler. */
  name: string;
  readonly args: Term[];
  readonly loc: Location;
  /** Set by the compiler: rule path of a user function (`data.pkg.f`), or undefined for a builtin. */
  functionPath?: string;
}

export interface ComprehensionTerm {
  readonly type: 'comprehension';
  readonly kind: 'array' | 'set' | 'object';
  readonly head: Term;
  readonly value?: Term;
  readonly body: Body;
  readonly loc: Location;
}

export type Body = Literal[];

export interface WithModifier {
  readonly target: Term;
  readonly value: Term;
  readonly loc: Location;
}

export type Literal = ExprLiteral | SomeDeclLiteral | SomeInLiteral | EveryLiteral;

export interface ExprLiteral {
  readonly type: 'expr';
  readonly negated: boolean;
  term: Term;
  readonly with: WithModifier[];
  readonly loc: Location;
}

/** `some x, y`: declares local variables. */
export interface SomeDeclLiteral {
  readonly type: 'some-decl';
  readonly vars: VarTerm[];
  readonly with: WithModifier[];
  readonly negated: boolean;
  readonly loc: Location;
}

/** `some v in xs` / `some k, v in xs`. */
export interface SomeInLiteral {
  readonly type: 'some-in';
  readonly key?: Term;
  readonly value: Term;
  readonly domain: Term;
  readonly with: WithModifier[];
  readonly negated: boolean;
  readonly loc: Location;
}

/** `every v in xs { }` / `every k, v in xs { }`. */
export interface EveryLiteral {
  readonly type: 'every';
  readonly key?: Term;
  readonly value: Term;
  readonly domain: Term;
  readonly body: Body;
  readonly with: WithModifier[];
  readonly negated: boolean;
  readonly loc: Location;
}

export type RuleKind = 'single' | 'multi' | 'function';

export interface Rule {
  module: Module;
  readonly isDefault: boolean;
  /** Head reference after the package, e.g. `a.b[x].c`: first is a var named after the rule. */
  readonly ref: Term[];
  readonly kind: RuleKind;
  /** Function parameters. */
  readonly args?: Term[];
  /** Head value (for `multi`, the element added to the set). */
  value: Term;
  body: Body;
  /** Whether the head value was written or implied (`p if ...` means `p := true`). */
  readonly assigned: boolean;
  readonly else?: Rule;
  readonly loc: Location;
  /** Frame size assigned by the compiler. */
  slots: number;
}

export interface Import {
  readonly path: RefTerm;
  readonly alias?: string;
  readonly loc: Location;
}

export interface Module {
  readonly file: string;
  readonly source: string;
  readonly packagePath: string[];
  readonly imports: Import[];
  readonly rules: Rule[];
  readonly regoVersion: 0 | 1;
  readonly loc: Location;
  /** METADATA annotations, when the module has any. */
  annotations?: ModuleAnnotations;
}

export interface Query {
  readonly body: Body;
  slots: number;
}

// ---- annotations added by the compiler

/** Ref whose head is `input` or `data`. */
export type RootRef = RefTerm & { root?: 'input' | 'data' };

/** A call with its target resolved: a builtin, or a user function (`functionPath`). */
export type ResolvedCall = CallTerm & { builtin?: BuiltinDefinition; arity?: number };

/** Head ref parts after the document path (variables or computed keys), set by the compiler. */
interface RuleFacts {
  rest: Term[];
}

export function ruleRest(rule: Rule): Term[] {
  return (rule as Rule & Partial<RuleFacts>).rest ?? [];
}

export function setRuleRest(rule: Rule, rest: Term[]): void {
  (rule as Rule & RuleFacts).rest = rest;
}

/**
 * The document path a rule defines (package, rule name and the constant parts of its head ref)
 * and the index where the rest of the ref (variables, computed keys) starts. A string in brackets
 * is a constant part like a dotted name (`p["x"] := 1` is `p.x := 1`, a complete rule, as in OPA).
 */
export function documentPath(module: Module, rule: Rule): { path: string[]; restStart: number } {
  const path = [...module.packagePath, (rule.ref[0] as VarTerm).name];
  let i = 1;
  for (; i < rule.ref.length; i++) {
    const part = rule.ref[i]!;
    if (part.type === 'scalar' && typeof part.value === 'string') path.push(part.value);
    else break;
  }
  return { path, restStart: i };
}
