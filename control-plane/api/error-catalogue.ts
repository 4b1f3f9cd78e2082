// The one shape of every weft error catalogue (proxy/errors.ts, control-plane/errors.ts,
// control-plane/ca/ca-errors.ts, and the codes of the wire contract below): a stable code per
// refusal, with the HTTP status and the gRPC status it is answered with, and what it means. Each
// package keeps its catalogue; the renderers here turn a code into an answer, one per transport
// (the sidecar's own local replies render in proxy/local-reply.ts). Every code a weft process
// emits is in one of these catalogues (test/error-catalogues.test.ts checks the sources).

export interface ErrorEntry {
  /** HTTP status for HTTP callers. */
  readonly httpStatus: number;
  /** gRPC status for gRPC callers (grpc/status.proto). */
  readonly grpcStatus: number;
  /** What the code means, in a few words (a sidecar's local reply sends it as its body). */
  readonly message: string;
}

export type ErrorCatalogue = Readonly<Record<string, ErrorEntry>>;

/** gRPC status numbers (grpc/status.proto), so a catalogue needs no gRPC library. */
export const GRPC_STATUS = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** Codes of the discovery contract itself: what a sidecar answers a snapshot with (a NACK). */
export const DISCOVERY_ERRORS = {
  SNAPSHOT_REJECTED: { httpStatus: 422, grpcStatus: GRPC_STATUS.INVALID_ARGUMENT, message: 'the sidecar could not decode or build the snapshot; it keeps the previous one' },
} as const satisfies ErrorCatalogue;

/** gRPC: the status of an error answer; its details start with the code. */
export function grpcError<C extends ErrorCatalogue>(catalogue: C, code: keyof C & string, message: string): { code: number; details: string } {
  return { code: catalogue[code]!.grpcStatus, details: `${code}: ${message}` };
}

/** HTTP with a JSON body: the status and body of an error answer. */
export function httpError<C extends ErrorCatalogue>(catalogue: C, code: keyof C & string, message: string, more: Record<string, unknown> = {}): { status: number; body: { error: Record<string, unknown> } } {
  return { status: catalogue[code]!.httpStatus, body: { error: { code, message, ...more } } };
}

/** The command line: one line, the code last, as `weft` prints an error it was answered with. */
export function cliError(code: string, message: string): string {
  return `${message} (${code})`;
}
