// String builtins. Positions and lengths count Unicode code points (Go runes), as OPA does.
import { isSet, makeArray, sortedValues, type RegoNumber, type RegoObject, type Value } from '../value.js';
import { BuiltinError, operandElementError } from './registry.js';
import { builtinError, define, isInteger, limits, operandError, smallIntegerOperand } from './support.js';

function runes(text: string): string[] {
  return Array.from(text);
}

/** Members of a string collection argument (string, array or set of strings), or OPA's type error. */
export function stringMembers(name: string, position: number, value: Value): string[] {
  if (typeof value === 'string') return [value];
  const members = isSet(value) ? sortedValues(value) : [...(value as readonly Value[])];
  for (const member of members) {
    if (typeof member !== 'string') throw operandElementError(name, position, value, member, 'string');
  }
  return members as string[];
}

/** Code points in text[0, end) (a UTF-16 offset): OPA reports positions in runes. */
function runeOffset(text: string, end: number, from = 0, base = 0): number {
  let count = base;
  for (let i = from; i < end; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff || i === 0 || text.charCodeAt(i - 1) < 0xd800 || text.charCodeAt(i - 1) > 0xdbff) count++;
  }
  return count;
}

// V8's native search, linear in practice, with offsets converted to runes.
function searchOperand(name: string, search: Value): string {
  if ((search as string).length === 0) throw builtinError(name, 'empty search character');
  return search as string;
}

const indexof = define('indexof', ['string', 'string'], ([base, search]) => {
  const text = base as string;
  const index = text.indexOf(searchOperand('indexof', search!));
  return index === -1 ? -1 : runeOffset(text, index);
});

const indexofN = define('indexof_n', ['string', 'string'], ([base, search]) => {
  const text = base as string;
  const needle = searchOperand('indexof_n', search!);
  const found: number[] = [];
  let scanned = 0;
  let runesBefore = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) {
    runesBefore = runeOffset(text, i, scanned, runesBefore);
    scanned = i;
    found.push(runesBefore);
  }
  return makeArray(found);
});

const substring = define('substring', ['string', 'number', 'number'], ([base, start, length]) => {
  const offset = smallIntegerOperand('substring', 2, start!);
  const count = smallIntegerOperand('substring', 3, length!);
  if (offset < 0) throw builtinError('substring', 'negative offset');
  const chars = runes(base as string);
  if (offset >= chars.length) return '';
  return chars.slice(offset, count < 0 ? undefined : offset + count).join('');
});

const formatInt = define('format_int', ['number', 'number'], ([n, b]) => {
  const base = b as RegoNumber;
  if (!isInteger(base) || ![2, 8, 10, 16].includes(Number(base))) {
    throw operandError('format_int', 2, 'must be one of {2, 8, 10, 16}');
  }
  const value = n as RegoNumber;
  const truncated = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
  return truncated.toString(Number(base));
});

/** Go's strings.Split: an empty separator splits into runes. */
function split(text: string, separator: string): string[] {
  return separator === '' ? runes(text) : text.split(separator);
}

/** Go's strings.ReplaceAll: an empty `old` inserts `replacement` around every rune. */
function replaceAll(text: string, old: string, replacement: string): string {
  if (old !== '') return text.split(old).join(replacement);
  return replacement + runes(text).map((r) => r + replacement).join('');
}

function checkedLength(name: string, text: string): string {
  if (text.length > limits.maxGeneratedChars) throw builtinError(name, 'result exceeds the string size limit');
  return text;
}

/** Go's strings.NewReplacer: at each position the first pattern (in key order) that matches wins. */
function replaceN(patterns: RegoObject, text: string): string {
  const pairs: [string, string][] = [];
  for (const key of [...patterns.keys()].sort()) {
    const replacement = patterns.get(key)!;
    if (typeof key !== 'string') throw new BuiltinError('eval_type_error', 'strings.replace_n: operand 1 non-string key found in pattern object');
    if (typeof replacement !== 'string') {
      throw new BuiltinError('eval_type_error', 'strings.replace_n: operand 1 non-string value found in pattern object');
    }
    pairs.push([key, replacement]);
  }
  let out = '';
  let i = 0;
  for (;;) {
    const match = pairs.find(([old]) => text.startsWith(old, i));
    if (match !== undefined) {
      out += match[1];
      if (match[0] !== '') {
        i += match[0].length;
        continue;
      }
    }
    if (i >= text.length) break;
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    out += text.slice(i, i + width);
    i += width;
  }
  return checkedLength('strings.replace_n', out);
}

