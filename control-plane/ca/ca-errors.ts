// The CA's error catalogue (the shape of every weft catalogue: api/error-catalogue.ts): one
// stable code per refusal, with the gRPC status the issuing service answers with (and the HTTP
// status, for the shape). The service turns a CaError into a gRPC error in one place.
import { GRPC_STATUS, type ErrorCatalogue } from '../api/error-catalogue.js';

const { FAILED_PRECONDITION, INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, UNAVAILABLE } = GRPC_STATUS;

export const caErrors = {
  CA_CONFIG_INVALID: { httpStatus: 500, grpcStatus: FAILED_PRECONDITION, message: 'the CA configuration is invalid' },
  CA_KEY_EXPOSED: { httpStatus: 500, grpcStatus: FAILED_PRECONDITION, message: 'the CA private key file is readable by others' },
  CA_ENCRYPTION_KEY_INVALID: { httpStatus: 500, grpcStatus: FAILED_PRECONDITION, message: 'the encryption key of the shared CA is not 32 bytes of base64' },
  CA_ENCRYPTION_KEY_WRONG: { httpStatus: 500, grpcStatus: FAILED_PRECONDITION, message: 'the shared CA key does not decrypt with this encryption key' },
  CA_SEALED_SECRET_INVALID: { httpStatus: 500, grpcStatus: FAILED_PRECONDITION, message: 'a sealed secret in the store is malformed' },
  CSR_INVALID: { httpStatus: 400, grpcStatus: INVALID_ARGUMENT, message: 'the certificate signing request is invalid' },
  TTL_INVALID: { httpStatus: 400, grpcStatus: INVALID_ARGUMENT, message: 'the requested lifetime is out of range' },
  CREDENTIAL_MISSING: { httpStatus: 401, grpcStatus: UNAUTHENTICATED, message: 'neither a bootstrap token nor a mesh client certificate was presented' },
  TOKEN_MALFORMED: { httpStatus: 401, grpcStatus: UNAUTHENTICATED, message: 'the bootstrap token is malformed' },
  TOKEN_EXPIRED: { httpStatus: 401, grpcStatus: UNAUTHENTICATED, message: 'the bootstrap token has expired' },
  TOKEN_WRONG_AUDIENCE: { httpStatus: 401, grpcStatus: UNAUTHENTICATED, message: 'the bootstrap token is not meant for the CA' },
  TOKEN_BAD_SIGNATURE: { httpStatus: 401, grpcStatus: UNAUTHENTICATED, message: 'the bootstrap token is not signed by this control plane' },
  TOKEN_NOT_AUTHENTICATED: { httpStatus: 401, grpcStatus: UNAUTHENTICATED, message: 'the Kubernetes API server did not authenticate the service-account token' },
  TOKEN_NOT_SERVICE_ACCOUNT: { httpStatus: 403, grpcStatus: PERMISSION_DENIED, message: 'the Kubernetes token belongs to a user, not to a service account' },
  TOKEN_REVIEW_FAILED: { httpStatus: 503, grpcStatus: UNAVAILABLE, message: 'the Kubernetes API server could not review the token' },
  IDENTITY_RESERVED: { httpStatus: 403, grpcStatus: PERMISSION_DENIED, message: "the identity is in the control plane's namespace, which only the control plane holds" },
  TOKEN_REPLAYED: { httpStatus: 401, grpcStatus: UNAUTHENTICATED, message: 'the single-use bootstrap token was used before' },
  IDENTITY_MISMATCH: { httpStatus: 403, grpcStatus: PERMISSION_DENIED, message: 'the CSR asks for an identity the credential is not bound to' },
  INTERNAL: { httpStatus: 500, grpcStatus: GRPC_STATUS.INTERNAL, message: 'internal error in the CA' },
} as const satisfies ErrorCatalogue;

export type CaErrorCode = keyof typeof caErrors;

export class CaError extends Error {
  /** User-facing configuration errors end the `weft` command with exit code 2. */
  readonly exitCode = 2;
  constructor(
    readonly code: CaErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'CaError';
  }
}
