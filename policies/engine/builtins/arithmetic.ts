// Arithmetic operators under OPA's builtin names: `plus`, `minus` (numbers, or set difference),
// `mul`, `div`, `rem`, and the set operators `and` (`&`) and `or` (`|`).
// Integers are exact (bigint beyond 2^53); any fractional operand makes the operation a float one.
import { isNumber, isSet, type RegoNumber, type RegoSet } from '../value.js';
import { operandTypeError } from './registry.js';
import { setDifference, setIntersection, setUnion } from './set-algebra.js';
import { builtinError, define, fromBigInt, isInteger, toFloat } from './support.js';

/** Largest integer result kept exactly; beyond it a multiplication chain could exhaust memory. */
const maxIntegerBits = 8192;

function finite(name: string, result: number): number {
  if (!Number.isFinite(result)) throw builtinError(name, 'arithmetic result is out of range');
  return result;
}

function exactInteger(name: string, result: bigint): RegoNumber {
  const bits = result < 0n ? (-result).toString(2).length : result.toString(2).length;
  if (bits > maxIntegerBits) throw builtinError(name, 'arithmetic result is out of range');
  return fromBigInt(result);
}

function bothIntegers(a: RegoNumber, b: RegoNumber): boolean {
  // Integral floats beyond 2^53 are already inexact: only safe integers and bigints stay exact.
  const exact = (n: RegoNumber) => typeof n === 'bigint' || Number.isSafeInteger(n);
  return exact(a) && exact(b);
}

function numericOperation(
  name: string,
  integer: (a: bigint, b: bigint) => bigint,
  float: (a: number, b: number) => number,
): (a: RegoNumber, b: RegoNumber) => RegoNumber {
  return (a, b) =>
    bothIntegers(a, b) ? exactInteger(name, integer(BigInt(a), BigInt(b))) : finite(name, float(toFloat(a), toFloat(b)));
}

export const add = numericOperation('plus', (a, b) => a + b, (a, b) => a + b);
export const subtract = numericOperation('minus', (a, b) => a - b, (a, b) => a - b);
export const multiply = numericOperation('mul', (a, b) => a * b, (a, b) => a * b);

function arithmetic(name: string, operation: (a: RegoNumber, b: RegoNumber) => RegoNumber) {
  return define(name, ['number', 'number'], ([a, b]) => operation(a as RegoNumber, b as RegoNumber));
}

const minus = define('minus', [['number', 'set'], ['number', 'set']], ([a, b]) => {
  if (isNumber(a) && isNumber(b)) return subtract(a, b);
  if (isSet(a) && isSet(b)) return setDifference(a, b);
  throw operandTypeError('minus', 2, isNumber(a) ? 'number' : 'set', b!);
});

const div = define('div', ['number', 'number'], ([a, b]) => {
  const x = a as RegoNumber;
  const y = b as RegoNumber;
  if (y == 0) throw builtinError('div', 'divide by zero');
  if (bothIntegers(x, y)) {
    const bx = BigInt(x);
    const by = BigInt(y);
    if (bx % by === 0n) return fromBigInt(bx / by);
  }
  return finite('div', toFloat(x) / toFloat(y));
});

const rem = define('rem', ['number', 'number'], ([a, b]) => {
  const x = a as RegoNumber;
  const y = b as RegoNumber;
  if (!isInteger(x) || !isInteger(y) || !bothIntegers(x, y)) {
    throw builtinError('rem', 'modulo on floating-point number');
  }
  if (y == 0) throw builtinError('rem', 'modulo by zero');
  // Truncated remainder (sign of the dividend), as Go's big.Int.Rem.
  return fromBigInt(BigInt(x) % BigInt(y));
});

function setOperator(name: string, operation: (a: RegoSet, b: RegoSet) => RegoSet) {
  return define(name, ['set', 'set'], ([a, b]) => operation(a as RegoSet, b as RegoSet));
}

export const arithmeticBuiltins = [
  arithmetic('plus', add),
  minus,
  arithmetic('mul', multiply),
  div,
  rem,
  setOperator('and', (a, b) => setIntersection([a, b])),
  setOperator('or', (a, b) => setUnion([a, b])),
];
