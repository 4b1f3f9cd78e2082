// The control plane's error catalogue: stable codes, each with the HTTP status the admin API
// answers and the gRPC status the discovery service answers. Turned into responses only in
// admin/admin-responses.ts and distribution/discovery-service.ts.
import { status as GrpcStatus } from '@grpc/grpc-js';

export const CONTROL_PLANE_ERRORS = {
  RESOURCE_YAML_INVALID: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'a file is not valid YAML' },
  RESOURCE_SCHEMA_INVALID: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'a document does not match its kind schema' },
  RESOURCE_KIND_RESERVED: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'the kind is reserved for a later release' },
  RESOURCE_DUPLICATE: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'two documents define the same resource' },
  RESOURCE_REFERENCE_UNKNOWN: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'a reference names no resource' },
  POLICY_MODULE_FILE_MISSING: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'a Rego module file cannot be read' },
  POLICY_COMPILE_ERROR: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'a policy does not compile' },
  POLICY_TEST_FAILED: { http: 422, grpc: GrpcStatus.INVALID_ARGUMENT, summary: "a policy's tests fail" },
  RESOURCE_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, summary: 'no such resource' },
  REQUEST_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'the request is malformed' },
  STORE_WRITE_FAILED: { http: 503, grpc: GrpcStatus.UNAVAILABLE, summary: 'the store could not record the change' },
  STORE_CONFLICT: { http: 409, grpc: GrpcStatus.ABORTED, summary: 'another replica recorded a change first; retry' },
  SIDECAR_IDENTITY_MISMATCH: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'the announced identity is not the authenticated one' },
  SIDECAR_REQUEST_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, summary: 'a discovery request is malformed' },
  ADMIN_CREDENTIAL_MISSING: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, summary: 'the admin API was called without a bearer token' },
  ADMIN_CREDENTIAL_INVALID: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, summary: 'the bearer token is not an admin token of this control plane' },
  ADMIN_SCOPE_INSUFFICIENT: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, summary: 'a read token was used for a change' },
} as const;

export type ControlPlaneErrorCode = keyof typeof CONTROL_PLANE_ERRORS;

/** One reason a change is refused, located as precisely as the input allows. */
export interface Problem {
  readonly code: ControlPlaneErrorCode;
  readonly file: string;
  readonly path?: string;
  readonly line?: number;
  readonly col?: number;
  readonly message: string;
  /** For Rego errors: OPA's code (rego_parse_error, ...). */
  readonly regoCode?: string;
  /** The offending source line, shown under the message with a caret at `col`. */
  readonly sourceLine?: string;
}

export function formatProblem(problem: Omit<Problem, 'code'> & { readonly code: string }): string {
  const location = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.col ?? 1}`;
  const path = problem.path === undefined ? '' : ` ${problem.path}:`;
  const code = problem.regoCode ?? problem.code;
  const text = `${location}:${path} ${problem.message} (${code})`;
  if (problem.sourceLine === undefined) return text;
  const caret = problem.sourceLine.slice(0, Math.max(0, (problem.col ?? 1) - 1)).replace(/[^\t]/g, ' ');
  return `${text}\n\t${problem.sourceLine}\n\t${caret}^`;
}

/** A refused change: every problem at once; nothing of the change was applied. */
export class ChangeRefusedError extends Error {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super(`change refused: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'ChangeRefusedError';
    this.problems = problems;
  }
}

export class ControlPlaneError extends Error {
  readonly code: ControlPlaneErrorCode;
  constructor(code: ControlPlaneErrorCode, message: string) {
    super(message);
    this.name = 'ControlPlaneError';
    this.code = code;
  }
}
