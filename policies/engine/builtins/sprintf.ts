// sprintf with Go's fmt verbs, as OPA passes its operands to fmt.Sprintf: integers as Go ints
// (exact, bigint-safe), other numbers as float64, strings as strings, and every other value
// (booleans and null too) as a Go string of its Rego text, so %v and %s print `{"a": 1}`,
// `[1, 2]`, `true`, and %t or %d of them is Go's `%!t(string=true)`.
import type { Value } from '../value.js';
import { builtinError, define, limits } from './support.js';
import { goQuote, regoText } from './value-text.js';

type Operand =
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string };

function toOperand(value: Value): Operand {
  if (typeof value === 'number' || typeof value === 'bigint') {
    // Integral floats beyond 2^53 are floats to Go too (json.Number "1e+21" is not an int).
    return typeof value === 'bigint' || Number.isSafeInteger(value)
      ? { kind: 'int', value: BigInt(value) }
      : { kind: 'float', value };
  }
  if (typeof value === 'string') return { kind: 'string', value };
  return { kind: 'string', value: regoText(value) };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** OPA passes an integer beyond int64 as a *big.Int, which Go formats in decimal for %s and %v too. */
function isBigInt(operand: Operand): boolean {
  return operand.kind === 'int' && (operand.value < INT64_MIN || operand.value > INT64_MAX);
}

/** The verbs Go's big.Int formats. */
const BIG_INT_VERBS = new Set(['b', 'o', 'O', 'd', 'x', 'X', 's', 'v']);

const goTypeNames: Record<Operand['kind'], (operand: Operand) => string> = {
  int: (operand) => (isBigInt(operand) ? 'big.Int' : 'int'),
  float: () => 'float64',
  string: () => 'string',
};

function plainText(operand: Operand): string {
  switch (operand.kind) {
    case 'int':
      return operand.value.toString();
    case 'float':
      return formatG(operand.value, -1, false);
    case 'string':
      return operand.value;
  }
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number | undefined;
  precision: number | undefined;
  verb: string;
}

/** Decimal digits (no trailing zeros) and decimal-point position of |x|, rounded to `digits` significant digits or shortest. */
function decimalDigits(x: number, digits: number): { digits: string; point: number } {
  const text = digits < 0 ? Math.abs(x).toExponential() : Math.abs(x).toExponential(Math.min(Math.max(digits - 1, 0), 100));
  const [mantissa, exponent] = text.split('e') as [string, string];
  const all = mantissa.replace('.', '').replace(/0+$/, '');
  return { digits: all === '' ? '0' : all, point: all === '' ? 1 : Number(exponent) + 1 };
}

function exponentForm(digits: string, point: number, fraction: number, upper: boolean): string {
  const padded = digits.padEnd(fraction + 1, '0');
  const exp = digits === '0' ? 0 : point - 1;
  const mantissa = fraction > 0 ? `${padded[0]}.${padded.slice(1, fraction + 1)}` : padded[0]!;
  const expText = `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return `${mantissa}${upper ? 'E' : 'e'}${expText}`;
}

function fixedForm(digits: string, point: number, fraction: number): string {
  const integer = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0');
  const rest = point < 0 ? '0'.repeat(-point) + digits : digits.slice(Math.max(point, 0));
  return fraction > 0 ? `${integer}.${rest.padEnd(fraction, '0').slice(0, fraction)}` : integer;
}

/** Go's %g (strconv 'g'): shortest when precision < 0, with Go's exponent threshold. */
function formatG(x: number, precision: number, upper: boolean): string {
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0`;
  const shortest = precision < 0;
  const prec = precision === 0 ? 1 : precision;
  const { digits, point } = decimalDigits(x, shortest ? -1 : prec);
  let eprec = shortest ? 6 : prec;
  if (!shortest && eprec > digits.length && digits.length >= point) eprec = digits.length;
  const exp = point - 1;
  if (exp < -4 || exp >= eprec) return sign + exponentForm(digits, point, digits.length - 1, upper);
  return sign + fixedForm(digits, point, Math.max(digits.length - point, 0));
}

function formatFloat(x: number, spec: Spec): string | undefined {
  const precision = spec.precision;
  switch (spec.verb) {
    case 'e':
    case 'E': {
      const fraction = precision ?? 6;
      const { digits, point } = decimalDigits(x, fraction + 1);
      return (x < 0 ? '-' : '') + exponentForm(digits, point, fraction, spec.verb === 'E');
    }
    case 'f':
    case 'F': {
      const fraction = Math.min(precision ?? 6, 100);
      if (Math.abs(x) < 1e21) return x.toFixed(fraction);
      return (x < 0 ? '-' : '') + BigInt(Math.abs(x)).toString() + (fraction > 0 ? `.${'0'.repeat(fraction)}` : '');
    }
    case 'g':
    case 'G':
    case 'v':
      return formatG(x, precision ?? -1, spec.verb === 'G');
    default:
      return undefined;
  }
}

function formatInteger(n: bigint, spec: Spec): string | undefined {
  const negative = n < 0n;
  const magnitude = negative ? -n : n;
  let body: string;
  let prefix = '';
  switch (spec.verb) {
    case 'd':
    case 'v':
      body = magnitude.toString();
      break;
    case 'b':
      body = magnitude.toString(2);
      break;
    case 'o':
    case 'O':
      body = magnitude.toString(8);
      if (spec.verb === 'O') prefix = '0o';
      else if (spec.sharp) prefix = '0';
      break;
    case 'x':
    case 'X':
      body = magnitude.toString(16);
      if (spec.verb === 'X') body = body.toUpperCase();
      if (spec.sharp) prefix = spec.verb === 'X' ? '0X' : '0x';
      break;
    case 'c':
      return magnitude <= 0x10ffffn && !negative ? String.fromCodePoint(Number(magnitude)) : '\ufffd';
    case 'q':
      return magnitude <= 0x10ffffn && !negative ? `'${String.fromCodePoint(Number(magnitude))}'` : `'\ufffd'`;
    case 'U':
      return `U+${magnitude.toString(16).toUpperCase().padStart(4, '0')}`;
    default:
      return undefined;
  }
  if (spec.precision !== undefined) body = body.padStart(spec.precision, '0');
  const sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  if (spec.zero && !spec.minus && spec.width !== undefined && spec.precision === undefined) {
    body = body.padStart(spec.width - sign.length - prefix.length, '0');
  }
  return sign + prefix + body;
}

function formatString(text: string, spec: Spec): string | undefined {
  const limited = spec.precision === undefined ? text : Array.from(text).slice(0, spec.precision).join('');
  switch (spec.verb) {
    case 's':
    case 'v':
      return limited;
    case 'q':
      return spec.sharp && !limited.includes('`') ? `\`${limited}\`` : goQuote(limited);
    case 'x':
    case 'X': {
      const hex = Buffer.from(limited, 'utf8').toString('hex');
      return spec.verb === 'X' ? hex.toUpperCase() : hex;
    }
    default:
      return undefined;
  }
}

function formatOperand(operand: Operand, spec: Spec): string {
  // %T is Go's name of the operand's type, whatever the operand (a pointer for a big.Int).
  if (spec.verb === 'T') return pad(isBigInt(operand) ? '*big.Int' : goTypeNames[operand.kind](operand), spec, false);
  let text: string | undefined;
  switch (operand.kind) {
    case 'int':
      if (!isBigInt(operand)) text = formatInteger(operand.value, spec);
      else if (BIG_INT_VERBS.has(spec.verb)) text = formatInteger(operand.value, spec.verb === 's' ? { ...spec, verb: 'd' } : spec);
      break;
    case 'float': {
      text = formatFloat(operand.value, spec);
      if (text !== undefined && operand.value >= 0 && !text.startsWith('-')) {
        if (spec.plus) text = `+${text}`;
        else if (spec.space) text = ` ${text}`;
      }
      break;
    }
    case 'string':
      text = formatString(operand.value, spec);
      break;
  }
  if (text === undefined) return `%!${spec.verb}(${goTypeNames[operand.kind](operand)}=${plainText(operand)})`;
  return pad(text, spec, operand.kind === 'int' || operand.kind === 'float');
}

function pad(text: string, spec: Spec, numeric: boolean): string {
  const width = spec.width ?? 0;
  const length = Array.from(text).length;
  if (length >= width) return text;
  const fill = width - length;
  if (spec.minus) return text + ' '.repeat(fill);
  if (spec.zero && numeric) {
    const signMatch = /^[+\- ]/.exec(text);
    const sign = signMatch ? signMatch[0] : '';
    return sign + '0'.repeat(fill) + text.slice(sign.length);
  }
  return (spec.zero && !numeric ? '0' : ' ').repeat(fill) + text;
}

const specPattern = /%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])?/y;

