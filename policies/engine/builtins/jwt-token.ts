// The parts of a JWS compact token for the io.jwt builtins, decoded in OPA's steps and with
// its error texts (decodeJWT, decodeHeader, extractJSONObject, decodeSignature, parseTokenHeader).
// Header and payload are read with the exact JSON reader (claims keep big integers).
import { isArray, isObject, type RegoObject, type Value } from '../value.js';
import { Base64Error, base64urlBytes } from './encoding.js';
import { JsonSyntaxError, parseJsonText } from './json-text.js';

/** The three parts of a JWS compact serialisation, not yet decoded. */
export interface TokenParts {
  readonly header: string;
  readonly payload: string;
  readonly signature: string;
}

/** What signature checks read: the decoded header, the signed text and the signature bytes. */
export interface SignedToken {
  readonly header: RegoObject;
  readonly signingInput: string;
  readonly signature: Buffer;
}

export class TokenError extends Error {}

// Each part decodes as OPA's base64url.decode does, its error in Go's words after OPA's prefix
// (`JWT payload had invalid encoding: illegal base64 data at input byte 17`).
export function partBytes(part: string, what: string): Buffer {
  try {
    return base64urlBytes(part);
  } catch (error) {
    if (error instanceof Base64Error) throw new TokenError(`JWT ${what} had invalid encoding: ${error.message}`);
    throw error;
  }
}

// OPA's decodeJWT.
export function splitToken(token: string): TokenParts {
  if (!token.includes('.')) throw new TokenError('encoded JWT had no period separators');
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError(`encoded JWT must have 3 sections, found ${parts.length}`);
  const [header, payload, signature] = parts as [string, string, string];
  return { header, payload, signature };
}

// OPA's extractJSONObject.
export function jsonObject(text: string): RegoObject {
  let value: Value;
  try {
    value = parseJsonText(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new TokenError(`invalid JSON: ${error.message}`);
    throw error;
  }
  if (!isObject(value)) throw new TokenError('decoded JSON type was not an Object');
  return value;
}

// OPA's decodeHeader and validateJWTHeader.
export function decodeHeader(parts: TokenParts): RegoObject {
  const text = partBytes(parts.header, 'header').toString('utf8');
  let header: RegoObject;
  try {
    header = jsonObject(text);
  } catch (error) {
    if (error instanceof TokenError) throw new TokenError(`bad JWT header: ${error.message}`);
    throw error;
  }
  // RFC 7516 section 9: an `enc` header parameter makes the token a JWE, which OPA refuses.
  if (header.get('enc') !== undefined) throw new TokenError('JWT is a JWE object, which is not supported');
  return header;
}

export const payloadText = (parts: TokenParts) => partBytes(parts.payload, 'payload').toString('utf8');

// OPA's decodeSignature, used by the verifying builtins: base64url.decode's error as it is.
export function signatureBytes(parts: TokenParts): Buffer {
  try {
    return base64urlBytes(parts.signature);
  } catch (error) {
    if (error instanceof Base64Error) throw new TokenError(error.message);
    throw error;
  }
}

export const signed = (parts: TokenParts, header: RegoObject, signature: Buffer): SignedToken => ({
  header,
  signingInput: `${parts.header}.${parts.payload}`,
  signature,
});

const KNOWN_HEADER_PARAMETERS = new Set(['alg', 'kid', 'typ', 'cty', 'crit']);

/**
 * OPA's parseTokenHeader: `alg`, `kid`, `typ` and `cty` must be strings and `crit` a non-empty
 * list. Returns the names `crit` lists.
 */
export function criticalParameters(header: RegoObject): ReadonlySet<string> {
  const critical = new Set<string>();
  for (const [key, value] of header.entries()) {
    if (typeof key !== 'string') continue;
    if (key === 'crit') {
      if (!isArray(value)) throw new TokenError('crit: must be a list');
      // OPA's walk of the list stops at its first non-string.
      for (const item of value) {
        if (typeof item !== 'string') break;
        critical.add(item);
      }
      if (critical.size === 0) throw new TokenError('crit: must be a nonempty list');
    } else if (KNOWN_HEADER_PARAMETERS.has(key) && typeof value !== 'string') {
      throw new TokenError(`${key}: must be a string`);
    }
  }
  return critical;
}

/**
 * OPA's tokenHeader.valid for decode_verify: the header has an `alg` and names in `crit`
 * (RFC 7515 4.1.11) no parameter OPA does not know.
 */
export function headerValid(header: RegoObject): boolean {
  const critical = criticalParameters(header);
  const alg = header.get('alg');
  if (alg === undefined || alg === '') return false;
  return ![...header.keys()].some((key) => typeof key === 'string' && !KNOWN_HEADER_PARAMETERS.has(key) && critical.has(key));
}
