// The gRPC CertificateIssuer service: authenticates the caller (a token, by the verifier
// registered for its kind, token-verifiers.ts; or its current mesh certificate over mTLS),
// checks that the CSR asks for exactly the identity the credential is bound to, signs, and
// writes an audit line for every decision. A single-use token is spent (token-ledger.ts) once a
// certificate was made for it, so a CSR refused does not use it up, and a replay is refused.
import * as grpc from '@grpc/grpc-js';
import type {
  CertificateIssuerHandlers,
  IssueCertificateRequest,
  IssueCertificateResponse,
  TrustBundle,
} from '../api/ca-contract.js';
import { spiffeIdOfSubjectAltName } from '../api/spiffe-id.js';
import type { CertificateAuditEntry } from './audit-log.js';
import { grpcError } from '../api/error-catalogue.js';
import { CaError, caErrors } from './ca-errors.js';
import type { CertificateAuthority } from './certificate-authority.js';
import type { TokenLedger } from './token-ledger.js';
import type { TokenVerifier, TokenVerifiers } from './token-verifiers.js';

interface Caller {
  readonly credential: CertificateAuditEntry['credential'];
  readonly spiffeId: string;
  readonly tokenId?: string;
  /** A single-use token: spent when its certificate is issued. */
  readonly spend?: { readonly tokenId: string; readonly expiresAt: Date };
}

async function authenticate(
  call: grpc.ServerUnaryCall<IssueCertificateRequest, unknown>,
  verifier: TokenVerifier | undefined,
): Promise<Caller> {
  if (verifier !== undefined) {
    const verified = await verifier.verify(call.request.bootstrapToken);
    return {
      credential: verifier.credential,
      spiffeId: verified.spiffeId,
      tokenId: verified.tokenId,
      ...(verified.reusable ? {} : { spend: { tokenId: verified.tokenId, expiresAt: verified.expiresAt } }),
    };
  }
  // grpc-js reports a peer certificate only when it verified against the trust bundle.
  const peerCertificate = call.getAuthContext().sslPeerCertificate;
  const id = spiffeIdOfSubjectAltName(peerCertificate?.subjectaltname);
  if (id === undefined) {
    throw new CaError('CREDENTIAL_MISSING', 'send a bootstrap token, or renew with a valid mesh certificate over mTLS');
  }
  return { credential: 'certificate', spiffeId: id.uri };
}

export function createIssuingService(options: {
  ca: CertificateAuthority;
  verifiers: TokenVerifiers;
  ledger: TokenLedger;
  audit: (entry: CertificateAuditEntry) => void;
}): CertificateIssuerHandlers {
  const { ca, verifiers, ledger, audit } = options;
  const trustBundle = (): TrustBundle => ({ trustDomain: ca.trustDomain, rootCertificatePem: [...ca.trustBundlePems] });

  return {
    IssueCertificate(call, callback) {
      const peer = call.getPeer();
      let caller: Caller | undefined;
      const token = call.request.bootstrapToken;
      const verifier = token === '' ? undefined : verifiers.verifierFor(token);
      const issue = async (): Promise<IssueCertificateResponse> => {
        caller = await authenticate(call, verifier);
        const ttlSeconds = call.request.requestedTtlSeconds;
        const issued = ca.issueForCsr(call.request.csrPem, caller.spiffeId, ttlSeconds === 0 ? undefined : ttlSeconds * 1000);
        if (caller.spend !== undefined && !(await ledger.claim(caller.spend.tokenId, caller.spend.expiresAt))) {
          throw new CaError('TOKEN_REPLAYED', `the bootstrap token ${caller.spend.tokenId} was used before; mint a new one (or one with --reusable)`);
        }
        audit({
          event: 'certificate.issued',
          peer,
          credential: caller.credential,
          spiffeId: issued.spiffeId,
          ...(caller.tokenId === undefined ? {} : { tokenId: caller.tokenId }),
          serial: issued.serial,
          notAfter: issued.notAfter.toISOString(),
        });
        return { certificateChainPem: [...issued.chainPems], trustBundle: trustBundle() };
      };
      issue().then(
        (response) => callback(null, response),
        (error: unknown) => {
          const known = error instanceof CaError;
          audit({
            event: 'certificate.refused',
            peer,
            credential: verifier?.credential ?? caller?.credential ?? 'none',
            ...(caller === undefined ? {} : { spiffeId: caller.spiffeId }),
            ...(caller?.tokenId === undefined ? {} : { tokenId: caller.tokenId }),
            code: known ? error.code : 'INTERNAL',
            reason: error instanceof Error ? error.message : String(error),
          });
          callback(known ? grpcError(caErrors, error.code, error.detail) : grpcError(caErrors, 'INTERNAL', caErrors.INTERNAL.message));
        },
      );
    },
    GetTrustBundle(_call, callback) {
      callback(null, trustBundle());
    },
  };
}
