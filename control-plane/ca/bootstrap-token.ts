// Bootstrap tokens: short-lived JWTs (ES256, signed with jose) that let a new sidecar obtain its
// first certificate. Each is bound to one SPIFFE ID (`sub`) and meant for the CA only
// (`aud: weft-ca`). The signing key lives beside the CA state, mode 0600, or sealed in the shared
// store with the CA (shared-ca.ts) so that every replica accepts the tokens of the others.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { CONTROL_PLANE_NAMESPACE, isControlPlaneIdentity } from '../api/ca-contract.js';
import { parseWorkloadId, SpiffeIdError, type WorkloadId } from '../api/spiffe-id.js';
import { CaError } from './ca-errors.js';
import { assertPrivateFile, writePrivateFile } from './ca-directory.js';
import type { TokenVerifier, VerifiedToken } from './token-verifiers.js';

export const TOKEN_AUDIENCE = 'weft-ca';
export const TOKEN_ISSUER = 'weft-control-plane';
export const TOKEN_KEY_FILE = 'token-key.pem';
export const DEFAULT_TOKEN_TTL_MS = 15 * 60_000;
const MAX_TOKEN_TTL_MS = 24 * 3600_000;
const ALGORITHM = 'ES256';
/** Allowed clock difference between the control plane replicas that mint and check tokens. */
const CLOCK_TOLERANCE_S = 5;

/** The private claim of a reusable token; any other token is single-use (token-ledger.ts). */
const REUSABLE_CLAIM = 'weft_reusable';
const TOKEN_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A new token signing key (ECDSA P-256), PKCS#8 PEM. */
export function generateTokenKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export class BootstrapTokens implements TokenVerifier {
  readonly credential = 'bootstrap-token';
  private readonly publicKey: KeyObject;

  constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
  }

  /** Loads the token signing key from `dir`, creating it (mode 0600) on first start. */
  static async open(dir: string): Promise<BootstrapTokens> {
    const path = join(dir, TOKEN_KEY_FILE);
    try {
      await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writePrivateFile(path, generateTokenKeyPem());
    }
    await assertPrivateFile(path);
    return new BootstrapTokens(createPrivateKey(await readFile(path, 'utf8')));
  }

  async mint(options: { spiffeId: string; ttlMs?: number; now?: number; reusable?: boolean }): Promise<string> {
    const id = unreserved(parseWorkloadId(options.spiffeId));
    const ttlMs = options.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
    if (!Number.isInteger(ttlMs) || ttlMs < 1000 || ttlMs > MAX_TOKEN_TTL_MS) {
      throw new CaError('TTL_INVALID', `a token lifetime must be between 1 second and 24 hours, got ${ttlMs} ms`);
    }
    const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
    return new SignJWT(options.reusable === true ? { [REUSABLE_CLAIM]: true } : {})
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(id.uri)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + Math.ceil(ttlMs / 1000))
      .sign(this.privateKey);
  }

  /** Tokens this control plane minted say so in their issuer. */
  recognizes(claims: JWTPayload | undefined): boolean {
    return claims?.iss === TOKEN_ISSUER;
  }

  /** Checks a token from the network; throws a CaError naming what is wrong. */
  async verify(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALGORITHM],
        audience: TOKEN_AUDIENCE,
        issuer: TOKEN_ISSUER,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      const spiffeId = unreserved(parseWorkloadId(payload.sub as string)).uri;
      if (typeof payload.jti !== 'string' || !TOKEN_ID.test(payload.jti)) throw new CaError('TOKEN_MALFORMED', 'the token id (jti) must be 1 to 128 letters, digits, ".", "-" or "_"');
      return { spiffeId, tokenId: payload.jti, expiresAt: new Date((payload.exp as number) * 1000), reusable: payload[REUSABLE_CLAIM] === true };
    } catch (error) {
      throw tokenError(error);
    }
  }
}

/** `id`, unless it is in the control plane's namespace (IDENTITY_RESERVED), whatever the credential. */
export function unreserved(id: WorkloadId): WorkloadId {
  if (isControlPlaneIdentity(id)) throw new CaError('IDENTITY_RESERVED', `${id.uri} is in the control plane's namespace ${CONTROL_PLANE_NAMESPACE}; no token is issued or accepted for it`);
  return id;
}

function tokenError(error: unknown): CaError {
  if (error instanceof CaError) return error;
  if (error instanceof errors.JWTExpired) return new CaError('TOKEN_EXPIRED', 'the bootstrap token has expired');
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') {
    return new CaError('TOKEN_WRONG_AUDIENCE', `the token's audience is not ${TOKEN_AUDIENCE}`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new CaError('TOKEN_BAD_SIGNATURE', 'the token signature does not verify with this control plane key');
  }
  if (error instanceof SpiffeIdError) return new CaError('TOKEN_MALFORMED', `the token subject: ${error.message}`);
  const reason = error instanceof Error ? error.message : String(error);
  return new CaError('TOKEN_MALFORMED', reason);
}
