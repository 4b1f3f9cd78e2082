// crypto.x509.parse_rsa_private_key and crypto.parse_private_keys: PEM private keys (or base64 of
// PEM, as OPA accepts) as JSON Web Keys, read with node:crypto.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { fromJSON, makeArray, type Value } from '../value.js';
import { Base64Error, decodeBase64, goBase64Bytes, goBase64Operand } from './encoding.js';
import { pemBlocks } from './pem-blocks.js';
import { builtinError, define } from './support.js';

export const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** The PEM text of the argument: itself when it is PEM, else its base64 decoding (Go's strict decoder). */
export function pemText(name: string, text: string): string {
  return text.trimStart().startsWith('-----BEGIN') ? text : decodeBase64(name, text, false);
}

export function privateKey(name: string, pem: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw builtinError(name, `failed to parse private key: ${(error as Error).message}`);
  }
}

/** A key as a JWK, members sorted as OPA's JSON is. */
export function jwk(key: KeyObject): Value {
  return fromJSON(key.export({ format: 'jwk' }));
}

/** The DER encodings OPA's getPrivateKeysFromPEMData reads, by PEM block type; other blocks are skipped. */
const keyEncodings: Record<string, 'pkcs1' | 'pkcs8' | 'sec1'> = { 'RSA PRIVATE KEY': 'pkcs1', 'PRIVATE KEY': 'pkcs8', 'EC PRIVATE KEY': 'sec1' };

/** OPA's getPrivateKeysFromPEMData: the text is first base64-decoded when it is base64 (never an error otherwise). */
function privateKeysIn(name: string, text: string): KeyObject[] {
  let pem = text;
  try {
    pem = goBase64Bytes(text.replace(/[\r\n]/g, ''), false).toString('latin1');
  } catch (error) {
    if (!(error instanceof Base64Error)) throw error;
  }
  return pemBlocks(pem).flatMap(({ type, der }) => {
    const encoding = keyEncodings[type];
    if (encoding === undefined) return [];
    try {
      return [createPrivateKey({ key: der, format: 'der', type: encoding })];
    } catch (error) {
      throw builtinError(name, `failed to parse private key: ${(error as Error).message}`);
    }
  });
}

export const privateKeyBuiltins = [
  // OPA's builtinCryptoJWKFromPrivateKey: the first private key of any type (jwk.New takes RSA and
  // EC keys alike) as a JWK, null when the text holds none.
  define('crypto.x509.parse_rsa_private_key', ['string'], ([text]) => {
    const name = 'crypto.x509.parse_rsa_private_key';
    const input = text as string;
    if (input === '') throw builtinError(name, 'input PEM data was empty');
    const pem = input.startsWith('-----BEGIN') ? input : goBase64Operand(name, input).toString('latin1');
    const [key] = privateKeysIn(name, pem);
    return key === undefined ? null : jwk(key);
  }),
  // OPA: an empty string gives null; text without private key blocks gives no keys.
  define('crypto.parse_private_keys', ['string'], ([text]) => {
    const name = 'crypto.parse_private_keys';
    if (text === '') return null;
    return makeArray(privateKeysIn(name, text as string).map(jwk));
  }),
];
