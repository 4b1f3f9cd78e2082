// The OpenAPI 3.1 document of a bridge's JSON facade (served at GET /.well-known/openapi.json on
// the bridged host): one path item per route, the operation's input as path parameters, query
// parameters (routes that take them) and a JSON request body (where the route puts it), its
// output (or the route's `responseBody` field of it; their array for a stream) as the 200 response, the bridge's error
// shape for every other status.
import { bridgeErrorCatalogue, bridgeErrorSchema } from './bridge-errors.js';
import type { LegacyCodec } from './codec.js';
import { resolveSchema, schemaAt, type CompiledRoute } from './bridge-routes.js';
import type { JsonSchema } from './json-schema.js';

export const OPENAPI_PATH = '/.well-known/openapi.json';
const ERROR_REF = { $ref: '#/components/schemas/BridgeError' };
/** How deep query parameters name nested fields (`author.displayName`). */
const QUERY_DEPTH = 3;

function properties(route: CompiledRoute, schema: JsonSchema | undefined): Record<string, JsonSchema> {
  return (resolveSchema(route.schemas, schema)?.properties ?? {}) as Record<string, JsonSchema>;
}

/** The query parameters a route takes: every scalar (or array of scalars) field the path and body leave free. */
function queryParameters(route: CompiledRoute): object[] {
  if (!route.query || route.body === '*') return [];
  const bound = [...route.arguments, ...(route.body === undefined ? [] : [route.body])].map((path) => path.join('.'));
  const found: object[] = [];
  const walk = (schema: JsonSchema | undefined, prefix: string, depth: number): void => {
    for (const [name, field] of Object.entries(properties(route, schema))) {
      const path = `${prefix}${name}`;
      if (bound.includes(path)) continue;
      const resolved = resolveSchema(route.schemas, field) ?? {};
      if (resolved.type === 'object' && resolved.properties !== undefined) {
        if (depth < QUERY_DEPTH) walk(field, `${path}.`, depth + 1);
        continue;
      }
      const items = resolved.type === 'array' ? (resolveSchema(route.schemas, resolved.items as JsonSchema) ?? {}) : resolved;
      if (items.type === 'object' || items.properties !== undefined) continue;
      found.push({ name: path, in: 'query', required: false, schema: field, ...(resolved.type === 'array' ? { explode: true } : {}) });
    }
  };
  walk(route.operation.input, '', 1);
  return found;
}

function requestBody(route: CompiledRoute): object | undefined {
  const { operation } = route;
  if (route.body === undefined) return undefined;
  if (route.body !== '*') return { required: false, content: { 'application/json': { schema: schemaAt(route.schemas, operation.input, route.body) } } };
  if (route.method === 'GET' || route.method === 'DELETE') return undefined;
  if (operation.argumentStream === true) return { required: true, content: { 'application/json': { schema: { type: 'array', items: operation.input } } } };
  const pathArguments = new Set(route.arguments.filter((argument) => argument.length === 1).map((argument) => argument[0]!));
  const bodyProperties = Object.fromEntries(Object.entries(properties(route, operation.input)).filter(([name]) => !pathArguments.has(name)));
  const bodyRequired = ((operation.input.required ?? []) as string[]).filter((name) => !pathArguments.has(name));
  return {
    required: bodyRequired.length > 0,
    content: { 'application/json': { schema: { ...operation.input, properties: bodyProperties, ...(bodyRequired.length === 0 ? { required: undefined } : { required: bodyRequired }) } } },
  };
}

export function openApiDocument(title: string, codec: LegacyCodec, routes: readonly CompiledRoute[]): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  const operationIds = new Map<string, number>();
  for (const route of routes) {
    const { operation } = route;
    const seen = operationIds.get(operation.name) ?? 0;
    operationIds.set(operation.name, seen + 1);
    const pathParameters = route.path.variables.map((variable, index) => {
      const schema = schemaAt(route.schemas, operation.input, route.arguments[index]!) ?? { type: 'string' };
      return { name: variable.name, in: 'path', required: true, schema, ...(variable.pattern === '*' ? {} : { description: `segments ${variable.pattern}` }) };
    });
    const parameters = [...pathParameters, ...queryParameters(route)];
    const body = requestBody(route);
    const one = route.responseBody === undefined ? operation.output : (schemaAt(route.schemas, operation.output, route.responseBody) ?? {});
    const result = operation.resultStream === true ? { type: 'array', items: one } : one;
    paths[route.path.openApiPath] ??= {};
    paths[route.path.openApiPath]![route.method.toLowerCase()] = {
      operationId: seen === 0 ? operation.name : `${operation.name}_${seen + 1}`,
      ...(operation.summary === undefined ? {} : { summary: operation.summary }),
      ...(parameters.length === 0 ? {} : { parameters }),
      ...(body === undefined ? {} : { requestBody: body }),
      responses: {
        '200': { description: `${operation.name} result`, content: { 'application/json': { schema: result } } },
        default: { description: 'an error (see code)', content: { 'application/json': { schema: ERROR_REF } } },
      },
    };
  }
  return JSON.parse(
    JSON.stringify({
      openapi: '3.1.0',
      info: { title, version: '1', description: `JSON facade of a ${codec.protocol} service, bridged by weft. Errors: ${Object.keys(bridgeErrorCatalogue).join(', ')}.` },
      paths,
      components: { schemas: { ...Object.fromEntries(codec.schemas), BridgeError: bridgeErrorSchema } },
    }),
  ) as JsonSchema;
}
