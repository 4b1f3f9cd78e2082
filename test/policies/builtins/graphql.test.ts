import { describe, expect, it } from 'vitest';
import { call, expectFailure, v } from './call-builtin.js';

const schema = `
  type Employee { id: String! salary: Int! }
  schema { query: Query }
  type Query { employeeByID(id: String): Employee }
`;

describe('graphql builtins', () => {
  it('graphql.schema_is_valid: parses and checks a schema definition', () => {
    expect(call('graphql.schema_is_valid', schema)).toBe(true);
    expect(call('graphql.schema_is_valid', 'type Hello { world(flag: Boolean = true): String }')).toBe(true);
    expect(call('graphql.schema_is_valid', 'enum Hello { WO, RLD }')).toBe(true);
    expect(call('graphql.schema_is_valid', 'type Hello {}')).toBe(false);
    expect(call('graphql.schema_is_valid', 'union Hello = World')).toBe(false);
    expect(call('graphql.schema_is_valid', 'schema { query: Query }')).toBe(false);
  });

  it('graphql.is_valid: a query that parses and validates against the schema', () => {
    expect(call('graphql.is_valid', '{ employeeByID(id: "alice") { id salary } }', schema)).toBe(true);
    expect(call('graphql.is_valid', '{ employeeByID(id: "alice") { password } }', schema)).toBe(false);
    expect(call('graphql.is_valid', 'query Q($id: String) { employeeByID(id: $id) { id } }', schema)).toBe(true);
    expect(call('graphql.is_valid', 'query Q($id: String) { employeeByID(id: "a") { id } }', schema)).toBe(false);
    expect(call('graphql.is_valid', '{ employeeByID(', schema)).toBe(false);
    expect(call('graphql.is_valid', '{ employeeByID { id } }', 'type Query {')).toBe(false);
  });

  it('refuses AST objects, which only graphql.parse_* (not offered) would make', () => {
    expectFailure('graphql.schema_is_valid', [v({ Definitions: [] })], 'eval_builtin_error', 'AST objects are not supported');
  });
});
