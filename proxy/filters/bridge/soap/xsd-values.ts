// XSD built-in simple types as JSON values, both ways. int-sized integers, booleans and doubles
// are JSON numbers and booleans; long, integer and decimal are JSON strings so no precision is
// lost; dates and everything textual stay strings, checked against their lexical form.
import type { JsonSchema } from '../json-schema.js';
import type { JsonValue } from '../codec.js';

export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

type ValueKind = 'int' | 'bigint' | 'decimal' | 'boolean' | 'double' | 'string';

interface SimpleTypeInfo {
  readonly kind: ValueKind;
  /** Inclusive range of int-sized and big integers. */
  readonly range?: readonly [bigint, bigint];
  /** Lexical form of strings that must have one (dates, binary). */
  readonly pattern?: RegExp;
}

const range = (bits: number, signed: boolean): readonly [bigint, bigint] =>
  signed ? [-(2n ** BigInt(bits - 1)), 2n ** BigInt(bits - 1) - 1n] : [0n, 2n ** BigInt(bits) - 1n];

const TIMEZONE = '(Z|[+-]\\d{2}:\\d{2})?';
const DATE = '-?\\d{4,}-\\d{2}-\\d{2}';
const TIME = '\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?';

const BUILTINS: Readonly<Record<string, SimpleTypeInfo>> = {
  int: { kind: 'int', range: range(32, true) },
  short: { kind: 'int', range: range(16, true) },
  byte: { kind: 'int', range: range(8, true) },
  unsignedInt: { kind: 'int', range: range(32, false) },
  unsignedShort: { kind: 'int', range: range(16, false) },
  unsignedByte: { kind: 'int', range: range(8, false) },
  long: { kind: 'bigint', range: range(64, true) },
  unsignedLong: { kind: 'bigint', range: range(64, false) },
  integer: { kind: 'bigint' },
  nonNegativeInteger: { kind: 'bigint', range: [0n, 2n ** 1024n] },
  positiveInteger: { kind: 'bigint', range: [1n, 2n ** 1024n] },
  nonPositiveInteger: { kind: 'bigint', range: [-(2n ** 1024n), 0n] },
  negativeInteger: { kind: 'bigint', range: [-(2n ** 1024n), -1n] },
  decimal: { kind: 'decimal' },
  boolean: { kind: 'boolean' },
  double: { kind: 'double' },
  float: { kind: 'double' },
  dateTime: { kind: 'string', pattern: new RegExp(`^${DATE}T${TIME}${TIMEZONE}$`) },
  date: { kind: 'string', pattern: new RegExp(`^${DATE}${TIMEZONE}$`) },
  time: { kind: 'string', pattern: new RegExp(`^${TIME}${TIMEZONE}$`) },
  base64Binary: { kind: 'string', pattern: /^[A-Za-z0-9+/\s]*={0,2}\s*$/ },
  hexBinary: { kind: 'string', pattern: /^([0-9A-Fa-f]{2})*$/ },
};

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const DOUBLE_TEXT = /^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|-?INF|NaN)$/;
// Characters XML 1.0 cannot carry at all, even escaped.
// eslint-disable-next-line no-control-regex
export const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** An XSD simple type reduced to the built-in it restricts, with its enumeration if any. */
export interface SimpleType {
  readonly builtin: string;
  readonly enumeration?: readonly string[];
}

function info(type: SimpleType): SimpleTypeInfo {
  return BUILTINS[type.builtin] ?? { kind: 'string' };
}

/** A value that does not fit its XSD type: the message names what was expected. */
export class ValueMismatch extends Error {
  override readonly name = 'ValueMismatch';
}

