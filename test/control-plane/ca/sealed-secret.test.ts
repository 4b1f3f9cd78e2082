import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { open, parseEncryptionKey, readEncryptionKey, seal } from '../../../control-plane/ca/sealed-secret.js';

const key = randomBytes(32);
const SECRET = '-----BEGIN PRIVATE KEY-----\nnot really a key\n-----END PRIVATE KEY-----\n';

function flipFirstByte(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[0] = (bytes[0] as number) ^ 0x01;
  return bytes.toString('base64');
}

describe('sealed secrets (AES-256-GCM, HKDF, the name as AAD)', () => {
  it('opens what it sealed, and seals the same text differently each time', () => {
    const sealed = seal(SECRET, key, '/weft/ca/authority#signing-key');
    expect(open(sealed, key, '/weft/ca/authority#signing-key')).toBe(SECRET);
    expect(JSON.stringify(sealed)).not.toContain('not really');
    const again = seal(SECRET, key, '/weft/ca/authority#signing-key');
    expect(again.salt).not.toBe(sealed.salt);
    expect(again.ciphertext).not.toBe(sealed.ciphertext);
  });

  it('refuses another key, another name, and any altered field', () => {
    const sealed = seal(SECRET, key, 'a');
    expect(() => open(sealed, randomBytes(32), 'a')).toThrow(/CA_ENCRYPTION_KEY_WRONG: a does not decrypt with this encryption key/);
    expect(() => open(sealed, key, 'b')).toThrow(/CA_ENCRYPTION_KEY_WRONG/);
    for (const field of ['ciphertext', 'tag', 'iv', 'salt'] as const) {
      expect(() => open({ ...sealed, [field]: flipFirstByte(sealed[field]) }, key, 'a'), field).toThrow(/CA_ENCRYPTION_KEY_WRONG/);
    }
  });

  it('refuses a malformed envelope with a clear error', () => {
    const sealed = seal(SECRET, key, 'a');
    expect(() => open('text', key, 'a')).toThrow(/CA_SEALED_SECRET_INVALID: a: not a sealed secret/);
    expect(() => open({ ...sealed, v: 2 }, key, 'a')).toThrow(/CA_SEALED_SECRET_INVALID: a: unknown envelope version/);
    expect(() => open({ ...sealed, iv: 'not base64!' }, key, 'a')).toThrow(/CA_SEALED_SECRET_INVALID: a: 'iv' is not 12 bytes of base64/);
    expect(() => open({ ...sealed, tag: Buffer.alloc(8).toString('base64') }, key, 'a')).toThrow(/'tag' is not 16 bytes/);
  });

  it('takes a key of exactly 32 bytes of base64', () => {
    expect(parseEncryptionKey(`${key.toString('base64')}\n`, 'k').equals(key)).toBe(true);
    expect(() => parseEncryptionKey('***', 'k')).toThrow(/CA_ENCRYPTION_KEY_INVALID: k is not base64/);
    expect(() => parseEncryptionKey(randomBytes(16).toString('base64'), 'k')).toThrow(/CA_ENCRYPTION_KEY_INVALID: k holds 16 bytes, not 32/);
    expect(() => parseEncryptionKey('', 'k')).toThrow(/k holds 0 bytes/);
  });

  it('reads the key from a private file, else from the environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-sealed-'));
    const file = join(dir, 'key');
    await writeFile(file, key.toString('base64'), { mode: 0o600 });
    expect((await readEncryptionKey(file, {}))?.equals(key)).toBe(true);
    await chmod(file, 0o644);
    await expect(readEncryptionKey(file, {})).rejects.toThrow(/CA_KEY_EXPOSED/);
    expect((await readEncryptionKey(undefined, { WEFT_CA_ENCRYPTION_KEY: key.toString('base64') }))?.equals(key)).toBe(true);
    await expect(readEncryptionKey(undefined, { WEFT_CA_ENCRYPTION_KEY: 'short' })).rejects.toThrow(/\$WEFT_CA_ENCRYPTION_KEY is not base64/);
    expect(await readEncryptionKey(undefined, {})).toBeUndefined();
  });
});
