// io.jwt builtins: decode, verify_<alg> and decode_verify. Tokens are JWS compact serialisations,
// read part by part as OPA reads them (jwt-token.ts). Signatures
// are checked with node:crypto's synchronous verify, because builtins run synchronously inside
// an evaluation (jose's verification API is asynchronous). Rules that make confusion impossible:
// the header's alg must be the one asked for, `none` never verifies, HMAC algorithms take only a
// secret and every other algorithm only a public key of its own type (and curve).
import { createHmac, timingSafeEqual, verify, constants, type KeyObject } from 'node:crypto';
import { compare, isArray, makeArray, makeObject, type RegoObject, type Value } from '../value.js';
import { KeyError, parseVerificationKeys, type VerificationKey } from './jwt-keys.js';
import {
  criticalParameters,
  decodeHeader,
  headerValid,
  jsonObject,
  partBytes,
  payloadText,
  signatureBytes,
  signed,
  splitToken,
  TokenError,
  type SignedToken,
} from './jwt-token.js';
import { builtinError, define } from './support.js';

interface Algorithm {
  readonly hash: string | null;
  readonly kind: 'hmac' | 'rsa' | 'rsa-pss' | 'ec' | 'eddsa';
  readonly curve?: string;
}

const algorithms: Readonly<Record<string, Algorithm>> = {
  HS256: { hash: 'sha256', kind: 'hmac' },
  HS384: { hash: 'sha384', kind: 'hmac' },
  HS512: { hash: 'sha512', kind: 'hmac' },
  RS256: { hash: 'sha256', kind: 'rsa' },
  RS384: { hash: 'sha384', kind: 'rsa' },
  RS512: { hash: 'sha512', kind: 'rsa' },
  PS256: { hash: 'sha256', kind: 'rsa-pss' },
  PS384: { hash: 'sha384', kind: 'rsa-pss' },
  PS512: { hash: 'sha512', kind: 'rsa-pss' },
  ES256: { hash: 'sha256', kind: 'ec', curve: 'prime256v1' },
  ES384: { hash: 'sha384', kind: 'ec', curve: 'secp384r1' },
  ES512: { hash: 'sha512', kind: 'ec', curve: 'secp521r1' },
  EdDSA: { hash: null, kind: 'eddsa' },
};


function keyFits(algorithm: Algorithm, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  switch (algorithm.kind) {
    case 'rsa':
      return type === 'rsa';
    case 'rsa-pss':
      return type === 'rsa' || type === 'rsa-pss';
    case 'ec':
      return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === algorithm.curve;
    case 'eddsa':
      return type === 'ed25519' || type === 'ed448';
    default:
      return false;
  }
}

function verifyWithKey(algorithm: Algorithm, token: SignedToken, key: KeyObject): boolean {
  if (!keyFits(algorithm, key)) return false;
  const data = Buffer.from(token.signingInput, 'ascii');
  try {
    switch (algorithm.kind) {
      case 'rsa-pss':
        return verify(algorithm.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, token.signature);
      case 'ec':
        return verify(algorithm.hash, data, { key, dsaEncoding: 'ieee-p1363' }, token.signature);
      default:
        return verify(algorithm.hash, data, key, token.signature);
    }
  } catch {
    return false;
  }
}

function verifyHmac(algorithm: Algorithm, token: SignedToken, secret: string): boolean {
  const expected = createHmac(algorithm.hash!, Buffer.from(secret, 'utf8')).update(token.signingInput, 'ascii').digest();
  return expected.length === token.signature.length && timingSafeEqual(expected, token.signature);
}

type KeyMaterial = { readonly secret: string } | { readonly keys: readonly VerificationKey[] };

// Verification is deterministic in (alg, key, token), and clients resend the same token on
// every request: results are remembered (bounded, small tokens only) to keep RSA/ECDSA off the
// request path. Parsed key sets are cached by their text, so their identity names the key.
const verifiedCache = new Map<string, boolean>();
const verifiedCacheSize = 4096;
const maxCachedTokenLength = 8192;
const keySetIds = new WeakMap<readonly VerificationKey[], number>();
let nextKeySetId = 0;

