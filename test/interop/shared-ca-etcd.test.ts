// Two control-plane replicas on one etcd (Debian etcd-server) share one CA and one token key,
// sealed in the store with the encryption key both are given.
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { controlPlaneSpiffeId } from '../../control-plane/api/ca-contract.js';
import { SHARED_CA_KEY } from '../../control-plane/ca/shared-ca.js';
import { requestCertificate } from '../../proxy/tls/ca-client.js';
import { WorkloadIdentity } from '../../proxy/tls/workload-identity.js';
import { createWorkloadKey } from '../../proxy/tls/workload-key.js';
import { startEtcd } from '../helpers/etcd.js';
import { throwawayRoot } from '../helpers/throwaway-ca.js';
import { runWeft } from '../helpers/weft-cli.js';
import { cleanupScope, sidecar, until } from '../control-plane/control-plane-fixture.js';
import { spawnControlPlane } from '../control-plane/control-plane-process.js';
import { meshDirectory } from '../control-plane/mesh-fixture.js';

const { defer, started } = cleanupScope();

async function keyFile(): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'weft-key-')), 'ca-encryption.key');
  await writeFile(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return file;
}

/** A throwaway root in Istio's cacerts layout. */
async function pluginCaDir(): Promise<{ dir: string; rootPem: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-plugin-'));
  const root = throwawayRoot('plug-in root');
  await writeFile(join(dir, 'ca-cert.pem'), root.certificatePem);
  await writeFile(join(dir, 'ca-key.pem'), root.privateKeyPem, { mode: 0o600 });
  await writeFile(join(dir, 'root-cert.pem'), root.certificatePem);
  return { dir, rootPem: root.certificatePem };
}

async function storedRecord(url: string): Promise<string | null> {
  const client = new Etcd3({ hosts: [url] });
  try {
    return await client.get(SHARED_CA_KEY).string();
  } finally {
    client.close();
  }
}

