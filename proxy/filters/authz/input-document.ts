// The input document a policy sees, shaped as the OPA-Envoy plugin's (so its policies work
// unchanged), plus `input.weft`. Built once per request from what the exchange already holds;
// the Rego engine reads it lazily, so fields a policy never touches cost only their building.
import type { Labels } from '../../../control-plane/api/resource-types.js';
import type { FilterExchange } from '../http-filter.js';
import { headerValue } from '../../http/headers.js';
import { inferenceInputOf, inferenceInputOfBody } from '../inference/inference-routing.js';
import type { BodyInput } from './body-input.js';

export interface InputContext {
  readonly destinationPrincipal: string | undefined;
  readonly workload: { readonly name: string; readonly namespace: string; readonly labels: Labels };
}

const version = Object.freeze({ encoding: 'protojson', ext_authz: 'v3' });

/** `{service, method}` of a gRPC request (`/pkg.Service/Method`), else undefined. */
export function grpcMethod(contentType: string | undefined, path: string): { service: string; method: string } | undefined {
  if (contentType === undefined || !contentType.startsWith('application/grpc')) return undefined;
  const slash = path.indexOf('/', 1);
  if (path[0] !== '/' || slash < 2 || slash === path.length - 1 || path.indexOf('/', slash + 1) !== -1) return undefined;
  return { service: path.slice(1, slash), method: path.slice(slash + 1) };
}

// Decoding only what is encoded: most paths and queries have nothing to decode.
function decode(text: string, plusIsSpace: boolean): string {
  const plain = plusIsSpace && text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!plain.includes('%')) return plain;
  try {
    return decodeURIComponent(plain);
  } catch {
    return plain;
  }
}

/** Path segments, URL-decoded, as OPA-Envoy's `parsed_path` (the leading slash gives no segment). */
export function parsedPath(pathOnly: string): string[] {
  const segments = pathOnly.split('/');
  if (segments[0] === '') segments.shift();
  for (let i = 0; i < segments.length; i++) segments[i] = decode(segments[i]!, false);
  return segments;
}

/** Query parameters as name -> list of values (form decoding, as URLSearchParams). */
export function parsedQuery(query: string): Record<string, string[]> {
  const result: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  if (query === '') return result;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq === -1 ? pair : pair.slice(0, eq), true);
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1), true);
    (result[name] ??= []).push(value);
  }
  return result;
}

export interface AssetRef {
  readonly name: string;
  readonly labels: Labels;
}

function headerObject(exchange: FilterExchange): Record<string, string> {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  const flat = exchange.requestHeaders;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    const previous = headers[name];
    headers[name] = previous === undefined ? flat[i + 1]! : `${previous}, ${flat[i + 1]!}`;
  }
  headers[':authority'] = exchange.authority;
  headers[':method'] = exchange.method;
  headers[':path'] = exchange.path;
  headers[':scheme'] = exchange.scheme;
  return headers;
}

/**
 * The input for one request. `headers`, `parsed_path` and `parsed_query` (and `parsed_body`)
 * are functions the engine calls when a policy first reads them (lazy input members), so a policy
 * that never looks at them does not pay for them. Not getters: an object literal with accessors
 * is built on V8's slow path, about 4 us a request.
 * `body` is given for an asset that buffers request bodies.
 */
export function buildInput(exchange: FilterExchange, context: InputContext, asset: AssetRef | undefined, body?: BodyInput): Record<string, unknown> {
  const path = exchange.path;
  const queryAt = path.indexOf('?');
  const pathOnly = queryAt === -1 ? path : path.slice(0, queryAt);
  const flat = exchange.requestHeaders;
  const length = headerValue(flat, 'content-length');
  // As Envoy gives it: the declared length, -1 for a body of unknown length, 0 for none.
  const size = length !== undefined ? Number(length) : exchange.hasBody ? -1 : 0;
  const grpc = grpcMethod(headerValue(flat, 'content-type'), pathOnly);
  const endUser = exchange.endUser;
  let headers: Record<string, string> | undefined;
  let segments: string[] | undefined;
  let query: Record<string, string[]> | undefined;
  const http: Record<string, unknown> = {
    id: exchange.requestId,
    method: exchange.method,
    path,
    host: exchange.authority,
    scheme: exchange.scheme,
    protocol: exchange.protocol,
    headers: () => (headers ??= headerObject(exchange)),
    size,
  };
  const input: Record<string, unknown> = {
    attributes: {
      source: {
        address: { socketAddress: { address: exchange.sourceAddress, portValue: exchange.sourcePort } },
        principal: exchange.sourcePrincipal ?? '',
      },
      destination: { principal: context.destinationPrincipal ?? '' },
      request: { http },
    },
    parsed_path: () => (segments ??= parsedPath(pathOnly)),
    parsed_query: () => (query ??= parsedQuery(queryAt === -1 ? '' : path.slice(queryAt + 1))),
    version,
    weft: {
      asset: asset === undefined ? null : { name: asset.name, labels: asset.labels },
      workload: context.workload,
      grpc: grpc ?? null,
      jwt: endUser === undefined ? null : { issuer: endUser.issuer, claims: endUser.claims },
      // Set by a legacy bridge before this filter: protocol, operation and the JSON arguments.
      bridge: exchange.metadata?.bridge ?? null,
      // Read from the body where no inference filter ran before (a model server's own sidecar).
      inference: inferenceInputOf(exchange.metadata) ?? (body === undefined ? null : () => inferenceInputOfBody(exchange.method, path, exchange.sourcePrincipal, body.parsed)),
    },
  };
  if (body !== undefined) {
    http.body = body.text;
    input.parsed_body = body.parsed;
    input.truncated_body = body.truncated;
  }
  return input;
}
