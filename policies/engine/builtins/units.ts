// units.parse and units.parse_bytes: amounts with SI (decimal) or IEC (binary) suffixes, computed
// exactly (integers stay exact at any size; fractional results are floats).
import type { RegoNumber } from '../value.js';
import { builtinError, define, fromBigInt } from './support.js';

interface Multiplier {
  readonly base: 10n | 2n;
  readonly exponent: number;
}

const decimal = (exponent: number): Multiplier => ({ base: 10n, exponent });
const binary = (exponent: number): Multiplier => ({ base: 2n, exponent });

// units.parse, as OPA: `m` is milli and `M` mega; k, g, t, p, e mean the large prefix in either
// case; binary suffixes (Ki ... Ei) are case-insensitive. Beyond OPA's list (as other Rego
// engines): the remaining SI prefixes, case-sensitive (Z/z, Y/y, R/r, Q/q, h, da, d, c, μ, n, f,
// a), and Zi, Yi.
const unitSuffixes = new Map<string, Multiplier>([
  ['', decimal(0)],
  ['m', decimal(-3)], ['M', decimal(6)],
  ['k', decimal(3)], ['K', decimal(3)],
  ['g', decimal(9)], ['G', decimal(9)],
  ['t', decimal(12)], ['T', decimal(12)],
  ['p', decimal(15)], ['P', decimal(15)],
  ['e', decimal(18)], ['E', decimal(18)],
  ['Z', decimal(21)], ['Y', decimal(24)], ['R', decimal(27)], ['Q', decimal(30)],
  ['h', decimal(2)], ['da', decimal(1)], ['d', decimal(-1)], ['c', decimal(-2)],
  ['μ', decimal(-6)], ['µ', decimal(-6)], ['n', decimal(-9)], ['f', decimal(-15)], ['a', decimal(-18)],
  ['z', decimal(-21)], ['y', decimal(-24)], ['r', decimal(-27)], ['q', decimal(-30)],
]);

const binaryPrefixes = ['k', 'm', 'g', 't', 'p', 'e', 'z', 'y'];

function binarySuffix(suffix: string): Multiplier | undefined {
  const match = /^([kmgtpezy])i$/.exec(suffix.toLowerCase());
  return match ? binary(10 * (binaryPrefixes.indexOf(match[1]!) + 1)) : undefined;
}

// units.parse_bytes: case-insensitive, optional trailing "b".
function byteSuffix(suffix: string): Multiplier | undefined {
  const lower = suffix.toLowerCase().replace(/b$/, '');
  if (lower === '') return decimal(0);
  const binaryMultiplier = binarySuffix(lower);
  if (binaryMultiplier !== undefined) return binaryMultiplier;
  const index = ['k', 'm', 'g', 't', 'p', 'e', 'z', 'y', 'r', 'q'].indexOf(lower);
  return index === -1 ? undefined : decimal(3 * (index + 1));
}

interface Amount {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

// OPA reads at most six exponent digits; beyond 400 the exact value would be a huge integer, so
// this engine stops there with OPA's message.
const maxExponentDigits = 6;
const maxExponent = 400;

/**
 * OPA's extractNumAndUnit: the amount is the leading run of digits, dots and signs, with an `e` or
 * `E` taken as an exponent when a digit or sign follows it (so "1e3" is 1000 but "1e" and "1Ei"
 * keep their unit). The rest is the unit.
 */
function splitAmount(name: string, text: string): [amount: string, unit: string] {
  let i = 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (/[0-9.+-]/.test(c)) continue;
    if (c !== 'e' && c !== 'E') break;
    const next = text[i + 1];
    if (next === undefined || !/[0-9+-]/.test(next)) break;
    if (next === '+' || next === '-') i++;
    if (/^\d*/.exec(text.slice(i + 1))![0].length > maxExponentDigits) throw builtinError(name, 'exponent too large');
  }
  return [text.slice(0, i), text.slice(i)];
}

/** The amount, or undefined for an unknown unit (OPA's non-strict outcome, e.g. "1mb" in units.parse). */
function parseAmount(name: string, raw: string, suffixOf: (suffix: string) => Multiplier | undefined): Amount | undefined {
  const text = raw.replace(/^"(.*)"$/s, '$1');
  if (/\s/.test(text)) throw builtinError(name, 'spaces not allowed in resource strings');
  const [amount, suffix] = splitAmount(name, text);
  const bytes = name === 'units.parse_bytes' ? 'byte ' : '';
  if (amount === '') throw builtinError(name, `no ${bytes}amount provided`);
  // As OPA: the unit is looked up before the amount is read as a number.
  const multiplier = suffixOf(suffix);
  if (multiplier === undefined) return undefined;
  const match = /^([-+]?)(?:(\d+)\.?(\d*)|\.(\d+))(?:[eE]([-+]?\d+))?$/.exec(amount);
  if (match === null) throw builtinError(name, `could not parse ${bytes}amount to a number`);
  const [, sign, integer = '', wholeFraction, bareFraction, exponentText = '0'] = match;
  const fraction = wholeFraction ?? bareFraction ?? '';
  if (integer.length + fraction.length > 400) throw builtinError(name, 'amount has too many digits');
  const exponent = Number(exponentText) - fraction.length;
  if (Math.abs(exponent) > maxExponent) throw builtinError(name, 'exponent too large');
  let numerator = BigInt(`${integer}${fraction}`) * (sign === '-' ? -1n : 1n);
  let denominator = 1n;
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator = 10n ** BigInt(-exponent);
  if (multiplier.exponent >= 0) numerator *= multiplier.base ** BigInt(multiplier.exponent);
  else denominator *= multiplier.base ** BigInt(-multiplier.exponent);
  return { numerator, denominator };
}

function exactOrFloat(amount: Amount | undefined): RegoNumber | undefined {
  if (amount === undefined) return undefined;
  if (amount.numerator % amount.denominator === 0n) return fromBigInt(amount.numerator / amount.denominator);
  // The denominator is a power of ten: reading the decimal text rounds once, correctly.
  return Number(`${amount.numerator}e-${amount.denominator.toString().length - 1}`);
}

export const unitBuiltins = [
  define('units.parse', ['string'], ([text]) =>
    exactOrFloat(
      parseAmount('units.parse', text as string, (suffix) => unitSuffixes.get(suffix) ?? binarySuffix(suffix)),
    ),
  ),
  // Bytes are whole: a fractional result is truncated, as OPA does.
  define('units.parse_bytes', ['string'], ([text]) => {
    const amount = parseAmount('units.parse_bytes', text as string, byteSuffix);
    return amount === undefined ? undefined : fromBigInt(amount.numerator / amount.denominator);
  }),
];