// Go's unicode.IsSpace set (strings.TrimSpace), which differs from JavaScript's trim.
const goSpace = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const leadingSpace = new RegExp(`^[${goSpace}]+`, 'u');
const trailingSpace = new RegExp(`[${goSpace}]+$`, 'u');

function trimRunes(text: string, cutset: string, left: boolean, right: boolean): string {
  const cut = new Set(runes(cutset));
  const chars = runes(text);
  let start = 0;
  let end = chars.length;
  if (left) while (start < end && cut.has(chars[start]!)) start++;
  if (right) while (end > start && cut.has(chars[end - 1]!)) end--;
  return chars.slice(start, end).join('');
}

function countNonOverlapping(text: string, search: string): number {
  if (search === '') return runes(text).length + 1;
  return text.split(search).length - 1;
}

const anyPrefixMatch = (name: string, test: (s: string, affix: string) => boolean) =>
  define(name, [['string', 'set', 'array'], ['string', 'set', 'array']], ([search, base]) => {
    const texts = stringMembers(name, 1, search!);
    const affixes = stringMembers(name, 2, base!);
    return texts.some((text) => affixes.some((affix) => test(text, affix)));
  });

export const stringBuiltins = [
  define('concat', ['string', ['set', 'array']], ([delimiter, collection]) =>
    checkedLength('concat', stringMembers('concat', 2, collection!).join(delimiter as string)),
  ),
  define('contains', ['string', 'string'], ([a, b]) => (a as string).includes(b as string)),
  define('startswith', ['string', 'string'], ([a, b]) => (a as string).startsWith(b as string)),
  define('endswith', ['string', 'string'], ([a, b]) => (a as string).endsWith(b as string)),
  formatInt,
  indexof,
  indexofN,
  define('lower', ['string'], ([s]) => (s as string).toLowerCase()),
  define('upper', ['string'], ([s]) => (s as string).toUpperCase()),
  define('replace', ['string', 'string', 'string'], ([s, old, replacement]) =>
    checkedLength('replace', replaceAll(s as string, old as string, replacement as string)),
  ),
  define('split', ['string', 'string'], ([s, separator]) => makeArray(split(s as string, separator as string))),
  substring,
  define('trim', ['string', 'string'], ([s, cutset]) => trimRunes(s as string, cutset as string, true, true)),
  define('trim_left', ['string', 'string'], ([s, cutset]) => trimRunes(s as string, cutset as string, true, false)),
  define('trim_right', ['string', 'string'], ([s, cutset]) => trimRunes(s as string, cutset as string, false, true)),
  define('trim_prefix', ['string', 'string'], ([s, prefix]) =>
    (s as string).startsWith(prefix as string) ? (s as string).slice((prefix as string).length) : s,
  ),
  define('trim_suffix', ['string', 'string'], ([s, suffix]) =>
    (suffix as string) !== '' && (s as string).endsWith(suffix as string)
      ? (s as string).slice(0, (s as string).length - (suffix as string).length)
      : s,
  ),
  define('trim_space', ['string'], ([s]) => (s as string).replace(leadingSpace, '').replace(trailingSpace, '')),
  define('strings.replace_n', ['object', 'string'], ([patterns, s]) => replaceN(patterns as RegoObject, s as string)),
  define('strings.reverse', ['string'], ([s]) => runes(s as string).reverse().join('')),
  anyPrefixMatch('strings.any_prefix_match', (text, prefix) => text.startsWith(prefix)),
  anyPrefixMatch('strings.any_suffix_match', (text, suffix) => text.endsWith(suffix)),
  define('strings.count', ['string', 'string'], ([s, search]) => countNonOverlapping(s as string, search as string)),
];
