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

/** The amount, or undefined for an unknown unit (OPA's non-strict outcome, e.g. "1mb" in units.parse). */
function parseAmount(
  name: string,
  raw: string,
  allowSign: boolean,
  suffixOf: (suffix: string) => Multiplier | undefined,
): Amount | undefined {
  const text = raw.replace(/^"(.*)"$/s, '$1');
  if (/\s/.test(text)) throw builtinError(name, 'spaces not allowed in resource strings');
  const match = (allowSign ? /^([-+]?)(\d*)(?:\.(\d*))?(.*)$/s : /^()(\d*)(?:\.(\d*))?(.*)$/s).exec(text)!;
  const [, sign, integer = '', fraction = '', suffix = ''] = match;
  const bytes = name === 'units.parse_bytes' ? 'byte ' : '';
  if (integer === '' && fraction === '') throw builtinError(name, `no ${bytes}amount provided`);
  if (integer.length + fraction.length > 400) throw builtinError(name, 'amount has too many digits');
  // OPA reads the amount as the whole leading run of digits and dots: a second dot is not a number.
  if (/^[\d.]/.test(suffix)) throw builtinError(name, `could not parse ${bytes}amount to a number`);
  const multiplier = suffixOf(suffix);
  if (multiplier === undefined) return undefined;
  let numerator = BigInt(`${integer}${fraction}` || '0') * (sign === '-' ? -1n : 1n);
  let denominator = 10n ** BigInt(fraction.length);
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
      parseAmount('units.parse', text as string, true, (suffix) => unitSuffixes.get(suffix) ?? binarySuffix(suffix)),
    ),
  ),
  // Bytes are whole: a fractional result is truncated, as OPA does.
  define('units.parse_bytes', ['string'], ([text]) => {
    const amount = parseAmount('units.parse_bytes', text as string, false, byteSuffix);
    return amount === undefined ? undefined : fromBigInt(amount.numerator / amount.denominator);
  }),
];
