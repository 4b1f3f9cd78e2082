// The CA's error catalogue: one stable code per refusal, each with the gRPC status the issuing
// service answers with. The service turns a CaError into a gRPC error in one place.
import { status } from '@grpc/grpc-js';

export const caErrors = {
  CA_CONFIG_INVALID: { grpc: status.FAILED_PRECONDITION, summary: 'the CA configuration is invalid' },
  CA_KEY_EXPOSED: { grpc: status.FAILED_PRECONDITION, summary: 'the CA private key file is readable by others' },
  CA_ENCRYPTION_KEY_INVALID: { grpc: status.FAILED_PRECONDITION, summary: 'the encryption key of the shared CA is not 32 bytes of base64' },
  CA_ENCRYPTION_KEY_WRONG: {
    grpc: status.FAILED_PRECONDITION,
    summary: 'the shared CA key does not decrypt with this encryption key',
  },
  CA_SEALED_SECRET_INVALID: { grpc: status.FAILED_PRECONDITION, summary: 'a sealed secret in the store is malformed' },
  CSR_INVALID: { grpc: status.INVALID_ARGUMENT, summary: 'the certificate signing request is invalid' },
  TTL_INVALID: { grpc: status.INVALID_ARGUMENT, summary: 'the requested lifetime is out of range' },
  CREDENTIAL_MISSING: {
    grpc: status.UNAUTHENTICATED,
    summary: 'neither a bootstrap token nor a mesh client certificate was presented',
  },
  TOKEN_MALFORMED: { grpc: status.UNAUTHENTICATED, summary: 'the bootstrap token is malformed' },
  TOKEN_EXPIRED: { grpc: status.UNAUTHENTICATED, summary: 'the bootstrap token has expired' },
  TOKEN_WRONG_AUDIENCE: { grpc: status.UNAUTHENTICATED, summary: 'the bootstrap token is not meant for the CA' },
  TOKEN_BAD_SIGNATURE: {
    grpc: status.UNAUTHENTICATED,
    summary: 'the bootstrap token is not signed by this control plane',
  },
  IDENTITY_RESERVED: {
    grpc: status.PERMISSION_DENIED,
    summary: "the identity is in the control plane's namespace, which only the control plane holds",
  },
  TOKEN_REPLAYED: { grpc: status.UNAUTHENTICATED, summary: 'the single-use bootstrap token was used before' },
  IDENTITY_MISMATCH: {
    grpc: status.PERMISSION_DENIED,
    summary: 'the CSR asks for an identity the credential is not bound to',
  },
} as const;

export type CaErrorCode = keyof typeof caErrors;

export class CaError extends Error {
  /** User-facing configuration errors end the `weft` command with exit code 2. */
  readonly exitCode = 2;
  constructor(
    readonly code: CaErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'CaError';
  }

  get grpcStatus(): number {
    return caErrors[this.code].grpc;
  }
}
