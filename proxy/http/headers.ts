// Header hygiene between caller and upstream (RFC 9110 section 7.6.1): hop-by-hop headers and
// those a `Connection` header names are dropped in both directions (`Trailer` is end-to-end and
// stays, so trailers can follow); the forwarded-for chain,
// forwarded proto and a request id are added going upstream. Headers travel as flat
// [name, value, name, value...] arrays with lower-case names, the form both Node's
// `rawHeaders` and undici use, so no per-request objects are built.

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

/** Names listed in Connection header values (lower-cased), or undefined when there are none. */
function connectionNamed(raw: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade') {
        (named ??= new Set()).add(name);
      }
    }
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
}

/**
 * Builds the upstream request headers from the caller's raw headers: hop-by-hop removed,
 * `x-forwarded-for` and `x-forwarded-proto` appended, `x-request-id` kept or created.
 * `traceparent`/`tracestate` pass as they are.
 */
export function forwardRequestHeaders(
  raw: readonly string[],
  clientAddress: string,
  proto: string,
  newRequestId: () => string,
): ForwardedRequestHeaders {
  const named = connectionNamed(raw);
  const headers: string[] = [];
  let host: string | undefined;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let requestId: string | undefined;
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name === 'transfer-encoding' || (name === 'content-length' && value !== '0')) hasBody = true;
    if (hopByHop.has(name) || named?.has(name) === true) continue;
    switch (name) {
      case ':authority':
      case 'host':
        host = value;
        break;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        break;
      case 'x-forwarded-proto':
        forwardedProto = forwardedProto === undefined ? value : `${forwardedProto}, ${value}`;
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
    forwardedProto === undefined ? proto : `${forwardedProto}, ${proto}`,
  );
  if (requestId === undefined) {
    requestId = newRequestId();
    headers.push('x-request-id', requestId);
  }
  return { headers, host, requestId, hasBody };
}

/**
 * The upstream's response headers (undici gives latin1 Buffers, node:http2 strings) minus
 * hop-by-hop ones.
 */
export function forwardResponseHeaders(raw: readonly (Buffer | string)[]): string[] {
  const strings: string[] = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const item = raw[i]!;
    strings[i] = typeof item === 'string' ? item : item.toString('latin1');
  }
  const named = connectionNamed(strings);
  const headers: string[] = [];
  for (let i = 0; i < strings.length; i += 2) {
    const name = strings[i]!.toLowerCase();
    if (hopByHop.has(name) || named?.has(name) === true) continue;
    headers.push(name, strings[i + 1]!);
  }
  return headers;
}

/** Replaces every value of `name` (lower-case) with one value. */
export function setHeader(headers: string[], name: string, value: string): void {
  removeHeader(headers, name);
  headers.push(name, value);
}

export function removeHeader(headers: string[], name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i] === name) headers.splice(i, 2);
}

/** The first value of `name` (lower-case) in a flat list, or undefined. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
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