export function sprintf(format: string, values: readonly Value[]): string {
  const operands = values.map(toOperand);
  let out = '';
  let next = 0;
  let i = 0;
  while (i < format.length) {
    const percent = format.indexOf('%', i);
    if (percent === -1) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, percent);
    specPattern.lastIndex = percent;
    const match = specPattern.exec(format)!;
    i = specPattern.lastIndex;
    const [, flags = '', width, precision, verb] = match;
    if (verb === undefined) {
      out += '%!(NOVERB)';
      continue;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    const spec: Spec = {
      minus: flags.includes('-'),
      plus: flags.includes('+'),
      sharp: flags.includes('#'),
      space: flags.includes(' '),
      zero: flags.includes('0') && !flags.includes('-'),
      width: width === undefined ? undefined : Number(width),
      precision: precision === undefined ? undefined : Number(precision || '0'),
      verb,
    };
    if ((spec.width ?? 0) > limits.maxGeneratedChars || (spec.precision ?? 0) > limits.maxGeneratedChars) {
      throw builtinError('sprintf', 'width or precision exceeds the string size limit');
    }
    const operand = operands[next++];
    out += operand === undefined ? `%!${verb}(MISSING)` : formatOperand(operand, spec);
    if (out.length > limits.maxGeneratedChars) throw builtinError('sprintf', 'result exceeds the string size limit');
  }
  if (next < operands.length) {
    const extra = operands.slice(next).map((operand) => `${goTypeNames[operand.kind](operand)}=${plainText(operand)}`);
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
}

export const sprintfBuiltins = [
  define('sprintf', ['string', 'array'], ([format, values]) => sprintf(format as string, values as readonly Value[])),
];