function materialId(material: KeyMaterial): string {
  if ('secret' in material) return `s${material.secret}`;
  let id = keySetIds.get(material.keys);
  if (id === undefined) {
    id = nextKeySetId++;
    keySetIds.set(material.keys, id);
  }
  return `k${id}`;
}

/** Whether the token's signature verifies with `alg` and the key material. */
function signatureValid(alg: string, token: SignedToken, material: KeyMaterial): boolean {
  const cacheable = token.signingInput.length <= maxCachedTokenLength;
  const key = cacheable ? `${alg}\u0000${materialId(material)}\u0000${token.signingInput}\u0000${token.signature.toString('base64url')}` : '';
  const known = cacheable ? verifiedCache.get(key) : undefined;
  if (known !== undefined) return known;
  const valid = verifySignature(alg, token, material);
  if (cacheable) {
    verifiedCache.set(key, valid);
    if (verifiedCache.size > verifiedCacheSize) verifiedCache.delete(verifiedCache.keys().next().value!);
  }
  return valid;
}

function verifySignature(alg: string, token: SignedToken, material: KeyMaterial): boolean {
  const algorithm = algorithms[alg];
  if (algorithm === undefined || token.header.get('alg') !== alg) return false;
  if ('secret' in material) return algorithm.kind === 'hmac' && verifyHmac(algorithm, token, material.secret);
  if (algorithm.kind === 'hmac') return false;
  const kid = token.header.get('kid');
  return material.keys.some(
    (candidate) =>
      (candidate.kid === undefined || typeof kid !== 'string' || candidate.kid === kid) &&
      (candidate.alg === undefined || candidate.alg === alg) &&
      verifyWithKey(algorithm, token, candidate.key),
  );
}

function keysFor(name: string, text: string): readonly VerificationKey[] {
  try {
    return parseVerificationKeys(text);
  } catch (error) {
    if (error instanceof KeyError) throw builtinError(name, error.message);
    throw error;
  }
}

function withTokenErrors<T>(name: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof TokenError) throw builtinError(name, error.message);
    throw error;
  }
}

