// Bitwise builtins on integers (exact, bigint-safe): bits.and/or/xor/negate/lsh/rsh.
import { builtinError, define, fromBigInt, integerOperand, operandError } from './support.js';
import type { Value } from '../value.js';

/** A shift beyond this would build an integer too large to be a policy value. */
const maxShift = 4096n;

function binary(name: string, operation: (a: bigint, b: bigint) => bigint) {
  return define(name, ['number', 'number'], ([a, b]) =>
    fromBigInt(operation(integerOperand(name, 1, a!), integerOperand(name, 2, b!))),
  );
}

function shift(name: string, operation: (a: bigint, b: bigint) => bigint) {
  return define(name, ['number', 'number'], ([a, b]: readonly Value[]) => {
    const value = integerOperand(name, 1, a!);
    const amount = integerOperand(name, 2, b!);
    if (amount < 0n) throw operandError(name, 2, 'must be an unsigned integer number but got a negative integer');
    if (amount > maxShift) throw builtinError(name, `shift amount exceeds ${maxShift}`);
    return fromBigInt(operation(value, amount));
  });
}

export const bitBuiltins = [
  binary('bits.and', (a, b) => a & b),
  binary('bits.or', (a, b) => a | b),
  binary('bits.xor', (a, b) => a ^ b),
  define('bits.negate', ['number'], ([a]) => fromBigInt(~integerOperand('bits.negate', 1, a!))),
  shift('bits.lsh', (a, b) => a << b),
  shift('bits.rsh', (a, b) => a >> b),
];
