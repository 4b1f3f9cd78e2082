// The HTTP routes of a bridge's JSON facade: routes the bridge declares (`GET /v1/customers/{id}`
// -> `GetCustomer(customer_id)`), routes the codec reads from the service description (gRPC's
// google.api.http rules) and each operation's default route (e.g. `POST
// /soap/{service}/{operation}`). Compiled once; a request's method and path give the operation,
// and its path, query and JSON body give the arguments, each value typed by the operation's
// input schema. A template variable with dots fills a nested argument (`{book.id}`).
import { BridgeError } from './bridge-errors.js';
import type { BridgeOperation, JsonObject, JsonValue, LegacyCodec } from './codec.js';
import type { JsonSchema } from './json-schema.js';
import { compilePathTemplate, type PathTemplate } from './path-template.js';

export interface RouteDeclaration {
  readonly method: string;
  /** A path template (google.api.http grammar: `/v1/{name=shelves/*}`, `{book.id}`). */
  readonly path: string;
  readonly operation: string;
  /** Path variable -> argument path, where they differ (`id: customer_id`); dots nest. */
  readonly params?: Readonly<Record<string, string>>;
  /**
   * Where the JSON body goes: `*` (the default) the whole argument object, a field path that one
   * argument, `''` no body at all (google.api.http rules without `body`).
   */
  readonly body?: string;
  /** The field of the result the response carries (google.api.http's `response_body`). */
  readonly responseBody?: string;
  /** Whether query parameters set the arguments the path and body do not (gRPC rules); else they are ignored. */
  readonly query?: boolean;
}

export interface CompiledRoute {
  readonly method: string;
  /** The path template as declared. */
  readonly template: string;
  readonly path: PathTemplate;
  readonly operation: BridgeOperation;
  /** The argument path each template variable fills, in order. */
  readonly arguments: readonly (readonly string[])[];
  /** `*`, a field path, or undefined for a route that takes no body. */
  readonly body: '*' | readonly string[] | undefined;
  readonly responseBody: readonly string[] | undefined;
  readonly query: boolean;
  /** The codec's mapping of field names to JSON names (query parameters by proto name). */
  readonly jsonFieldName: ((name: string) => string) | undefined;
  /** Named schemas the operation's schemas refer to. */
  readonly schemas: ReadonlyMap<string, JsonSchema>;
}

export interface RouteMatch {
  readonly route: CompiledRoute;
  /** The arguments the path carries. */
  readonly pathArgs: JsonObject;
}

const REF_PREFIX = '#/components/schemas/';

/** A schema with its `$ref` followed. */
export function resolveSchema(schemas: ReadonlyMap<string, JsonSchema>, schema: JsonSchema | undefined): JsonSchema | undefined {
  const ref = schema?.$ref;
  return typeof ref === 'string' && ref.startsWith(REF_PREFIX) ? schemas.get(ref.slice(REF_PREFIX.length)) : schema;
}

/** The schema of the argument at `path` under `root`, or undefined when there is none. */
export function schemaAt(schemas: ReadonlyMap<string, JsonSchema>, root: JsonSchema, path: readonly string[]): JsonSchema | undefined {
  let schema: JsonSchema | undefined = root;
  for (const key of path) {
    const properties = resolveSchema(schemas, schema)?.properties as Record<string, JsonSchema> | undefined;
    schema = properties !== undefined && Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (schema === undefined) return undefined;
  }
  return schema;
}

