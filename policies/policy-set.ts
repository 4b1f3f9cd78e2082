// Compiled policy sets: `compile(modules, options)` gives an immutable PolicySet; `evaluate`
// answers an entrypoint or a query. Reached from outside through `./index.ts` only.
import type { Body, Module, Query } from './engine/ast.js';
import { createEngineBuiltins } from './engine/rego-builtins.js';
import type { BuiltinRegistry } from './engine/builtins/registry.js';
import { compileModules, compileQuery, type CompiledRules, type DocNode, type RuleGroup } from './engine/compiler.js';
import { RegoError, RegoErrors, type Location } from './engine/errors.js';
import { Evaluation } from './engine/evaluator.js';
import { parseModule, parseQuery } from './engine/parser.js';
import { fromJSON, fromPlainJSON, RegoObject, toJSON, type Value } from './engine/value.js';


export interface ModuleSource {
  /** File name used in error locations. */
  readonly file: string;
  readonly source: string;
  /** Rego version of this module; defaults to the compile option, then 1. */
  readonly regoVersion?: 0 | 1;
}

export interface CompileOptions {
  /** Default Rego version of the modules (OPA's `--v0-compatible` is 0). */
  readonly regoVersion?: 0 | 1;
  /** Base documents (`data`) bundled with the policies, e.g. a bundle's data.json. */
  readonly data?: unknown;
  /** Builtins to offer; defaults to weft's standard set. */
  readonly builtins?: BuiltinRegistry;
}

export interface EvaluateOptions {
  /** The input document: plain JSON (converted lazily, only what the policy reads). */
  readonly input?: unknown;
  /** Base documents for this evaluation; replaces the compiled-in data when given. */
  readonly data?: unknown;
  /** OPA strict builtin errors: a builtin error fails the evaluation instead of being undefined. */
  readonly strict?: boolean;
  /** Deadline in milliseconds from the start of the evaluation (`eval_cancel_error`). */
  readonly timeoutMs?: number;
  /** Cap on evaluation steps (`eval_cancel_error`). */
  readonly maxSteps?: number;
  /** Receives `print` output, one line per call, with the location of the `print` call. */
  readonly print?: (line: string, location?: Location) => void;
  /** Fixes `time.now_ns()` for this evaluation. */
  readonly nowNs?: bigint;
  /** Report which rule decided an entrypoint (`decidedBy`), for decision logs. */
  readonly explain?: boolean;
}

export interface ResultRow {
  /** Values of the query's expressions, in order. */
  readonly expressions: readonly unknown[];
  /** Values of the query's named variables. */
  readonly bindings: Readonly<Record<string, unknown>>;
}

export interface ValueRow {
  readonly expressions: readonly (Value | undefined)[];
  readonly bindings: Readonly<Record<string, Value>>;
}

export interface EvaluationResult {
  /** Whether the entrypoint (or query) had a result. */
  readonly defined: boolean;
  /** The entrypoint's value, or the first expression of the first result of a query, as JSON. */
  readonly value: unknown;
  /** Every result of a query; one row holding the value for an entrypoint. */
  readonly results: readonly ResultRow[];
  /**
   * With `explain`, for an entrypoint defined by complete rules: where the rule that gave the value
   * is (its `default` rule when none matched).
   */
  readonly decidedBy?: Location;
  /**
   * With `explain`: every document the evaluation gave a value, in the order it did (the
   * entrypoint's own last), with the rule that gave a complete one its value, or each rule that
   * added to a partial one.
   */
  readonly decisions?: readonly RuleDecision[];
}

/** A document and a rule that gave it its value (a complete one's `default` rule when none matched). */
export interface RuleDecision {
  /** `data.pkg.rule`. */
  readonly document: string;
  readonly isDefault: boolean;
  readonly location: Location;
}

/** Default limits: an authorization decision that runs longer is a bug or an attack. */
export const DEFAULT_TIMEOUT_MS = 1_000;
export const DEFAULT_MAX_STEPS = 10_000_000;

const ENTRYPOINT = /^(data(\.[A-Za-z_][A-Za-z0-9_]*)*|[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)+)$/;
const QUERY_CACHE_LIMIT = 256;

