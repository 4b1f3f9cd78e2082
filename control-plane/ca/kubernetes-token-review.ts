// Kubernetes service-account tokens as bootstrap credentials, for a control plane running in a
// cluster: the injector mounts each pod a projected token with audience `weft-ca`, and the CA
// asks the API server about it (TokenReview, authentication.k8s.io/v1) instead of checking a
// signature itself. The reviewed user `system:serviceaccount:<ns>:<sa>` is the workload
// `spiffe://<trust domain>/ns/<ns>/sa/<sa>`; the CSR must ask for exactly that. Anything else
// fails closed: not authenticated, another audience, a user who is no service account, the
// control plane's own namespace, or no answer from the API server. Positive reviews are kept for
// a short while (by the token's SHA-256), so a sidecar that retries does not cost a review each
// time; a token revoked meanwhile (its pod deleted) stays good for at most that while.
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { decodeJwt } from 'jose';
import { parseWorkloadId, SpiffeIdError } from '../api/spiffe-id.js';
import { TOKEN_AUDIENCE, unreserved } from './bootstrap-token.js';
import { CaError } from './ca-errors.js';
import type { TokenVerifier, VerifiedToken } from './token-verifiers.js';

/** The one Kubernetes API call the CA makes, as the RBAC rule that allows it (deploy/kubernetes/base/control-plane-rbac.yaml). */
export const TOKEN_REVIEW_RULE = { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] } as const;

export const DEFAULT_REVIEW_CACHE_MS = 30_000;
const MAX_CACHED_REVIEWS = 10_000;
/** A projected token is ~1 KiB; the API server is not sent anything much larger. */
const MAX_TOKEN_BYTES = 16 * 1024;
const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;
/** Set by the API server (1.30+) to the token's JTI: the name the cluster's own audit log uses. */
const CREDENTIAL_ID = 'authentication.kubernetes.io/credential-id';

/** The `status` of a TokenReview, as the API server answers it: untrusted until checked here. */
export interface TokenReviewStatus {
  readonly authenticated?: boolean;
  readonly audiences?: readonly string[];
  readonly user?: { readonly username?: string; readonly extra?: Record<string, readonly string[]> };
  readonly error?: string;
}

/** Creates a TokenReview of `token` for `audiences` and returns its status; throws when the API server does not answer one. */
export type ReviewToken = (token: string, audiences: readonly string[]) => Promise<TokenReviewStatus>;

export interface KubernetesTokenReviewOptions {
  readonly review: ReviewToken;
  readonly trustDomain: string;
  readonly cacheMs?: number;
  readonly now?: () => number;
}

/** Text from the API server, shortened for an error detail and the audit line. */
function quoted(text: unknown): string {
  return JSON.stringify(String(text).slice(0, 300));
}

export class KubernetesTokenReview implements TokenVerifier {
  readonly credential = 'kubernetes-token';
  readonly #options: KubernetesTokenReviewOptions;
  readonly #now: () => number;
  /** Positive reviews by the token's SHA-256, oldest first, each good until `until`. */
  readonly #reviewed = new Map<string, { readonly verified: VerifiedToken; readonly until: number }>();

  constructor(options: KubernetesTokenReviewOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Every token that is not weft's own: the API server decides what it is. */
  recognizes(): boolean {
    return true;
  }

  async verify(token: string): Promise<VerifiedToken> {
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) throw new CaError('TOKEN_MALFORMED', `the token is larger than ${MAX_TOKEN_BYTES} bytes`);
    const hash = createHash('sha256').update(token).digest('hex');
    const now = this.#now();
    const cached = this.#reviewed.get(hash);
    if (cached !== undefined && cached.until > now) return cached.verified;
    this.#reviewed.delete(hash);
    let status: TokenReviewStatus;
    try {
      status = await this.#options.review(token, [TOKEN_AUDIENCE]);
    } catch (error) {
      throw new CaError('TOKEN_REVIEW_FAILED', `TokenReview: ${quoted(error instanceof Error ? error.message : error)}; the token is refused until the API server answers`);
    }
    const verified = this.#identity(status, token, hash, now);
    this.#remember(hash, verified, now);
    return verified;
  }

