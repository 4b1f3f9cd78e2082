// Encoding builtins: base64, base64url, hex, urlquery, json and yaml, with Go's strictness
// (invalid input is an error naming the offending byte, as OPA reports it).
import { Document, parseDocument, visit, type ScalarTag } from 'yaml';
import {
  compare,
  fromJSON,
  isArray,
  isObject,
  isSet,
  makeArray,
  makeObject,
  normalizeNumber,
  sortedValues,
  toJSON,
  toJSONText,
  typeName,
  type RegoObject,
  type Value,
} from '../value.js';
import { BuiltinError } from './registry.js';
import { goJsonEscape, JsonSyntaxError, parseJsonText } from './json-text.js';
import { builtinError, define, operandError } from './support.js';
import { goYamlError } from './yaml-errors.js';

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** Invalid base64 input, in Go's words (`illegal base64 data at input byte 17`). */
export class Base64Error extends Error {}

/** Go's strict StdEncoding/URLEncoding decoding: the padded alphabet only, no whitespace. */
export function goBase64Bytes(text: string, url: boolean): Buffer {
  const alphabet = url ? /[A-Za-z0-9_-]/ : /[A-Za-z0-9+/]/;
  const body = text.replace(/={1,2}$/, '');
  const bad = [...body].findIndex((c) => !alphabet.test(c));
  if (bad !== -1) throw new Base64Error(`illegal base64 data at input byte ${bad}`);
  // Padding completes the last quantum exactly; a lone sixth of a byte is never valid.
  if (text.length % 4 !== 0 || body.length % 4 === 1) {
    throw new Base64Error(`illegal base64 data at input byte ${body.length - (body.length % 4)}`);
  }
  return Buffer.from(body, url ? 'base64url' : 'base64');
}

/** Go's base64.StdEncoding.DecodeString of a builtin's operand (line breaks skipped, as Go skips them); bad base64 is a builtin error. */
export function goBase64Operand(name: string, text: string): Buffer {
  try {
    return goBase64Bytes(text.replace(/[\r\n]/g, ''), false);
  } catch (error) {
    if (error instanceof Base64Error) throw builtinError(name, error.message);
    throw error;
  }
}

export function decodeBase64(name: string, text: string, url: boolean): string {
  try {
    return goBase64Bytes(text, url).toString('utf8');
  } catch (error) {
    if (error instanceof Base64Error) throw builtinError(name, error.message);
    throw error;
  }
}

/**
 * OPA's base64url decoding, which the io.jwt builtins share: padding restored as RFC 7515 appendix C
 * says (encoders often drop it), then Go's URLEncoding. Throws `Base64Error`.
 */
export function base64urlBytes(text: string): Buffer {
  let padded = text;
  if (!text.endsWith('=')) {
    if (text.length % 4 === 2) padded += '==';
    else if (text.length % 4 === 3) padded += '=';
    else if (text.length % 4 === 1) throw new Base64Error(`illegal base64url string: ${text}`);
  }
  return goBase64Bytes(padded, true);
}

function base64urlDecode(text: string): string {
  try {
    return base64urlBytes(text).toString('utf8');
  } catch (error) {
    if (error instanceof Base64Error) throw builtinError('base64url.decode', error.message);
    throw error;
  }
}

function hexDecode(text: string): string {
  const bad = [...text].findIndex((c) => !/[0-9a-fA-F]/.test(c));
  if (bad !== -1) {
    const c = [...text][bad]!;
    throw builtinError('hex.decode', `encoding/hex: invalid byte: U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} ${JSON.stringify(c).replace(/^"|"$/g, "'")}`);
  }
  if (text.length % 2 !== 0) throw builtinError('hex.decode', 'encoding/hex: odd length hex string');
  return Buffer.from(text, 'hex').toString('utf8');
}

