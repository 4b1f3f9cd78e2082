// io.jwt.encode_sign and io.jwt.encode_sign_raw: JWS compact tokens signed with a JWK (a private
// RSA/EC/OKP key, or an "oct" secret for HS*), synchronously via node:crypto. `none` is refused.
import { createHmac, createPrivateKey, sign, constants, type JsonWebKey } from 'node:crypto';
import { isObject, toJSONText, type Value } from '../value.js';
import { JsonSyntaxError, parseJsonText } from './json-text.js';
import { builtinError, define } from './support.js';
import { regoText } from './value-text.js';

const hashes: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
const ALGORITHMS = new Set(['EdDSA', ...['HS', 'RS', 'PS', 'ES'].flatMap((family) => Object.keys(hashes).map((bits) => family + bits))]);

function signature(name: string, alg: string, input: string, jwk: Record<string, unknown>): Buffer {
  const family = alg.slice(0, 2);
  const hash = hashes[alg.slice(2)];
  if (family === 'HS' && hash !== undefined) {
    if (jwk.kty !== 'oct' || typeof jwk.k !== 'string') throw builtinError(name, `${alg} needs an "oct" JWK with "k"`);
    return createHmac(hash, Buffer.from(jwk.k, 'base64url')).update(input, 'ascii').digest();
  }
  let key;
  try {
    key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (error) {
    throw builtinError(name, `failed to parse the private JWK: ${(error as Error).message}`);
  }
  const data = Buffer.from(input, 'ascii');
  const type = key.asymmetricKeyType;
  const curves: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
  if ((family === 'RS' || family === 'PS') && hash !== undefined && type === 'rsa') {
    const padding = family === 'PS' ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : {};
    return sign(hash, data, { key, ...padding });
  }
  if (family === 'ES' && hash !== undefined && type === 'ec' && key.asymmetricKeyDetails?.namedCurve === curves[alg]) {
    return sign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
  }
  if (alg === 'EdDSA' && (type === 'ed25519' || type === 'ed448')) return sign(null, data, key);
  throw builtinError(name, `unsupported algorithm ${JSON.stringify(alg)} for this key`);
}

function encodeSign(name: string, headerText: string, payloadText: string, key: Value): string {
  const header = parseJsonText(headerText);
  if (!isObject(header)) throw builtinError(name, 'headers must be a JSON object');
  const alg = header.get('alg');
  if (typeof alg !== 'string') throw builtinError(name, 'unsupported signature algorithm: the header has no "alg"');
  if (alg === 'none') throw builtinError(name, 'alg none is not supported');
  if (!ALGORITHMS.has(alg)) throw builtinError(name, `unknown signature algorithm ${JSON.stringify(alg)}`);
  if (!isObject(key)) throw builtinError(name, 'key must be a JWK object');
  const jwk = JSON.parse(toJSONText(key)) as Record<string, unknown>;
  const input = `${Buffer.from(headerText).toString('base64url')}.${Buffer.from(payloadText).toString('base64url')}`;
  return `${input}.${signature(name, alg, input, jwk).toString('base64url')}`;
}

function parsedJson(name: string, text: string): Value {
  try {
    return parseJsonText(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw builtinError(name, `invalid JSON: ${error.message}`);
    throw error;
  }
}

function isJsonText(text: string): boolean {
  try {
    parseJsonText(text);
    return true;
  } catch (error) {
    if (error instanceof JsonSyntaxError) return false;
    throw error;
  }
}

// Signatures of ES*, PS* are randomised: never folded at compile time.
export const jwtSignBuiltins = [
  define(
    'io.jwt.encode_sign',
    ['object', 'object', 'object'],
    ([headers, payload, key]) =>
      // OPA signs the objects' Rego text (`{"alg": "HS256"}`, keys sorted), not compact JSON.
      encodeSign('io.jwt.encode_sign', regoText(headers!), regoText(payload!), key!),
    { nondeterministic: true },
  ),
  define(
    'io.jwt.encode_sign_raw',
    ['string', 'string', 'string'],
    ([headers, payload, key]) => {
      const name = 'io.jwt.encode_sign_raw';
      const header = parsedJson(name, headers as string);
      // As OPA: the payload must be JSON only when the token says it is a JWT (or says nothing).
      const typ = isObject(header) ? header.get('typ') : undefined;
      if ((typ === undefined || typ === 'JWT') && !isJsonText(payload as string)) throw builtinError(name, 'type is JWT but payload is not JSON');
      return encodeSign(name, headers as string, payload as string, parsedJson(name, key as string));
    },
    { nondeterministic: true },
  ),
];
