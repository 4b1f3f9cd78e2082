// The proto3 JSON mapping (protobuf.dev/programming-guides/json) on protobufjs reflection, both
// ways: JSON arguments -> the plain object protobufjs' `fromObject` builds a message from, checked
// strictly (unknown fields, wrong types, out-of-range integers, two members of a oneof, a field
// given under both its JSON and its proto name: 400 naming the field); a decoded message -> JSON
// (lowerCamelCase names, 64-bit integers as strings, enums as names, bytes as base64, default
// values left out). Well-known types: Timestamp, Duration, the wrappers, Struct/Value/ListValue,
// Empty, FieldMask and Any (for types in the descriptor set).
import type * as Protobuf from 'protobufjs';
import { BridgeError } from '../bridge-errors.js';
import type { JsonObject, JsonValue } from '../codec.js';

type Field = Protobuf.Field;
type Type = Protobuf.Type;
type Long = { toString(): string; unsigned: boolean };

/** protoc's json_name: underscores dropped, the letter after each upper-cased. */
export function jsonName(protoName: string): string {
  return protoName.replace(/_+([a-zA-Z0-9])?/g, (_match, next: string | undefined) => (next === undefined ? '' : next.toUpperCase()));
}

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);
export const SCALARS_64 = new Set([...INT64, ...UINT64]);
const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((name) => `.google.protobuf.${name}`));
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const MAX_TIMESTAMP_SECONDS = 253402300799;
/** Nesting of messages and Struct values a request may have (protobuf's own default recursion limit). */
const MAX_DEPTH = 100;
const MIN_TIMESTAMP_SECONDS = -62135596800;

function invalid(path: string, message: string): BridgeError {
  return new BridgeError('SCHEMA_VIOLATION', `${path === '' ? '/' : path}: ${message}`);
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: JsonValue): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : JSON.stringify(value);
}

export class ProtoJson {
  /** Per message type, its fields by JSON name and by proto name. */
  private readonly fieldsByKey = new WeakMap<Type, ReadonlyMap<string, Field>>();

  constructor(
    private readonly root: Protobuf.Root,
    private readonly mapEntries: ReadonlySet<string>,
  ) {}

  isMap(field: Field): boolean {
    return field.resolvedType !== null && this.mapEntries.has(field.resolvedType.fullName);
  }

  /** The field of `type` a JSON key names (its JSON name or its proto name). */
  fieldByJsonKey(type: Type, key: string): Field | undefined {
    let fields = this.fieldsByKey.get(type);
    if (fields === undefined) {
      fields = new Map(type.fieldsArray.flatMap((field) => [[jsonName(field.name), field] as const, [field.name, field] as const]));
      this.fieldsByKey.set(type, fields);
    }
    return fields.get(key);
  }

  // JSON -> fromObject's plain object

