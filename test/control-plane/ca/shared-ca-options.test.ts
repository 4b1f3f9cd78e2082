// The options of a CA shared through etcd, refused before anything is contacted.
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWeft } from '../../helpers/weft-cli.js';

async function controlPlane(args: string[], env: Record<string, string> = {}) {
  const state = await mkdtemp(join(tmpdir(), 'weft-state-'));
  return runWeft(['control-plane', '--grpc-port', '0', '--admin-port', '0', '--state-dir', state, ...args], { env: { WEFT_CA_ENCRYPTION_KEY: '', ...env } });
}

describe('control-plane options for a shared CA', () => {
  it('requires the encryption key with an etcd store', async () => {
    const result = await controlPlane(['--store', 'etcd:http://127.0.0.1:9']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--store etcd: needs the key that seals the shared CA: --ca-encryption-key-file FILE or $WEFT_CA_ENCRYPTION_KEY');
  });

  it('refuses a key that is not 32 bytes of base64, and a key file with a file store', async () => {
    const short = await controlPlane(['--store', 'etcd:http://127.0.0.1:9'], { WEFT_CA_ENCRYPTION_KEY: randomBytes(16).toString('base64') });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('CA_ENCRYPTION_KEY_INVALID: $WEFT_CA_ENCRYPTION_KEY holds 16 bytes, not 32');
    const file = join(await mkdtemp(join(tmpdir(), 'weft-key-')), 'key');
    await writeFile(file, randomBytes(32).toString('base64'), { mode: 0o600 });
    const onFiles = await controlPlane(['--store', `file:${await mkdtemp(join(tmpdir(), 'weft-mesh-'))}`, '--ca-encryption-key-file', file]);
    expect(onFiles.code).toBe(2);
    expect(onFiles.stderr).toContain('--ca-encryption-key-file applies to an etcd store only');
  });

  it('reports an unreachable store as such', async () => {
    const result = await controlPlane(['--store', 'etcd:http://127.0.0.1:9'], { WEFT_CA_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot read the shared CA from the store etcd:http://127.0.0.1:9');
  });
});
