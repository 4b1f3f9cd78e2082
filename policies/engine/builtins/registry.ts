// The builtin function interface and its registry. Each family lives in its own file and exports
// its definitions; `./index.ts` registers every family explicitly.
import { typeName, type Value, type TypeName } from '../value.js';

/** What a builtin may use of the evaluation it runs in. */
export interface BuiltinContext {
  /** OPA's strict mode: builtin errors fail the evaluation instead of making the call undefined. */
  readonly strict: boolean;
  /** Nanoseconds since the epoch, fixed for one evaluation (`time.now_ns`). */
  readonly nowNs: bigint;
  /** Per-evaluation memo for builtins that must answer the same within one evaluation (rand.intn). */
  readonly cache: Map<string, Value>;
  /** Writes one line of `print` output. */
  print(line: string): void;
  /** Records a `trace` note. */
  trace(note: string): void;
}

/** Type of one argument, for compile-time arity and type checks; `any` accepts every value. */
export type ArgType = TypeName | 'any' | readonly TypeName[];

export interface BuiltinDefinition {
  /** Name as written in Rego, e.g. `strings.replace_n`. */
  readonly name: string;
  /** Declared argument types; their count is the arity. */
  readonly args: readonly ArgType[];
  /** Non-deterministic builtins (time, random) are never evaluated at compile time. */
  readonly nondeterministic?: boolean;
  /**
   * A relation (like `walk`) yields several outputs: `call` returns an array of them and each is
   * unified with the output term in turn.
   */
  readonly relation?: boolean;
  /**
   * Computes the result. Returns `undefined` for an undefined result; throws `BuiltinError` for
   * type errors (`eval_type_error`) and other failures (`eval_builtin_error`).
   */
  call(args: readonly Value[], context: BuiltinContext): Value | undefined;
}

export type BuiltinErrorCode = 'eval_type_error' | 'eval_builtin_error';

export class BuiltinError extends Error {
  constructor(
    readonly code: BuiltinErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BuiltinError';
  }
}

function describeTypes(types: ArgType): string {
  if (types === 'any') return 'any';
  return typeof types === 'string' ? types : `one of {${[...types].join(', ')}}`;
}

/**
 * OPA's message: `count: operand 1 must be one of {array, object, set, string} but got number`. The
 * types are listed in the order declared, which is the order OPA's implementation names them in
 * (`sum`: `{set, array}`, `object.remove`: `{object, set, array}`), not sorted.
 */
export function operandTypeError(name: string, position: number, expected: ArgType, got: Value): BuiltinError {
  return new BuiltinError(
    'eval_type_error',
    `${name}: operand ${position} must be ${describeTypes(expected)} but got ${typeName(got)}`,
  );
}

/**
 * OPA's message for a wrong member of a collection operand, the expected type in the plural:
 * `sum: operand 1 must be array of numbers but got array containing string`.
 */
export function operandElementError(name: string, position: number, collection: Value, member: Value, expected: TypeName): BuiltinError {
  const kind = typeName(collection);
  return new BuiltinError(
    'eval_type_error',
    `${name}: operand ${position} must be ${kind} of ${expected}s but got ${kind} containing ${typeName(member)}`,
  );
}

export function acceptsType(expected: ArgType, value: Value): boolean {
  if (expected === 'any') return true;
  const actual = typeName(value);
  return typeof expected === 'string' ? actual === expected : expected.includes(actual);
}

/** Checks arguments against the declared types, throwing OPA's operand error on the first mismatch. */
export function checkArgs(definition: BuiltinDefinition, args: readonly Value[]): void {
  for (let i = 0; i < definition.args.length; i++) {
    const expected = definition.args[i]!;
    if (!acceptsType(expected, args[i]!)) throw operandTypeError(definition.name, i + 1, expected, args[i]!);
  }
}

export class BuiltinRegistry {
  private readonly definitions = new Map<string, BuiltinDefinition>();
  private readonly refusals = new Map<string, string>();

  /** Names OPA has that weft deliberately does not offer; calling one is a compile error with `reason`. */
  refuse(name: string, reason: string): this {
    this.refusals.set(name, reason);
    return this;
  }
  refusal(name: string): string | undefined {
    return this.refusals.get(name);
  }

  register(...definitions: readonly BuiltinDefinition[]): this {
    for (const definition of definitions) {
      if (this.definitions.has(definition.name)) {
        throw new Error(`builtin ${definition.name} is registered twice`);
      }
      this.definitions.set(definition.name, definition);
    }
    return this;
  }
  get(name: string): BuiltinDefinition | undefined {
    return this.definitions.get(name);
  }
  has(name: string): boolean {
    return this.definitions.has(name);
  }
  names(): string[] {
    return [...this.definitions.keys()].sort();
  }
}
