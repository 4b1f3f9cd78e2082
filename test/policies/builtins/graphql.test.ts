import { describe, expect, it } from 'vitest';
import { toJSON, type Value } from '../../../policies/engine/value.js';
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

  it("graphql.schema_is_valid: directives on `schema` are not checked, as gqlparser never looks at them", () => {
    expect(call('graphql.schema_is_valid', 'extend schema @directive')).toBe(true);
    expect(call('graphql.schema_is_valid', 'type Query { a: Int } schema @undeclared { query: Query }')).toBe(true);
    // On a type they are, as gqlparser does.
    expect(call('graphql.schema_is_valid', 'type Query @undeclared { a: Int }')).toBe(false);
  });

  it("graphql.schema_is_valid: interface implementations are checked as gqlparser checks them", () => {
    // An interface's own interfaces must be declared too (gqlparser's validateTypeImplementsAncestors).
    const chain = 'interface IA { id: ID! } interface IIA implements IA { id: ID! }';
    expect(call('graphql.schema_is_valid', `${chain} type A implements IIA { id: ID! }`)).toBe(false);
    expect(call('graphql.schema_is_valid', `${chain} type A implements IIA & IA { id: ID! }`)).toBe(true);
    expect(call('graphql.schema_is_valid', 'interface I { id: ID! } interface J implements I { x: Int }')).toBe(false);
    // Fields: present, of a covariant type, with the interface's arguments and no other required ones.
    expect(call('graphql.schema_is_valid', 'interface I { id: ID! } type T implements I { x: Int }')).toBe(false);
    expect(call('graphql.schema_is_valid', 'interface I { id: ID! } type T implements I { id: ID }')).toBe(false);
    expect(call('graphql.schema_is_valid', 'interface I { id: ID } type T implements I { id: ID! }')).toBe(true);
    expect(call('graphql.schema_is_valid', 'interface I { f(a: Int): Int } type T implements I { f: Int }')).toBe(false);
    expect(call('graphql.schema_is_valid', 'interface I { f(a: Int): Int } type T implements I { f(a: String): Int }')).toBe(false);
    expect(call('graphql.schema_is_valid', 'interface I { f(a: Int): Int } type T implements I { f(a: Int!): Int }')).toBe(false);
    // gqlparser lets an implementation relax an argument the interface makes non-null (Type.IsCompatible).
    expect(call('graphql.schema_is_valid', 'interface I { f(a: Int!): Int } type T implements I { f(a: Int): Int }')).toBe(true);
    expect(call('graphql.schema_is_valid', 'interface I { f(a: [Int!]): Int } type T implements I { f(a: [Int]): Int }')).toBe(true);
    expect(call('graphql.schema_is_valid', 'interface I { f(a: [Int]): Int } type T implements I { f(a: Int): Int }')).toBe(false);
    expect(call('graphql.schema_is_valid', 'interface I { f: Int } type T implements I { f(b: Int!): Int }')).toBe(false);
    expect(call('graphql.schema_is_valid', 'interface I { f: Int } type T implements I { f(b: Int! = 1, c: Int): Int }')).toBe(true);
    expect(call('graphql.is_valid', '{ a }', 'interface I { id: ID! } type Query implements I { a: Int }')).toBe(false);
  });

  it('graphql.is_valid: a query that parses and validates against the schema', () => {
    expect(call('graphql.is_valid', '{ employeeByID(id: "alice") { id salary } }', schema)).toBe(true);
    expect(call('graphql.is_valid', '{ employeeByID(id: "alice") { password } }', schema)).toBe(false);
    expect(call('graphql.is_valid', 'query Q($id: String) { employeeByID(id: $id) { id } }', schema)).toBe(true);
    expect(call('graphql.is_valid', 'query Q($id: String) { employeeByID(id: "a") { id } }', schema)).toBe(false);
    expect(call('graphql.is_valid', '{ employeeByID(', schema)).toBe(false);
    expect(call('graphql.is_valid', '{ employeeByID { id } }', 'type Query {')).toBe(false);
  });

  it('refuses AST objects these builtins did not return', () => {
    expectFailure('graphql.schema_is_valid', [v({ Definitions: [] })], 'eval_builtin_error', 'AST objects are supported only as graphql.parse_* returned them');
    expectFailure('graphql.is_valid', ['{ a }', v({ Definitions: [] })], 'eval_builtin_error', 'AST objects are supported only');
  });

  it("graphql.parse_query gives gqlparser's AST: operations, variables, arguments by kind, fragments, directives", () => {
    const ast = call('graphql.parse_query', 'query Q($ids: [ID!] = ["a"], $on: Boolean) { f(i: 1, s: "x", e: RED, o: {k: null}, l: [1.5], v: $on) @include(if: $on) { ...F ... on T { y } } } fragment F on T { z }');
    expect(toJSON(ast!)).toEqual({
      Operations: [
        {
          Operation: 'query',
          Name: 'Q',
          VariableDefinitions: [
            { Variable: 'ids', Type: { NamedType: '', Elem: { NamedType: 'ID', NonNull: true }, NonNull: false }, DefaultValue: { Kind: 8, Raw: '', Children: [{ Name: '', Value: { Kind: 3, Raw: 'a' } }] }, Used: false },
            { Variable: 'on', Type: { NamedType: 'Boolean', NonNull: false }, Used: false },
          ],
          SelectionSet: [
            {
              Alias: 'f',
              Name: 'f',
              Arguments: [
                { Name: 'i', Value: { Kind: 1, Raw: '1' } },
                { Name: 's', Value: { Kind: 3, Raw: 'x' } },
                { Name: 'e', Value: { Kind: 7, Raw: 'RED' } },
                { Name: 'o', Value: { Kind: 9, Raw: '', Children: [{ Name: 'k', Value: { Kind: 6, Raw: 'null' } }] } },
                { Name: 'l', Value: { Kind: 8, Raw: '', Children: [{ Name: '', Value: { Kind: 2, Raw: '1.5' } }] } },
                { Name: 'v', Value: { Kind: 0, Raw: 'on' } },
              ],
              Directives: [{ Name: 'include', Arguments: [{ Name: 'if', Value: { Kind: 0, Raw: 'on' } }], Location: '' }],
              SelectionSet: [{ Name: 'F' }, { TypeCondition: 'T', SelectionSet: [{ Alias: 'y', Name: 'y' }] }],
            },
          ],
        },
      ],
      Fragments: [{ Name: 'F', TypeCondition: 'T', SelectionSet: [{ Alias: 'z', Name: 'z' }] }],
    });
    expectFailure('graphql.parse_query', ['{ a('], 'eval_builtin_error', 'graphql.parse_query: Expected Name, found <EOF> in GraphQL string at location 1:5');
  });

  it('graphql.parse_query words syntax errors as gqlparser does, "in GraphQL string"', () => {
    const fails = (text: string, message: string) => expectFailure('graphql.parse_query', [text], 'eval_builtin_error', `graphql.parse_query: ${message}`);
    fails('{ field: {} }', 'Expected Name, found { in GraphQL string at location 1:10');
    fails('...', 'Unexpected ... in GraphQL string at location 1:1');
    fails('{__typename{...}}', 'Expected {, found } in GraphQL string at location 1:16');
    fails('query Foo($x: T = { a: [ $var ] }) { f }', 'Unexpected $ in GraphQL string at location 1:26');
    // gqlparser's `some` rule: a selection set needs at least one selection.
    fails('{...{__typename{...{}}}}', 'expected at least one definition, found } in GraphQL string at location 1:21');
    fails('{ a {\n  # nothing\n , } }', 'expected at least one definition, found } in GraphQL string at location 3:4');
    fails('fragment F on T { ...on }', 'Expected Name, found } in GraphQL string at location 1:25');
    // Keywords and names keep their quotes.
    fails('{ ...M }\nfragment M T', 'Expected "on", found Name "T" in GraphQL string at location 2:12');
  });

  it('graphql.parse_query reads variable definitions on fragments as gqlparser does', () => {
    const ast = toJSON(call('graphql.parse_query', 'fragment a($v: Boolean = false) on t { f(v: $v) }')!) as Record<string, unknown[]>;
    expect(ast['Fragments']![0]).toEqual({
      Name: 'a',
      TypeCondition: 't',
      VariableDefinition: [{ Variable: 'v', Type: { NamedType: 'Boolean', NonNull: false }, DefaultValue: { Kind: 5, Raw: 'false' }, Used: false }],
      SelectionSet: [{ Alias: 'f', Name: 'f', Arguments: [{ Name: 'v', Value: { Kind: 0, Raw: 'v' } }] }],
    });
  });

  it('graphql.parse_schema gives definitions with their kinds, fields and arguments', () => {
    const ast = toJSON(call('graphql.parse_schema', schema + '"the colours" enum Colour { RED @deprecated }')!) as Record<string, unknown[]>;
    expect(ast['Schema']).toEqual([{ Description: '', OperationTypes: [{ Operation: 'query', Type: 'Query' }] }]);
    expect(ast['Definitions']![0]).toEqual({
      Kind: 'OBJECT',
      Description: '',
      Name: 'Employee',
      Fields: [
        { Description: '', Name: 'id', Type: { NamedType: 'String', NonNull: true } },
        { Description: '', Name: 'salary', Type: { NamedType: 'Int', NonNull: true } },
      ],
      BuiltIn: false,
    });
    expect(ast['Definitions']![2]).toEqual({ Kind: 'ENUM', Description: 'the colours', Name: 'Colour', EnumValues: [{ Description: '', Name: 'RED', Directives: [{ Name: 'deprecated', Location: '' }] }], BuiltIn: false });
  });

  it('graphql.parse validates the query against the schema and takes back the ASTs it returned', () => {
    const [query, parsedSchema] = call('graphql.parse', '{ employeeByID(id: "alice") { salary } }', schema) as Value[];
    expect(toJSON(call('object.get', query!, ['Operations', 0, 'SelectionSet', 0, 'Name'] as never, null)!)).toBe('employeeByID');
    expect(call('graphql.parse', query!, parsedSchema!)).toEqual([query, parsedSchema]);
    expectFailure('graphql.parse', ['{\n  employeeByID(id: "alice") { password }\n}', schema], 'eval_builtin_error', 'graphql.parse: Cannot query field "password" on type "Employee" in GraphQL query string at location 2:31');
    expectFailure('graphql.parse', ['{ a }', 'type Query {'], 'eval_builtin_error', 'graphql.parse: Expected Name, found <EOF> in GraphQL string at location 1:13');
    // The query is parsed before the schema, as OPA does.
    expectFailure('graphql.parse', ['{ a(', 'type Query {'], 'eval_builtin_error', 'graphql.parse: Expected Name, found <EOF> in GraphQL string at location 1:5');
    expect(call('graphql.parse', '', 'type T { a: Int }')).toEqual([v({}), expect.anything()]);
  });

  it('graphql.parse_and_verify gives false and empty objects instead of an error', () => {
    expect((call('graphql.parse_and_verify', '{ employeeByID(id: "a") { id } }', schema) as Value[])[0]).toBe(true);
    expect(call('graphql.parse_and_verify', '{ nope }', schema)).toEqual([false, v({}), v({})]);
  });

  it('extending a type the schema does not define defines it, as gqlparser allows', () => {
    const federated = 'extend type User { id: ID! }\nunion Entity = User\nextend type Query { entity: Entity }';
    expect(call('graphql.schema_is_valid', federated)).toBe(true);
    expect(call('graphql.is_valid', '{ entity { ... on User { id } } }', federated)).toBe(true);
  });
});
