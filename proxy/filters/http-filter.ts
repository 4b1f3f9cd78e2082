// The one interface every HTTP filter implements, and what a filter sees of a request: Envoy's
// HTTP filter hooks, run by one chain runner (filter-chain.ts) for ordinary requests and upgrade
// tunnels alike.
//
// Request (decode) side, filters in config order, the router last:
//   decodeHeaders  may rewrite method, path, authority and request headers; may answer locally;
//                  may ask for the request body, streamed (BodyWatch 'stream') or whole up to a
//                  cap (BodyWatch 'buffer'). A buffering filter holds the chain: the filters after
//                  it and the upstream see nothing until its decodeData saw the body.
//   decodeData     only for a filter that asked: each chunk in order ('stream', `end` on the last
//                  call) or the whole body once ('buffer'). Assign `data.bytes` to rewrite it.
//                  While a streamed hook's promise is pending, the caller's body is not read
//                  (backpressure). A request without a body gets one call with no bytes, `end` set.
//   decodeTrailers request trailers, for every filter that has the hook; may edit or refuse.
// Response (encode) side, filters in reverse config order (the one nearest the upstream first):
//   encodeHeaders  may rewrite `responseStatus` and `responseHeaders`; may answer locally instead;
//                  may be async (the upstream's body waits); may ask for the response body.
//   encodeData     as decodeData, for the response body; a buffering hook also sees the trailers.
//   encodeTrailers response trailers (a gRPC call's status), for every filter that has the hook.
//
// Every hook returns CONTINUE or a local reply, synchronously on the hot path or as a promise the
// chain waits on. A hook that throws or rejects refuses the request (FILTER_FAILURE: authorization
// fails closed). A local reply after the response head went out ends a gRPC call with its status
// in the trailers and cuts any other response, unless an onLocalReply hook gave the bytes that end
// it cleanly (`streamEnd`, e.g. an event stream's error event). Hooks a filter does not define cost nothing, and a
// request no filter asks the body of is forwarded as a stream with no per-chunk work.
import type { MtlsMode } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import type { LocalReplyOverrides } from '../local-reply.js';
import type { LineSink } from '../telemetry/log-lines.js';
import type { SidecarMetrics } from '../telemetry/metrics.js';
import type { RequestStats } from '../telemetry/metrics.js';
import type { Cluster } from '../upstream/cluster.js';
import type { Snapshot } from '../xds/snapshot.js';

export const CONTINUE = undefined;

/** Stop the chain and answer the caller from the sidecar. */
export interface LocalReplyOutcome {
  readonly code: ErrorCode;
  /** Overrides the catalogue's message for this reply. */
  readonly detail?: string;
  /** Status, extra headers or body set by the filter's decision (e.g. a policy's denial object). */
  readonly overrides?: LocalReplyOverrides;
  /**
   * After the response head went out (not gRPC): the bytes that end the response cleanly instead
   * of cutting it, e.g. an event stream's error event (set by an onLocalReply hook).
   */
  readonly streamEnd?: Buffer;
}

/** What a headers hook returns to have the body of the request (or response) passed to it. */
export interface BodyWatch {
  /**
   * `stream`: decodeData/encodeData per chunk as it passes. `buffer`: once with the whole body,
   * the headers held back (from the upstream on the request side, the caller on the response
   * side) until the hook returned, so that it may still rewrite them or answer locally.
   */
  readonly watch: 'stream' | 'buffer';
  /** `buffer`: the most bytes held. A longer body is answered 413 (request) or 502 (response)... */
  readonly maxBytes?: number;
  /** ...unless `partial`: then the hook gets the first bytes read (more than `maxBytes`) with `end` false, and the rest follows unread. */
  readonly partial?: boolean;
  /**
   * The hook may change the body's length: the runner drops `content-length` (HTTP/1.1 then sends
   * it chunked). Needless for a complete buffered body, whose length the runner sets.
   */
  readonly changesLength?: boolean;
}

/** Stream the body through this filter's data hook, its length unchanged. */
export const STREAM_BODY: BodyWatch = Object.freeze({ watch: 'stream' });
/** Stream the body through this filter's data hook, which may change its length. */
export const TRANSFORM_BODY: BodyWatch = Object.freeze({ watch: 'stream', changesLength: true });

/** Hold the body back and pass it whole (up to `maxBytes`) to this filter's data hook. */
export function bufferBody(maxBytes: number, partial = false): BodyWatch {
  return { watch: 'buffer', maxBytes, partial };
}