interface CompiledQuery {
  readonly body: Body;
  readonly slots: number;
  readonly names: readonly string[];
  readonly slotOf: ReadonlyMap<string, number>;
  readonly exprCount: number;
  /** As OPA: a lone query expression returns false as a value; with several or with iteration, false fails. */
  readonly checkCapture: boolean;
}

/** What every loaded policy offers: a Rego PolicySet or an OPA wasm bundle. */
export interface Policy {
  evaluate(target: string, options?: EvaluateOptions): EvaluationResult;
}

/** A compiled, immutable set of Rego modules, safe to share between requests. */
export class PolicySet implements Policy {
  private readonly sources: ReadonlyMap<string, string>;
  private readonly baseData: Value;
  private readonly queries = new Map<string, CompiledQuery>();
  /** Target text -> document path (undefined for a query), so a decision does not re-parse its entrypoint. */
  private readonly entrypoints = new Map<string, string[] | undefined>();

  /** @internal */
  constructor(
    private readonly rules: CompiledRules,
    private readonly builtins: BuiltinRegistry,
    data: unknown,
  ) {
    this.sources = new Map(rules.modules.map((m) => [m.file, m.source]));
    // Bundled data lives as long as the policy set: converted once, whole.
    this.baseData = data === undefined ? RegoObject.empty : fromJSON(data);
    Object.freeze(this);
  }

  /** Package paths and rule documents, e.g. `data.authz.allow`. */
  get documents(): string[] {
    return this.rules.groups.filter((g) => g.kind !== 'function').map((g) => `data.${g.key}`);
  }

  get modules(): readonly Module[] {
    return this.rules.modules;
  }

  /**
   * Evaluates an entrypoint (`data.authz.allow` or `authz/allow`) or a query
   * (`x := data.authz.allow; x == true`).
   */
  evaluate(target: string, options: EvaluateOptions = {}): EvaluationResult {
    return guardDepth(() => {
      let path = this.entrypoints.get(target);
      if (path === undefined && !this.entrypoints.has(target)) {
        path = entrypointPath(target);
        if (this.entrypoints.size >= QUERY_CACHE_LIMIT) this.entrypoints.clear();
        this.entrypoints.set(target, path);
      }
      if (path !== undefined) {
        const evaluation = this.evaluation(options);
        const value = evaluation.document(path);
        if (value === undefined) return { defined: false, value: undefined, results: [] };
        const json = toJSON(value);
        const result: EvaluationResult = { defined: true, value: json, results: [{ expressions: [json], bindings: {} }] };
        if (!options.explain) return result;
        const group = this.groupAt(path);
        const decidedBy = group === undefined ? undefined : evaluation.decidedBy(group);
        const decisions = evaluation.decided().map(([g, rule]) => ({ document: `data.${g.key}`, isDefault: rule.isDefault, location: rule.loc }));
        return { ...result, ...(decidedBy === undefined ? {} : { decidedBy }), decisions };
      }
      const rows: ResultRow[] = this.queryValues(target, options).map((row) => ({
        expressions: row.expressions.map((v) => (v === undefined ? undefined : toJSON(v))),
        bindings: Object.fromEntries(Object.entries(row.bindings).map(([k, v]) => [k, toJSON(v)])),
      }));
      return { defined: rows.length > 0, value: rows[0]?.expressions[0], results: rows };
    });
  }

  /** A query's results as Rego values (sets stay sets), for tools that compare values. */
  queryValues(text: string, options: EvaluateOptions = {}): ValueRow[] {
    return guardDepth(() => {
      const evaluation = this.evaluation(options);
      const query = this.compiledQuery(text);
      const rows: ValueRow[] = [];
      const captured: Value[] = new Array(query.exprCount);
      evaluation.capture = captured;
      evaluation.captureChecked = query.checkCapture;
      evaluation.query(query.body, query.slots, (frame) => {
        const bindings: Record<string, Value> = Object.create(null);
        for (const name of query.names) {
          const v = frame[query.slotOf.get(name)!];
          if (v !== undefined) bindings[name] = v;
        }
        rows.push({ expressions: [...captured], bindings });
        return false;
      });
      return rows;
    });
  }

  private groupAt(path: readonly string[]): RuleGroup | undefined {
    let node: DocNode | undefined = this.rules.root;
    for (const key of path) node = node?.children.get(key);
    return node?.group;
  }

