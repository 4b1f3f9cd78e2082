// graphql.* on graphql-js: GraphQL text parsed and validated as the specification says (OPA uses
// gqlparser; both follow the specification), ASTs returned in gqlparser's JSON shape
// (graphql-ast.ts). Where gqlparser is lenient, so is this: extending a type that the schema
// does not define defines it. An AST object is accepted back as an operand when it is one these
// builtins returned (its text is remembered); OPA would re-print any AST object. Directives on
// `schema` are not checked and interface implementations are, as gqlparser does.
import {
  buildASTSchema,
  GraphQLError,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isTypeSubTypeOf,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { fromJSON, isObject, makeArray, makeObject, type RegoObject, type Value } from '../value.js';
import { queryDocumentJson, schemaDocumentJson } from './graphql-ast.js';
import { builtinError, define } from './support.js';

/** The GraphQL text of each AST value these builtins returned. */
const astTexts = new WeakMap<RegoObject, string>();

function remembered(value: Value, text: string): Value {
  if (isObject(value)) astTexts.set(value, text);
  return value;
}

function textOperand(name: string, value: Value): string {
  if (!isObject(value)) return value as string;
  const text = astTexts.get(value);
  if (text === undefined) throw builtinError(name, 'AST objects are supported only as graphql.parse_* returned them; pass GraphQL text');
  return text;
}

/** Punctuator tokens graphql-js quotes in its messages and gqlparser prints bare (`found }`). */
const QUOTED_PUNCTUATOR = /"(\.\.\.|[!$&()[\]{}|:=@])"/g;

/** The significant character before `offset` in `body` (whitespace, commas and comments skipped). */
function previousSignificant(body: string, offset: number): string | undefined {
  const lines = body.slice(0, offset).split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.replace(/#.*$/, '').replace(/[\s,\uFEFF]+$/, '');
    if (line !== '') return line[line.length - 1];
  }
  return undefined;
}

/** A syntax error's message as gqlparser's parser words it: bare punctuators, `Unexpected $` for a
 * variable in a constant, and its `some` rule's message for an empty selection set. */
function gqlparserSyntaxMessage(error: GraphQLError, message: string): string {
  let text = message.replace(QUOTED_PUNCTUATOR, '$1');
  if (/^Unexpected variable "\$[^"]*" in constant value$/.test(text)) text = 'Unexpected $';
  const offset = error.positions?.[0];
  if (text === 'Expected Name, found }' && error.source && offset !== undefined && previousSignificant(error.source.body, offset) === '{') {
    text = 'expected at least one definition, found }';
  }
  return text;
}

/**
 * An error as OPA words it: gqlparser's message without a final period, then where. OPA says "in
 * GraphQL string" for a text it could not parse (query or schema) and "in GraphQL query string"
 * for a query that does not validate.
 */
function describe(error: unknown, what: 'query' | 'schema'): string {
  if (!(error instanceof GraphQLError)) return (error as Error).message;
  const syntax = error.message.startsWith('Syntax Error: ');
  let message = error.message.replace(/^Syntax Error: /, '').replace(/\.$/, '');
  if (syntax) message = gqlparserSyntaxMessage(error, message);
  const at = error.locations?.[0];
  const where = syntax ? 'GraphQL string' : `GraphQL ${what} string`;
  return at ? `${message} in ${where} at location ${at.line}:${at.column}` : message;
}

function parseDocument(text: string): DocumentNode {
  // gqlparser reads an empty query as an empty document; graphql-js wants a definition.
  // gqlparser also reads variable definitions on fragments (`fragment a($v: Boolean) on T`).
  return text.trim() === '' ? { kind: Kind.DOCUMENT, definitions: [] } : parse(text, { allowLegacyFragmentVariables: true });
}

const EXTENSIONS: Partial<Record<string, Kind>> = {
  [Kind.OBJECT_TYPE_EXTENSION]: Kind.OBJECT_TYPE_DEFINITION,
  [Kind.INTERFACE_TYPE_EXTENSION]: Kind.INTERFACE_TYPE_DEFINITION,
  [Kind.UNION_TYPE_EXTENSION]: Kind.UNION_TYPE_DEFINITION,
  [Kind.ENUM_TYPE_EXTENSION]: Kind.ENUM_TYPE_DEFINITION,
  [Kind.INPUT_OBJECT_TYPE_EXTENSION]: Kind.INPUT_OBJECT_TYPE_DEFINITION,
  [Kind.SCALAR_TYPE_EXTENSION]: Kind.SCALAR_TYPE_DEFINITION,
};

/**
 * gqlparser's Type.IsCompatible, for an implementing field's argument against the interface's: the
 * same named type at the same list depth, non-null only where the interface's is (an argument the
 * interface makes non-null may be nullable in the implementation).
 */
function argumentCompatible(required: GraphQLInputType, found: GraphQLInputType): boolean {
  if (isNonNullType(found) && !isNonNullType(required)) return false;
  const r = isNonNullType(required) ? required.ofType : required;
  const f = isNonNullType(found) ? found.ofType : found;
  if (isListType(r) || isListType(f)) return isListType(r) && isListType(f) && argumentCompatible(r.ofType, f.ofType);
  return r.name === f.name;
}

/**
 * Why a type does not implement one of its interfaces as gqlparser's schema validation requires
 * (validateImplements): every field of the interface, of a covariant type, with the interface's
 * arguments of the same types and no other required ones, and every interface the interface
 * itself implements (validateTypeImplementsAncestors). buildASTSchema checks none of it.
 */
function implementationProblem(schema: GraphQLSchema, type: GraphQLObjectType | GraphQLInterfaceType): string | undefined {
  const declared = new Set(type.getInterfaces().map((i) => i.name));
  for (const intf of type.getInterfaces()) {
    const fields = type.getFields();
    for (const required of Object.values(intf.getFields())) {
      const found = fields[required.name];
      if (found === undefined) return `For ${type.name} to implement ${intf.name} it must have a field called ${required.name}.`;
      if (!isTypeSubTypeOf(schema, found.type, required.type)) {
        return `For ${type.name} to implement ${intf.name} the field ${required.name} must have type ${String(required.type)}.`;
      }
      for (const arg of required.args) {
        const foundArg = found.args.find((a) => a.name === arg.name);
        if (foundArg === undefined || !argumentCompatible(arg.type, foundArg.type)) {
          return `For ${type.name} to implement ${intf.name} the field ${required.name} must have the same arguments.`;
        }
      }
      for (const extra of found.args) {
        if (!required.args.some((a) => a.name === extra.name) && isNonNullType(extra.type) && extra.defaultValue === undefined) {
          return `For ${type.name} to implement ${intf.name} any additional arguments on ${found.name} must be optional or have a default value but ${extra.name} is required.`;
        }
      }
    }
    for (const transitive of intf.getInterfaces()) {
      if (!declared.has(transitive.name)) return `Type ${type.name} must implement ${transitive.name} because it is implemented by ${intf.name}.`;
    }
  }
  return undefined;
}

/**
 * The schema of a document, where the first extension of a type the document does not define
 * defines it. Directives on `schema` and `extend schema` are not checked (gqlparser never looks at
 * them); interface implementations are, as gqlparser does.
 */
function buildSchema(document: DocumentNode): GraphQLSchema {
  const defined = new Set(document.definitions.flatMap((d) => (d.kind.endsWith('Definition') && 'name' in d && d.name ? [d.name.value] : [])));
  const definitions = document.definitions.map((d) => {
    if (d.kind === Kind.SCHEMA_DEFINITION || d.kind === Kind.SCHEMA_EXTENSION) return { ...d, directives: [] };
    const kind = EXTENSIONS[d.kind];
    if (kind === undefined || !('name' in d) || d.name === undefined || defined.has(d.name.value)) return d;
    defined.add(d.name.value);
    return { ...d, kind } as typeof d;
  });
  const schema = buildASTSchema({ ...document, definitions });
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    const problem = implementationProblem(schema, type);
    if (problem !== undefined) throw new GraphQLError(problem);
  }
  return schema;
}

