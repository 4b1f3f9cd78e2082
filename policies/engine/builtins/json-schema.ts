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

const ajv = new Ajv({ allErrors: true, strict: false, addUsedSchema: false });
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

const errorTypes: Record<string, string> = {
  type: 'invalid_type',
  minimum: 'number_gte',
  exclusiveMinimum: 'number_gt',
  maximum: 'number_lte',
  exclusiveMaximum: 'number_lt',
  minLength: 'string_gte',
  maxLength: 'string_lte',
  minItems: 'array_min_items',
  maxItems: 'array_max_items',
  uniqueItems: 'unique',
  additionalProperties: 'additional_property_not_allowed',
  multipleOf: 'multiple_of',
};

function errorValue(error: ErrorObject): Value {
  const path = error.instancePath.split('/').slice(1).map((step) => step.replace(/~1/g, '/').replace(/~0/g, '~'));
  let field = path.length === 0 ? '(root)' : path.join('.');
  let desc = error.message ?? 'invalid';
  if (error.keyword === 'required') desc = `${String(error.params.missingProperty)} is required`;
  if (error.keyword === 'additionalProperties') {
    desc = `Additional property ${String(error.params.additionalProperty)} is not allowed`;
  }
  if (error.keyword === 'required' && path.length > 0) field = path.join('.');
  return makeObject([
    ['error', `${field}: ${desc}`],
    ['type', errorTypes[error.keyword] ?? error.keyword],
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