/** Compiles the declared routes, the codec's and every operation's default route; throws listing every problem. */
export function compileRoutes(codec: LegacyCodec, declared: readonly RouteDeclaration[]): CompiledRoute[] {
  const problems: string[] = [];
  const routes: CompiledRoute[] = [];
  const add = (declaration: RouteDeclaration): void => {
    const where = `route ${declaration.method} ${declaration.path}`;
    const operation = codec.operations.get(declaration.operation);
    if (operation === undefined) {
      problems.push(`${where}: operation ${declaration.operation} is not in the legacy service`);
      return;
    }
    let path: PathTemplate;
    try {
      path = compilePathTemplate(declaration.path);
    } catch (error) {
      problems.push((error as Error).message);
      return;
    }
    const fieldPath = (text: string): string[] => text.split('.');
    const known = (argument: readonly string[], root = operation.input): boolean => schemaAt(codec.schemas, root, argument) !== undefined;
    const args = path.variables.map((variable) => fieldPath(declaration.params?.[variable.name] ?? variable.name));
    for (const argument of args) if (!known(argument)) problems.push(`${where}: ${declaration.operation} has no argument ${argument.join('.')}`);
    const body = declaration.body === undefined || declaration.body === '*' ? '*' : declaration.body === '' ? undefined : fieldPath(declaration.body);
    // A stream of arguments is the body's array, nothing else: no field of it can come from the path.
    if (operation.argumentStream === true && (body !== '*' || path.variables.length > 0)) {
      problems.push(`${where}: ${declaration.operation} takes a stream of messages, the whole body only (body "*", no path variables)`);
    }
    if (Array.isArray(body) && !known(body)) problems.push(`${where}: ${declaration.operation} has no argument ${declaration.body} for the body`);
    const responseBody = declaration.responseBody === undefined || declaration.responseBody === '' ? undefined : fieldPath(declaration.responseBody);
    if (responseBody !== undefined && !known(responseBody, operation.output)) problems.push(`${where}: the result of ${declaration.operation} has no field ${declaration.responseBody}`);
    const method = declaration.method.toUpperCase();
    if (routes.some((route) => route.method === method && route.template === declaration.path)) problems.push(`route ${method} ${declaration.path} is declared twice`);
    routes.push({ method, template: declaration.path, path, operation, arguments: args, body, responseBody, query: declaration.query === true, jsonFieldName: codec.jsonFieldName?.bind(codec), schemas: codec.schemas });
  };
  for (const declaration of declared) add(declaration);
  for (const declaration of codec.routes ?? []) add(declaration);
  for (const operation of codec.operations.values()) add({ ...operation.defaultRoute, operation: operation.name });
  if (problems.length > 0) throw new Error(problems.join('; '));
  return routes;
}

/** The route for `method` and `path` (without query), or a 404 `BridgeError`. */
export function matchRoute(routes: readonly CompiledRoute[], method: string, path: string): RouteMatch {
  for (const route of routes) {
    if (route.method !== method) continue;
    const values = route.path.match(path);
    if (values === undefined) continue;
    const pathArgs: JsonObject = {};
    values.forEach((value, index) => {
      const argument = route.arguments[index]!;
      setArgument(pathArgs, argument, typedValue(route, argument, value), 'path');
    });
    return { route, pathArgs };
  }
  throw new BridgeError('UNKNOWN_ROUTE', `no bridged operation for ${method} ${path}`);
}