/** Go's url.QueryEscape: unreserved characters kept, space as '+', the rest %XX. */
export function queryEscape(text: string): string {
  let out = '';
  for (const byte of utf8(text)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function queryUnescape(name: string, text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw builtinError(name, `invalid URL escape ${JSON.stringify(text.slice(i, i + 3))}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c === '+') {
      bytes.push(0x20);
    } else {
      bytes.push(...utf8(c));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function encodeQueryObject(object: RegoObject): string {
  const parts: string[] = [];
  for (const key of [...object.keys()].sort(compare)) {
    if (typeof key !== 'string') throw builtinError('urlquery.encode_object', 'keys must be strings');
    const value = object.get(key)!;
    const values = typeof value === 'string' ? [value] : isArray(value) ? [...value] : isSet(value) ? sortedValues(value) : undefined;
    if (values === undefined || values.some((item) => typeof item !== 'string')) {
      throw operandError('urlquery.encode_object', 1, 'values must be string, array[string], or set[string]');
    }
    for (const item of values) parts.push(`${queryEscape(key)}=${queryEscape(item as string)}`);
  }
  return parts.join('&');
}

function decodeQueryObject(text: string): Value {
  const grouped = new Map<string, string[]>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    if (pair.includes(';')) throw builtinError('urlquery.decode_object', 'invalid semicolon separator in query');
    const equals = pair.indexOf('=');
    const key = queryUnescape('urlquery.decode_object', equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : queryUnescape('urlquery.decode_object', pair.slice(equals + 1));
    const list = grouped.get(key) ?? [];
    list.push(value);
    grouped.set(key, list);
  }
  return makeObject([...grouped].map(([key, values]) => [key, makeArray(values)] as const));
}

function unmarshalJson(name: string, text: string): Value {
  try {
    return parseJsonText(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw builtinError(name, error.message);
    throw error;
  }
}

/** JSON text with the options of json.marshal_with_options (`indent`, `prefix`, `pretty`). */
function marshalWithOptions(value: Value, options: RegoObject): string {
  let indent = '\t';
  let prefix = '';
  let pretty: boolean | undefined;
  // OPA walks the keys in order and names a bad one by its index there (as "operand <index>").
  const entries = [...options.entries()].sort(([a], [b]) => compare(a, b));
  for (const [index, [key, option]] of entries.entries()) {
    const fail = (message: string): never => {
      throw operandError('json.marshal_with_options', 2, message);
    };
    if (typeof key !== 'string') fail(`failed to stringify key ${toJSONText(key)} at index ${index}: operand ${index} must be string but got ${typeName(key)}`);
    const quoted = toJSONText(key);
    if (key === 'indent' || key === 'prefix') {
      if (typeof option !== 'string') fail(`key ${quoted} failed cast to string: operand ${index} must be string but got ${typeName(option)}`);
      if (key === 'indent') indent = option as string;
      else prefix = option as string;
    } else if (key === 'pretty') {
      if (typeof option !== 'boolean') fail(`key ${quoted} failed cast to bool`);
      pretty = option as boolean;
    } else fail(`object contained unknown key ${quoted}`);
  }
  const indented = options.has('indent') || options.has('prefix');
  if (pretty === false || (pretty === undefined && !indented)) return goJsonEscape(toJSONText(value));
  // Go's MarshalIndent puts the prefix on every line but the first; OPA adds it there too.
  return prefix + indentJson(value, prefix, indent, 0);
}

/** Go's json.MarshalIndent layout: every element on its own line after `prefix` and indents. */
function indentJson(value: Value, prefix: string, indent: string, level: number): string {
  const items: [string | undefined, Value][] = isObject(value)
    ? [...value.entries()]
        .map(([key, item]) => [typeof key === 'string' ? key : toJSONText(key), item] as [string, Value])
        .sort(([a], [b]) => compare(a, b))
    : isArray(value) || isSet(value)
      ? (isSet(value) ? sortedValues(value) : [...value]).map((item) => [undefined, item] as [undefined, Value])
      : [];
  if (items.length === 0) return goJsonEscape(toJSONText(value));
  const inner = `\n${prefix}${indent.repeat(level + 1)}`;
  const body = items
    .map(([key, item]) => (key === undefined ? '' : `${goJsonEscape(JSON.stringify(key))}: `) + indentJson(item, prefix, indent, level + 1))
    .join(`,${inner}`);
  const [open, close] = isObject(value) ? ['{', '}'] : ['[', ']'];
  return `${open}${inner}${body}\n${prefix}${indent.repeat(level)}${close}`;
}

// YAML as OPA reads and writes it (sigs.k8s.io/yaml over go-yaml v2): YAML 1.1 scalars
// (`yes` is true), keys sorted on output, sequences not indented under their key.
function yamlToValue(name: string, text: string): Value {
  const document = parseDocument(text, { version: '1.1', intAsBigInt: true, uniqueKeys: false });
  const [error] = document.errors;
  if (error !== undefined) throw builtinError(name, goYamlError(text, error) ?? error.message.split('\n')[0]!);
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw builtinError(name, error instanceof Error ? error.message : String(error));
  }
  return fromYamlData(name, data, 0);
}

function fromYamlData(name: string, data: unknown, depth: number): Value {
  if (depth > 1000) throw builtinError(name, 'document nested too deeply');
  if (typeof data === 'bigint') return normalizeNumber(data);
  if (data instanceof Map) {
    return makeObject([...data].map(([key, value]) => [String(key), fromYamlData(name, value, depth + 1)] as const));
  }
  if (data instanceof Set) return makeArray([...data].map((item) => fromYamlData(name, item, depth + 1)));
  if (Array.isArray(data)) return makeArray(data.map((item) => fromYamlData(name, item, depth + 1)));
  if (data instanceof Date) return data.toISOString();
  if (data !== null && typeof data === 'object') {
    return makeObject(Object.keys(data).map((key) => [key, fromYamlData(name, (data as Record<string, unknown>)[key], depth + 1)] as const));
  }
  if (typeof data === 'number' && !Number.isFinite(data)) throw builtinError(name, 'non-finite numbers are not JSON values');
  return fromJSON(data);
}

// The YAML 1.1 tags a plain scalar resolves to (bool for `yes`, `on`, `n`; int, float, null,
// timestamp), as go-yaml v2 resolves them for OPA.
const yaml11ScalarTags = new Document(null, { version: '1.1' }).schema.tags.filter(
  (tag): tag is ScalarTag & { test: RegExp } => tag.default === true && 'test' in tag && tag.test instanceof RegExp,
);

/**
 * YAML text as OPA's yaml.marshal (go-yaml v2) writes it: a string that would read back as
 * another type is double-quoted (`"yes"`, `"12"`), one that cannot be plain for its characters is
 * single-quoted (`'x: y'`), and 1.1 rules decide both, so yaml.unmarshal reads the text back.
 */
function marshalYaml(value: Value): string {
  const document = new Document(sortedPlain(value), { version: '1.1', aliasDuplicateObjects: false });
  visit(document, {
    Scalar(_, node) {
      if (typeof node.value === 'string' && yaml11ScalarTags.some((tag) => tag.test.test(node.value as string))) node.type = 'QUOTE_DOUBLE';
    },
  });
  return document.toString({ indentSeq: false, lineWidth: 0, singleQuote: true });
}

function sortedPlain(value: Value): unknown {
  if (isObject(value)) {
    const out: Record<string, unknown> = Object.create(null);
    const entries = [...value.entries()].map(([key, item]) => [typeof key === 'string' ? key : toJSONText(key), item] as const);
    for (const [key, item] of entries.sort(([a], [b]) => compare(a, b))) out[key] = sortedPlain(item);
    return out;
  }
  if (isArray(value)) return value.map(sortedPlain);
  if (isSet(value)) return sortedValues(value).map(sortedPlain);
  return toJSON(value);
}

function isValid(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch (error) {
    if (error instanceof BuiltinError) return false;
    throw error;
  }
}

export const encodingBuiltins = [
  define('base64.encode', ['string'], ([s]) => utf8(s as string).toString('base64')),
  define('base64.decode', ['string'], ([s]) => decodeBase64('base64.decode', s as string, false)),
  define('base64.is_valid', ['string'], ([s]) => isValid(() => decodeBase64('base64.is_valid', s as string, false))),
  define('base64url.encode', ['string'], ([s]) => {
    const raw = utf8(s as string).toString('base64url');
    return raw + '='.repeat((4 - (raw.length % 4)) % 4);
  }),
  define('base64url.encode_no_pad', ['string'], ([s]) => utf8(s as string).toString('base64url')),
  define('base64url.decode', ['string'], ([s]) => base64urlDecode(s as string)),
  define('hex.encode', ['string'], ([s]) => utf8(s as string).toString('hex')),
  define('hex.decode', ['string'], ([s]) => hexDecode(s as string)),
  define('urlquery.encode', ['string'], ([s]) => queryEscape(s as string)),
  define('urlquery.decode', ['string'], ([s]) => queryUnescape('urlquery.decode', s as string)),
  define('urlquery.encode_object', ['object'], ([o]) => encodeQueryObject(o as RegoObject)),
  define('urlquery.decode_object', ['string'], ([s]) => decodeQueryObject(s as string)),
  define('json.marshal', ['any'], ([x]) => goJsonEscape(toJSONText(x!))),
  define('json.marshal_with_options', ['any', 'object'], ([x, options]) => marshalWithOptions(x!, options as RegoObject)),
  define('json.unmarshal', ['string'], ([s]) => unmarshalJson('json.unmarshal', s as string)),
  // A non-string is not valid JSON (or YAML) text: false, not a type error, as in OPA.
  define('json.is_valid', ['any'], ([s]) => typeof s === 'string' && isValid(() => unmarshalJson('json.is_valid', s))),
  define('yaml.marshal', ['any'], ([x]) => marshalYaml(x!)),
  define('yaml.unmarshal', ['string'], ([s]) => yamlToValue('yaml.unmarshal', s as string)),
  define('yaml.is_valid', ['any'], ([s]) => typeof s === 'string' && isValid(() => yamlToValue('yaml.is_valid', s))),
];
