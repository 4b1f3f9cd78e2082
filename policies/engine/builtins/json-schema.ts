// json.verify_schema and json.match_schema on ajv (JSON Schema draft-07 and draft-06; a draft-04
// `$schema` is read as draft-07, which differs only in rarely used keywords). Errors are shaped
// as OPA reports them from gojsonschema: {error, type, field, desc}. A malformed schema is first read
// as gojsonschema reads it (`./json-schema-check.ts`), so its problem is named in gojsonschema's words.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };
import { canonicalText, makeArray, makeObject, toJSON, type Value } from '../value.js';
import { JsonSyntaxError, parseJsonText } from './json-text.js';
import { gojsonschemaProblem } from './json-schema-check.js';
import { builtinError, define } from './support.js';

// verbose: errors carry the data they are about (gojsonschema names its type).
const ajv = new Ajv({ allErrors: true, strict: false, addUsedSchema: false, verbose: true });
addFormats.default(ajv);
ajv.addMetaSchema(draft06);

const cache = new Map<string, ValidateFunction>();
const cacheSize = 100;

/** A Rego value as the plain data ajv checks (big integers as the nearest float). */
function plainData(value: Value): unknown {
  const convert = (data: unknown): unknown => {
    if (typeof data === 'bigint') return Number(data);
    if (Array.isArray(data)) return data.map(convert);
    if (data !== null && typeof data === 'object') {
      const out: Record<string, unknown> = Object.create(null);
      for (const key of Object.keys(data)) out[key] = convert((data as Record<string, unknown>)[key]);
      return out;
    }
    return data;
  };
  return convert(toJSON(value));
}

class SchemaError extends Error {}

/** A schema or document operand: JSON text is parsed, any other value used as it is. */
function operandData(value: Value): unknown {
  if (typeof value !== 'string') return plainData(value);
  try {
    return plainData(parseJsonText(value));
  } catch (error) {
    // OPA checks the text is JSON before gojsonschema reads it.
    if (error instanceof JsonSyntaxError) throw new SchemaError('invalid JSON string');
    throw error;
  }
}

function compileSchema(schemaValue: Value, schema: unknown): ValidateFunction {
  const key = canonicalText(schemaValue);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const problem = gojsonschemaProblem(schema);
  if (problem !== undefined) throw new SchemaError(problem);
  let prepared = schema;
  if (prepared !== null && typeof prepared === 'object' && !Array.isArray(prepared)) {
    const record = prepared as Record<string, unknown>;
    if (typeof record.$schema === 'string' && record.$schema.includes('draft-04')) {
      prepared = Object.assign(Object.create(null), record, { $schema: 'http://json-schema.org/draft-07/schema#' });
    }
  }
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(prepared as object);
  } catch (error) {
    throw new SchemaError((error as Error).message);
  }
  cache.set(key, validate);
  if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
  return validate;
}

/** A JSON value's type as gojsonschema names it: whole numbers are integers. */
function jsonType(data: unknown): string {
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'array';
  if (typeof data === 'number') return Number.isInteger(data) ? 'integer' : 'number';
  return typeof data === 'string' || typeof data === 'boolean' ? typeof data : 'object';
}

const text = (value: unknown) => String(value);

/**
 * gojsonschema's error type and description for one of ajv's errors (its default locale's words);
 * a keyword gojsonschema has no words for keeps ajv's message.
 */
