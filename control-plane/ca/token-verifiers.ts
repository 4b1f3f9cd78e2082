// The credentials a new sidecar may present for its first certificate, one verifier per kind of
// token, registered explicitly: weft's own bootstrap tokens always (bootstrap-token.ts), and
// Kubernetes service-account tokens when the control plane runs in a cluster
// (kubernetes-token-review.ts). A token goes to exactly one verifier, chosen by its issuer claim
// read before any check: one token, one meaning. The chosen verifier checks it whole.
import { decodeJwt, type JWTPayload } from 'jose';
import type { CertificateAuditEntry } from './audit-log.js';

export interface VerifiedToken {
  readonly spiffeId: string;
  readonly tokenId: string;
  readonly expiresAt: Date;
  /** Good for any number of first certificates until it expires; otherwise spent on first use (token-ledger.ts). */
  readonly reusable: boolean;
}

export interface TokenVerifier {
  /** The credential as the audit log names it. */
  readonly credential: Exclude<CertificateAuditEntry['credential'], 'certificate' | 'none'>;
  /** Whether a token with these claims (not yet verified; undefined when it is no JWT) is for this verifier. */
  recognizes(claims: JWTPayload | undefined): boolean;
  /** Checks the token; throws a CaError naming what is wrong. */
  verify(token: string): Promise<VerifiedToken>;
}

function unverifiedClaims(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

export class TokenVerifiers {
  readonly #registered: TokenVerifier[] = [];

  /** `own` (weft's bootstrap tokens) is asked first, and checks whatever no other verifier recognizes, refusing it with its own errors. */
  constructor(private readonly own: TokenVerifier) {}

  register(verifier: TokenVerifier): void {
    this.#registered.push(verifier);
  }

  /** The one verifier `token` goes to. */
  verifierFor(token: string): TokenVerifier {
    const claims = unverifiedClaims(token);
    return [this.own, ...this.#registered].find((verifier) => verifier.recognizes(claims)) ?? this.own;
  }
}
