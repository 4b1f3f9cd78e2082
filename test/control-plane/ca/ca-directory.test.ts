import { X509Certificate } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCaDirectory, loadOrCreateCaDirectory } from '../../../control-plane/ca/ca-directory.js';
import { openCertificateAuthority } from '../../../control-plane/ca/index.js';
import { createWorkloadKey } from '../../../proxy/tls/workload-key.js';
import { throwawayIntermediate, throwawayRoot } from '../../helpers/throwaway-ca.js';

const asRoot = process.getuid?.() === 0;
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-ca-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('CA state directory', () => {
  it('creates a root on first start with the key in mode 0600, and loads the same root afterwards', async () => {
    const dir = join(await tempDir(), 'ca');
    const first = await loadOrCreateCaDirectory(dir);
    expect(first.created).toBe(true);
    expect((await stat(join(dir, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const root = new X509Certificate(first.signing.certificatePem);
    expect(root.ca).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    const second = await loadOrCreateCaDirectory(dir);
    expect(second.created).toBe(false);
    expect(second.signing.certificatePem).toBe(first.signing.certificatePem);
  });

  it('refuses to start when the key is readable by others or the group, naming the fix', async () => {
    const dir = join(await tempDir(), 'ca');
    await loadOrCreateCaDirectory(dir);
    // As root (CI), the key goes to another user: a root-owned key may be group-readable (below).
    if (asRoot) await chown(join(dir, 'ca-key.pem'), 10001, 10001);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      await chmod(join(dir, 'ca-key.pem'), mode);
      await expect(loadOrCreateCaDirectory(dir)).rejects.toThrow(/CA_KEY_EXPOSED.*chmod 600/);
    }
  });

  it.skipIf(!asRoot)('takes a root-owned key its group may only read, as Kubernetes mounts a Secret under fsGroup (a symlink to root:fsGroup 0440)', async () => {
    const dir = join(await tempDir(), 'ca');
    await loadOrCreateCaDirectory(dir);
    const data = join(dir, '..2026_12_04_08_00_00.1');
    await mkdir(data);
    await rename(join(dir, 'ca-key.pem'), join(data, 'ca-key.pem'));
    await symlink(join(data, 'ca-key.pem'), join(dir, 'ca-key.pem'));
    await chown(join(data, 'ca-key.pem'), 0, 10001);
    for (const mode of [0o440, 0o640, 0o400]) {
      await chmod(join(data, 'ca-key.pem'), mode);
      await expect(loadOrCreateCaDirectory(dir)).resolves.toMatchObject({ created: false });
    }
    for (const mode of [0o460, 0o450, 0o444, 0o441]) {
      await chmod(join(data, 'ca-key.pem'), mode);
      await expect(loadOrCreateCaDirectory(dir)).rejects.toThrow(/CA_KEY_EXPOSED.*group read only for a file owned by root/);
    }
  });

  it('refuses a half-present CA rather than overwriting it', async () => {
    const dir = join(await tempDir(), 'ca');
    await loadOrCreateCaDirectory(dir);
    await rm(join(dir, 'ca-key.pem'));
    await expect(loadOrCreateCaDirectory(dir)).rejects.toThrow(/ca-key.pem is missing/);
  });

  it('plugs in an existing intermediate in Istio cacerts layout, cert-chain.pem repeating ca-cert and root', async () => {
    const dir = await tempDir();
    const root = throwawayRoot('corp root');
    const intermediate = throwawayIntermediate(root, 'corp mesh intermediate');
    await writeFile(join(dir, 'ca-cert.pem'), intermediate.certificatePem);
    await writeFile(join(dir, 'ca-key.pem'), intermediate.privateKeyPem, { mode: 0o600 });
    await writeFile(join(dir, 'cert-chain.pem'), intermediate.certificatePem + root.certificatePem);
    await writeFile(join(dir, 'root-cert.pem'), root.certificatePem);
    const loaded = await loadCaDirectory(dir);
    expect(loaded.signing.intermediatePems).toEqual([]);
    const { ca } = await openCertificateAuthority({ stateDir: await tempDir(), pluginCaDir: dir, trustDomain: 'corp.example' });
    const id = 'spiffe://corp.example/ns/a/sa/b';
    const issued = ca.issueForCsr((await createWorkloadKey(id)).csrPem, id);
    expect(issued.chainPems[1]).toBe(intermediate.certificatePem);
    expect(issued.trustBundlePems).toEqual([root.certificatePem]);
  });

  it('refuses a plug-in directory whose files are not certificates', async () => {
    const dir = await tempDir();
    const root = throwawayRoot();
    await writeFile(join(dir, 'ca-cert.pem'), 'not a certificate');
    await writeFile(join(dir, 'ca-key.pem'), root.privateKeyPem, { mode: 0o600 });
    await writeFile(join(dir, 'root-cert.pem'), root.certificatePem);
    await expect(loadCaDirectory(dir)).rejects.toThrow(/CA_CONFIG_INVALID.*holds no PEM certificate/);
    expect(await readFile(join(dir, 'ca-cert.pem'), 'utf8')).toBe('not a certificate');
  });
});