describe('a CA shared by control-plane replicas through etcd', () => {
  it('gives both replicas one root and one record of spent tokens, accepts the tokens and certificates of either, and refuses a wrong key', async () => {
    const etcd = (await startEtcd(defer)).urls[0]!;
    const key = await keyFile();
    const store = `etcd:${etcd}`;
    const [stateA, stateB] = [await mkdtemp(join(tmpdir(), 'weft-a-')), await mkdtemp(join(tmpdir(), 'weft-b-'))];
    // Started together: the create-if-absent transaction must make them agree on one CA.
    const [a, b] = await Promise.all([
      spawnControlPlane(store, stateA, { security: 'own-ca', args: ['--ca-encryption-key-file', key] }),
      spawnControlPlane(store, stateB, { security: 'own-ca', env: { WEFT_CA_ENCRYPTION_KEY: (await readFile(key, 'utf8')).trim() } }),
    ]);
    defer(() => a.kill());
    defer(() => b.kill());
    const rootA = await readFile(a.trustBundle!, 'utf8');
    expect(rootA).toContain('BEGIN CERTIFICATE');
    expect(await readFile(b.trustBundle!, 'utf8')).toBe(rootA);
    const record = await storedRecord(etcd);
    expect(record).toContain('"signingKey"');
    expect(record).not.toContain('PRIVATE KEY');

    // A token minted from the store is accepted by a; the certificate a issues verifies against b's bundle.
    const minted = await runWeft(['token', 'create', '--workload', 'web', '--trust-domain', 'weft.test', '--store', store, '--ca-encryption-key-file', key]);
    expect(minted.stderr).toBe('');
    expect(minted.code).toBe(0);
    const roots = [rootA];
    const fromA = new WorkloadIdentity({
      spiffeId: 'spiffe://weft.test/ns/default/sa/web',
      ca: { address: a.grpc, serverSpiffeId: controlPlaneSpiffeId('weft.test') },
      trustBundlePems: roots,
      bootstrapToken: minted.stdout.trim(),
    });
    defer(() => fromA.stop());
    await fromA.start();
    const root = new X509Certificate(rootA);
    expect(fromA.current.leaf.checkIssued(root) && fromA.current.leaf.verify(root.publicKey)).toBe(true);
    // b takes a's certificate as the sidecar's identity for discovery.
    const dir = await meshDirectory();
    expect((await runWeft(['apply', '-f', dir, ...b.adminArgs])).code).toBe(0);
    const web = started(sidecar(b.grpc, 'web', { credentials: () => fromA.controlPlaneCredentials() }));
    await until(() => web.applied.length === 1, 'the snapshot from b over mTLS with the certificate from a');

    // The token was single-use: b, sharing the ledger of used tokens, refuses it.
    const key2 = await createWorkloadKey('spiffe://weft.test/ns/default/sa/web');
    const asB = (token: string) =>
      requestCertificate({ endpoint: { address: b.grpc, serverSpiffeId: controlPlaneSpiffeId('weft.test') }, trustBundlePems: roots, credential: { kind: 'token', token }, csrPem: key2.csrPem });
    await expect(asB(minted.stdout.trim())).rejects.toMatchObject({ message: expect.stringContaining('TOKEN_REPLAYED') });
    expect(b.output()).toMatch(/"event":"certificate.refused".*"code":"TOKEN_REPLAYED"/);
    // A reusable token is accepted by both.
    const reusable = (await runWeft(['token', 'create', '--workload', 'web', '--reusable', '--trust-domain', 'weft.test', '--store', store, '--ca-encryption-key-file', key])).stdout.trim();
    const fromB = new WorkloadIdentity({
      spiffeId: 'spiffe://weft.test/ns/default/sa/web',
      ca: { address: b.grpc, serverSpiffeId: controlPlaneSpiffeId('weft.test') },
      trustBundlePems: roots,
      bootstrapToken: reusable,
    });
    defer(() => fromB.stop());
    await fromB.start();
    expect(fromB.current.leaf.verify(root.publicKey)).toBe(true);
    await expect(asB(reusable)).resolves.toMatchObject({ certificateChainPem: expect.any(Array) });

    // A replica with another key stops with a clear error and leaves the stored CA alone.
    const wrong = await runWeft(['control-plane', '--store', store, '--grpc-port', '0', '--admin-port', '0', '--state-dir', await mkdtemp(join(tmpdir(), 'weft-c-')), '--trust-domain', 'weft.test', '--ca-encryption-key-file', await keyFile()]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('CA_ENCRYPTION_KEY_WRONG: /weft/ca/authority#signing-key does not decrypt with this encryption key');
    const badToken = await runWeft(['token', 'create', '--workload', 'web', '--store', store, '--ca-encryption-key-file', await keyFile()]);
    expect(badToken.code).toBe(2);
    expect(badToken.stderr).toContain('CA_ENCRYPTION_KEY_WRONG');
    // So does one asked to plug in another CA than the store holds.
    const plugged = await runWeft(['control-plane', '--store', store, '--grpc-port', '0', '--admin-port', '0', '--state-dir', await mkdtemp(join(tmpdir(), 'weft-d-')), '--ca-encryption-key-file', key, '--plugin-ca', (await pluginCaDir()).dir]);
    expect(plugged.code).toBe(2);
    expect(plugged.stderr).toContain('CA_CONFIG_INVALID: the store already holds another CA than');
    expect(await storedRecord(etcd)).toBe(record);
  });

  it('shares a plug-in CA given to the first replica', async () => {
    const etcd = (await startEtcd(defer)).urls[0]!;
    const key = await keyFile();
    const plugin = await pluginCaDir();
    const a = await spawnControlPlane(`etcd:${etcd}`, await mkdtemp(join(tmpdir(), 'weft-a-')), { security: 'own-ca', args: ['--ca-encryption-key-file', key, '--plugin-ca', plugin.dir] });
    defer(() => a.kill());
    const b = await spawnControlPlane(`etcd:${etcd}`, await mkdtemp(join(tmpdir(), 'weft-b-')), { security: 'own-ca', args: ['--ca-encryption-key-file', key] });
    defer(() => b.kill());
    expect(await readFile(a.trustBundle!, 'utf8')).toBe(plugin.rootPem);
    expect(await readFile(b.trustBundle!, 'utf8')).toBe(plugin.rootPem);
  });
});