/** A path or query value as the JSON type its argument takes. */
function typedValue(route: CompiledRoute, argument: readonly string[], text: string, schema = schemaAt(route.schemas, route.operation.input, argument) ?? {}): JsonValue {
  const resolved = resolveSchema(route.schemas, schema) ?? {};
  const types = ([] as unknown[]).concat(resolved.type ?? (resolved.anyOf as JsonSchema[] | undefined)?.[0]?.type ?? 'string');
  if (types.includes('string')) return text;
  if (types.includes('integer') && /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  if (types.includes('number') && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (types.includes('boolean') && (text === 'true' || text === 'false')) return text === 'true';
  throw new BridgeError('SCHEMA_VIOLATION', `/${argument.join('/')}: '${text}' is not a ${types.join(' or ')}`);
}

/** Sets the argument at `path`, making the objects on the way; one set twice is a 400. */
function setArgument(args: JsonObject, path: readonly string[], value: JsonValue, from: string): void {
  let target = args;
  for (const key of path.slice(0, -1)) {
    const next = target[key];
    if (next === undefined) target = target[key] = {};
    else if (typeof next === 'object' && next !== null && !Array.isArray(next)) target = next;
    else throw new BridgeError('SCHEMA_VIOLATION', `/${path.join('/')}: given both in the ${from} and in the body`);
  }
  const last = path[path.length - 1]!;
  if (Object.hasOwn(target, last)) throw new BridgeError('SCHEMA_VIOLATION', `/${path.join('/')}: given both in the ${from} and in the body`);
  target[last] = value;
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((key, index) => path[index] === key);
}

/**
 * The operation's arguments: the JSON body where the route puts it, the path's arguments into it,
 * then (routes with `query`) each query parameter (`a.b=1`, repeated for arrays) into a field the
 * path and body leave free. Every conflict, unknown parameter or misplaced body is a 400. For a
 * streaming-request operation, the body's array of argument objects.
 */
export function routeArguments(match: RouteMatch, query: URLSearchParams | undefined, body: JsonValue | undefined): JsonObject | JsonObject[] {
  const { route } = match;
  if (route.operation.argumentStream === true) {
    if (body !== undefined && (!Array.isArray(body) || body.some((one) => typeof one !== 'object' || one === null || Array.isArray(one)))) {
      throw new BridgeError('SCHEMA_VIOLATION', `/: ${route.operation.name} takes a stream of messages: the request body must be a JSON array of objects`);
    }
    const parameter = query?.keys().next();
    if (route.query && parameter !== undefined && parameter.done !== true) throw new BridgeError('SCHEMA_VIOLATION', `query parameter ${parameter.value}: ${route.operation.name} takes a stream of messages, from the body only`);
    return structuredClone((body ?? []) as JsonObject[]);
  }
  let args: JsonObject = {};
  if (route.body === '*') {
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw new BridgeError('SCHEMA_VIOLATION', '/: the request body must be a JSON object');
    args = structuredClone(body ?? {});
  } else if (route.body === undefined) {
    if (body !== undefined) throw new BridgeError('SCHEMA_VIOLATION', `/: ${route.method} ${route.template} takes no request body`);
  } else if (body !== undefined) {
    setArgument(args, route.body, structuredClone(body), 'body');
  }
  for (const argument of route.arguments) setArgument(args, argument, valueAt(match.pathArgs, argument), 'path');
  if (!route.query || query === undefined) return args;
  const seen = new Map<string, string>();
  for (const name of new Set(query.keys())) {
    const given = name.split('.');
    // A name as the service description spells it (a proto name) reaches the same field.
    const argument = schemaAt(route.schemas, route.operation.input, given) === undefined && route.jsonFieldName !== undefined ? given.map(route.jsonFieldName) : given;
    const schema = schemaAt(route.schemas, route.operation.input, argument);
    if (schema === undefined) throw new BridgeError('SCHEMA_VIOLATION', `query parameter ${name}: ${route.operation.name} has no such field`);
    const field = argument.join('.');
    if (seen.has(field)) throw new BridgeError('SCHEMA_VIOLATION', `query parameter ${name}: the field is given as ${seen.get(field)} too`);
    seen.set(field, name);
    if (route.body === '*' || (route.body !== undefined && startsWith(argument, route.body)) || route.arguments.some((bound) => startsWith(argument, bound) || startsWith(bound, argument))) {
      throw new BridgeError('SCHEMA_VIOLATION', `query parameter ${name}: the field is set by the path or the body`);
    }
    const values = query.getAll(name);
    const resolved = resolveSchema(route.schemas, schema) ?? {};
    if (resolved.type === 'array') {
      setArgument(args, argument, values.map((value) => typedValue(route, argument, value, resolved.items as JsonSchema)), 'query');
    } else {
      if (values.length > 1) throw new BridgeError('SCHEMA_VIOLATION', `query parameter ${name}: given ${values.length} times for a single field`);
      setArgument(args, argument, typedValue(route, argument, values[0]!), 'query');
    }
  }
  return args;
}

function valueAt(args: JsonObject, path: readonly string[]): JsonValue {
  let value: JsonValue = args;
  for (const key of path) value = (value as JsonObject)[key]!;
  return value;
}

/** The part of a result the route answers (`response_body`; of each one of a stream's), or the whole result. */
export function routeResult(route: CompiledRoute, result: JsonValue): JsonValue {
  const { responseBody } = route;
  if (responseBody === undefined) return result;
  const part = (one: JsonValue): JsonValue => {
    let value: JsonValue | undefined = one;
    for (const key of responseBody) value = typeof value === 'object' && value !== null && !Array.isArray(value) ? value[key] : undefined;
    return value ?? null;
  };
  return route.operation.resultStream === true && Array.isArray(result) ? result.map(part) : part(result);
}
