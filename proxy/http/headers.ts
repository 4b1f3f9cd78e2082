// Header hygiene between caller and upstream (RFC 9110 section 7.6.1): hop-by-hop headers and
// those a `Connection` header names are dropped in both directions (`Trailer` is end-to-end and
// stays, so trailers can follow); the forwarded-for chain,
// forwarded proto and a request id are added going upstream. Many apps (CGI, WSGI, Rack, PHP)
// read `x_forwarded_proto` and `x-forwarded-proto` as one variable, so a caller's header that
// differs from one the sidecar sets or frames with only by `_` for `-` is always dropped, and
// the other names with `_` follow `headersWithUnderscoresAction` (Envoy's). Headers travel as flat
// [name, value, name, value...] arrays with lower-case names, the form both Node's
// `rawHeaders` and undici use, so no per-request objects are built.
import type { HeadersWithUnderscoresAction } from '../config/types.js';

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'transfer-encoding',
  'upgrade',
  // The sidecar answers `Expect: 100-continue` itself before forwarding the body.
  'expect',
]);

// Headers that routing, authorization or framing depend on: a `Connection` header naming one of
// them makes the request malformed (400) rather than having it dropped behind a decision's back.
// Other names a `Connection` header lists are removed before the filter chain, so policies and
// upstream alike see them absent.
const decisionHeaders = new Set([
  'host',
  'authorization',
  'cookie',
  'content-type',
  'content-length',
  'x-forwarded-client-cert',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-request-id',
  'x-envoy-original-path',
]);

/** Headers the sidecar sets, frames with or vouches for: a caller may not smuggle a look-alike. */
const sidecarOwned = new Set([
  ...hopByHop,
  'host',
  'content-length',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-client-cert',
  'x-request-id',
]);

/** Adds the names one Connection header value lists (lower-cased) to `named`; returns it. */
function addConnectionNamed(value: string, named: Set<string> | undefined): Set<string> | undefined {
  // The usual value names nothing to remove (every keep-alive response has it): no split.
  if (value.length === 10 && value.toLowerCase() === 'keep-alive') return named;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade') {
      (named ??= new Set()).add(name);
    }
  }
  return named;
}

/** Names listed in Connection header values (lower-cased), or undefined when there are none. */
function connectionNamed(raw: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') named = addConnectionNamed(raw[i + 1]!, named);
  }
  return named;
}

export interface ForwardedRequestHeaders {
  /** The headers to send upstream. */
  readonly headers: string[];
  /** The caller's Host header value, if any. */
  readonly host: string | undefined;
  readonly requestId: string;
  /** Whether a body follows the headers (Content-Length above 0 or Transfer-Encoding). */
  readonly hasBody: boolean;
  /** Why the head is refused (400): Hosts that disagree, a `Connection` naming a decision header. */
  readonly malformed: string | undefined;
}

/**
 * Builds the upstream request headers from the caller's raw headers: hop-by-hop removed,
 * `x-forwarded-for` appended, `x-forwarded-proto` set to the caller's hop (a caller's value is
 * dropped), `x-request-id` kept or created, names with `_` handled by `underscores`.
 * `traceparent`/`tracestate` pass as they are.
 */
export function forwardRequestHeaders(
  raw: readonly string[],
  clientAddress: string,
  proto: string,
  newRequestId: () => string,
  underscores: HeadersWithUnderscoresAction,
): ForwardedRequestHeaders {
  const named = connectionNamed(raw);
  let malformed: string | undefined;
  if (named !== undefined) {
    for (const name of named) if (decisionHeaders.has(name) || name[0] === ':') malformed = `connection header names ${name}`;
  }
  const headers: string[] = [];
  let host: string | undefined;
  let forwardedFor: string | undefined;
  let requestId: string | undefined;
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name === 'transfer-encoding' || (name === 'content-length' && value !== '0')) hasBody = true;
    if (hopByHop.has(name) || named?.has(name) === true) continue;
    if (name.includes('_')) {
      if (underscores === 'REJECT_REQUEST') malformed ??= `header name with an underscore: ${name}`;
      if (underscores !== 'ALLOW' || sidecarOwned.has(name.replaceAll('_', '-'))) continue;
    }
    switch (name) {
      case ':authority':
      case 'host':
        // Two Host lines, or an HTTP/2 `:authority` and a `host` that differ: which one is meant?
        if (host !== undefined && host.toLowerCase() !== value.toLowerCase()) malformed = 'host and authority disagree';
        host ??= value;
        break;
      case 'x-envoy-original-path':
        // Only the sidecar sets it (pathNormalization.forwardOriginalPath).
        break;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        break;
      case 'x-forwarded-proto':
        // The sidecar knows how the caller reached it; what the caller claims is not kept.
        break;
      case 'x-request-id':
        // A repeated id is ambiguous: keep the first.
        if (requestId === undefined && value !== '') {
          requestId = value;
          headers.push(name, value);
        }
        break;
      default:
        // HTTP/2 pseudo-headers: the exchange carries method and path, the dispatcher rebuilds them.
        if (name[0] !== ':') headers.push(name, value);
    }
  }
  headers.push(
    'x-forwarded-for',
    forwardedFor === undefined ? clientAddress : `${forwardedFor}, ${clientAddress}`,
    'x-forwarded-proto',
    proto,
  );
  if (requestId === undefined) {
    requestId = newRequestId();
    headers.push('x-request-id', requestId);
  }
  return { headers, host, requestId, hasBody, malformed };
}

/** Headers as an object (undici's handler API, node:http2); `:status` is node:http2's number. */
export type HeaderObject = { readonly [name: string]: string | readonly string[] | number | undefined };

/**
 * A header object as undici's handler API and node:http2 give it (lower-case names, a repeated
 * name's values in an array, each in the order received) as a flat list; HTTP/2 pseudo-headers
 * are left out, and names `dropped` says. Only the order between different names is not kept,
 * which HTTP gives no meaning.
 */
export function flatHeaders(headers: HeaderObject, dropped?: (name: string) => boolean): string[] {
  const flat: string[] = [];
  for (const name of Object.keys(headers)) {
    if (name[0] === ':' || dropped?.(name) === true) continue;
    const value = headers[name];
    if (typeof value === 'string') flat.push(name, value);
    else if (Array.isArray(value)) for (const one of value as readonly string[]) flat.push(name, one);
  }
  return flat;
}

/**
 * The upstream's response headers as a flat list, minus hop-by-hop ones and those a Connection
 * header names (one pass over the object: this runs for every response).
 */
export function forwardResponseHeaders(received: HeaderObject): string[] {
  const connection = received.connection;
  let named: Set<string> | undefined;
  if (typeof connection === 'string') named = addConnectionNamed(connection, named);
  else if (Array.isArray(connection)) for (const value of connection as readonly string[]) named = addConnectionNamed(value, named);
  return flatHeaders(received, (name) => hopByHop.has(name) || named?.has(name) === true);
}

/** The first value of `name` (lower-case) in a flat list, or undefined. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

/** Replaces every value of `name` (lower-case) with one value. */
export function setHeader(headers: string[], name: string, value: string): void {
  removeHeader(headers, name);
  headers.push(name, value);
}

export function removeHeader(headers: string[], name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i] === name) headers.splice(i, 2);
}

/** A flat list of names and values (strings or latin1 Buffers) as strings, names lower-cased. */
export function lowerCaseNames(raw: readonly (string | Buffer)[]): string[] {
  const flat = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const item = raw[i]!;
    const text = typeof item === 'string' ? item : item.toString('latin1');
    flat[i] = i % 2 === 0 ? text.toLowerCase() : text;
  }
  return flat;
}
