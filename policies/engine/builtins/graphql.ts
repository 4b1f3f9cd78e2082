// graphql.is_valid and graphql.schema_is_valid on graphql-js: GraphQL text parsed and validated
// as the specification says (OPA uses gqlparser; both follow the specification). The builtins
// returning OPA's AST (graphql.parse*) are not offered: their JSON is gqlparser's own shape.
import { buildASTSchema, parse, validate, type GraphQLSchema } from 'graphql';
import { isObject, type Value } from '../value.js';
import { builtinError, define } from './support.js';

function textOperand(name: string, value: Value): string {
  // An AST object (what OPA's graphql.parse_* return) cannot come from weft, which does not offer them.
  if (isObject(value)) throw builtinError(name, 'AST objects are not supported; pass GraphQL text');
  return value as string;
}

/** A schema from its text, or undefined when it does not parse or is not a valid schema. */
function schemaOf(text: string): GraphQLSchema | undefined {
  try {
    return buildASTSchema(parse(text));
  } catch {
    return undefined;
  }
}

export const graphqlBuiltins = [
  define('graphql.schema_is_valid', [['string', 'object']], ([schema]) => schemaOf(textOperand('graphql.schema_is_valid', schema!)) !== undefined),
  define('graphql.is_valid', [['string', 'object'], ['string', 'object']], ([query, schema]) => {
    const built = schemaOf(textOperand('graphql.is_valid', schema!));
    if (built === undefined) return false;
    try {
      return validate(built, parse(textOperand('graphql.is_valid', query!))).length === 0;
    } catch {
      return false;
    }
  }),
];
