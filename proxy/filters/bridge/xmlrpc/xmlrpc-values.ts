// XML-RPC values <-> JSON. JSON numbers are `int` when integral and within 32 bits (else `i8`
// when the bridge enables it, else refused) and `double` otherwise; the types JSON has no word
// for are one-key objects: `{"$dateTime": "20260102T03:04:05"}`, `{"$base64": "..."}`,
// `{"$double": 2}`, `{"$i8": "9007199254740993"}`. `null` is `<nil/>` only where enabled. Values
// are built as a DOM by @xmldom/xmldom (every string a text node, escaped by the serializer) and
// read from the hardened reader's tree; an answer's `i8` is a JSON string, so no precision is lost.
import { DOMImplementation, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import type { JsonObject, JsonValue } from '../codec.js';
import { NOT_XML_CHAR } from '../soap/xsd-values.js';
import type { XmlElement } from '../xml/xml-reader.js';

export interface XmlRpcOptions {
  /** `i8` (64-bit integers), an extension Apache XML-RPC and Python read. */
  readonly i8: boolean;
  /** `<nil/>`, an extension (Python's `allow_none`). */
  readonly nil: boolean;
}

/** A value that does not fit XML-RPC; `path` locates it in the JSON. */
export class XmlRpcValueError extends Error {
  override readonly name = 'XmlRpcValueError';
  constructor(path: string, message: string) {
    super(`${path === '' ? '/' : path}: ${message}`);
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DATETIME_TEXT = /^\d{4}-?\d{2}-?\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;
const BASE64_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;
const INTEGER_TEXT = /^[+-]?\d+$/;
const DOUBLE_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TAGS = ['$dateTime', '$base64', '$double', '$i8'] as const;

/** A method call or a response being built. */
export class XmlRpcBuilder {
  readonly document: Document;

  constructor(
    root: 'methodCall' | 'methodResponse',
    private readonly options: XmlRpcOptions,
  ) {
    this.document = new DOMImplementation().createDocument(null, root, null);
  }

  get root(): Element {
    return this.document.documentElement!;
  }

  /** `<methodCall><methodName>NAME</methodName><params>...` */
  static call(method: string, params: readonly JsonValue[], options: XmlRpcOptions): string {
    const builder = new XmlRpcBuilder('methodCall', options);
    builder.root.appendChild(builder.text('methodName', method, '/method'));
    const paramsElement = builder.document.createElement('params');
    params.forEach((param, index) => {
      const element = builder.document.createElement('param');
      element.appendChild(builder.value(param, `/params/${index}`));
      paramsElement.appendChild(element);
    });
    builder.root.appendChild(paramsElement);
    return builder.serialize();
  }

  serialize(): string {
    return `<?xml version="1.0" encoding="utf-8"?>${new XMLSerializer().serializeToString(this.document)}`;
  }

  private text(name: string, text: string, path: string): Element {
    if (NOT_XML_CHAR.test(text)) throw new XmlRpcValueError(path, 'has a character XML 1.0 cannot carry');
    const element = this.document.createElement(name);
    element.appendChild(this.document.createTextNode(text));
    return element;
  }

  value(json: JsonValue, path: string): Element {
    const value = this.document.createElement('value');
    value.appendChild(this.typed(json, path));
    return value;
  }

  private typed(json: JsonValue, path: string): Element {
    if (json === null) {
      if (!this.options.nil) throw new XmlRpcValueError(path, 'null is not allowed (nil is not enabled for this bridge)');
      return this.document.createElement('nil');
    }
    if (typeof json === 'boolean') return this.text('boolean', json ? '1' : '0', path);
    if (typeof json === 'string') return this.text('string', json, path);
    if (typeof json === 'number') return this.number(json, path);
    if (Array.isArray(json)) {
      const array = this.document.createElement('array');
      const data = this.document.createElement('data');
      json.forEach((item, index) => data.appendChild(this.value(item, `${path}/${index}`)));
      array.appendChild(data);
      return array;
    }
    const tagged = taggedValue(json, path);
    if (tagged !== undefined) return this.tagged(tagged.tag, tagged.value, path);
    const struct = this.document.createElement('struct');
    for (const [name, member] of Object.entries(json)) {
      const element = this.document.createElement('member');
      element.appendChild(this.text('name', name, path));
      element.appendChild(this.value(member, `${path}/${name}`));
      struct.appendChild(element);
    }
    return struct;
  }

  private number(value: number, path: string): Element {
    if (!Number.isFinite(value)) throw new XmlRpcValueError(path, 'is not a finite number');
    if (!Number.isInteger(value)) return this.text('double', String(value), path);
    if (value >= INT32_MIN && value <= INT32_MAX) return this.text('int', String(value), path);
    if (!this.options.i8) throw new XmlRpcValueError(path, `${value} is out of the range of an XML-RPC int (32 bits; i8 is not enabled)`);
    if (!Number.isSafeInteger(value)) throw new XmlRpcValueError(path, `${value} is not exact as a JSON number: send it as {"$i8": "..."}`);
    return this.text('i8', String(value), path);
  }

  private tagged(tag: (typeof TAGS)[number], value: JsonValue, path: string): Element {
    const at = `${path}/${tag}`;
    switch (tag) {
      case '$dateTime':
        if (typeof value !== 'string' || !DATETIME_TEXT.test(value)) throw new XmlRpcValueError(at, 'expected an ISO 8601 date-time (20260102T03:04:05)');
        return this.text('dateTime.iso8601', value, at);
      case '$base64':
        if (typeof value !== 'string' || !BASE64_TEXT.test(value) || value.length % 4 !== 0) throw new XmlRpcValueError(at, 'expected base64 text');
        return this.text('base64', value, at);
      case '$double':
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new XmlRpcValueError(at, 'expected a finite number');
        return this.text('double', String(value), at);
      case '$i8': {
        if (!this.options.i8) throw new XmlRpcValueError(at, 'i8 is not enabled for this bridge');
        if (typeof value !== 'string' || !INTEGER_TEXT.test(value)) throw new XmlRpcValueError(at, 'expected an integer as a string');
        const integer = BigInt(value);
        if (integer < INT64_MIN || integer > INT64_MAX) throw new XmlRpcValueError(at, `${value} is out of the range of an i8 (64 bits)`);
        return this.text('i8', integer.toString(), at);
      }
    }
  }
}

function taggedValue(json: JsonObject, path: string): { tag: (typeof TAGS)[number]; value: JsonValue } | undefined {
  const keys = Object.keys(json);
  const tag = TAGS.find((candidate) => keys.includes(candidate));
  if (tag === undefined) return undefined;
  if (keys.length !== 1) throw new XmlRpcValueError(path, `${tag} must be the only key of its object`);
  return { tag, value: json[tag]! };
}

/** A `<value>` element of an answer as JSON; throws `XmlRpcValueError` for what is not XML-RPC. */
export function readValue(value: XmlElement, options: XmlRpcOptions, path = ''): JsonValue {
  if (value.local !== 'value' || value.ns !== '') throw new XmlRpcValueError(path, `expected <value>, found <${value.local}>`);
  if (value.children.length === 0) return value.text;
  if (value.children.length > 1) throw new XmlRpcValueError(path, '<value> holds more than one element');
  const typed = value.children[0]!;
  const text = typed.text;
  switch (typed.ns === '' ? typed.local : `{${typed.ns}}${typed.local}`) {
    case 'int':
    case 'i4': {
      const trimmed = text.trim();
      const integer = Number(trimmed);
      if (!INTEGER_TEXT.test(trimmed) || integer < INT32_MIN || integer > INT32_MAX) throw new XmlRpcValueError(path, `'${text}' is not a 32-bit int`);
      return integer;
    }
    case 'i8': {
      if (!options.i8) throw new XmlRpcValueError(path, 'an i8, which is not enabled for this bridge');
      const trimmed = text.trim();
      if (!INTEGER_TEXT.test(trimmed) || BigInt(trimmed) < INT64_MIN || BigInt(trimmed) > INT64_MAX) throw new XmlRpcValueError(path, `'${text}' is not a 64-bit i8`);
      return BigInt(trimmed).toString();
    }
    case 'boolean':
      if (text.trim() !== '0' && text.trim() !== '1') throw new XmlRpcValueError(path, `'${text}' is not a boolean (0 or 1)`);
      return text.trim() === '1';
    case 'double': {
      const trimmed = text.trim();
      if (!DOUBLE_TEXT.test(trimmed)) throw new XmlRpcValueError(path, `'${text}' is not a double`);
      return Number(trimmed);
    }
    case 'string':
      return text;
    case 'dateTime.iso8601':
      if (!DATETIME_TEXT.test(text.trim())) throw new XmlRpcValueError(path, `'${text}' is not an ISO 8601 date-time`);
      return { $dateTime: text.trim() };
    case 'base64': {
      const compact = text.replace(/\s+/g, '');
      if (!BASE64_TEXT.test(compact) || compact.length % 4 !== 0) throw new XmlRpcValueError(path, 'base64 that is not base64');
      return { $base64: compact };
    }
    case 'nil':
    case '{http://ws.apache.org/xmlrpc/namespaces/extensions}nil':
      if (!options.nil) throw new XmlRpcValueError(path, 'a nil, which is not enabled for this bridge');
      return null;
    case 'array': {
      const data = typed.children.length === 1 && typed.children[0]!.local === 'data' ? typed.children[0]! : undefined;
      if (data === undefined) throw new XmlRpcValueError(path, '<array> without one <data>');
      return data.children.map((item, index) => readValue(item, options, `${path}/${index}`));
    }
    case 'struct': {
      const struct: JsonObject = {};
      for (const member of typed.children) {
        const name = member.children.find((child) => child.local === 'name' && child.ns === '');
        const memberValue = member.children.find((child) => child.local === 'value' && child.ns === '');
        if (member.local !== 'member' || name === undefined || memberValue === undefined) throw new XmlRpcValueError(path, '<struct> member without <name> and <value>');
        Object.defineProperty(struct, name.text, { value: readValue(memberValue, options, `${path}/${name.text}`), enumerable: true, writable: true, configurable: true });
      }
      return struct;
    }
    default:
      throw new XmlRpcValueError(path, `unknown XML-RPC type <${typed.local}>`);
  }
}
