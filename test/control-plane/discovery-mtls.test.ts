import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlPlaneSpiffeId } from '../../control-plane/api/ca-contract.js';
import { controlPlaneCredentials } from '../../proxy/tls/ca-client.js';
import { WorkloadIdentity } from '../../proxy/tls/workload-identity.js';
import { throwawayRoot } from '../helpers/throwaway-ca.js';
import { runWeft } from '../helpers/weft-cli.js';
import { cleanupScope, sidecar, until } from './control-plane-fixture.js';
import { spawnControlPlane } from './control-plane-process.js';
import { meshDirectory } from './mesh-fixture.js';

const { defer, started } = cleanupScope();


describe('discovery over mutual TLS with the control plane CA', () => {
  it('bootstraps a sidecar certificate with a token and serves its snapshot to that identity only', async () => {
    const dir = await meshDirectory();
    const state = await mkdtemp(join(tmpdir(), 'weft-state-'));
    const cp = await spawnControlPlane(dir, state, { security: 'own-ca' });
    defer(() => cp.kill());
    const roots = [await readFile(join(state, 'ca', 'root-cert.pem'), 'utf8')];
    const serverId = controlPlaneSpiffeId('weft.test');

    const token = await runWeft(['token', 'create', '--workload', 'web', '--state-dir', state, '--trust-domain', 'weft.test']);
    expect(token.code).toBe(0);
    const identity = new WorkloadIdentity({
      spiffeId: 'spiffe://weft.test/ns/default/sa/web',
      ca: { address: cp.grpc, serverSpiffeId: serverId },
      trustBundlePems: roots,
      bootstrapToken: token.stdout.trim(),
      bundleRefreshMs: 300,
    });
    defer(() => identity.stop());
    await identity.start();

    const web = started(sidecar(cp.grpc, 'web', { credentials: () => identity.controlPlaneCredentials() }));
    await until(() => web.applied.length === 1, 'the snapshot over mTLS');
    expect(web.holder.current()!.snapshot.workload?.metadata.name).toBe('web');

    // web's certificate cannot fetch the snapshot of orders.
    const impostor = started(
      sidecar(cp.grpc, 'orders', {
        node: { id: 'spiffe://weft.test/ns/default/sa/orders', workload: 'orders', namespace: 'default' },
        credentials: () => identity.controlPlaneCredentials(),
      }),
    );
    const refusals: string[] = [];
    impostor.client.on('disconnected', (error) => refusals.push(`${error?.code} ${error?.details}`));
    await until(() => refusals.length > 0, 'the refusal');
    expect(refusals[0]).toBe(
      '7 SIDECAR_IDENTITY_MISMATCH: node.id spiffe://weft.test/ns/default/sa/orders is not the authenticated identity spiffe://weft.test/ns/default/sa/web',
    );

    // Without a client certificate there is no identity at all.
    const anonymous = started(sidecar(cp.grpc, 'web', { credentials: () => controlPlaneCredentials({ address: cp.grpc, serverSpiffeId: serverId }, roots, { kind: 'token', token: '' }) }));
    const anonymousRefusals: string[] = [];
    anonymous.client.on('disconnected', (error) => anonymousRefusals.push(`${error?.code} ${error?.details}`));
    await until(() => anonymousRefusals.length > 0, 'the refusal');
    expect(anonymousRefusals[0]).toBe('7 SIDECAR_IDENTITY_MISMATCH: the peer presented no SPIFFE identity');
    expect(impostor.applied).toEqual([]);
    expect(anonymous.applied).toEqual([]);
  });

  it('follows an edit of its CA directory: a root appended to root-cert.pem reaches the sidecars', async () => {
    const dir = await meshDirectory();
    const state = await mkdtemp(join(tmpdir(), 'weft-state-'));
    const cp = await spawnControlPlane(dir, state, { security: 'own-ca' });
    defer(() => cp.kill());
    const bundleFile = join(state, 'ca', 'root-cert.pem');
    const roots = [await readFile(bundleFile, 'utf8')];
    const token = await runWeft(['token', 'create', '--workload', 'web', '--state-dir', state, '--trust-domain', 'weft.test']);
    const identity = new WorkloadIdentity({
      spiffeId: 'spiffe://weft.test/ns/default/sa/web',
      ca: { address: cp.grpc, serverSpiffeId: controlPlaneSpiffeId('weft.test') },
      trustBundlePems: roots,
      bootstrapToken: token.stdout.trim(),
      bundleRefreshMs: 300,
    });
    defer(() => identity.stop());
    await identity.start();
    expect(identity.current.trustBundlePems).toHaveLength(1);
    await writeFile(bundleFile, roots[0] + throwawayRoot('next root').certificatePem);
    await until(() => cp.output().includes('applied: roots ['), 'the CA to apply the edit');
    await until(() => identity.current.trustBundlePems.length === 2, 'the sidecar to learn the new root');
  });
});
