// The control plane's error catalogue (the shape of every weft catalogue: api/error-catalogue.ts):
// stable codes, each with the HTTP status the admin API answers and the gRPC status the
// discovery service answers. Rendered by api/error-catalogue.ts's renderers, in
// admin/admin-responses.ts and distribution/discovery-service.ts.
import { GRPC_STATUS as GrpcStatus, type ErrorCatalogue } from './api/error-catalogue.js';

export const CONTROL_PLANE_ERRORS = {
  RESOURCE_YAML_INVALID: { httpStatus: 422, grpcStatus: GrpcStatus.INVALID_ARGUMENT, message: 'a file is not valid YAML' },
  RESOURCE_SCHEMA_INVALID: { httpStatus: 422, grpcStatus: GrpcStatus.INVALID_ARGUMENT, message: 'a document does not match its kind schema' },
  RESOURCE_DUPLICATE: { httpStatus: 422, grpcStatus: GrpcStatus.INVALID_ARGUMENT, message: 'two documents define the same resource' },
  RESOURCE_REFERENCE_UNKNOWN: { httpStatus: 422, grpcStatus: GrpcStatus.INVALID_ARGUMENT, message: 'a reference names no resource' },
  POLICY_MODULE_FILE_MISSING: { httpStatus: 422, grpcStatus: GrpcStatus.INVALID_ARGUMENT, message: 'a Rego module file cannot be read' },
  POLICY_COMPILE_ERROR: { httpStatus: 422, grpcStatus: GrpcStatus.INVALID_ARGUMENT, message: 'a policy does not compile' },
  POLICY_TEST_FAILED: { httpStatus: 422, grpcStatus: GrpcStatus.INVALID_ARGUMENT, message: "a policy's tests fail" },
  RESOURCE_NOT_FOUND: { httpStatus: 404, grpcStatus: GrpcStatus.NOT_FOUND, message: 'no such resource' },
  REQUEST_INVALID: { httpStatus: 400, grpcStatus: GrpcStatus.INVALID_ARGUMENT, message: 'the request is malformed' },
  STORE_WRITE_FAILED: { httpStatus: 503, grpcStatus: GrpcStatus.UNAVAILABLE, message: 'the store could not record the change' },
  STORE_CONFLICT: { httpStatus: 409, grpcStatus: GrpcStatus.ABORTED, message: 'another replica recorded a change first; retry' },
  SIDECAR_IDENTITY_MISMATCH: { httpStatus: 403, grpcStatus: GrpcStatus.PERMISSION_DENIED, message: 'the announced identity is not the authenticated one' },
  SIDECAR_REQUEST_INVALID: { httpStatus: 400, grpcStatus: GrpcStatus.INVALID_ARGUMENT, message: 'a discovery request is malformed' },
  ADMIN_CREDENTIAL_MISSING: { httpStatus: 401, grpcStatus: GrpcStatus.UNAUTHENTICATED, message: 'the admin API was called without a bearer token' },
  ADMIN_CREDENTIAL_INVALID: { httpStatus: 401, grpcStatus: GrpcStatus.UNAUTHENTICATED, message: 'the bearer token is not an admin token of this control plane' },
  ADMIN_SCOPE_INSUFFICIENT: { httpStatus: 403, grpcStatus: GrpcStatus.PERMISSION_DENIED, message: 'a read token was used for a change' },
  CHANGE_REFUSED: { httpStatus: 422, grpcStatus: GrpcStatus.INVALID_ARGUMENT, message: 'the change was refused whole; nothing was applied' },
  INTERNAL: { httpStatus: 500, grpcStatus: GrpcStatus.INTERNAL, message: 'internal error (see the control-plane log)' },
} as const satisfies ErrorCatalogue;

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
