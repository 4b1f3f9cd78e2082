// The checks gojsonschema makes while it reads a schema, in its order and its words, so that
// json.verify_schema and json.match_schema report a malformed schema as OPA does
// (`has a primitive type that is NOT VALID -- given: /x/ Expected valid values are:[...]`).
// ajv compiles the schema afterwards; what it refuses beyond these checks keeps ajv's text.
// Written from gojsonschema's documented behaviour (its schema parser and default locale).
import { compileRegex } from './regex-engine.js';

type Data = unknown;
type Record_ = Record<string, Data>;

const jsonTypes = ['array', 'boolean', 'integer', 'number', 'null', 'object', 'string'];

// gojsonschema's drafts: a `$schema` naming draft 4 reads the schema as draft 4; anything else is
// its hybrid mode, which accepts what drafts 6 and 7 add (boolean schemas, numeric exclusive
// bounds, `contains`, `const`, `propertyNames`, `if`/`then`/`else`).
type Draft = 'draft4' | 'hybrid';

class SchemaCheckError extends Error {}

const fail = (message: string): never => {
  throw new SchemaCheckError(message);
};
const invalidType = (expected: string, given: string) => fail(`Invalid type. Expected: ${expected}, given: ${given}`);
const mustBeOfA = (x: string, y: string) => fail(`${x} must be of a ${y}`);
const mustBeOfAn = (x: string, y: string) => fail(`${x} must be of an ${y}`);
const mustBeOfType = (key: string, type: string) => fail(`${key} must be of type ${type}`);

const isRecord = (data: Data): data is Record_ => data !== null && typeof data === 'object' && !Array.isArray(data);
const has = (m: Record_, key: string) => Object.prototype.hasOwnProperty.call(m, key);
const isNumber = (data: Data): data is number => typeof data === 'number';
const isInteger = (data: Data): data is number => typeof data === 'number' && Number.isInteger(data);

function getString(m: Record_, key: string): string | undefined {
  if (!has(m, key)) return undefined;
  const value = m[key];
  return typeof value === 'string' ? value : invalidType('string', key);
}

function getSlice(m: Record_, key: string): readonly Data[] {
  if (!has(m, key)) return [];
  const value = m[key];
  return Array.isArray(value) ? value : mustBeOfAn(key, 'array');
}

function nonNegativeInteger(m: Record_, key: string): number | undefined {
  if (!has(m, key)) return undefined;
  const value = m[key];
  if (!isInteger(value)) mustBeOfAn(key, 'integer');
  if ((value as number) < 0) fail(`${key} must be greater than or equal to 0`);
  return value as number;
}

function validRe2(pattern: string): boolean {
  try {
    compileRegex(pattern);
    return true;
  } catch {
    return false;
  }
}

function addType(types: string[], type: string): void {
  if (!jsonTypes.includes(type)) {
    fail(`has a primitive type that is NOT VALID -- given: /${type}/ Expected valid values are:[${jsonTypes.join(' ')}]`);
  }
  if (types.includes(type)) fail(`${type} type is duplicated`);
  types.push(type);
}

