// io.jwt builtins: decode, verify_<alg> and decode_verify. Tokens are JWS compact serialisations;
// header and payload decode with the exact JSON reader (claims keep big integers). Signatures
// are checked with node:crypto's synchronous verify, because builtins run synchronously inside
// an evaluation (jose's verification API is asynchronous). Rules that make confusion impossible:
// the header's alg must be the one asked for, `none` never verifies, HMAC algorithms take only a
// secret and every other algorithm only a public key of its own type (and curve).
import { createHmac, timingSafeEqual, verify, constants, type KeyObject } from 'node:crypto';
import { compare, isArray, isObject, makeArray, makeObject, type RegoObject, type Value } from '../value.js';
import { KeyError, parseVerificationKeys, type VerificationKey } from './jwt-keys.js';
import { Base64Error, base64urlBytes } from './encoding.js';
import { JsonSyntaxError, parseJsonText } from './json-text.js';
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

interface DecodedToken {
  readonly header: RegoObject;
  readonly payloadText: string;
  readonly signature: Buffer;
  readonly signingInput: string;
}

class TokenError extends Error {}

// Each part decodes as OPA's base64url.decode does, its error in Go's words after OPA's prefix
// (`JWT payload had invalid encoding: illegal base64 data at input byte 17`).
function partBytes(part: string, what: string): Buffer {
  try {
    return base64urlBytes(part);
  } catch (error) {
    if (error instanceof Base64Error) throw new TokenError(`JWT ${what} had invalid encoding: ${error.message}`);
    throw error;
  }
}

function parseJsonPart(text: string, what: string): Value {
  try {
    return parseJsonText(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new TokenError(`JWT ${what} had invalid encoding: ${error.message}`);
    throw error;
  }
}

function splitToken(token: string): DecodedToken {
  if (!token.includes('.')) throw new TokenError('encoded JWT had no period separators');
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError(`encoded JWT must have 3 sections, found ${parts.length}`);
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = parseJsonPart(partBytes(headerPart, 'header').toString('utf8'), 'header');
  if (!isObject(header)) throw new TokenError('JWT header must be a JSON object');
  // RFC 7516 section 9: an `enc` header parameter makes the token a JWE, which OPA refuses.
  if (header.get('enc') !== undefined) throw new TokenError('JWT is a JWE object, which is not supported');
  return {
    header,
    payloadText: partBytes(payloadPart, 'payload').toString('utf8'),
    signature: partBytes(signaturePart, 'signature'),
    signingInput: `${headerPart}.${payloadPart}`,
  };
}

function payloadObject(token: DecodedToken): RegoObject {
  const payload = parseJsonPart(token.payloadText, 'payload');
  if (!isObject(payload)) throw new TokenError('JWT payload must be a JSON object');
  return payload;
}

const isNestedToken = (header: RegoObject) => {
  const cty = header.get('cty');
  return typeof cty === 'string' && cty.toUpperCase() === 'JWT';
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

function verifyWithKey(algorithm: Algorithm, token: DecodedToken, key: KeyObject): boolean {
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

function verifyHmac(algorithm: Algorithm, token: DecodedToken, secret: string): boolean {
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
function signatureValid(alg: string, token: DecodedToken, material: KeyMaterial): boolean {
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

function verifySignature(alg: string, token: DecodedToken, material: KeyMaterial): boolean {
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

const decode = define('io.jwt.decode', ['string'], ([token]) =>
  withTokenErrors('io.jwt.decode', () => {
    let decoded = splitToken(token as string);
    while (isNestedToken(decoded.header)) decoded = splitToken(decoded.payloadText);
    return makeArray([decoded.header, payloadObject(decoded), decoded.signature.toString('hex')]);
  }),
);

function verifier(alg: string) {
  const name = `io.jwt.verify_${alg.toLowerCase()}`;
  return define(name, ['string', 'string'], ([token, key]) =>
    withTokenErrors(name, () => {
      const decoded = splitToken(token as string);
      const material: KeyMaterial = algorithms[alg]!.kind === 'hmac' ? { secret: key as string } : { keys: keysFor(name, key as string) };
      return signatureValid(alg, decoded, material);
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

const KNOWN_HEADER_PARAMETERS = new Set(['alg', 'kid', 'typ', 'cty', 'crit']);

/**
 * OPA's parseTokenHeader and tokenHeader.valid for decode_verify: `alg`, `kid`, `typ` and `cty` must
 * be strings and `crit` a non-empty list (errors otherwise); the header is valid when it has an
 * `alg` and names in `crit` (RFC 7515 4.1.11) no parameter OPA does not know.
 */
function headerValid(header: RegoObject): boolean {
  const critical = new Set<string>();
  for (const [key, value] of header.entries()) {
    if (typeof key !== 'string') continue;
    if (key === 'crit') {
      if (!isArray(value)) throw new TokenError('crit: must be a list');
      for (const item of value) if (typeof item === 'string') critical.add(item);
      if (critical.size === 0) throw new TokenError('crit: must be a nonempty list');
    } else if (KNOWN_HEADER_PARAMETERS.has(key) && typeof value !== 'string') {
      throw new TokenError(`${key}: must be a string`);
    }
  }
  const alg = header.get('alg');
  if (alg === undefined || alg === '') return false;
  return ![...header.keys()].some((key) => typeof key === 'string' && !KNOWN_HEADER_PARAMETERS.has(key) && critical.has(key));
}

// exp/nbf are checked against the evaluation's time, so the call is never folded at compile time.
const decodeVerify = define('io.jwt.decode_verify', ['string', 'object'], ([token, constraintsValue], context) => {
  const name = 'io.jwt.decode_verify';
  const constraints = parseConstraints(name, constraintsValue as RegoObject, context.nowNs);
  return withTokenErrors(name, () => {
    let decoded = splitToken(token as string);
    for (;;) {
      if (!headerValid(decoded.header)) return unverified();
      const alg = decoded.header.get('alg');
      if (typeof alg !== 'string' || algorithms[alg] === undefined) return unverified();
      if (constraints.alg !== undefined && constraints.alg !== alg) return unverified();
      if (!signatureValid(alg, decoded, constraints.material)) return unverified();
      if (!isNestedToken(decoded.header)) break;
      decoded = splitToken(decoded.payloadText);
    }
    const payload = payloadObject(decoded);
    const iss = payload.get('iss');
    // A required issuer must be present and equal (fail closed).
    if (constraints.iss !== undefined && iss !== constraints.iss) return unverified();
    if (!audienceValid(payload.get('aud'), constraints.aud)) return unverified();
    const exp = timeClaim(name, payload, 'exp');
    if (exp !== undefined && compare(constraints.timeSeconds, exp) >= 0) return unverified();
    const nbf = timeClaim(name, payload, 'nbf');
    if (nbf !== undefined && constraints.timeSeconds < nbf) return unverified();
    return makeArray([true, decoded.header, payload]);
  });
}, { nondeterministic: true });

export const jwtBuiltins = [
  decode,
  ...['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'EdDSA'].map(verifier),
  decodeVerify,
];
