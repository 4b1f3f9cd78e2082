import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { controlPlaneSpiffeId } from '../../control-plane/api/ca-contract.js';
import { spiffeIdOfSubjectAltName } from '../../control-plane/api/spiffe-id.js';
import { WorkloadIdentity, type IdentitySnapshot } from '../../proxy/tls/workload-identity.js';
import { runWeft } from '../helpers/weft-cli.js';
import { cleanupScope, sidecar, until } from './control-plane-fixture.js';
import { spawnControlPlane } from './control-plane-process.js';
import { meshDirectory } from './mesh-fixture.js';

const { defer, started } = cleanupScope();


/** mTLS to the control plane, which must present its own SPIFFE ID (not a host name). */
function meshCredentials(identity: IdentitySnapshot | undefined, roots: readonly string[], serverId: string): ChannelCredentials {
  const checkServerIdentity = (_host: string, cert: { subjectaltname?: string }) =>
    spiffeIdOfSubjectAltName(cert.subjectaltname)?.uri === serverId ? undefined : new Error(`not ${serverId}`);
  return identity === undefined
    ? credentials.createSsl(Buffer.from(roots.join('')), null, null, { checkServerIdentity })
    : credentials.createSsl(Buffer.from(identity.trustBundlePems.join('')), Buffer.from(identity.privateKeyPem), Buffer.from(identity.chainPems.join('')), { checkServerIdentity });
}

describe('discovery over mutual TLS with the control plane CA', () => {
  it('bootstraps a sidecar certificate with a token and serves its snapshot to that identity only', async () => {
    const dir = await meshDirectory();
    const state = await mkdtemp(join(tmpdir(), 'weft-state-'));
    const cp = await spawnControlPlane(dir, state, { tls: true });
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
    });
    defer(() => identity.stop());
    const issued = await identity.start();

    const web = started(sidecar(cp.grpc, 'web', { credentials: () => meshCredentials(issued, roots, serverId) }));
    await until(() => web.applied.length === 1, 'the snapshot over mTLS');
    expect(web.holder.current()!.snapshot.workload?.metadata.name).toBe('web');

    // web's certificate cannot fetch the snapshot of orders.
    const impostor = started(
      sidecar(cp.grpc, 'orders', {
        node: { id: 'spiffe://weft.test/ns/default/sa/orders', workload: 'orders', namespace: 'default' },
        credentials: () => meshCredentials(issued, roots, serverId),
      }),
    );
    const refusals: string[] = [];
    impostor.client.on('disconnected', (error) => refusals.push(`${error?.code} ${error?.details}`));
    await until(() => refusals.length > 0, 'the refusal');
    expect(refusals[0]).toBe(
      '7 SIDECAR_IDENTITY_MISMATCH: node.id spiffe://weft.test/ns/default/sa/orders is not the authenticated identity spiffe://weft.test/ns/default/sa/web',
    );

    // Without a client certificate there is no identity at all.
    const anonymous = started(sidecar(cp.grpc, 'web', { credentials: () => meshCredentials(undefined, roots, serverId) }));
    const anonymousRefusals: string[] = [];
    anonymous.client.on('disconnected', (error) => anonymousRefusals.push(`${error?.code} ${error?.details}`));
    await until(() => anonymousRefusals.length > 0, 'the refusal');
    expect(anonymousRefusals[0]).toBe('7 SIDECAR_IDENTITY_MISMATCH: the peer presented no SPIFFE identity');
    expect(impostor.applied).toEqual([]);
    expect(anonymous.applied).toEqual([]);
  });
});
