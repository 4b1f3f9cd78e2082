// The bridge's error catalogue: every answer the bridge gives instead of a legacy result has one
// stable code here, with its HTTP status, and one JSON shape for every protocol:
//   { "error": { "code": "...", "status": 400, "message": "...", "fault": { ... } } }
// `fault` is present when the legacy system itself answered with a fault. Tracebacks and inner
// errors are never put in the body: callers of `BridgeError` log `cause` instead.
import { GRPC_STATUS, type ErrorCatalogue } from '../../../control-plane/api/error-catalogue.js';

const { INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED, FAILED_PRECONDITION } = GRPC_STATUS;

// The shape of every weft catalogue (control-plane/api/error-catalogue.ts).
export const bridgeErrorCatalogue = {
  INVALID_JSON: { httpStatus: 400, grpcStatus: INVALID_ARGUMENT, message: 'request body is not valid JSON' },
  SCHEMA_VIOLATION: { httpStatus: 400, grpcStatus: INVALID_ARGUMENT, message: 'request does not match the operation schema' },
  UNKNOWN_ROUTE: { httpStatus: 404, grpcStatus: NOT_FOUND, message: 'no bridged operation matches this request' },
  BODY_TOO_LARGE: { httpStatus: 413, grpcStatus: RESOURCE_EXHAUSTED, message: 'request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, grpcStatus: INVALID_ARGUMENT, message: 'request body must be application/json' },
  LEGACY_CLIENT_FAULT: { httpStatus: 400, grpcStatus: FAILED_PRECONDITION, message: 'the legacy system refused the request' },
  LEGACY_SERVER_FAULT: { httpStatus: 502, grpcStatus: INTERNAL, message: 'the legacy system failed' },
  UPSTREAM_INVALID_RESPONSE: { httpStatus: 502, grpcStatus: INTERNAL, message: 'the legacy system sent a response the bridge cannot read' },
  UPSTREAM_UNAVAILABLE: { httpStatus: 503, grpcStatus: UNAVAILABLE, message: 'could not connect to the legacy system' },
  UPSTREAM_TIMEOUT: { httpStatus: 504, grpcStatus: DEADLINE_EXCEEDED, message: 'the legacy system did not answer in time' },
} as const satisfies ErrorCatalogue;

export type BridgeErrorCode = keyof typeof bridgeErrorCatalogue;

/** A legacy fault as callers see it: the protocol's code, subcodes and text, without details. */
export interface LegacyFault {
  readonly code: string;
  readonly subcodes?: readonly string[];
  readonly message: string;
  /** gRPC: the call's google.rpc.Status in proto3 JSON (details as `{"@type": ...}` objects). */
  readonly rpcStatus?: { readonly code: number; readonly message: string; readonly details: readonly unknown[] };
}

export class BridgeError extends Error {
  override readonly name = 'BridgeError';
  readonly status: number;
  readonly fault: LegacyFault | undefined;

  constructor(
    readonly code: BridgeErrorCode,
    detail?: string,
    options: { status?: number; fault?: LegacyFault; cause?: unknown } = {},
  ) {
    super(detail ?? bridgeErrorCatalogue[code].message, { cause: options.cause });
    this.status = options.status ?? bridgeErrorCatalogue[code].httpStatus;
    this.fault = options.fault;
  }
}

export interface BridgeErrorBody {
  readonly error: { readonly code: BridgeErrorCode; readonly status: number; readonly message: string; readonly fault?: LegacyFault };
}

/** The one place a bridge error becomes a response body. */
export function bridgeErrorBody(error: BridgeError): BridgeErrorBody {
  return {
    error: {
      code: error.code,
      status: error.status,
      message: error.message,
      ...(error.fault === undefined ? {} : { fault: error.fault }),
    },
  };
}

/** JSON Schema of the error body, published in each bridge's OpenAPI document. */
export const bridgeErrorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'status', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(bridgeErrorCatalogue) },
        status: { type: 'integer' },
        message: { type: 'string' },
        fault: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string' },
            subcodes: { type: 'array', items: { type: 'string' } },
            message: { type: 'string' },
            rpcStatus: {
              type: 'object',
              required: ['code', 'message', 'details'],
              properties: { code: { type: 'integer' }, message: { type: 'string' }, details: { type: 'array', items: { type: 'object' } } },
            },
          },
        },
      },
    },
  },
} as const;
