// The HTTP routes of a bridge's JSON facade: each operation's default route (e.g. `POST
// /soap/{service}/{operation}`) and the per-operation routes a bridge declares (`GET
// /v1/customers/{id}` -> `GetCustomer(customer_id)`). Compiled once; matching a request gives the
// operation and the arguments its path carries, typed by the operation's input schema.
import { BridgeError } from './bridge-errors.js';
import type { BridgeOperation, JsonObject, JsonValue, LegacyCodec } from './codec.js';
import type { JsonSchema } from './json-schema.js';

export interface RouteDeclaration {
  readonly method: string;
  /** A path template: literal segments and `{name}` segments. */
  readonly path: string;
  readonly operation: string;
  /** Path parameter -> argument name, where they differ (`id: customer_id`). */
  readonly params?: Readonly<Record<string, string>>;
}

export interface CompiledRoute {
  readonly method: string;
  readonly template: string;
  readonly operation: BridgeOperation;
  /** Segments: a literal, or the argument a `{param}` fills. */
  readonly segments: readonly ({ readonly literal: string } | { readonly param: string; readonly argument: string })[];
}

export interface RouteMatch {
  readonly route: CompiledRoute;
  /** The arguments the path carries. */
  readonly pathArgs: JsonObject;
}

/** Compiles the declared routes and every operation's default route; throws listing every problem. */
export function compileRoutes(codec: LegacyCodec, declared: readonly RouteDeclaration[]): CompiledRoute[] {
  const problems: string[] = [];
  const routes: CompiledRoute[] = [];
  const add = (declaration: RouteDeclaration): void => {
    const operation = codec.operations.get(declaration.operation);
    if (operation === undefined) {
      problems.push(`route ${declaration.method} ${declaration.path}: operation ${declaration.operation} is not in the legacy service`);
      return;
    }
    const inputFields = (operation.input.properties ?? {}) as Record<string, JsonSchema>;
    const segments = declaration.path.split('/').slice(1).map((segment) => {
      const param = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(segment)?.[1];
      if (param === undefined) return { literal: segment };
      const argument = declaration.params?.[param] ?? param;
      if (!Object.hasOwn(inputFields, argument)) problems.push(`route ${declaration.method} ${declaration.path}: ${declaration.operation} has no argument ${argument}`);
      return { param, argument };
    });
    if (!declaration.path.startsWith('/')) problems.push(`route path ${declaration.path} must start with /`);
    const method = declaration.method.toUpperCase();
    if (routes.some((route) => route.method === method && route.template === declaration.path)) problems.push(`route ${method} ${declaration.path} is declared twice`);
    routes.push({ method, template: declaration.path, operation, segments });
  };
  for (const declaration of declared) add(declaration);
  for (const operation of codec.operations.values()) add({ ...operation.defaultRoute, operation: operation.name });
  if (problems.length > 0) throw new Error(problems.join('; '));
  return routes;
}

/** The route for `method` and `path` (without query), or a 404 `BridgeError`. */
export function matchRoute(routes: readonly CompiledRoute[], method: string, path: string): RouteMatch {
  const segments = path.split('/').slice(1);
  for (const route of routes) {
    if (route.method !== method || route.segments.length !== segments.length) continue;
    const pathArgs: JsonObject = {};
    const matched = route.segments.every((segment, index) => {
      const raw = segments[index]!;
      if ('literal' in segment) return segment.literal === raw;
      if (raw === '') return false;
      pathArgs[segment.argument] = pathValue(route.operation, segment.argument, decodeSegment(raw));
      return true;
    });
    if (matched) return { route, pathArgs };
  }
  throw new BridgeError('UNKNOWN_ROUTE', `no bridged operation for ${method} ${path}`);
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BridgeError('SCHEMA_VIOLATION', `path segment ${raw} is not valid percent-encoding`);
  }
}

/** A path segment as the JSON type its argument takes. */
function pathValue(operation: BridgeOperation, argument: string, text: string): JsonValue {
  const schema = ((operation.input.properties ?? {}) as Record<string, JsonSchema>)[argument] ?? {};
  const types = ([] as unknown[]).concat(schema.type ?? (schema.anyOf as JsonSchema[] | undefined)?.[0]?.type ?? 'string');
  if (types.includes('string')) return text;
  if (types.includes('integer') && /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  if (types.includes('number') && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (types.includes('boolean') && (text === 'true' || text === 'false')) return text === 'true';
  throw new BridgeError('SCHEMA_VIOLATION', `/${argument}: '${text}' is not a ${types.join(' or ')}`);
}

/** Path arguments and the JSON body's fields as one argument object; a field in both is a 400. */
export function mergeArguments(pathArgs: JsonObject, body: JsonValue | undefined): JsonObject {
  if (body === undefined) return pathArgs;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BridgeError('SCHEMA_VIOLATION', '/: the request body must be a JSON object');
  const both = Object.keys(pathArgs).filter((key) => Object.hasOwn(body, key));
  if (both.length > 0) throw new BridgeError('SCHEMA_VIOLATION', `/${both[0]}: given both in the path and in the body`);
  return { ...body, ...pathArgs };
}
