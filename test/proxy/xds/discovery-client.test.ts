import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, type ServerDuplexStream } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { discoveryService, type SnapshotMessage, type SnapshotRequestMessage } from '../../../control-plane/api/discovery-contract.js';
import { cleanupScope, controlPlaneOn, controlPlaneTls, sidecar, until } from '../../control-plane/control-plane-fixture.js';
import { ROUTE_YAML, meshDirectory } from '../../control-plane/mesh-fixture.js';

const { defer, started } = cleanupScope();


/** A discovery server we script by hand, to send what a correct control plane never would. */
async function scriptedServer(answer: (request: SnapshotRequestMessage, call: ServerDuplexStream<SnapshotRequestMessage, SnapshotMessage>) => void) {
  const server = new Server();
  const tls = controlPlaneTls();
  defer(() => tls.close());
  server.addService(discoveryService, {
    streamSnapshots: (call: ServerDuplexStream<SnapshotRequestMessage, SnapshotMessage>) => call.on('data', (request: SnapshotRequestMessage) => answer(request, call)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', tls.credentials, (error, bound) => (error === null ? resolve(bound) : reject(error))),
  );
  defer(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

describe('sidecar discovery client', () => {
  it('NACKs a snapshot that does not match the resource schemas and keeps what it runs', async () => {
    const requests: SnapshotRequestMessage[] = [];
    const workload = JSON.stringify({ apiVersion: 'weft.dev/v1alpha1', kind: 'Workload', metadata: { name: 'web', namespace: 'default' }, spec: { serviceAccount: 'web', ports: [{ port: 80, protocol: 'http' }] } });
    const target = await scriptedServer((request, call) => {
      requests.push(request);
      if (requests.length === 1) call.write({ versionInfo: 'v1', nonce: 'n1', revision: 1, resources: [{ document: Buffer.from(workload) }] });
      if (requests.length === 2) {
        const broken = workload.replace('"port":80', '"port":"eighty"');
        call.write({ versionInfo: 'v2', nonce: 'n2', revision: 2, resources: [{ document: Buffer.from(broken) }, { document: Buffer.from('{not json') }] });
      }
    });
    const web = started(sidecar(target, 'web'));
    await until(() => requests.length === 3, 'the ACK and the NACK');
    expect(requests[0]).toMatchObject({ node: { id: 'spiffe://weft.test/ns/default/sa/web', workload: 'web' }, versionInfo: '', responseNonce: '' });
    expect(requests[1]).toMatchObject({ versionInfo: 'v1', responseNonce: 'n1' });
    expect(requests[1]!.errorDetail).toBeNull();
    expect(requests[2]).toMatchObject({ versionInfo: 'v1', responseNonce: 'n2', errorDetail: { code: 'SNAPSHOT_REJECTED' } });
    expect(requests[2]!.errorDetail!.message).toContain('resources[0].spec.ports[0].port: must be integer');
    expect(requests[2]!.errorDetail!.message).toContain('resources[1]: not JSON');
    expect(web.holder.current()!.snapshot.version).toBe('v1');
  });

  it('serves its persisted snapshot after a restart while the control plane is down', async () => {
    const dir = await meshDirectory();
    const state = await mkdtemp(join(tmpdir(), 'weft-sidecar-'));
    const snapshotFile = join(state, 'snapshot.json');
    const cp = await controlPlaneOn(dir);
    const first = started(sidecar(cp.grpcAddress, 'web', { snapshotFile }));
    await until(() => first.applied.length === 1, 'the first snapshot');
    const version = first.holder.current()!.snapshot.version;
    await until(async () => JSON.parse(await readFile(snapshotFile, 'utf8').catch(() => '{}')).versionInfo === version, 'the persisted copy');
    first.client.stop();
    const { grpcAddress } = cp;
    await cp.close();

    const restarted = started(sidecar(grpcAddress, 'web', { snapshotFile }));
    await until(() => restarted.applied.length === 1, 'the persisted snapshot');
    expect(restarted.applied[0]!.source).toBe('disk');
    expect(restarted.holder.current()!.source).toBe('disk');
    expect(restarted.holder.current()!.snapshot.version).toBe(version);
    expect(restarted.holder.current()!.snapshot.routes.get('orders')!.spec.timeoutMs).toBe(2000);
  });

  it('ignores a corrupt persisted snapshot and waits for the control plane', async () => {
    const state = await mkdtemp(join(tmpdir(), 'weft-sidecar-'));
    const snapshotFile = join(state, 'snapshot.json');
    await writeFile(snapshotFile, '{"format":"weft.sidecar-snapshot.v1","versionInfo":"x","revision":1,"documents":["{}"]}');
    const logs: string[] = [];
    const target = await scriptedServer(() => undefined);
    const web = started(sidecar(target, 'web', { snapshotFile, log: (line) => logs.push(line) }));
    await until(() => logs.length > 0, 'the log line');
    expect(logs[0]).toContain('ignoring persisted snapshot');
    expect(web.holder.current()).toBeUndefined();
  });

  it('reconnects with backoff and resyncs what changed while the control plane was away', async () => {
    const dir = await meshDirectory();
    const cp = await controlPlaneOn(dir);
    const web = started(sidecar(cp.grpcAddress, 'web'));
    await until(() => web.applied.length === 1, 'the first snapshot');
    const port = Number(cp.grpcAddress.split(':')[1]);
    await cp.close();
    await writeFile(join(dir, 'routes.yaml'), ROUTE_YAML.replace('timeout: 2s', 'timeout: 7s'));
    const again = await controlPlaneOn(dir, { grpcPort: port });
    defer(() => again.close());
    await until(() => web.holder.current()!.snapshot.routes.get('orders')?.spec.timeoutMs === 7000, 'the resync');
    expect(web.applied).toHaveLength(2);
  });
});
