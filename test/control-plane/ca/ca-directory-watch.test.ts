// A root rotation done the way an operator does it with a plug-in CA: three edits of the CA
// directory on a running CA, each picked up from the files, an inconsistent edit refused whole.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCaDirectory } from '../../../control-plane/ca/ca-directory.js';
import { watchCaDirectory, type CaDirectoryWatch } from '../../../control-plane/ca/ca-directory-watch.js';
import { CertificateAuthority } from '../../../control-plane/ca/certificate-authority.js';
import { eventually } from '../../helpers/eventually.js';
import { throwawayRoot } from '../../helpers/throwaway-ca.js';

const oldRoot = throwawayRoot('old root');
const newRoot = throwawayRoot('new root');
let dir: string;
let ca: CertificateAuthority;
let watcher: CaDirectoryWatch;
const lines: string[] = [];

async function writeSigning(root: { certificatePem: string; privateKeyPem: string }): Promise<void> {
  await writeFile(join(dir, 'ca-cert.pem'), root.certificatePem);
  await writeFile(join(dir, 'ca-key.pem'), root.privateKeyPem, { mode: 0o600 });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-ca-watch-'));
  await writeSigning(oldRoot);
  await writeFile(join(dir, 'root-cert.pem'), oldRoot.certificatePem);
  const contents = await loadCaDirectory(dir);
  ca = new CertificateAuthority({ trustDomain: 'test.local', signing: contents.signing, trustBundlePems: contents.trustBundlePems });
  watcher = watchCaDirectory(dir, ca, (line) => lines.push(line));
});
afterAll(async () => {
  watcher.close();
  await rm(dir, { recursive: true, force: true });
});

describe('CA directory edits on a running CA', () => {
  it('trusts a root appended to root-cert.pem, picked up from the files', async () => {
    await writeFile(join(dir, 'root-cert.pem'), oldRoot.certificatePem + newRoot.certificatePem);
    await eventually(async () => ca.trustBundlePems.length, (count) => count === 2, 5000);
    expect(ca.signingCertificatePem).toBe(oldRoot.certificatePem);
    expect(lines.at(-1)).toMatch(/CA directory .* applied: roots \[.*, .*\], signing/);
  });

  it('refuses to drop the root the CA still signs with, changing nothing', async () => {
    await writeFile(join(dir, 'root-cert.pem'), newRoot.certificatePem);
    await watcher.reload();
    expect(ca.trustBundlePems).toHaveLength(2);
    expect(lines.at(-1)).toMatch(/not applied, the CA keeps roots .*: .*does not chain to a root/);
    await writeFile(join(dir, 'root-cert.pem'), oldRoot.certificatePem + newRoot.certificatePem);
  });

  it('signs with the new root once ca-cert.pem and ca-key.pem are replaced', async () => {
    await writeSigning(newRoot);
    await watcher.reload();
    expect(ca.signingCertificatePem).toBe(newRoot.certificatePem);
    expect(ca.trustBundlePems).toHaveLength(2);
  });

  it('refuses a key file others can read', async () => {
    await writeFile(join(dir, 'ca-key.pem'), newRoot.privateKeyPem, { mode: 0o644 });
    const { chmod } = await import('node:fs/promises');
    await chmod(join(dir, 'ca-key.pem'), 0o644);
    await watcher.reload();
    expect(lines.at(-1)).toMatch(/not applied.*CA_KEY_EXPOSED/);
    await chmod(join(dir, 'ca-key.pem'), 0o600);
  });

  it('stops trusting the old root once it is removed from root-cert.pem', async () => {
    await writeFile(join(dir, 'root-cert.pem'), newRoot.certificatePem);
    await watcher.reload();
    expect(ca.trustBundlePems).toEqual([newRoot.certificatePem]);
  });
});
