// The bridge's error catalogue: every answer the bridge gives instead of a legacy result has one
// stable code here, with its HTTP status, and one JSON shape for every protocol:
//   { "error": { "code": "...", "status": 400, "message": "...", "fault": { ... } } }
// `fault` is present when the legacy system itself answered with a fault. Tracebacks and inner
// errors are never put in the body: callers of `BridgeError` log `cause` instead.

export const bridgeErrorCatalogue = {
  INVALID_JSON: { status: 400, message: 'request body is not valid JSON' },
  SCHEMA_VIOLATION: { status: 400, message: 'request does not match the operation schema' },
  UNKNOWN_ROUTE: { status: 404, message: 'no bridged operation matches this request' },
  BODY_TOO_LARGE: { status: 413, message: 'request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'request body must be application/json' },
  LEGACY_CLIENT_FAULT: { status: 400, message: 'the legacy system refused the request' },
  LEGACY_SERVER_FAULT: { status: 502, message: 'the legacy system failed' },
  UPSTREAM_INVALID_RESPONSE: { status: 502, message: 'the legacy system sent a response the bridge cannot read' },
  UPSTREAM_UNAVAILABLE: { status: 503, message: 'could not connect to the legacy system' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'the legacy system did not answer in time' },
} as const satisfies Record<string, { status: number; message: string }>;

export type BridgeErrorCode = keyof typeof bridgeErrorCatalogue;

/** A legacy fault as callers see it: the protocol's code, subcodes and text, without details. */
export interface LegacyFault {
  readonly code: string;
  readonly subcodes?: readonly string[];
  readonly message: string;
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
    this.status = options.status ?? bridgeErrorCatalogue[code].status;
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
          },
        },
      },
    },
  },
} as const;
