// The one interface every HTTP filter implements, and what a filter sees of a request. Filters
// run in the order the listener's config lists them; the router is last. A filter returns
// CONTINUE or a local reply, synchronously on the hot path; a filter that must wait (e.g. a JWKS
// fetch) may return a promise, and the chain resumes when it settles.
import type { ErrorCode } from '../errors.js';
import type { LocalReplyOverrides } from '../local-reply.js';
import type { SidecarMetrics } from '../telemetry/metrics.js';
import type { RequestStats } from '../telemetry/metrics.js';
import type { Cluster } from '../upstream/cluster.js';
import type { BufferedBody } from '../http/request-body.js';

export const CONTINUE = undefined;

/** Stop the chain and answer the caller from the sidecar. */
export interface LocalReplyOutcome {
  readonly code: ErrorCode;
  /** Overrides the catalogue's message for this reply. */
  readonly detail?: string;
  /** Status, extra headers or body set by the filter's decision (e.g. a policy's denial object). */
  readonly overrides?: LocalReplyOverrides;
}

/** An end user whose token a filter verified (RequestAuthentication). */
export interface EndUser {
  readonly issuer: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

export type FilterOutcome = typeof CONTINUE | LocalReplyOutcome;

/** Where a routed request goes and whose metrics it counts in. */
export interface Route {
  readonly cluster: Cluster;
  readonly stats: RequestStats;
}

/** A request as filters see it. Header names are lower-case. */
export interface FilterExchange {
  readonly direction: 'inbound' | 'outbound';
  readonly method: string;
  /** Request target path with query. */
  readonly path: string;
  /** Host the request is for, lower-case, without port. */
  readonly authority: string;
  readonly requestId: string;
  /** Headers to be sent upstream, flat [name, value, ...]; filters may edit them. */
  readonly requestHeaders: string[];
  /** Inbound: the caller's SPIFFE ID when it came over mutual TLS, else undefined. */
  readonly sourcePrincipal: string | undefined;
  /** The caller's address and port on this hop. */
  readonly sourceAddress: string;
  readonly sourcePort: number;
  /** `http` or `https` on this hop, and the protocol (`HTTP/1.1`, `HTTP/2`). */
  readonly scheme: string;
  readonly protocol: string;
  /** Whether a body follows the headers (of a length the headers may not say). */
  readonly hasBody: boolean;
  /** Set by the JWT filter once a token verified. */
  endUser: EndUser | undefined;
  /** Set by the router. */
  route: Route | undefined;
  /** Upstream response, once its headers arrived (for onResponseHeaders). */
  readonly responseStatus: number;
  readonly responseHeaders: string[] | undefined;
  /**
   * Reads the request body ahead, once, before the router: the whole body, or more than
   * `maxBytes` of it when it is longer. Upstream gets the body unchanged all the same. Bounded by
   * the listener's request timeout: past it the exchange answers 408 and the promise rejects.
   */
  readBody(maxBytes: number): Promise<BufferedBody>;
}

export interface HttpFilter {
  onRequestHeaders(exchange: FilterExchange): FilterOutcome | Promise<FilterOutcome>;
  /** Sees (and may edit) the upstream's response headers before the caller does. */
  onResponseHeaders?(exchange: FilterExchange): void;
}

/** What a filter may use when it is built for a listener. */
export interface FilterBuildContext {
  readonly direction: 'inbound' | 'outbound';
  /** Routes by host (lower-case, no port). */
  readonly routesByHost: ReadonlyMap<string, Route>;
  /** Route for requests whose host matches no entry (inbound: the local app). */
  readonly defaultRoute: Route | undefined;
  readonly workload: string;
  readonly namespace: string;
  /** This sidecar's SPIFFE ID when it has a mesh identity. */
  readonly localPrincipal: string | undefined;
  readonly metrics: SidecarMetrics;
  /** Where filters write their own JSON log lines (the access log's stream). */
  readonly logOut: NodeJS.WritableStream;
}

export interface HttpFilterFactory {
  readonly name: string;
  /** JSON Schema of this filter's `config`, checked when the sidecar config is loaded. */
  readonly configSchema: object;
  /** Must be the last filter of a chain (it decides where the request goes). */
  readonly terminal: boolean;
  create(config: Readonly<Record<string, unknown>>, context: FilterBuildContext): HttpFilter;
}
