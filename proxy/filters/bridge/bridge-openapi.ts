// The OpenAPI 3.1 document of a bridge's JSON facade (served at GET /.well-known/openapi.json on
// the bridged host): one path item per route, the operation's input as path parameters and a JSON
// request body, its output as the 200 response, the bridge's error shape for every other status.
import { bridgeErrorCatalogue, bridgeErrorSchema } from './bridge-errors.js';
import type { LegacyCodec } from './codec.js';
import type { CompiledRoute } from './bridge-routes.js';
import type { JsonSchema } from './json-schema.js';

export const OPENAPI_PATH = '/.well-known/openapi.json';
const ERROR_REF = { $ref: '#/components/schemas/BridgeError' };

export function openApiDocument(title: string, codec: LegacyCodec, routes: readonly CompiledRoute[]): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  const operationIds = new Map<string, number>();
  for (const route of routes) {
    const { operation } = route;
    const params = route.segments.flatMap((segment) => ('param' in segment ? [segment] : []));
    const properties = (operation.input.properties ?? {}) as Record<string, JsonSchema>;
    const pathArguments = new Set(params.map((param) => param.argument));
    const bodyProperties = Object.fromEntries(Object.entries(properties).filter(([name]) => !pathArguments.has(name)));
    const bodyRequired = ((operation.input.required ?? []) as string[]).filter((name) => !pathArguments.has(name));
    const seen = operationIds.get(operation.name) ?? 0;
    operationIds.set(operation.name, seen + 1);
    const hasBody = route.method !== 'GET' && route.method !== 'DELETE';
    paths[route.template] ??= {};
    paths[route.template]![route.method.toLowerCase()] = {
      operationId: seen === 0 ? operation.name : `${operation.name}_${seen + 1}`,
      ...(operation.summary === undefined ? {} : { summary: operation.summary }),
      ...(params.length === 0
        ? {}
        : { parameters: params.map((param) => ({ name: param.param, in: 'path', required: true, schema: properties[param.argument] ?? { type: 'string' } })) }),
      ...(hasBody
        ? {
            requestBody: {
              required: bodyRequired.length > 0,
              content: { 'application/json': { schema: { ...operation.input, properties: bodyProperties, ...(bodyRequired.length === 0 ? { required: undefined } : { required: bodyRequired }) } } },
            },
          }
        : {}),
      responses: {
        '200': { description: `${operation.name} result`, content: { 'application/json': { schema: operation.output } } },
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