  /** `json` as the plain object `type.fromObject` takes; throws a 400 `BridgeError` naming the field. */
  toObject(type: Type, json: JsonValue, path = '', depth = 0): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw invalid(path, `nested more than ${MAX_DEPTH} levels deep`);
    const special = this.wellKnownToObject(type, json, path, depth);
    if (special !== undefined) return special;
    if (!isObject(json)) throw invalid(path, `expected an object for ${type.fullName.slice(1)}, got ${describe(json)}`);
    const out: Record<string, unknown> = {};
    const oneofs = new Map<string, string>();
    for (const [key, value] of Object.entries(json)) {
      const field = this.fieldByJsonKey(type, key);
      const at = `${path}/${key}`;
      if (field === undefined) throw invalid(at, `unknown field of ${type.fullName.slice(1)}`);
      if (Object.hasOwn(out, field.name)) throw invalid(at, `field ${field.name} is given twice`);
      // null is the default value, except for google.protobuf.Value (JSON null itself).
      if (value === null && field.resolvedType?.fullName !== '.google.protobuf.Value') continue;
      if (field.partOf !== null) {
        const other = oneofs.get(field.partOf.name);
        if (other !== undefined) throw invalid(at, `${key} and ${other} are members of one oneof (${field.partOf.name})`);
        oneofs.set(field.partOf.name, key);
      }
      out[field.name] = this.fieldToObject(field, value, at, depth + 1);
    }
    return out;
  }

  private fieldToObject(field: Field, value: JsonValue, path: string, depth: number): unknown {
    if (this.isMap(field)) {
      if (!isObject(value)) throw invalid(path, `expected an object (a map), got ${describe(value)}`);
      const entry = field.resolvedType as Type;
      const keyField = entry.fields.key!;
      const valueField = entry.fields.value!;
      return Object.entries(value).map(([key, item]) => ({
        key: this.mapKey(keyField, key, `${path}/${key}`),
        value: this.singleToObject(valueField, item, `${path}/${key}`, depth),
      }));
    }
    if (field.repeated) {
      if (!Array.isArray(value)) throw invalid(path, `expected an array, got ${describe(value)}`);
      return value.map((item, index) => {
        if (item === null) throw invalid(`${path}/${index}`, 'null is not allowed in a repeated field');
        return this.singleToObject(field, item, `${path}/${index}`, depth);
      });
    }
    return this.singleToObject(field, value, path, depth);
  }

  private mapKey(field: Field, key: string, path: string): unknown {
    if (field.type === 'bool') {
      if (key !== 'true' && key !== 'false') throw invalid(path, 'a bool map key must be true or false');
      return key === 'true';
    }
    return field.type === 'string' ? key : this.scalarToObject(field.type, key, path);
  }

  private singleToObject(field: Field, value: JsonValue, path: string, depth: number): unknown {
    const resolved = field.resolvedType;
    if (resolved === null) return this.scalarToObject(field.type, value, path);
    if ('values' in resolved) return this.enumToObject(resolved as Protobuf.Enum, value, path);
    return this.toObject(resolved as Type, value, path, depth);
  }

  private enumToObject(type: Protobuf.Enum, value: JsonValue, path: string): number {
    if (typeof value === 'string') {
      const number = type.values[value];
      if (number === undefined) throw invalid(path, `'${value}' is not a value of ${type.fullName.slice(1)} (${Object.keys(type.values).join(', ')})`);
      return number;
    }
    if (typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) return value;
    throw invalid(path, `expected a name of ${type.fullName.slice(1)}, got ${describe(value)}`);
  }

  /** A scalar; 64-bit integers come out as decimal strings (protobufjs reads them exactly). */
  scalarToObject(kind: string, value: JsonValue, path: string): unknown {
    switch (kind) {
      case 'string':
        if (typeof value !== 'string') throw invalid(path, `expected a string, got ${describe(value)}`);
        return value;
      case 'bool':
        if (typeof value !== 'boolean') throw invalid(path, `expected true or false, got ${describe(value)}`);
        return value;
      case 'bytes':
        if (typeof value !== 'string' || !BASE64.test(value)) throw invalid(path, 'expected base64 bytes');
        return Buffer.from(value, 'base64');
      case 'double':
      case 'float':
        if (typeof value === 'number') return value;
        if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
        if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
        throw invalid(path, `expected a number, got ${describe(value)}`);
      default:
        return this.integerToObject(kind, value, path);
    }
  }

  private integerToObject(kind: string, value: JsonValue, path: string): unknown {
    const text = typeof value === 'number' ? (Number.isSafeInteger(value) ? String(value) : undefined) : typeof value === 'string' && /^-?\d+$/.test(value) ? value : undefined;
    if (text === undefined) throw invalid(path, `expected an integer (${kind}), got ${describe(value)}`);
    const number = BigInt(text);
    const [min, max] = INT32.has(kind)
      ? [-(2n ** 31n), 2n ** 31n - 1n]
      : UINT32.has(kind)
        ? [0n, 2n ** 32n - 1n]
        : INT64.has(kind)
          ? [-(2n ** 63n), 2n ** 63n - 1n]
          : UINT64.has(kind)
            ? [0n, 2n ** 64n - 1n]
            : [undefined, undefined];
    if (min === undefined) throw invalid(path, `unsupported field type ${kind}`);
    if (number < min || number > max!) throw invalid(path, `${text} is out of the range of ${kind}`);
    return SCALARS_64.has(kind) ? number.toString() : Number(number);
  }

  private wellKnownToObject(type: Type, json: JsonValue, path: string, depth: number): Record<string, unknown> | undefined {
    const name = type.fullName;
    if (!name.startsWith('.google.protobuf.')) return undefined;
    if (WRAPPERS.has(name)) return { value: this.scalarToObject(type.fields.value!.type, json, path) };
    switch (name) {
      case '.google.protobuf.Timestamp':
        return this.timestampToObject(json, path);
      case '.google.protobuf.Duration': {
        const found = typeof json === 'string' ? DURATION.exec(json) : null;
        if (found === null) throw invalid(path, `expected a duration like "1.5s", got ${describe(json)}`);
        const sign = found[1] === '-' ? -1 : 1;
        const seconds = BigInt(found[2]!);
        if (seconds > 315576000000n) throw invalid(path, 'duration out of range');
        return { seconds: (BigInt(sign) * seconds).toString(), nanos: sign * Number((found[3] ?? '').padEnd(9, '0')) };
      }
      case '.google.protobuf.Empty':
        if (!isObject(json) || Object.keys(json).length > 0) throw invalid(path, 'expected {}');
        return {};
      case '.google.protobuf.FieldMask':
        if (typeof json !== 'string') throw invalid(path, `expected a field mask string, got ${describe(json)}`);
        return { paths: json === '' ? [] : json.split(',').map((one) => one.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)) };
      case '.google.protobuf.Struct':
        if (!isObject(json)) throw invalid(path, `expected an object, got ${describe(json)}`);
        return { fields: Object.entries(json).map(([key, value]) => ({ key, value: valueToObject(value, `${path}/${key}`, depth + 1) })) };
      case '.google.protobuf.ListValue':
        if (!Array.isArray(json)) throw invalid(path, `expected an array, got ${describe(json)}`);
        return { values: json.map((value, index) => valueToObject(value, `${path}/${index}`, depth + 1)) };
      case '.google.protobuf.Value':
        return valueToObject(json, path, depth);
      case '.google.protobuf.Any':
        return this.anyToObject(json, path, depth);
      default:
        return undefined;
    }
  }

  private timestampToObject(json: JsonValue, path: string): Record<string, unknown> {
    const found = typeof json === 'string' ? TIMESTAMP.exec(json) : null;
    if (found === null) throw invalid(path, `expected an RFC 3339 timestamp, got ${describe(json)}`);
    const [, year, month, day, hour, minute, second, fraction, zone] = found as unknown as string[];
    const offset = zone === 'Z' ? 0 : (zone!.startsWith('-') ? -1 : 1) * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6)));
    const millis = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
    const date = new Date(millis);
    if (date.getUTCDate() !== Number(day) || date.getUTCMonth() !== Number(month) - 1 || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
      throw invalid(path, `${json as string} is not a valid date and time`);
    }
    const seconds = millis / 1000 - offset * 60;
    if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) throw invalid(path, 'timestamp out of range');
    return { seconds: String(seconds), nanos: Number((fraction ?? '').padEnd(9, '0')) };
  }

  private anyToObject(json: JsonValue, path: string, depth: number): Record<string, unknown> {
    if (!isObject(json) || typeof json['@type'] !== 'string') throw invalid(path, 'expected an object with "@type"');
    const url = json['@type'];
    const type = this.anyType(url);
    if (type === undefined) throw invalid(`${path}/@type`, `type ${url} is not in the descriptor set`);
    const { '@type': _url, ...rest } = json;
    const wellKnown = type.fullName.startsWith('.google.protobuf.') && this.wellKnownToObject(type, rest.value ?? null, `${path}/value`, depth) !== undefined;
    return { type_url: url, value: type.encode(type.fromObject(this.toObject(type, wellKnown ? (rest.value ?? null) : rest, path, depth + 1))).finish() };
  }

  private anyType(url: string): Type | undefined {
    try {
      return this.root.lookupType(url.slice(url.lastIndexOf('/') + 1));
    } catch {
      return undefined;
    }
  }

  // message -> JSON

  /** A decoded (or built) message as proto3 JSON. */
  toJson(type: Type, message: Record<string, unknown>): JsonValue {
    const special = this.wellKnownToJson(type, message);
    if (special !== undefined) return special;
    const out: JsonObject = {};
    for (const field of type.fieldsArray) {
      if (!Object.hasOwn(message, field.name)) continue;
      const value = message[field.name];
      if (value === null || value === undefined) continue;
      if (this.isMap(field)) {
        const entries = value as { key: unknown; value: unknown }[];
        if (entries.length === 0) continue;
        const entry = field.resolvedType as Type;
        out[jsonName(field.name)] = Object.fromEntries(entries.map((item) => [String(item.key), this.singleToJson(entry.fields.value!, item.value)]));
      } else if (field.repeated) {
        const items = value as unknown[];
        if (items.length > 0) out[jsonName(field.name)] = items.map((item) => this.singleToJson(field, item));
      } else if (field.partOf !== null || isMessageField(field) || !isDefault(value)) {
        // A oneof member or a message is there when set, even at its default value.
        out[jsonName(field.name)] = this.singleToJson(field, value);
      }
    }
    return out;
  }

  private singleToJson(field: Field, value: unknown): JsonValue {
    const resolved = field.resolvedType;
    if (resolved === null) return scalarToJson(field.type, value);
    if ('values' in resolved) return (resolved as Protobuf.Enum).valuesById[value as number] ?? (value as number);
    return this.toJson(resolved as Type, value as Record<string, unknown>);
  }

  private wellKnownToJson(type: Type, message: Record<string, unknown>): JsonValue | undefined {
    const name = type.fullName;
    if (!name.startsWith('.google.protobuf.')) return undefined;
    if (WRAPPERS.has(name)) return scalarToJson(type.fields.value!.type, message.value ?? defaultOf(type.fields.value!.type));
    switch (name) {
      case '.google.protobuf.Timestamp': {
        const seconds = Number(String(message.seconds ?? 0));
        const nanos = Number(message.nanos ?? 0);
        return `${new Date(seconds * 1000).toISOString().slice(0, 19)}${fraction(nanos)}Z`;
      }
      case '.google.protobuf.Duration': {
        const seconds = BigInt(String(message.seconds ?? 0));
        const nanos = Number(message.nanos ?? 0);
        const negative = seconds < 0n || nanos < 0;
        return `${negative ? '-' : ''}${(seconds < 0n ? -seconds : seconds).toString()}${fraction(Math.abs(nanos))}s`;
      }
      case '.google.protobuf.Empty':
        return {};
      case '.google.protobuf.FieldMask':
        return ((message.paths ?? []) as string[]).map(jsonName).join(',');
      case '.google.protobuf.Struct':
        return Object.fromEntries(((message.fields ?? []) as { key: string; value: Record<string, unknown> }[]).map((entry) => [entry.key, valueToJson(entry.value)]));
      case '.google.protobuf.ListValue':
        return ((message.values ?? []) as Record<string, unknown>[]).map(valueToJson);
      case '.google.protobuf.Value':
        return valueToJson(message);
      case '.google.protobuf.Any':
        return this.anyToJson(String(message.type_url ?? ''), (message.value ?? new Uint8Array()) as Uint8Array);
      default:
        return undefined;
    }
  }

  /** An Any as `{"@type", ...fields}` (`value` for a well-known type); base64 when the type is unknown. */
  anyToJson(url: string, bytes: Uint8Array): JsonValue {
    const type = this.anyType(url);
    if (type === undefined) return { '@type': url, value: Buffer.from(bytes).toString('base64') };
    const json = this.toJson(type, type.decode(bytes) as unknown as Record<string, unknown>);
    return isObject(json) && this.wellKnownToJson(type, {}) === undefined ? { '@type': url, ...json } : { '@type': url, value: json };
  }
}

