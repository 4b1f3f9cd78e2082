// Endpoints shared by control-plane replicas through etcd (Debian etcd-server): a sidecar that
// reaches only one replica calls a service whose sidecar reaches only the other.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { ENDPOINTS_PREFIX } from '../../control-plane/distribution/etcd-endpoint-directory.js';
import { startEtcd } from '../helpers/etcd.js';
import { echoServer } from '../helpers/upstream.js';
import { runWeft } from '../helpers/weft-cli.js';
import { cleanupScope, sidecar, until } from '../control-plane/control-plane-fixture.js';
import { spawnControlPlane, tlsReplicas, type ControlPlaneProcess } from '../control-plane/control-plane-process.js';
import { statusThroughMesh } from '../control-plane/fault-traffic-fixture.js';
import { spawnManagedSidecar } from '../control-plane/managed-sidecar-process.js';
import { MESH_FILES, writeFiles } from '../control-plane/mesh-fixture.js';

const { defer, started } = cleanupScope();

describe('endpoints shared by control-plane replicas through etcd', () => {
  it('lets a sidecar on one replica call a service whose sidecar is on another, until that replica stops', async () => {
    const etcdUrl = (await startEtcd(defer)).urls[0]!;
    const store = `etcd:${etcdUrl}`;
    const { replica, token } = await tlsReplicas(store, defer);
    const a = await replica('a');
    const b = await replica('b');
    const mesh = await mkdtemp(join(tmpdir(), 'weft-mesh-'));
    await writeFiles(mesh, MESH_FILES);
    expect((await runWeft(['apply', '-f', mesh, ...a.adminArgs])).code).toBe(0);

    const etcd = new Etcd3({ hosts: [etcdUrl] });
    defer(() => etcd.close());
    const published = async () => Object.values(await etcd.getAll().prefix(ENDPOINTS_PREFIX).strings());
    // A malformed document (untrusted input) is ignored and logged; it does not stop the others.
    await etcd.put(`${ENDPOINTS_PREFIX}bogus`).value('[{"namespace":"default","workload":"orders","address":"127.0.0.1","port":"9"}]');

    const app = await echoServer();
    defer(() => app.close());
    // Each sidecar is given one replica only.
    const orders = await spawnManagedSidecar({ controlPlane: b.grpc, trustBundle: b.trustBundle!, appPort: app.port, workload: 'orders', token: await token('orders') });
    defer(() => orders.kill());
    const web = await spawnManagedSidecar({ controlPlane: a.grpc, trustBundle: a.trustBundle!, appPort: app.port, workload: 'web', token: await token('web') });
    defer(() => web.kill());
    await until(async () => (await published()).some((doc) => doc.includes(`"port":${orders.inboundPort}`)), "replica b to publish orders' endpoint");

    const status = (path: string) => statusThroughMesh(web.outboundPort, 'orders', path);
    await until(async () => (await status('/orders/1')) === 200, 'web (on a) to reach orders (on b) through the mesh', 20_000);
    expect(a.output()).toContain(`ignored the endpoints at ${ENDPOINTS_PREFIX}bogus in etcd: /0/port must be integer`);
    // The endpoint writes advanced etcd's revision since the resources changed; a replica started
    // now still numbers them as the others do.
    const revisionOf = async (cp: ControlPlaneProcess) => ((await (await fetch(`${cp.admin}/v1/status`, { headers: cp.adminHeaders.read })).json()) as { revision: { number: number } }).revision.number;
    const c = await replica('c');
    expect(await revisionOf(c)).toBe(await revisionOf(a));
    expect(await revisionOf(b)).toBe(await revisionOf(a));
    await c.kill('SIGTERM');

    // b stops cleanly: its lease is revoked, so its document is gone at once (not after the TTL),
    // and orders, which knows no other replica, is no longer an endpoint web is given.
    await b.kill('SIGTERM');
    const left = await published();
    expect(left.some((doc) => doc.includes(`"port":${orders.inboundPort}`))).toBe(false);
    expect(left).toHaveLength(2); // a's own document and the malformed one
    await until(async () => (await status('/orders/1')) === 503, 'web to have no endpoint for orders any more', 20_000);
  });

  it("publishes again under a new lease when its lease is lost, and drops the endpoints of a replica killed with -9 once its lease expires", { timeout: 60_000 }, async () => {
    const { urls, members } = await startEtcd(defer);
    const etcdUrl = urls[0]!;
    const store = `etcd:${etcdUrl}`;
    const a = await spawnControlPlane(store, await mkdtemp(join(tmpdir(), 'weft-a-')));
    defer(() => a.kill());
    const b = await spawnControlPlane(store, await mkdtemp(join(tmpdir(), 'weft-b-')));
    defer(() => b.kill());
    const mesh = await mkdtemp(join(tmpdir(), 'weft-mesh-'));
    await writeFiles(mesh, MESH_FILES);
    expect((await runWeft(['apply', '-f', mesh, ...a.adminArgs])).code).toBe(0);
    // Discovery clients in this process: orders announces an address to b only, web asks a.
    started(sidecar(b.grpc, 'orders', { node: { id: 'spiffe://weft.test/ns/default/sa/orders', workload: 'orders', namespace: 'default', inboundAddress: '127.0.0.1:15006' } }));
    const web = started(sidecar(a.grpc, 'web'));
    const ordersEndpoints = () => web.holder.current()?.snapshot.services.get('orders')?.spec.endpoints ?? [];
    await until(() => ordersEndpoints().length === 1, "web (on a) to learn orders' endpoint (on b)");
    expect(ordersEndpoints()).toEqual([{ host: '127.0.0.1', port: 15006 }]);

    // b's lease ends while b runs (as after etcd was unreachable longer than the TTL): its
    // document goes with it, and b writes it again under a new lease.
    const etcd = new Etcd3({ hosts: [etcdUrl] });
    defer(() => etcd.close());
    const leases = async () => (await etcd.getAll().prefix(ENDPOINTS_PREFIX).exec()).kvs.filter((kv) => kv.value.toString().includes('"port":15006')).map((kv) => kv.lease);
    const [lease] = await leases();
    await etcd.leaseClient.leaseRevoke({ ID: lease! });
    await until(async () => (await leases()).some((l) => l !== lease), "b to publish orders' endpoint under a new lease", 20_000);
    expect(b.output()).toContain("the etcd lease of this replica's endpoints was lost");
    await until(() => ordersEndpoints().length === 1, "web to have orders' endpoint again");

    // b dies without revoking its lease: its endpoints stay until the TTL runs out, then go.
    await b.kill('SIGKILL');
    expect(ordersEndpoints()).toHaveLength(1);
    await until(() => ordersEndpoints().length === 0, "b's lease to expire and orders' endpoint to go", 30_000);

    // With etcd gone, a stopped replica still exits (its lease cannot be revoked; it expires).
    members[0]!.kill('SIGKILL');
    await a.kill('SIGTERM');
    expect(a.child.exitCode).toBe(0);
  });
});
