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
    expectFailure('json.verify_schema', ['{'], 'eval_builtin_error', 'json.verify_schema: invalid JSON');
  });

  it('json.match_schema reports errors as gojsonschema does', () => {
    expectCall('json.match_schema', [v({ name: 'ada', age: 36 }), v(schema)], v([true, []]));
    expectCall('json.match_schema', ['{"name": "ada"}', JSON.stringify(schema)], v([true, []]));
    expectCall(
      'json.match_schema',
      [v({ age: -1 }), v(schema)],
      v([false, [
        { error: '(root): name is required', type: 'required', field: '(root)', desc: 'name is required' },
        { error: 'age: must be >= 0', type: 'number_gte', field: 'age', desc: 'must be >= 0' },
      ]]),
    );
    const [ok, errors] = call('json.match_schema', v({ name: 1, extra: true, email: 'nope' }), v(schema)) as readonly unknown[];
    expect(ok).toBe(false);
    const types = (errors as readonly unknown[]).map((error) => call('object.get', error as never, 'type', null));
    expect(types.sort()).toEqual(['additional_property_not_allowed', 'format', 'invalid_type']);
    expectFailure('json.match_schema', [v({}), v({ type: 'no-such-type' })], 'eval_builtin_error', 'json.match_schema: invalid schema');
  });

  it('validates big integers and prototype-named keys as plain data', () => {
    expectCall('json.match_schema', [makeObject([['n', 2n ** 70n]]), v({ properties: { n: { type: 'integer', minimum: 0 } } })], v([true, []]));
    const hostile = v(JSON.parse('{"__proto__": 1}'));
    expect((call('json.match_schema', hostile, v({ required: ['__proto__'] })) as readonly unknown[])[0]).toBe(true);
    expect((call('json.match_schema', v({}), v({ required: ['__proto__'] })) as readonly unknown[])[0]).toBe(false);
  });
});
