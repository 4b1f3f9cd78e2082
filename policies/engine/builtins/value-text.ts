// OPA's text form of a value (Go's `ast.Value.String()`), used by sprintf's %v and by messages:
// strings quoted inside composites, `", "` separators, sets sorted, the empty set as `set()`.
import { compare, isArray, isSet, sortedValues, type RegoObject, type Value } from '../value.js';

export function regoText(value: Value): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return numberText(value);
    case 'bigint':
      return value.toString();
    case 'string':
      return goQuote(value);
  }
  if (isArray(value)) return `[${value.map(regoText).join(', ')}]`;
  if (isSet(value)) return value.size === 0 ? 'set()' : `{${sortedValues(value).map(regoText).join(', ')}}`;
  const object = value as RegoObject;
  const keys = [...object.keys()].sort(compare);
  return `{${keys.map((key) => `${regoText(key)}: ${regoText(object.get(key)!)}`).join(', ')}}`;
}

/** A number as JSON writes it (no exponent for integral values below 1e21, as Go's json.Number text). */
export function numberText(value: number): string {
  return Number.isInteger(value) && Math.abs(value) < 1e21 ? BigInt(value).toString() : String(value);
}

/** Go's strconv.Quote: printable runes kept, others escaped. */
export function goQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    switch (char) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x80 && cp < 0xa0) || (cp >= 0xd800 && cp < 0xe000)) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

