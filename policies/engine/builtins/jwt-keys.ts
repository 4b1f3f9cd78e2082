// Verification keys for the io.jwt builtins: a PEM public key or certificate, a JWK, or a JWK
// Set (JSON text). Parsed keys are cached by their text. Each key is only ever used with the
// algorithms of its own type, so an RSA public key can never serve as an HMAC secret.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';

export interface VerificationKey {
  readonly key: KeyObject;
  readonly kid: string | undefined;
  /** JWK `alg`, when the key names the one algorithm it is for. */
  readonly alg: string | undefined;
}

export class KeyError extends Error {}

const cache = new Map<string, readonly VerificationKey[]>();
const cacheSize = 100;

export function parseVerificationKeys(text: string): readonly VerificationKey[] {
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const keys = parseKeys(text.trim());
  cache.set(text, keys);
  if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
  return keys;
}

/** The first PEM block of `text` as Go's pem.Decode finds it: its type, and whether text follows it. */
function firstPemBlock(text: string): { type: string; block: string; rest: string } | undefined {
  const match = /-----BEGIN ([^\n-]*)-----[\s\S]*?\n-----END \1-----[ \t]*(?:\r?\n|$)/.exec(text);
  if (match === null) return undefined;
  return { type: match[1]!, block: match[0], rest: text.slice(match.index + match[0].length) };
}

const jwkError = (detail: string) => new KeyError(`failed to parse a JWK key (set): ${detail}`);

/**
 * OPA's getKeyFromCertOrJWK: a PEM block must be alone, and a CERTIFICATE (its public key) or a
 * PUBLIC KEY (PKIX); any other block type is `failed to extract a Key from the PEM certificate`.
 * Text without a PEM block is read as a JWK or JWK Set; OPA wraps every failure to read one as
 * `failed to parse a JWK key (set): ...` (its jwk.ParseString rejects, e.g., an unknown `kty`).
 */
function parseKeys(text: string): readonly VerificationKey[] {
  const pem = firstPemBlock(text);
  if (pem !== undefined) {
    if (pem.rest.length > 0) throw new KeyError('extra data after a PEM certificate block');
    if (pem.type !== 'CERTIFICATE' && pem.type !== 'PUBLIC KEY') throw new KeyError('failed to extract a Key from the PEM certificate');
    const what = pem.type === 'CERTIFICATE' ? 'certificate' : 'public key';
    try {
      const key = createPublicKey(pem.block);
      return [{ key, kid: undefined, alg: undefined }];
    } catch (error) {
      throw new KeyError(`failed to parse a PEM ${what}: ${(error as Error).message}`);
    }
  }
  if (text.startsWith('-----BEGIN')) throw jwkError('not a PEM block or JSON');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw jwkError('key must be a PEM encoded certificate or public key, or a JWK or JWK Set in JSON');
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) throw jwkError('JWK must be an object');
  const set = Object.hasOwn(document, 'keys') ? (document as { keys: unknown }).keys : [document];
  if (!Array.isArray(set)) throw jwkError('JWK Set "keys" must be an array');
  const keys: VerificationKey[] = [];
  for (const jwk of set) {
    if (jwk === null || typeof jwk !== 'object') throw jwkError('JWK must be an object');
    const fields = jwk as Record<string, unknown>;
    if (fields.kty === 'oct') continue;
    const publicOnly: JsonWebKey = Object.fromEntries(
      Object.entries(fields).filter(([name]) => ['kty', 'crv', 'x', 'y', 'n', 'e'].includes(name)),
    );
    try {
      keys.push({
        key: createPublicKey({ key: publicOnly, format: 'jwk' }),
        kid: typeof fields.kid === 'string' ? fields.kid : undefined,
        alg: typeof fields.alg === 'string' ? fields.alg : undefined,
      });
    } catch (error) {
      throw jwkError((error as Error).message);
    }
  }
  if (keys.length === 0) throw new KeyError('no public keys in the JWK Set');
  return keys;
}
