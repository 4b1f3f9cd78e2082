// Shared pieces every builtin family uses: typed definitions, OPA-shaped errors, and the
// integer view of Rego numbers.
import {
  checkArgs,
  BuiltinError,
  type ArgType,
  type BuiltinContext,
  type BuiltinDefinition,
} from './registry.js';
import { isNumber, normalizeNumber, typeName, type RegoNumber, type Value } from '../value.js';

interface DefinitionOptions {
  readonly nondeterministic?: boolean;
  readonly relation?: boolean;
}

/** A builtin whose arguments are checked against `args` before `body` runs. */
export function define(
  name: string,
  args: readonly ArgType[],
  body: (args: readonly Value[], context: BuiltinContext) => Value | undefined,
  options: DefinitionOptions = {},
): BuiltinDefinition {
  const definition: BuiltinDefinition = {
    name,
    args,
    ...options,
    call(values, context) {
      checkArgs(definition, values);
      return body(values, context);
    },
  };
  return Object.freeze(definition);
}

/** A failure that is not a type error, as OPA words it: `name: message`. */
export function builtinError(name: string, message: string): BuiltinError {
  return new BuiltinError('eval_builtin_error', `${name}: ${message}`);
}

/** A type error about an operand's shape beyond its type name (OPA: `operand 2 must be integer number ...`). */
export function operandError(name: string, position: number, message: string): BuiltinError {
  return new BuiltinError('eval_type_error', `${name}: operand ${position} ${message}`);
}

/** True for a number without a fractional part. */
export function isInteger(value: Value): value is RegoNumber {
  return typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value));
}

/** The operand as an exact integer, or OPA's error when it has a fractional part. */
export function integerOperand(name: string, position: number, value: Value): bigint {
  if (!isNumber(value)) {
    throw new BuiltinError('eval_type_error', `${name}: operand ${position} must be number but got ${typeName(value)}`);
  }
  if (!isInteger(value)) throw operandError(name, position, 'must be integer number but got floating-point number');
  return BigInt(value);
}

/** A bigint result in the value model's one representation. */
export function fromBigInt(value: bigint): RegoNumber {
  return normalizeNumber(value);
}

/** The number as a float (exact bigints lose precision here, as in OPA's float path). */
export function toFloat(value: RegoNumber): number {
  return typeof value === 'bigint' ? Number(value) : value;
}

/** The operand as a JS string index/count: an integer in the safe range. */
export function smallIntegerOperand(name: string, position: number, value: Value): number {
  const big = integerOperand(name, position, value);
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw operandError(name, position, 'is out of range');
  }
  return Number(big);
}

/** Caps on results built from untrusted sizes, so one call cannot exhaust a sidecar's memory. */
export const limits = Object.freeze({
  /** Elements in a generated array (numbers.range, net.cidr_expand). */
  maxGeneratedElements: 1_000_000,
  /** Characters in a generated string (strings.repeat-like growth, sprintf padding). */
  maxGeneratedChars: 16 * 1024 * 1024,
});
