import { describe, expect, it } from 'vitest';
import { makeObject } from '../../../policies/engine/value.js';
import { call, expectCall, expectFailure, v } from './call-builtin.js';

const schema = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 }, email: { type: 'string', format: 'email' } },
  required: ['name'],
  additionalProperties: false,
};

describe('json schema builtins', () => {
  it('json.verify_schema accepts a schema as an object or JSON text', () => {
    expectCall('json.verify_schema', [v(schema)], v([true, null]));
    expectCall('json.verify_schema', [JSON.stringify(schema)], v([true, null]));
    expectCall('json.verify_schema', [JSON.stringify({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'string' })], v([true, null]));
    const [valid, message] = call('json.verify_schema', v({ type: 'no-such-type' })) as readonly unknown[];
    expect(valid).toBe(false);
    expect(message).toMatch(/type/);
    expectCall('json.verify_schema', ['{'], v([false, 'jsonschema: invalid JSON string']));
  });

  it("names a malformed schema's first problem in gojsonschema's words, as OPA does", () => {
    const verdict = (schema: unknown) => call('json.verify_schema', v(schema));
    const notValid = (type: string) =>
      `jsonschema: has a primitive type that is NOT VALID -- given: /${type}/ Expected valid values are:[array boolean integer number null object string]`;
    expectCall('json.verify_schema', [v({ type: 'UNKNOWN' })], v([false, notValid('UNKNOWN')]));
    expectCall('json.verify_schema', [JSON.stringify({ properties: { id: { type: 'colour' } }, required: ['id'] })], v([false, notValid('colour')]));
    expectCall('json.verify_schema', [v({ items: [{ type: ['string', 'string'] }] })], v([false, 'jsonschema: string type is duplicated']));
    // gojsonschema's own argument order for this one.
    expectCall('json.verify_schema', [v({ type: 5 })], v([false, 'jsonschema: Invalid type. Expected: type, given: string/array of strings']));
    expectCall('json.verify_schema', [v({ minLength: -1 })], v([false, 'jsonschema: minLength must be greater than or equal to 0']));
    expectCall('json.verify_schema', [v({ minLength: 1.5 })], v([false, 'jsonschema: minLength must be of an integer']));
    expectCall('json.verify_schema', [v({ minProperties: 3, maxProperties: 2 })], v([false, 'jsonschema: minProperties cannot be greater than maxProperties']));
    expectCall('json.verify_schema', [v({ required: ['a', 'a'] })], v([false, 'jsonschema: required items must be unique']));
    expectCall('json.verify_schema', [v({ enum: 'a' })], v([false, 'jsonschema: enum must be of an array']));
    expectCall('json.verify_schema', [v({ properties: [] })], v([false, 'jsonschema: properties must be of type object']));
    expectCall('json.verify_schema', [v({ not: 1 })], v([false, 'jsonschema: not must be of an object']));
    expectCall('json.verify_schema', [v({ exclusiveMinimum: true })], v([false, 'jsonschema: exclusiveMinimum cannot be used without minimum']));
    // Patterns are Go regular expressions: a lookahead is not one.
    expectCall('json.verify_schema', [v({ properties: { name: { type: 'string', pattern: '^(?!x)[a-z]+$' } } })], v([false, 'jsonschema: pattern must be a valid regex']));
    expectCall('json.verify_schema', [v({ patternProperties: { '(': {} } })], v([false, "jsonschema: Invalid regex pattern '('"]));
    // Draft 6 and later: boolean schemas and numeric exclusive bounds are fine; draft 4 refuses them.
    expectCall('json.verify_schema', [v({ properties: { a: true }, exclusiveMinimum: 1 })], v([true, null]));
    expect((verdict({ $schema: 'http://json-schema.org/draft-04/schema#', properties: { a: true } }) as readonly unknown[])[1]).toBe(
      'jsonschema: Expected: valid schema, given: Invalid JSON',
    );
  });

  it('json.match_schema reports errors as gojsonschema does', () => {
    expectCall('json.match_schema', [v({ name: 'ada', age: 36 }), v(schema)], v([true, []]));
    expectCall('json.match_schema', ['{"name": "ada"}', JSON.stringify(schema)], v([true, []]));
    expectCall(
      'json.match_schema',
      [v({ age: -1 }), v(schema)],
      v([false, [
        { error: '(root): name is required', type: 'required', field: '(root)', desc: 'name is required' },
        { error: 'age: Must be greater than or equal to 0', type: 'number_gte', field: 'age', desc: 'Must be greater than or equal to 0' },
      ]]),
    );
    const [ok, errors] = call('json.match_schema', v({ name: 1, extra: true, email: 'nope' }), v(schema)) as readonly unknown[];
    expect(ok).toBe(false);
    const types = (errors as readonly unknown[]).map((error) => call('object.get', error as never, 'type', null));
    expect(types.sort()).toEqual(['additional_property_not_allowed', 'format', 'invalid_type']);
    expectFailure('json.match_schema', [v({}), v({ type: 'no-such-type' })], 'eval_builtin_error',
      'json.match_schema: has a primitive type that is NOT VALID -- given: /no-such-type/');
    expectFailure('json.match_schema', ['{', v({})], 'eval_builtin_error', 'json.match_schema: invalid JSON string');
    expectFailure('json.match_schema', [v({}), '{"type": '], 'eval_builtin_error', 'json.match_schema: invalid JSON string');
  });

  it("describes each failure in gojsonschema's words, as OPA's errors read", () => {
    const failures = (document: unknown, schema: unknown) =>
      ((call('json.match_schema', v(document), v(schema)) as readonly unknown[])[1] as readonly unknown[]).map((error) =>
        call('object.get', error as never, 'error', null),
      );
    expect(failures({ id: 'foo' }, { properties: { id: { type: 'integer' } } })).toEqual(['id: Invalid type. Expected: integer, given: string']);
    expect(failures({ id: 1.5 }, { properties: { id: { type: 'integer' } } })).toEqual(['id: Invalid type. Expected: integer, given: number']);
    expect(failures({ id: 2 }, { properties: { id: { type: ['string', 'null'] } } })).toEqual(['id: Invalid type. Expected: [string,null], given: integer']);
    expect(failures({ s: 'ab' }, { properties: { s: { minLength: 3, pattern: '^z' } } })).toEqual([
      's: String length must be greater than or equal to 3',
      "s: Does not match pattern '^z'",
    ]);
    expect(failures({ a: [1, 1] }, { properties: { a: { maxItems: 1 } } })).toEqual(['a: Array must have at most 1 items']);
    expect(failures({ n: 7 }, { properties: { n: { multipleOf: 2, exclusiveMaximum: 5 } } })).toEqual([
      'n: Must be less than 5',
      'n: Must be a multiple of 2',
    ]);
    expect(failures({ c: 'x' }, { properties: { c: { enum: ['a', 'b'] } } })).toEqual(['c: c must be one of the following: "a", "b"']);
    expect(failures({}, { minProperties: 1 })).toEqual(['(root): Must have at least 1 properties']);
  });

  it('validates big integers and prototype-named keys as plain data', () => {
    expectCall('json.match_schema', [makeObject([['n', 2n ** 70n]]), v({ properties: { n: { type: 'integer', minimum: 0 } } })], v([true, []]));
    const hostile = v(JSON.parse('{"__proto__": 1}'));
    expect((call('json.match_schema', hostile, v({ required: ['__proto__'] })) as readonly unknown[])[0]).toBe(true);
    expect((call('json.match_schema', v({}), v({ required: ['__proto__'] })) as readonly unknown[])[0]).toBe(false);
  });
});
