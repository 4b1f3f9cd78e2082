// JSON Schemas (2020-12) of protobuf messages in their proto3 JSON form, for the OpenAPI document
// and for typing path and query values: one named schema per message type (`library.v1.Book`,
// referred to as `#/components/schemas/library.v1.Book`, so recursive types are fine), the
// well-known types inline as the JSON they map to.
import type * as Protobuf from 'protobufjs';
import type { JsonSchema } from '../json-schema.js';
import { jsonName, SCALARS_64, type ProtoJson } from './proto-json.js';

const WELL_KNOWN: Readonly<Record<string, JsonSchema>> = {
  Timestamp: { type: 'string', format: 'date-time' },
  Duration: { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$' },
  DoubleValue: { type: ['number', 'string', 'null'] },
  FloatValue: { type: ['number', 'string', 'null'] },
  Int64Value: { type: ['string', 'null'], pattern: '^-?[0-9]+$' },
  UInt64Value: { type: ['string', 'null'], pattern: '^[0-9]+$' },
  Int32Value: { type: ['integer', 'null'] },
  UInt32Value: { type: ['integer', 'null'], minimum: 0 },
  BoolValue: { type: ['boolean', 'null'] },
  StringValue: { type: ['string', 'null'] },
  BytesValue: { type: ['string', 'null'], contentEncoding: 'base64' },
  Struct: { type: 'object' },
  Value: {},
  ListValue: { type: 'array' },
  Empty: { type: 'object', additionalProperties: false },
  FieldMask: { type: 'string' },
  Any: { type: 'object', required: ['@type'], properties: { '@type': { type: 'string' } } },
};

function scalarSchema(kind: string): JsonSchema {
  if (SCALARS_64.has(kind)) return { type: 'string', pattern: kind.startsWith('u') || kind === 'fixed64' ? '^[0-9]+$' : '^-?[0-9]+$' };
  switch (kind) {
    case 'string':
      return { type: 'string' };
    case 'bool':
      return { type: 'boolean' };
    case 'bytes':
      return { type: 'string', contentEncoding: 'base64' };
    case 'double':
    case 'float':
      return { anyOf: [{ type: 'number' }, { enum: ['NaN', 'Infinity', '-Infinity'] }] };
    case 'uint32':
    case 'fixed32':
      return { type: 'integer', minimum: 0, maximum: 4294967295 };
    default:
      return { type: 'integer', minimum: -2147483648, maximum: 2147483647 };
  }
}

/** Collects the named schemas of `type` and every message type it reaches. */
export class ProtoSchemas {
  readonly schemas = new Map<string, JsonSchema>();

  constructor(private readonly json: ProtoJson) {}

  /** The schema of a message type: a $ref, or the inline schema of a well-known type. */
  messageSchema(type: Protobuf.Type): JsonSchema {
    const name = type.fullName.slice(1);
    if (name.startsWith('google.protobuf.') && Object.hasOwn(WELL_KNOWN, type.name)) return WELL_KNOWN[type.name]!;
    if (!this.schemas.has(name)) {
      this.schemas.set(name, {});
      const properties: Record<string, JsonSchema> = {};
      for (const field of type.fieldsArray) properties[jsonName(field.name)] = this.fieldSchema(field);
      this.schemas.set(name, { type: 'object', additionalProperties: false, properties });
    }
    return { $ref: `#/components/schemas/${name}` };
  }

  private fieldSchema(field: Protobuf.Field): JsonSchema {
    if (this.json.isMap(field)) {
      const entry = field.resolvedType as Protobuf.Type;
      return { type: 'object', additionalProperties: this.singleSchema(entry.fields.value!) };
    }
    const single = this.singleSchema(field);
    return field.repeated ? { type: 'array', items: single } : single;
  }

  private singleSchema(field: Protobuf.Field): JsonSchema {
    const resolved = field.resolvedType;
    if (resolved === null) return scalarSchema(field.type);
    if ('values' in resolved) return { type: 'string', enum: Object.keys((resolved as Protobuf.Enum).values) };
    return this.messageSchema(resolved as Protobuf.Type);
  }
}
