// Calls builtins the way the evaluator does: through the standard registry by OPA name.
import { expect } from 'vitest';
import { createEngineBuiltins } from '../../../policies/engine/rego-builtins.js';
import { BuiltinError, type BuiltinContext } from '../../../policies/engine/builtins/registry.js';
import { canonicalText, fromJSON, type Value } from '../../../policies/engine/value.js';

export const registry = createEngineBuiltins();

export interface RecordingContext extends BuiltinContext {
  readonly prints: string[];
  readonly traces: string[];
}

export function makeContext(nowNs = 1_700_000_000_123_456_789n): RecordingContext {
  const prints: string[] = [];
  const traces: string[] = [];
  return {
    strict: true,
    nowNs,
    cache: new Map(),
    prints,
    traces,
    print: (line) => prints.push(line),
    trace: (note) => traces.push(note),
  };
}

export function callIn(context: BuiltinContext, name: string, ...args: Value[]): Value | undefined {
  const definition = registry.get(name);
  if (definition === undefined) throw new Error(`no builtin ${name}`);
  expect(args.length, `${name} arity`).toBe(definition.args.length);
  return definition.call(args, context);
}

export function call(name: string, ...args: Value[]): Value | undefined {
  return callIn(makeContext(), name, ...args);
}

/** JSON-shaped data as a value (objects become RegoObjects). */
export const v = fromJSON;

/** Asserts the builtin returns `expected` (compared as Rego values; sets and arrays differ). */
export function expectCall(name: string, args: Value[], expected: Value | undefined): void {
  const result = call(name, ...args);
  if (expected === undefined) {
    expect(result, `${name} should be undefined`).toBeUndefined();
    return;
  }
  expect(result, `${name} returned undefined`).not.toBeUndefined();
  expect(canonicalText(result!)).toBe(canonicalText(expected));
}

/** Asserts the builtin throws a BuiltinError with `code` and a message containing `message`. */
export function expectFailure(
  name: string,
  args: Value[],
  code: 'eval_type_error' | 'eval_builtin_error',
  message: string | RegExp,
): void {
  let thrown: unknown;
  try {
    call(name, ...args);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `${name} should fail`).toBeInstanceOf(BuiltinError);
  const error = thrown as BuiltinError;
  expect(error.code).toBe(code);
  if (typeof message === 'string') expect(error.message).toContain(message);
  else expect(error.message).toMatch(message);
}