  #identity(status: TokenReviewStatus, token: string, hash: string, now: number): VerifiedToken {
    if (status.authenticated !== true) {
      throw new CaError('TOKEN_NOT_AUTHENTICATED', `the API server did not authenticate the token${status.error === undefined ? '' : `: ${quoted(status.error)}`}`);
    }
    if (!Array.isArray(status.audiences) || !status.audiences.includes(TOKEN_AUDIENCE)) {
      throw new CaError('TOKEN_WRONG_AUDIENCE', `the reviewed token is not for ${TOKEN_AUDIENCE} (audiences ${quoted(JSON.stringify(status.audiences ?? []))})`);
    }
    const username = status.user?.username;
    const account = typeof username === 'string' ? SERVICE_ACCOUNT_USER.exec(username) : null;
    if (account === null) throw new CaError('TOKEN_NOT_SERVICE_ACCOUNT', `the token is of user ${quoted(username)}, not system:serviceaccount:<namespace>:<name>`);
    let spiffeId: string;
    try {
      spiffeId = unreserved(parseWorkloadId(`spiffe://${this.#options.trustDomain}/ns/${account[1]}/sa/${account[2]}`)).uri;
    } catch (error) {
      if (error instanceof SpiffeIdError) throw new CaError('TOKEN_MALFORMED', `service account ${quoted(username)} is no SPIFFE identity: ${error.message}`);
      throw error;
    }
    const credentialId = status.user?.extra?.[CREDENTIAL_ID]?.[0];
    const expiry = expirySeconds(token);
    return {
      spiffeId,
      tokenId: typeof credentialId === 'string' ? credentialId.slice(0, 128) : `sha256:${hash.slice(0, 16)}`,
      expiresAt: new Date(expiry === undefined ? now + this.#cacheMs : expiry * 1000),
      // The kubelet rotates the token and a restarted sidecar presents it again.
      reusable: true,
    };
  }

  get #cacheMs(): number {
    return this.#options.cacheMs ?? DEFAULT_REVIEW_CACHE_MS;
  }

  #remember(hash: string, verified: VerifiedToken, now: number): void {
    const until = Math.min(now + this.#cacheMs, verified.expiresAt.getTime());
    if (until <= now) return;
    this.#reviewed.set(hash, { verified, until });
    for (const [key, entry] of this.#reviewed) {
      if (this.#reviewed.size <= MAX_CACHED_REVIEWS && entry.until > now) break;
      this.#reviewed.delete(key);
    }
  }
}

/** `exp` of a token the API server has just authenticated (so its claims are its own), when it is a JWT. */
function expirySeconds(token: string): number | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

/** TokenReview through the cluster `config` names (cli/kube-config.ts). */
export async function kubernetesTokenReview(config: KubeConfig, options: Omit<KubernetesTokenReviewOptions, 'review'>): Promise<KubernetesTokenReview> {
  const { AuthenticationV1Api } = await import('@kubernetes/client-node');
  const api = config.makeApiClient(AuthenticationV1Api);
  return new KubernetesTokenReview({
    ...options,
    review: async (token, audiences) => {
      try {
        const review = await api.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [...audiences] } } });
        return review.status ?? {};
      } catch (error) {
        throw new Error(apiErrorText(error));
      }
    },
  });
}

/** An error answer of the API server as `HTTP <code>: <its Status message>`; otherwise the error's own message. */
function apiErrorText(error: unknown): string {
  const { code, body } = error as { code?: unknown; body?: unknown };
  if (typeof code !== 'number') return error instanceof Error ? error.message : String(error);
  try {
    const message = (JSON.parse(String(body)) as { message?: unknown }).message;
    if (typeof message === 'string') return `HTTP ${code}: ${message}`;
  } catch {
    // Not a Status object: the code says enough.
  }
  return `HTTP ${code}`;
}
