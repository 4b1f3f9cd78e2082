// Number builtins: abs, ceil, floor, round (half away from zero), numbers.range(_step), rand.intn.
import { randomBytes, randomInt } from 'node:crypto';
import { makeArray, type RegoNumber, type Value } from '../value.js';
import { builtinError, define, fromBigInt, integerOperand, isInteger, limits } from './support.js';

function rounding(name: string, operation: (n: number) => number) {
  return define(name, ['number'], ([n]) => {
    const value = n as RegoNumber;
    // bigints are integers already; integral floats beyond 2^53 are whole too.
    if (typeof value === 'bigint' || Number.isInteger(value)) return value;
    const result = operation(value);
    return Object.is(result, -0) ? 0 : result;
  });
}

const abs = define('abs', ['number'], ([n]) => {
  const value = n as RegoNumber;
  return typeof value === 'bigint' ? fromBigInt(value < 0n ? -value : value) : Math.abs(value);
});

function range(name: string, start: bigint, end: bigint, step: bigint): readonly Value[] {
  const count = (end >= start ? end - start : start - end) / step + 1n;
  if (count > BigInt(limits.maxGeneratedElements)) {
    throw builtinError(name, `range of ${count} elements exceeds the limit of ${limits.maxGeneratedElements}`);
  }
  const direction = end >= start ? step : -step;
  const out: Value[] = [];
  for (let i = 0n, current = start; i < count; i++, current += direction) out.push(fromBigInt(current));
  return makeArray(out);
}

const numbersRange = define('numbers.range', ['number', 'number'], ([a, b]) =>
  range('numbers.range', integerOperand('numbers.range', 1, a!), integerOperand('numbers.range', 2, b!), 1n),
);

const numbersRangeStep = define('numbers.range_step', ['number', 'number', 'number'], ([a, b, s]) => {
  const name = 'numbers.range_step';
  const start = integerOperand(name, 1, a!);
  const end = integerOperand(name, 2, b!);
  const step = integerOperand(name, 3, s!);
  if (step <= 0n) throw builtinError(name, 'step must be a positive number above zero');
  return range(name, start, end, step);
});

function randomBelow(bound: bigint): bigint {
  if (bound <= 0xffff_ffff_ffffn) return BigInt(randomInt(Number(bound)));
  // Wide bounds: 64 extra random bits make the modulo bias negligible.
  const bytes = randomBytes(Math.ceil(bound.toString(16).length / 2) + 8);
  return BigInt(`0x${bytes.toString('hex')}`) % bound;
}

// Memoised per (string, n) for the evaluation, so one query sees one answer (as OPA). A
// fractional n is undefined, as OPA's non-strict result (and other engines' strict one).
const randIntn = define(
  'rand.intn',
  ['string', 'number'],
  ([key, n], context) => {
    if (!isInteger(n!)) return undefined;
    let bound = integerOperand('rand.intn', 2, n!);
    if (bound === 0n) return 0;
    if (bound < 0n) bound = -bound;
    const memoKey = `rand.intn\u0000${key as string}\u0000${bound}`;
    const known = context.cache.get(memoKey);
    if (known !== undefined) return known;
    const result = fromBigInt(randomBelow(bound));
    context.cache.set(memoKey, result);
    return result;
  },
  { nondeterministic: true },
);

export const numberBuiltins = [
  abs,
  rounding('ceil', Math.ceil),
  rounding('floor', Math.floor),
  rounding('round', (n) => Math.sign(n) * Math.round(Math.abs(n))),
  numbersRange,
  numbersRangeStep,
  randIntn,
];
