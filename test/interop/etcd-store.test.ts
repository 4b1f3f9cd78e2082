// The etcd store against a real etcd (Debian etcd-server) on loopback, with two control-plane
// replicas sharing it.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWeft } from '../helpers/weft-cli.js';
import { startEtcd } from '../helpers/etcd.js';
import { cleanupScope, sidecar, until } from '../control-plane/control-plane-fixture.js';
import { spawnControlPlane, tlsReplicas, type ControlPlaneProcess } from '../control-plane/control-plane-process.js';
import { meshUnderTraffic, SPARE_FORBIDDEN_REGO } from '../control-plane/fault-traffic-fixture.js';
import { MESH_FILES, ROUTE_YAML, policyYaml, writeFiles } from '../control-plane/mesh-fixture.js';

const { defer, started } = cleanupScope();

async function apply(cp: ControlPlaneProcess, files: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'weft-change-'));
  await writeFiles(dir, files);
  return runWeft(['apply', '-f', dir, ...cp.adminArgs]);
}

async function revisionOf(cp: ControlPlaneProcess): Promise<number> {
  const result = await runWeft(['status', '--json', ...cp.adminArgs]);
  return (JSON.parse(result.stdout) as { revision: { number: number } }).revision.number;
}

describe('etcd store with two control-plane replicas', () => {
  it('shares changes between replicas, and a sidecar survives losing its replica', async () => {
    const etcd = (await startEtcd(defer)).urls[0]!;
    const [stateA, stateB] = [await mkdtemp(join(tmpdir(), 'weft-a-')), await mkdtemp(join(tmpdir(), 'weft-b-'))];
    const a = await spawnControlPlane(`etcd:${etcd}`, stateA);
    defer(() => a.kill());
    const b = await spawnControlPlane(`etcd:${etcd}`, stateB);
    defer(() => b.kill());

    const applied = await apply(a, MESH_FILES);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const revision = await revisionOf(a);
    await until(async () => (await revisionOf(b)) === revision, 'replica b to serve the same revision');

    // One sidecar may reach either replica; it starts on a.
    const web = started(sidecar(`ipv4:${a.grpc},${b.grpc}`, 'web'));
    await until(() => web.applied.length === 1, 'the first snapshot');
    const onB = started(sidecar(b.grpc, 'orders'));
    await until(() => onB.applied.length === 1, 'the snapshot from b');

    // A change applied through b reaches the sidecar connected to a.
    expect((await apply(b, { 'routes.yaml': ROUTE_YAML.replace('timeout: 2s', 'timeout: 5s') })).code).toBe(0);
    await until(() => web.holder.current()!.snapshot.routes.get('orders')?.spec.timeoutMs === 5000, 'the change through b');

    // Replica a dies; the sidecar keeps its snapshot, moves to b and gets the next change.
    await a.kill('SIGKILL');
    expect((await apply(b, { 'routes.yaml': ROUTE_YAML.replace('timeout: 2s', 'timeout: 6s') })).code).toBe(0);
    await until(() => web.holder.current()!.snapshot.routes.get('orders')?.spec.timeoutMs === 6000, 'the change after failover');

    // A broken change is refused by the replica and nothing reaches etcd.
    const refused = await apply(b, { 'routes.yaml': ROUTE_YAML.replace('service: orders', 'service: nowhere') });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('RESOURCE_REFERENCE_UNKNOWN');
    const got = await runWeft(['get', 'route', 'orders', '-o', 'json', ...b.adminArgs]);
    expect(JSON.parse(got.stdout).spec.timeout).toBe('6000ms');
  });

  it('keeps applying changes when one member of a 3-member etcd cluster dies', async () => {
    const { urls, members } = await startEtcd(defer, 3);
    const state = await mkdtemp(join(tmpdir(), 'weft-a-'));
    const cp = await spawnControlPlane(`etcd:${urls.join(',')}`, state);
    defer(() => cp.kill());
    expect((await apply(cp, MESH_FILES)).code).toBe(0);
    const web = started(sidecar(cp.grpc, 'web'));
    await until(() => web.applied.length === 1, 'the first snapshot');

    members[0]!.kill('SIGKILL');
    const after = await apply(cp, { 'routes.yaml': ROUTE_YAML.replace('timeout: 2s', 'timeout: 4s') });
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    await until(() => web.holder.current()!.snapshot.routes.get('orders')?.spec.timeoutMs === 4000, 'the change with a member down');
    expect(web.applied).toHaveLength(2);
  });

  it('loses one of two replicas and one of three etcd members under traffic without a failed request, and still applies changes', { timeout: 120_000 }, async () => {
    const { urls, members } = await startEtcd(defer, 3);
    const store = `etcd:${urls.join(',')}`;
    const { replica, token } = await tlsReplicas(store, defer);
    const a = await replica('a');
    const b = await replica('b');
    expect((await apply(a, MESH_FILES)).code).toBe(0);
    await until(async () => (await revisionOf(b)) === (await revisionOf(a)), 'replica b to serve the same revision');

    // Both sidecars are given both replicas; they start on a, the first.
    const { status, traffic } = await meshUnderTraffic({ controlPlane: `${a.grpc},${b.grpc}`, trustBundle: a.trustBundle!, token, defer });
    members[0]!.kill('SIGKILL');
    await a.kill('SIGKILL');
    const sidecarsOnB = async () => {
      const answer = (await (await fetch(`${b.admin}/v1/status`, { headers: b.adminHeaders.read })).json()) as { sidecars: { workload: string; ackedVersion: string | null }[] };
      return answer.sidecars.filter((s) => s.ackedVersion !== null).map((s) => s.workload).sort();
    };
    await until(async () => (await sidecarsOnB()).length === 2, 'both sidecars to move to replica b', 30_000);
    expect(await sidecarsOnB()).toEqual(['default/orders', 'default/web']);

    // A change through the surviving replica and the two surviving members is enforced.
    const changed = await apply(b, { 'policies/orders.yaml': policyYaml(), 'policies/authz.rego': SPARE_FORBIDDEN_REGO });
    expect(changed.stderr).toBe('');
    expect(changed.code).toBe(0);
    await until(async () => (await status('/orders/forbidden')) === 403, 'the change applied through b to be enforced', 20_000);
    const atChange = traffic.answered();
    await until(() => traffic.answered() > atChange + 200, 'traffic after the change');
    const result = await traffic.stop();
    expect(result.errors).toEqual([]);
    expect(result.statuses).toEqual({ 200: result.sent });
    expect(result.sent).toBeGreaterThan(250);
  });
});