  private evaluation(options: EvaluateOptions): Evaluation {
    return new Evaluation({
      rules: this.rules,
      builtins: this.builtins,
      sources: this.sources,
      input: options.input === undefined ? undefined : fromPlainJSON(options.input),
      data: options.data === undefined ? this.baseData : fromPlainJSON(options.data),
      strict: options.strict ?? false,
      deadline: performance.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
      ...(options.print ? { print: options.print } : {}),
      ...(options.nowNs !== undefined ? { nowNs: options.nowNs } : {}),
      ...(options.explain ? { explain: true } : {}),
    });
  }

  private compiledQuery(text: string): CompiledQuery {
    const cached = this.queries.get(text);
    if (cached !== undefined) return cached;
    const query: Query = parseQuery(text);
    const names = compileQuery(query, this.rules, this.builtins);
    const slotOf = new Map<string, number>();
    collectSlots(query.body, slotOf);
    let exprCount = 0;
    for (const lit of query.body) {
      if (lit.type === 'expr') (lit as { captureIndex?: number }).captureIndex = exprCount++;
    }
    const checkCapture = query.body.length > 1 || [...slotOf.keys()].some((name) => name.startsWith('$')) || query.body.some((lit) => lit.type !== 'expr');
    const compiled: CompiledQuery = {
      body: query.body,
      slots: query.slots,
      names: names.filter((n) => slotOf.has(n)),
      slotOf,
      exprCount,
      checkCapture,
    };
    if (this.queries.size >= QUERY_CACHE_LIMIT) this.queries.clear();
    this.queries.set(text, compiled);
    return compiled;
  }
}

/** `data.a.b` or `a/b` as a document path; undefined for a query. */
export function entrypointPath(target: string): string[] | undefined {
  if (!ENTRYPOINT.test(target)) return undefined;
  return target.includes('/') ? target.split('/') : target.split('.').slice(1);
}

/** Runaway recursion (a deeply recursive policy) ends the evaluation, not the process. */
function guardDepth<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new RegoError('eval_cancel_error', 'evaluation exceeded the maximum nesting depth');
    }
    throw error;
  }
}

function collectSlots(body: Body, out: Map<string, number>): void {
  const visit = (term: unknown): void => {
    if (term === null || typeof term !== 'object') return;
    const t = term as { type?: string; name?: string; slot?: number };
    if (t.type === 'var' && typeof t.slot === 'number' && t.slot >= 0 && t.name !== undefined && !out.has(t.name)) out.set(t.name, t.slot);
    for (const value of Object.values(term as object)) {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value !== null && typeof value === 'object' && 'type' in value) visit(value);
    }
  };
  for (const lit of body) visit(lit);
}

/** Parses and compiles modules; throws RegoErrors listing every parse or compile error. */
export function compile(modules: readonly ModuleSource[] | Readonly<Record<string, string>>, options: CompileOptions = {}): PolicySet {
  const list: ModuleSource[] = Array.isArray(modules)
    ? [...(modules as readonly ModuleSource[])]
    : Object.entries(modules as Record<string, string>).map(([file, source]) => ({ file, source }));
  const parsed: Module[] = [];
  const errors: RegoError[] = [];
  for (const m of list) {
    try {
      parsed.push(parseModule(m.source, m.file, { regoVersion: m.regoVersion ?? options.regoVersion ?? 1 }));
    } catch (error) {
      if (error instanceof RegoError) errors.push(error);
      else if (error instanceof RangeError) errors.push(new RegoError('rego_parse_error', 'expressions nested too deeply', { file: m.file, row: 1, col: 1 }));
      else throw error;
    }
  }
  if (errors.length > 0) throw new RegoErrors(errors);
  const builtins = options.builtins ?? standardBuiltins();
  try {
    return new PolicySet(compileModules(parsed, builtins), builtins, options.data);
  } catch (error) {
    if (error instanceof RangeError) throw new RegoErrors([new RegoError('rego_compile_error', 'policy or data nested too deeply')]);
    throw error;
  }
}

let standard: BuiltinRegistry | undefined;
function standardBuiltins(): BuiltinRegistry {
  standard ??= createEngineBuiltins({ deprecated: true });
  return standard;
}
