// crypto.x509.parse_rsa_private_key and crypto.parse_private_keys: PEM private keys (or base64 of
// PEM, as OPA accepts) as JSON Web Keys, read with node:crypto.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { fromJSON, makeArray, type Value } from '../value.js';
import { decodeBase64 } from './encoding.js';
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

export const privateKeyBuiltins = [
  define('crypto.x509.parse_rsa_private_key', ['string'], ([text]) => {
    const name = 'crypto.x509.parse_rsa_private_key';
    const block = [...pemText(name, text as string).matchAll(PEM_BLOCK)][0];
    if (block === undefined) throw builtinError(name, 'failed to parse a PEM private key');
    const key = privateKey(name, block[0]);
    if (key.asymmetricKeyType !== 'rsa') throw builtinError(name, `not an RSA private key: ${key.asymmetricKeyType}`);
    return jwk(key);
  }),
  // OPA: an empty string gives null; text without private key blocks gives no keys.
  define('crypto.parse_private_keys', ['string'], ([text]) => {
    const name = 'crypto.parse_private_keys';
    if (text === '') return null;
    const blocks = [...pemText(name, text as string).matchAll(PEM_BLOCK)].filter((block) => block[1]!.endsWith('PRIVATE KEY'));
    return makeArray(blocks.map((block) => jwk(privateKey(name, block[0]))));
  }),
];