function parseSchema(node: Data, draft: Draft): void {
  if (draft !== 'draft4' && typeof node === 'boolean') return;
  if (!isRecord(node)) fail('Expected: valid schema, given: Invalid JSON');
  const m = node as Record_;

  getString(m, draft === 'draft4' ? 'id' : '$id');

  if (has(m, 'definitions')) {
    const definitions = m.definitions;
    if (!isRecord(definitions)) invalidType('array of schemas', 'definitions');
    for (const key of Object.keys(definitions as Record_)) {
      const definition = (definitions as Record_)[key];
      if (typeof definition !== 'boolean' && !isRecord(definition)) invalidType('array of schemas', 'definitions');
      parseSchema(definition, draft);
    }
  }

  getString(m, 'title');
  getString(m, 'description');
  // A reference is resolved and read in place of the rest of this schema object.
  if (getString(m, '$ref') !== undefined) return;

  if (has(m, 'type')) {
    const type = m.type;
    const types: string[] = [];
    if (typeof type === 'string') addType(types, type);
    else if (Array.isArray(type)) {
      for (const member of type) {
        if (typeof member !== 'string') invalidType('type', 'string/array of strings');
        addType(types, member as string);
      }
    } else invalidType('type', 'string/array of strings');
  }

  if (has(m, 'properties')) {
    const properties = m.properties;
    if (!isRecord(properties)) mustBeOfType('properties', 'object');
    for (const key of Object.keys(properties as Record_)) parseSchema((properties as Record_)[key], draft);
  }

  if (has(m, 'additionalProperties')) {
    const additional = m.additionalProperties;
    if (isRecord(additional)) parseSchema(additional, draft);
    else if (typeof additional !== 'boolean') invalidType('boolean/valid schema', 'additionalProperties');
  }

  if (has(m, 'patternProperties')) {
    const patterns = m.patternProperties;
    if (!isRecord(patterns)) invalidType('valid schema', 'patternProperties');
    for (const pattern of Object.keys(patterns as Record_)) {
      if (!validRe2(pattern)) fail(`Invalid regex pattern '${pattern}'`);
      parseSchema((patterns as Record_)[pattern], draft);
    }
  }

  if (draft !== 'draft4' && has(m, 'propertyNames')) {
    const names = m.propertyNames;
    // gojsonschema names patternProperties in this error.
    if (typeof names !== 'boolean' && !isRecord(names)) invalidType('valid schema', 'patternProperties');
    parseSchema(names, draft);
  }

  if (has(m, 'dependencies')) {
    const dependencies = m.dependencies;
    if (!isRecord(dependencies)) mustBeOfType('dependencies', 'object');
    for (const key of Object.keys(dependencies as Record_)) {
      const dependency = (dependencies as Record_)[key];
      if (Array.isArray(dependency)) {
        if (dependency.some((name) => typeof name !== 'string')) mustBeOfType('dependency', 'schema or array of strings');
      } else if (typeof dependency === 'boolean' || isRecord(dependency)) {
        parseSchema(dependency, draft);
      } else mustBeOfType('dependency', 'schema or array of strings');
    }
  }

  if (has(m, 'items')) {
    const items = m.items;
    if (Array.isArray(items)) {
      for (const item of items) {
        if (typeof item !== 'boolean' && !isRecord(item)) invalidType('valid schema/array of schemas', 'items');
        parseSchema(item, draft);
      }
    } else if (typeof items === 'boolean' || isRecord(items)) parseSchema(items, draft);
    else invalidType('valid schema/array of schemas', 'items');
  }

  if (has(m, 'additionalItems')) {
    const additional = m.additionalItems;
    if (isRecord(additional)) parseSchema(additional, draft);
    else if (typeof additional !== 'boolean') invalidType('boolean/valid schema', 'additionalItems');
  }

  if (has(m, 'multipleOf')) {
    if (!isNumber(m.multipleOf)) invalidType('number', 'multipleOf');
    if ((m.multipleOf as number) <= 0) fail('multipleOf must be strictly greater than 0');
  }
  for (const [bound, exclusive] of [['minimum', 'exclusiveMinimum'], ['maximum', 'exclusiveMaximum']] as const) {
    if (has(m, bound) && !isNumber(m[bound])) mustBeOfA(bound, 'number');
    if (!has(m, exclusive)) continue;
    const value = m[exclusive];
    if (draft === 'draft4') {
      if (typeof value !== 'boolean') invalidType('boolean', exclusive);
      if (!has(m, bound)) fail(`${exclusive} cannot be used without ${bound}`);
    } else if (typeof value === 'boolean') {
      if (!has(m, bound)) fail(`${exclusive} cannot be used without ${bound}`);
    } else if (!isNumber(value)) invalidType('boolean/number', exclusive);
  }

  const minLength = nonNegativeInteger(m, 'minLength');
  const maxLength = nonNegativeInteger(m, 'maxLength');
  if (minLength !== undefined && maxLength !== undefined && minLength > maxLength) fail('minLength cannot be greater than maxLength');

  const pattern = getString(m, 'pattern');
  if (pattern !== undefined && !validRe2(pattern)) fail('pattern must be a valid regex');
  getString(m, 'format');

  const minProperties = nonNegativeInteger(m, 'minProperties');
  const maxProperties = nonNegativeInteger(m, 'maxProperties');
  if (minProperties !== undefined && maxProperties !== undefined && minProperties > maxProperties) {
    fail('minProperties cannot be greater than maxProperties');
  }

  const required: string[] = [];
  for (const name of getSlice(m, 'required')) {
    if (typeof name !== 'string') invalidType('string', 'required');
    if (required.includes(name as string)) fail('required items must be unique');
    required.push(name as string);
  }

  nonNegativeInteger(m, 'minItems');
  nonNegativeInteger(m, 'maxItems');
  if (has(m, 'uniqueItems') && typeof m.uniqueItems !== 'boolean') mustBeOfA('uniqueItems', 'boolean');
  if (draft !== 'draft4' && has(m, 'contains')) parseSchema(m.contains, draft);

  const members = new Set<string>();
  for (const member of getSlice(m, 'enum')) {
    const text = JSON.stringify(member);
    if (members.has(text)) fail('enum items must be unique');
    members.add(text);
  }

  for (const key of ['oneOf', 'anyOf', 'allOf']) for (const sub of getSlice(m, key)) parseSchema(sub, draft);
  const conditional = draft === 'draft4' ? ['not'] : ['not', 'if', 'then', 'else'];
  for (const key of conditional) {
    if (!has(m, key)) continue;
    if (typeof m[key] !== 'boolean' && !isRecord(m[key])) mustBeOfAn(key, 'object');
    parseSchema(m[key], draft);
  }
}

/**
 * The first problem gojsonschema would find reading `schema` (plain JSON data), in its words, or
 * undefined when it reads the schema without complaint.
 */
export function gojsonschemaProblem(schema: Data): string | undefined {
  try {
    if (!isRecord(schema) && typeof schema !== 'boolean') return 'schema is invalid';
    let draft: Draft = 'hybrid';
    if (isRecord(schema) && has(schema, '$schema')) {
      const uri = schema.$schema;
      if (typeof uri !== 'string') return '$schema must be of type string';
      if (/draft-04\/schema#?$/.test(uri)) draft = 'draft4';
    }
    parseSchema(schema, draft);
    return undefined;
  } catch (error) {
    if (error instanceof SchemaCheckError) return error.message;
    throw error;
  }
}
