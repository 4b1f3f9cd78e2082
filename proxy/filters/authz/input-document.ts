// The input document a policy sees, shaped as the OPA-Envoy plugin's (so its policies work
// unchanged), plus `input.weft`. Built once per request from what the exchange already holds;
// the Rego engine reads it lazily, so fields a policy never touches cost only their building.
import type { Labels } from '../../../control-plane/api/resource-types.js';
import type { FilterExchange } from '../http-filter.js';

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

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Path segments, URL-decoded, as OPA-Envoy's `parsed_path` (the leading slash gives no segment). */
export function parsedPath(pathOnly: string): string[] {
  const segments = pathOnly.split('/');
  if (segments[0] === '') segments.shift();
  return segments.map(decodeSegment);
}

export function parsedQuery(query: string): Record<string, string[]> {
  const result: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  if (query === '') return result;
  for (const [name, value] of new URLSearchParams(query)) (result[name] ??= []).push(value);
  return result;
}

export interface AssetRef {
  readonly name: string;
  readonly labels: Labels;
}

export function buildInput(exchange: FilterExchange, context: InputContext, asset: AssetRef | undefined): Record<string, unknown> {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  const flat = exchange.requestHeaders;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    const previous = headers[name];
    headers[name] = previous === undefined ? flat[i + 1]! : `${previous}, ${flat[i + 1]!}`;
  }
  const path = exchange.path;
  headers[':authority'] = exchange.authority;
  headers[':method'] = exchange.method;
  headers[':path'] = path;
  headers[':scheme'] = exchange.scheme;
  const queryAt = path.indexOf('?');
  const pathOnly = queryAt === -1 ? path : path.slice(0, queryAt);
  const length = headers['content-length'];
  const size = length !== undefined ? Number(length) : headers['transfer-encoding'] !== undefined ? -1 : 0;
  const grpc = grpcMethod(headers['content-type'], pathOnly);
  const endUser = exchange.endUser;
  return {
    attributes: {
      source: {
        address: { socketAddress: { address: exchange.sourceAddress, portValue: exchange.sourcePort } },
        principal: exchange.sourcePrincipal ?? '',
      },
      destination: { principal: context.destinationPrincipal ?? '' },
      request: {
        http: {
          id: exchange.requestId,
          method: exchange.method,
          path,
          host: exchange.authority,
          scheme: exchange.scheme,
          protocol: exchange.protocol,
          headers,
          size,
        },
      },
    },
    parsed_path: parsedPath(pathOnly),
    parsed_query: parsedQuery(queryAt === -1 ? '' : path.slice(queryAt + 1)),
    version,
    weft: {
      asset: asset === undefined ? null : { name: asset.name, labels: asset.labels },
      workload: context.workload,
      grpc: grpc ?? null,
      jwt: endUser === undefined ? null : { issuer: endUser.issuer, claims: endUser.claims },
    },
  };
}