/** A piece of a body as a data hook sees it; the hook rewrites the body by assigning `bytes`. */
export interface BodyData {
  bytes: Buffer;
  /** The last piece: the rest of the body is this, or nothing. */
  readonly end: boolean;
  /**
   * A response body held whole (`buffer`): the response's trailers (flat, lower-case names; a
   * gRPC call's status), read before the head goes out; the hook may edit them in place.
   */
  readonly trailers?: string[];
}

/** An end user whose token a filter verified (RequestAuthentication). */
export interface EndUser {
  readonly issuer: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

export type FilterOutcome = typeof CONTINUE | LocalReplyOutcome;
export type HeadersOutcome = FilterOutcome | BodyWatch;

/** Where a routed request goes and whose metrics it counts in. */
export interface Route {
  readonly cluster: Cluster;
  readonly stats: RequestStats;
}

/** A request as filters see it. Header names are lower-case. */
export interface FilterExchange {
  readonly direction: 'inbound' | 'outbound';
  /** What the upstream receives: a decodeHeaders hook may rewrite method, path and authority. */
  method: string;
  /** Request target path with query. */
  path: string;
  /** Host the request is for, lower-case, without port; rewriting it sets the upstream's `host`. */
  authority: string;
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
  /**
   * What filters attach for the filters after them, the balancer and the logs (Envoy's dynamic
   * metadata), e.g. a summary of a parsed body. Undefined until a filter sets one.
   */
  metadata: Record<string, unknown> | undefined;
  /** Set by the router. */
  route: Route | undefined;
  /** The upstream's response once its headers arrived; encodeHeaders hooks may rewrite both. */
  responseStatus: number;
  responseHeaders: string[] | undefined;
}

/** One filter in one listener's chain; every hook is optional (see the top of this file). */
export interface HttpFilter {
  decodeHeaders?(exchange: FilterExchange): HeadersOutcome | Promise<HeadersOutcome>;
  decodeData?(exchange: FilterExchange, data: BodyData): FilterOutcome | Promise<FilterOutcome>;
  /** `trailers` is flat [name, value, ...], lower-case names; the hook may edit it. */
  decodeTrailers?(exchange: FilterExchange, trailers: string[]): FilterOutcome | Promise<FilterOutcome>;
  encodeHeaders?(exchange: FilterExchange): HeadersOutcome | Promise<HeadersOutcome>;
  encodeData?(exchange: FilterExchange, data: BodyData): FilterOutcome | Promise<FilterOutcome>;
  encodeTrailers?(exchange: FilterExchange, trailers: string[]): FilterOutcome | Promise<FilterOutcome>;
  /**
   * A local reply (the router's, e.g. an upstream connect failure, or a filter's) is about to be
   * sent: the filter may return it reshaped, e.g. in its own body shape (Envoy's local_reply_config).
   * Synchronous; filters in encode order. Keep the code, so response flags and metrics stay true.
   */
  onLocalReply?(exchange: FilterExchange, outcome: LocalReplyOutcome): LocalReplyOutcome | undefined;
  /** The request is over (answered, refused, failed, or the caller went away), once per request: release what it held. */
  onEnd?(exchange: FilterExchange): void;
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
  readonly logOut: LineSink;
}

export interface HttpFilterFactory {
  readonly name: string;
  /** JSON Schema of this filter's `config`, checked when the sidecar config is loaded. */
  readonly configSchema: object;
  /** Must be the last filter of a chain (it decides where the request goes). */
  readonly terminal: boolean;
  create(config: Readonly<Record<string, unknown>>, context: FilterBuildContext): HttpFilter;
  /**
   * This filter's config in the inbound chain of a sidecar the control plane runs, translated
   * from its snapshot (the resource kinds this filter reads); undefined leaves it out of the
   * chain. Kept light: it runs before a lazily registered filter's code is loaded.
   */
  fromSnapshot?(snapshot: Snapshot, inbound: InboundListenerFacts): Readonly<Record<string, unknown>> | undefined;
}

/** What a snapshot's inbound listener runs, decided once for every filter's translation. */
export interface InboundListenerFacts {
  /** The inbound mTLS mode, with the listener's precedence (workload over namespace over mesh, the app's port over the whole). */
  readonly mtls: MtlsMode;
  /** The app's port on 127.0.0.1, behind the inbound listener. */
  readonly appPort: number;
}
