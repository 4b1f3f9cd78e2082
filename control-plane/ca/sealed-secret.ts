// The envelope that keeps the CA's private keys secret in a shared store (etcd): AES-256-GCM
// under a key derived with HKDF-SHA256 from the replicas' encryption key and a random salt kept
// beside the ciphertext. The secret's name is the additional authenticated data, so a sealed
// value moved to another name (the token key put where the CA key belongs) does not open.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CaError } from './ca-errors.js';
import { assertPrivateFile } from './ca-directory.js';

export const ENCRYPTION_KEY_ENV = 'WEFT_CA_ENCRYPTION_KEY';
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_INFO = 'weft sealed secret v1';

export interface SealedSecret {
  readonly v: 1;
  readonly alg: 'A256GCM-HKDF-SHA256';
  readonly salt: string;
  readonly iv: string;
  readonly tag: string;
  readonly ciphertext: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function strictBase64(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** The replicas' encryption key: 32 random bytes in base64 (`openssl rand -base64 32`). */
export function parseEncryptionKey(text: string, source: string): Buffer {
  const key = strictBase64(text.trim());
  if (key === undefined) throw new CaError('CA_ENCRYPTION_KEY_INVALID', `${source} is not base64`);
  if (key.length !== KEY_BYTES) {
    throw new CaError('CA_ENCRYPTION_KEY_INVALID', `${source} holds ${key.length} bytes, not ${KEY_BYTES} (make one with 'openssl rand -base64 32')`);
  }
  return key;
}

/** From the file (mode 0600) when given, else from $WEFT_CA_ENCRYPTION_KEY; undefined when neither. */
export async function readEncryptionKey(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Buffer | undefined> {
  if (file !== undefined) {
    await assertPrivateFile(file);
    return parseEncryptionKey(await readFile(file, 'utf8'), file);
  }
  const fromEnv = env[ENCRYPTION_KEY_ENV];
  return fromEnv === undefined || fromEnv === '' ? undefined : parseEncryptionKey(fromEnv, `$${ENCRYPTION_KEY_ENV}`);
}

function derive(key: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, HKDF_INFO, KEY_BYTES));
}

export function seal(plaintext: string, key: Buffer, name: string): SealedSecret {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', derive(key, salt), iv);
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    v: 1,
    alg: 'A256GCM-HKDF-SHA256',
    salt: salt.toString('base64'),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ciphertext: ciphertext.toString('base64'),
  };
}

function field(sealed: Record<string, unknown>, name: string, bytes: number | undefined, what: string): Buffer {
  const value = sealed[name];
  const decoded = typeof value === 'string' ? strictBase64(value) : undefined;
  if (decoded === undefined || (bytes !== undefined && decoded.length !== bytes)) {
    throw new CaError('CA_SEALED_SECRET_INVALID', `${what}: '${name}' is not ${bytes === undefined ? 'base64' : `${bytes} bytes of base64`}`);
  }
  return decoded;
}

/** Opens what `seal` made under the same key and name; throws a CaError otherwise. */
export function open(sealed: unknown, key: Buffer, name: string): string {
  if (typeof sealed !== 'object' || sealed === null) throw new CaError('CA_SEALED_SECRET_INVALID', `${name}: not a sealed secret`);
  const record = sealed as Record<string, unknown>;
  if (record.v !== 1 || record.alg !== 'A256GCM-HKDF-SHA256') {
    throw new CaError('CA_SEALED_SECRET_INVALID', `${name}: unknown envelope version or algorithm`);
  }
  const salt = field(record, 'salt', SALT_BYTES, name);
  const iv = field(record, 'iv', IV_BYTES, name);
  const tag = field(record, 'tag', TAG_BYTES, name);
  const ciphertext = field(record, 'ciphertext', undefined, name);
  const decipher = createDecipheriv('aes-256-gcm', derive(key, salt), iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(name, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new CaError('CA_ENCRYPTION_KEY_WRONG', `${name} does not decrypt with this encryption key (another key sealed it, or it was altered)`);
  }
}