function describe(error: ErrorObject, field: string): readonly [string, string] {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type': {
      const expected = Array.isArray(p.type) ? `[${p.type.join(',')}]` : text(p.type).includes(',') ? `[${text(p.type)}]` : text(p.type);
      return ['invalid_type', `Invalid type. Expected: ${expected}, given: ${jsonType(error.data)}`];
    }
    case 'required':
      return ['required', `${text(p.missingProperty)} is required`];
    case 'additionalProperties':
      return ['additional_property_not_allowed', `Additional property ${text(p.additionalProperty)} is not allowed`];
    case 'minimum':
      return ['number_gte', `Must be greater than or equal to ${text(p.limit)}`];
    case 'exclusiveMinimum':
      return ['number_gt', `Must be greater than ${text(p.limit)}`];
    case 'maximum':
      return ['number_lte', `Must be less than or equal to ${text(p.limit)}`];
    case 'exclusiveMaximum':
      return ['number_lt', `Must be less than ${text(p.limit)}`];
    case 'multipleOf':
      return ['multiple_of', `Must be a multiple of ${text(p.multipleOf)}`];
    case 'minLength':
      return ['string_gte', `String length must be greater than or equal to ${text(p.limit)}`];
    case 'maxLength':
      return ['string_lte', `String length must be less than or equal to ${text(p.limit)}`];
    case 'pattern':
      return ['pattern', `Does not match pattern '${text(p.pattern)}'`];
    case 'format':
      return ['format', `Does not match format '${text(p.format)}'`];
    case 'minItems':
      return ['array_min_items', `Array must have at least ${text(p.limit)} items`];
    case 'maxItems':
      return ['array_max_items', `Array must have at most ${text(p.limit)} items`];
    case 'uniqueItems':
      // ajv names the later duplicate first.
      return ['unique', `array items[${text(p.j)},${text(p.i)}] must be unique`];
    case 'minProperties':
      return ['array_min_properties', `Must have at least ${text(p.limit)} properties`];
    case 'maxProperties':
      return ['array_max_properties', `Must have at most ${text(p.limit)} properties`];
    case 'enum':
      return ['enum', `${field} must be one of the following: ${(p.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`];
    case 'const':
      return ['const', `${field} does not match: ${JSON.stringify(p.allowedValue)}`];
    case 'anyOf':
      return ['number_any_of', 'Must validate at least one schema (anyOf)'];
    case 'oneOf':
      return ['number_one_of', 'Must validate one and only one schema (oneOf)'];
    case 'not':
      return ['number_not', 'Must not validate the schema (not)'];
    case 'contains':
      return ['contains', 'At least one of the items must match'];
    case 'dependencies':
      return ['missing_dependency', `Has a dependency on ${text(p.missingProperty)}`];
    case 'if':
      return p.failingKeyword === 'else'
        ? ['condition_else', 'Must validate "else" as "if" was not valid']
        : ['condition_then', 'Must validate "then" as "if" was valid'];
    default:
      return [error.keyword, error.message ?? 'invalid'];
  }
}

function errorValue(error: ErrorObject): Value {
  const path = error.instancePath.split('/').slice(1).map((step) => step.replace(/~1/g, '/').replace(/~0/g, '~'));
  const field = path.length === 0 ? '(root)' : path.join('.');
  const [type, desc] = describe(error, field);
  return makeObject([
    ['error', `${field}: ${desc}`],
    ['type', type],
    ['field', field],
    ['desc', desc],
  ]);
}

export const jsonSchemaBuiltins = [
  // A schema that is not JSON or not valid is a result, not an error: [false, "jsonschema: ..."].
  define('json.verify_schema', [['string', 'object']], ([schema]) => {
    try {
      compileSchema(schema!, operandData(schema!));
      return makeArray([true, null]);
    } catch (error) {
      if (error instanceof SchemaError) return makeArray([false, `jsonschema: ${error.message}`]);
      throw error;
    }
  }),
  define('json.match_schema', [['string', 'object'], ['string', 'object']], ([document, schema]) => {
    // The document is read first, then the schema; either's problem is the call's error.
    let validate: ValidateFunction;
    let data: unknown;
    try {
      data = operandData(document!);
      validate = compileSchema(schema!, operandData(schema!));
    } catch (error) {
      if (error instanceof SchemaError) throw builtinError('json.match_schema', error.message);
      throw error;
    }
    const valid = validate(data);
    return makeArray([valid, makeArray((validate.errors ?? []).map(errorValue))]);
  }),
];