interface Parsed {
  readonly query: DocumentNode;
  readonly schema: DocumentNode;
  readonly queryText: string;
  readonly schemaText: string;
}

/** Parses both and validates the query against the schema; throws the first problem, described. */
function parseAndValidate(name: string, queryValue: Value, schemaValue: Value): Parsed {
  const schemaText = textOperand(name, schemaValue);
  const queryText = textOperand(name, queryValue);
  // OPA parses the query first, then the schema.
  let query: DocumentNode;
  try {
    query = parseDocument(queryText);
  } catch (error) {
    throw builtinError(name, describe(error, 'query'));
  }
  let schema: DocumentNode;
  let built: GraphQLSchema;
  try {
    schema = parse(schemaText);
    built = buildSchema(schema);
  } catch (error) {
    throw builtinError(name, describe(error, 'schema'));
  }
  // An empty query has nothing to check (graphql-js would still demand a Query root type).
  const [first] = query.definitions.length === 0 ? [] : validate(built, query);
  if (first !== undefined) throw builtinError(name, describe(first, 'query'));
  return { query, schema, queryText, schemaText };
}

const queryValue = (parsed: Parsed) => remembered(fromJSON(queryDocumentJson(parsed.query)), parsed.queryText);
const schemaValue = (parsed: Parsed) => remembered(fromJSON(schemaDocumentJson(parsed.schema)), parsed.schemaText);

function succeeds(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch {
    return false;
  }
}

export const graphqlBuiltins = [
  define('graphql.parse_query', ['string'], ([query]) => {
    let document: DocumentNode;
    try {
      document = parseDocument(query as string);
    } catch (error) {
      throw builtinError('graphql.parse_query', describe(error, 'query'));
    }
    return remembered(fromJSON(queryDocumentJson(document)), query as string);
  }),
  define('graphql.parse_schema', ['string'], ([schema]) => {
    let document: DocumentNode;
    try {
      document = parse(schema as string);
    } catch (error) {
      throw builtinError('graphql.parse_schema', describe(error, 'schema'));
    }
    return remembered(fromJSON(schemaDocumentJson(document)), schema as string);
  }),
  define('graphql.parse', [['string', 'object'], ['string', 'object']], ([query, schema]) => {
    const parsed = parseAndValidate('graphql.parse', query!, schema!);
    return makeArray([queryValue(parsed), schemaValue(parsed)]);
  }),
  define('graphql.parse_and_verify', [['string', 'object'], ['string', 'object']], ([query, schema]) => {
    let parsed: Parsed;
    try {
      parsed = parseAndValidate('graphql.parse_and_verify', query!, schema!);
    } catch {
      return makeArray([false, makeObject([]), makeObject([])]);
    }
    return makeArray([true, queryValue(parsed), schemaValue(parsed)]);
  }),
  define('graphql.schema_is_valid', [['string', 'object']], ([schema]) => {
    const text = textOperand('graphql.schema_is_valid', schema!);
    return succeeds(() => buildSchema(parse(text)));
  }),
  define('graphql.is_valid', [['string', 'object'], ['string', 'object']], ([query, schema]) => {
    const [queryText, schemaText] = [textOperand('graphql.is_valid', query!), textOperand('graphql.is_valid', schema!)];
    return succeeds(() => parseAndValidate('graphql.is_valid', queryText, schemaText));
  }),
];
