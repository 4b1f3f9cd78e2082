// The sidecar's own error catalogue: every reply the sidecar makes itself, instead of the
// upstream, has one stable code here. `local-reply.ts` is the only place that turns a code into
// a response; metrics and the access log carry the response flag (Envoy's letters, so existing
// dashboards and runbooks read them the same way). The entry shape is every weft catalogue's
// (control-plane/api/error-catalogue.ts).
import { GRPC_STATUS, type ErrorEntry } from '../control-plane/api/error-catalogue.js';

/** The shape every weft catalogue has, with the response flag of a sidecar's own reply. */
export interface LocalReplyEntry extends ErrorEntry {
  /** Envoy-style response flag. */
  readonly responseFlag: string;
}

const { CANCELLED, DEADLINE_EXCEEDED, INTERNAL, PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNAUTHENTICATED, UNAVAILABLE, UNIMPLEMENTED } = GRPC_STATUS;

export const errorCatalogue = {
  NO_ROUTE: {
    httpStatus: 404,
    grpcStatus: UNIMPLEMENTED,
    responseFlag: 'NR',
    message: 'no route matches this request',
  },
  NO_HEALTHY_UPSTREAM: {
    httpStatus: 503,
    grpcStatus: UNAVAILABLE,
    responseFlag: 'UH',
    message: 'no healthy upstream endpoint',
  },
  UPSTREAM_OVERFLOW: {
    httpStatus: 503,
    grpcStatus: UNAVAILABLE,
    responseFlag: 'UO',
    message: 'upstream cluster overloaded: too many requests in flight',
  },
  UPSTREAM_CONNECT_FAILURE: {
    httpStatus: 502,
    grpcStatus: UNAVAILABLE,
    responseFlag: 'UF',
    message: 'could not connect to the upstream',
  },
  UPSTREAM_CONNECTION_TERMINATION: {
    httpStatus: 502,
    grpcStatus: UNAVAILABLE,
    responseFlag: 'UC',
    message: 'upstream closed the connection before responding',
  },
  UPSTREAM_PROTOCOL_ERROR: {
    httpStatus: 502,
    grpcStatus: INTERNAL,
    responseFlag: 'UPE',
    message: 'upstream sent an invalid response',
  },
  UPSTREAM_REQUEST_TIMEOUT: {
    httpStatus: 504,
    grpcStatus: DEADLINE_EXCEEDED,
    responseFlag: 'UT',
    message: 'upstream did not respond in time',
  },
  FILTER_FAILURE: {
    // A filter threw or its promise rejected: the request is refused (fail closed).
    httpStatus: 500,
    grpcStatus: INTERNAL,
    responseFlag: 'FF',
    message: 'a filter failed on this request',
  },
  DOWNSTREAM_PROTOCOL_ERROR: {
    httpStatus: 400,
    grpcStatus: INTERNAL,
    responseFlag: 'DPE',
    message: 'malformed request',
  },
  ESCAPED_SLASHES_REDIRECT: {
    // pathNormalization.escapedSlashesAction UNESCAPE_AND_REDIRECT: the caller is sent to the
    // path with `%2F`/`%5C` unescaped (`location`); gRPC calls and upgrades are forwarded instead.
    httpStatus: 307,
    grpcStatus: INTERNAL,
    responseFlag: '-',
    message: 'the path has escaped slashes: follow the location',
  },
  UPGRADE_REFUSED: {
    // An Upgrade the sidecar does not tunnel: h2c, a protocol not in `upgrades.protocols`, or
    // more than one protocol. Nothing is forwarded.
    httpStatus: 403,
    grpcStatus: UNIMPLEMENTED,
    responseFlag: 'DPE',
    message: 'upgrade not allowed',
  },
  REQUEST_HEADERS_TOO_LARGE: {
    httpStatus: 431,
    grpcStatus: RESOURCE_EXHAUSTED,
    responseFlag: 'DPE',
    message: 'request headers too large',
  },
  REQUEST_BODY_TOO_LARGE: {
    // The body of an asset that buffers it is past the asset's cap and partial bodies are off.
    httpStatus: 413,
    grpcStatus: RESOURCE_EXHAUSTED,
    responseFlag: 'DPE',
    message: 'request body too large',
  },
  RESPONSE_BODY_TOO_LARGE: {
    // A filter that buffers the response body got more than its cap.
    httpStatus: 502,
    grpcStatus: INTERNAL,
    responseFlag: 'UPE',
    message: 'upstream response body too large for a filter',
  },
  DOWNSTREAM_REQUEST_TIMEOUT: {
    httpStatus: 408,
    grpcStatus: DEADLINE_EXCEEDED,
    responseFlag: 'DT',
    message: 'request not received in time',
  },
  STREAM_IDLE_TIMEOUT: {
    // An HTTP/2 stream with no frames either way for the idle timeout (Envoy's stream_idle_timeout).
    httpStatus: 408,
    grpcStatus: DEADLINE_EXCEEDED,
    responseFlag: 'SI',
    message: 'stream idle timeout',
  },
  DOWNSTREAM_CONNECTION_TERMINATION: {
    // Logged and counted only: the caller is gone, so nothing is sent. 499 as nginx logs it.
    httpStatus: 499,
    grpcStatus: CANCELLED,
    responseFlag: 'DC',
    message: 'the caller closed the connection',
  },
  AUTHZ_DENIED: {
    // A policy of the asset denied the request (Envoy's ext_authz flag).
    httpStatus: 403,
    grpcStatus: PERMISSION_DENIED,
    responseFlag: 'UAEX',
    message: 'access denied',
  },
  AUTHZ_UNAUTHENTICATED: {
    // A policy denied with http_status 401: the caller must authenticate.
    httpStatus: 401,
    grpcStatus: UNAUTHENTICATED,
    responseFlag: 'UAEX',
    message: 'authentication required',
  },
  AUTHZ_ERROR: {
    // Evaluation failed, ran past its budget, or no policy set to decide with: denied (fail closed).
    httpStatus: 403,
    grpcStatus: PERMISSION_DENIED,
    responseFlag: 'UAEF',
    message: 'access denied: the authorization decision failed',
  },
  AUTHZ_BODY_UNREADABLE: {
    // A policy read a request body the sidecar cannot read as the app will (its content type,
    // charset, encoding, truncation), or a gRPC request reached an asset that reads bodies:
    // denied (fail closed), never decided on a null or misread body.
    httpStatus: 403,
    grpcStatus: PERMISSION_DENIED,
    responseFlag: 'UAEF',
    message: 'access denied: the request body cannot be read for this decision',
  },
  JWT_INVALID: {
    // A token was presented and did not verify (signature, issuer, audience, time, algorithm).
    httpStatus: 401,
    grpcStatus: UNAUTHENTICATED,
    responseFlag: 'UAJ',
    message: 'invalid end-user token',
  },
  LEGACY_BRIDGE_REPLY: {
    // The legacy bridge answered itself (route, body or schema refused; its body says which, in
    // the bridge's JSON error shape, with the status of the bridge's own catalogue).
    httpStatus: 400,
    grpcStatus: INTERNAL,
    responseFlag: 'LB',
    message: 'refused by the legacy bridge',
  },
  INFERENCE_BAD_REQUEST: {
    // An OpenAI-compatible request body the inference filter cannot read (no model, bad JSON).
    httpStatus: 400,
    grpcStatus: INTERNAL,
    responseFlag: 'IBR',
    message: 'invalid inference request',
  },
  INFERENCE_NO_TENANT: {
    // No verified identity to take the tenant from: budgets and fairness fail closed.
    httpStatus: 403,
    grpcStatus: PERMISSION_DENIED,
    responseFlag: 'INT',
    message: 'no verified tenant for this inference request',
  },
  INFERENCE_BUDGET_EXHAUSTED: {
    httpStatus: 429,
    grpcStatus: RESOURCE_EXHAUSTED,
    responseFlag: 'IBE',
    message: "the tenant's token budget is used up",
  },
  INFERENCE_SHED: {
    // The pool is saturated and this request's priority did not win a place (or waited too long).
    httpStatus: 429,
    grpcStatus: RESOURCE_EXHAUSTED,
    responseFlag: 'ISH',
    message: 'the inference pool is saturated: request shed by priority',
  },
} as const satisfies Record<string, LocalReplyEntry>;

export type ErrorCode = keyof typeof errorCatalogue;