/** A JSON value as the XML text of `type`; throws `ValueMismatch`. */
export function jsonToXmlText(type: SimpleType, value: JsonValue): string {
  const { kind, range: bounds, pattern } = info(type);
  let text: string;
  switch (kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new ValueMismatch(`expected an integer (xs:${type.builtin})`);
      text = String(value);
      break;
    case 'bigint':
      if (typeof value === 'number' && Number.isSafeInteger(value)) text = String(value);
      else if (typeof value === 'string' && INTEGER_TEXT.test(value)) text = value;
      else throw new ValueMismatch(`expected an integer as a JSON string (xs:${type.builtin})`);
      break;
    case 'decimal':
      if (typeof value !== 'string' || !DECIMAL_TEXT.test(value)) throw new ValueMismatch(`expected a decimal as a JSON string (xs:${type.builtin})`);
      text = value;
      break;
    case 'boolean':
      if (typeof value !== 'boolean') throw new ValueMismatch('expected a boolean');
      text = String(value);
      break;
    case 'double':
      if (typeof value !== 'number') throw new ValueMismatch(`expected a number (xs:${type.builtin})`);
      text = String(value);
      break;
    case 'string':
      if (typeof value !== 'string') throw new ValueMismatch(`expected a string (xs:${type.builtin})`);
      if (pattern !== undefined && !pattern.test(value)) throw new ValueMismatch(`'${value}' is not an xs:${type.builtin}`);
      if (NOT_XML_CHAR.test(value)) throw new ValueMismatch('string holds a character XML cannot carry');
      text = value;
      break;
  }
  if (bounds !== undefined) checkRange(text, bounds, type);
  if (type.enumeration !== undefined && !type.enumeration.includes(text)) {
    throw new ValueMismatch(`'${text}' is not one of ${type.enumeration.join(', ')}`);
  }
  return text;
}

/** The XML text of `type` as its JSON value; throws `ValueMismatch` on a malformed value. */
export function xmlTextToJson(type: SimpleType, raw: string): JsonValue {
  const { kind, range: bounds, pattern } = info(type);
  const text = kind === 'string' ? raw : raw.trim();
  switch (kind) {
    case 'int':
    case 'bigint':
      if (!INTEGER_TEXT.test(text)) throw new ValueMismatch(`'${text}' is not an xs:${type.builtin}`);
      if (bounds !== undefined) checkRange(text, bounds, type);
      return kind === 'int' ? Number(text) : BigInt(text).toString();
    case 'decimal':
      if (!DECIMAL_TEXT.test(text)) throw new ValueMismatch(`'${text}' is not an xs:decimal`);
      return text;
    case 'boolean':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw new ValueMismatch(`'${text}' is not an xs:boolean`);
    case 'double':
      if (!DOUBLE_TEXT.test(text)) throw new ValueMismatch(`'${text}' is not an xs:${type.builtin}`);
      // INF and NaN have no JSON number: they stay strings.
      return /INF|NaN/.test(text) ? text : Number(text);
    case 'string':
      if (pattern !== undefined && !pattern.test(text)) throw new ValueMismatch(`'${text}' is not an xs:${type.builtin}`);
      return text;
  }
}

function checkRange(text: string, [low, high]: readonly [bigint, bigint], type: SimpleType): void {
  const value = BigInt(text);
  if (value < low || value > high) throw new ValueMismatch(`${text} is out of range for xs:${type.builtin}`);
}

/** JSON Schema of a simple type's JSON value. */
export function simpleTypeSchema(type: SimpleType): JsonSchema {
  const { kind, range: bounds, pattern } = info(type);
  const enumeration = type.enumeration === undefined ? {} : { enum: type.enumeration };
  switch (kind) {
    case 'int':
      return { type: 'integer', minimum: Number(bounds![0]), maximum: Number(bounds![1]), ...enumeration };
    case 'bigint':
      return { type: ['string', 'integer'], pattern: INTEGER_TEXT.source, description: `xs:${type.builtin}, as a string` };
    case 'decimal':
      return { type: 'string', pattern: DECIMAL_TEXT.source, description: 'xs:decimal, as a string' };
    case 'boolean':
      return { type: 'boolean' };
    case 'double':
      return { type: 'number' };
    case 'string':
      // The XSD lexical form, not a JSON Schema format: an xs:dateTime may lack a time zone.
      return { type: 'string', ...(pattern === undefined ? {} : { pattern: pattern.source, description: `xs:${type.builtin}` }), ...enumeration };
  }
}