/** A google.protobuf.Value from any JSON value. */
function valueToObject(json: JsonValue, path: string, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw invalid(path, `nested more than ${MAX_DEPTH} levels deep`);
  if (json === null) return { null_value: 0 };
  if (typeof json === 'number') return { number_value: json };
  if (typeof json === 'string') return { string_value: json };
  if (typeof json === 'boolean') return { bool_value: json };
  if (Array.isArray(json)) return { list_value: { values: json.map((value, index) => valueToObject(value, `${path}/${index}`, depth + 1)) } };
  return { struct_value: { fields: Object.entries(json).map(([key, value]) => ({ key, value: valueToObject(value, `${path}/${key}`, depth + 1) })) } };
}

function isMessageField(field: Field): boolean {
  return field.resolvedType !== null && !('values' in field.resolvedType);
}

function isDefault(value: unknown): boolean {
  if (value === 0 || value === false || value === '') return true;
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === 'object' && value !== null && 'low' in value && 'high' in value) return (value as { low: number; high: number }).low === 0 && (value as { high: number }).high === 0;
  return false;
}

function defaultOf(kind: string): unknown {
  return kind === 'string' ? '' : kind === 'bool' ? false : kind === 'bytes' ? new Uint8Array() : 0;
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  return `.${digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits}`;
}

function scalarToJson(kind: string, value: unknown): JsonValue {
  if (SCALARS_64.has(kind)) return typeof value === 'object' && value !== null ? (value as Long).toString() : String(value);
  if (kind === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if ((kind === 'double' || kind === 'float') && !Number.isFinite(value as number)) return String(value);
  return value as JsonValue;
}

function valueToJson(value: Record<string, unknown>): JsonValue {
  // Decoded messages carry defaults on their prototype: only own properties were on the wire.
  const has = (name: string): boolean => Object.hasOwn(value, name) && value[name] != null;
  if (has('struct_value')) {
    return Object.fromEntries(((value.struct_value as { fields?: { key: string; value: Record<string, unknown> }[] }).fields ?? []).map((entry) => [entry.key, valueToJson(entry.value)]));
  }
  if (has('list_value')) return ((value.list_value as { values?: Record<string, unknown>[] }).values ?? []).map(valueToJson);
  if (has('string_value')) return value.string_value as string;
  if (has('number_value')) return value.number_value as number;
  if (has('bool_value')) return value.bool_value as boolean;
  return null;
}