// OPA's builtinJWTDecode: a token whose `cty` is exactly JWT carries another one as its payload
// (quoted, as jwt.io writes it), which is decoded in its place.
function decodeToken(token: string): Value {
  const parts = splitToken(token);
  const header = decodeHeader(parts);
  const payload = payloadText(parts);
  if (header.get('cty') === 'JWT') return decodeToken(payload.replace(/^["']+|["']+$/g, ''));
  const claims = jsonObject(payload);
  return makeArray([header, claims, partBytes(parts.signature, 'signature').toString('hex')]);
}

const decode = define('io.jwt.decode', ['string'], ([token]) => withTokenErrors('io.jwt.decode', () => decodeToken(token as string)));

// OPA's builtinJWTVerify (key, then signature, then header) and builtinJWTVerifyHS, which never
// reads the header. weft reads it for HMAC too, for its rule that the header's alg must be the
// one asked for: a header that does not decode leaves the token unverified.
function verifier(alg: string) {
  const name = `io.jwt.verify_${alg.toLowerCase()}`;
  const hmac = algorithms[alg]!.kind === 'hmac';
  return define(name, ['string', 'string'], ([token, key]) =>
    withTokenErrors(name, () => {
      const parts = splitToken(token as string);
      const material: KeyMaterial = hmac ? { secret: key as string } : { keys: keysFor(name, key as string) };
      const signature = signatureBytes(parts);
      if (!hmac) {
        const header = decodeHeader(parts);
        criticalParameters(header);
        return signatureValid(alg, signed(parts, header, signature), material);
      }
      let header: RegoObject;
      try {
        header = decodeHeader(parts);
      } catch (error) {
        if (error instanceof TokenError) return false;
        throw error;
      }
      return signatureValid(alg, signed(parts, header, signature), material);
    }),
  );
}

interface Constraints {
  readonly material: KeyMaterial;
  readonly alg: string | undefined;
  readonly iss: string | undefined;
  readonly aud: string | undefined;
  readonly timeSeconds: number;
}

function parseConstraints(name: string, constraints: RegoObject, nowNs: bigint): Constraints {
  let material: KeyMaterial | undefined;
  let alg: string | undefined;
  let iss: string | undefined;
  let aud: string | undefined;
  let timeNs: number | bigint = nowNs;
  for (const [key, value] of constraints.entries()) {
    switch (key) {
      case 'cert':
      case 'secret':
        if (typeof value !== 'string') throw builtinError(name, `${key} constraint must be a string`);
        if (material !== undefined) throw builtinError(name, 'duplicate key constraints');
        material = key === 'cert' ? { keys: keysFor(name, value) } : { secret: value };
        break;
      case 'alg':
      case 'iss':
      case 'aud':
        if (typeof value !== 'string') throw builtinError(name, `${key} constraint must be a string`);
        if (key === 'alg') alg = value;
        else if (key === 'iss') iss = value;
        else aud = value;
        break;
      case 'time':
        if (typeof value !== 'number' && typeof value !== 'bigint') throw builtinError(name, 'time constraint must be a number');
        timeNs = value;
        break;
      default:
        throw builtinError(name, `unknown token validation constraint: ${typeof key === 'string' ? key : JSON.stringify(key)}`);
    }
  }
  if (material === undefined) throw builtinError(name, 'no key constraint: one of cert or secret is required');
  return { material, alg, iss, aud, timeSeconds: Number(timeNs) / 1e9 };
}

function audienceValid(claim: Value | undefined, wanted: string | undefined): boolean {
  if (claim === undefined) return wanted === undefined;
  if (wanted === undefined) return false;
  if (typeof claim === 'string') return claim === wanted;
  return isArray(claim) && claim.some((item) => item === wanted);
}

function timeClaim(name: string, payload: RegoObject, claim: string): number | undefined {
  const value = payload.get(claim);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' && typeof value !== 'bigint') throw builtinError(name, `${claim} value must be a number`);
  return Number(value);
}

const unverified = () => makeArray([false, makeObject([]), makeObject([])]);

// exp/nbf are checked against the evaluation's time, so the call is never folded at compile time.
const decodeVerify = define('io.jwt.decode_verify', ['string', 'object'], ([token, constraintsValue], context) => {
  const name = 'io.jwt.decode_verify';
  const constraints = parseConstraints(name, constraintsValue as RegoObject, context.nowNs);
  return withTokenErrors(name, () => {
    let parts = splitToken(token as string);
    let header: RegoObject;
    let payload: string;
    // As OPA's loop: each token's header is checked and its signature verified before its
    // payload is read; a payload whose `cty` is JWT (any case) is the next token.
    for (;;) {
      header = decodeHeader(parts);
      if (!headerValid(header)) return unverified();
      const alg = header.get('alg') as string;
      if (constraints.alg !== undefined && constraints.alg !== alg) return unverified();
      const signature = signatureBytes(parts);
      if (algorithms[alg] === undefined || !signatureValid(alg, signed(parts, header, signature), constraints.material)) return unverified();
      payload = payloadText(parts);
      const cty = header.get('cty');
      if (typeof cty !== 'string' || cty.toUpperCase() !== 'JWT') break;
      parts = splitToken(payload);
    }
    const claims = jsonObject(payload);
    const iss = claims.get('iss');
    // A required issuer must be present and equal (fail closed).
    if (constraints.iss !== undefined && iss !== constraints.iss) return unverified();
    if (!audienceValid(claims.get('aud'), constraints.aud)) return unverified();
    const exp = timeClaim(name, claims, 'exp');
    if (exp !== undefined && compare(constraints.timeSeconds, exp) >= 0) return unverified();
    const nbf = timeClaim(name, claims, 'nbf');
    if (nbf !== undefined && constraints.timeSeconds < nbf) return unverified();
    return makeArray([true, header, claims]);
  });
}, { nondeterministic: true });

export const jwtBuiltins = [
  decode,
  ...['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'EdDSA'].map(verifier),
  decodeVerify,
];
