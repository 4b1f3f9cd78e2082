import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWeft } from '../helpers/weft-cli.js';
import { cleanupScope, sidecar, until } from './control-plane-fixture.js';
import { spawnControlPlane } from './control-plane-process.js';
import { meshUnderTraffic, SPARE_FORBIDDEN_REGO, DENY_ALL_REGO } from './fault-traffic-fixture.js';
import { ROUTE_YAML, meshDirectory } from './mesh-fixture.js';

const { defer, started } = cleanupScope();

describe('control plane failures', () => {
  it('survives kill -9 of the control plane: the sidecar keeps serving, reconnects and resyncs', async () => {
    const dir = await meshDirectory();
    const state = await mkdtemp(join(tmpdir(), 'weft-state-'));
    const cp = await spawnControlPlane(dir, state);
    defer(() => cp.kill());
    const web = started(sidecar(cp.grpc, 'web'));
    let disconnects = 0;
    web.client.on('disconnected', () => (disconnects += 1));
    await until(() => web.applied.length === 1, 'the first snapshot');
    const first = web.holder.current()!;

    // The request path reads the holder synchronously; sample it through the outage.
    const reads: (string | undefined)[] = [];
    const sampler = setInterval(() => reads.push(web.holder.current()?.snapshot.version), 5);
    defer(() => clearInterval(sampler));

    await cp.kill('SIGKILL');
    await until(() => disconnects > 0, 'the sidecar to notice');
    await writeFile(join(dir, 'routes.yaml'), ROUTE_YAML.replace('timeout: 2s', 'timeout: 8s'));

    const [, port] = cp.grpc.split(':');
    const again = await spawnControlPlane(dir, state, { grpc: Number(port) });
    defer(() => again.kill());
    await until(() => web.holder.current()!.snapshot.routes.get('orders')?.spec.timeoutMs === 8000, 'the resync (after the resync hold)', 20_000);
    clearInterval(sampler);
    expect(reads.length).toBeGreaterThan(20);
    expect(reads.every((version) => version !== undefined)).toBe(true);
    // Through the outage the sidecar served the first snapshot and nothing else, until the change
    // made meanwhile arrived with the resync (the barrier: a change that must propagate did).
    const served = [...new Set(reads)];
    expect(served[0]).toBe(first.snapshot.version);
    expect(served.slice(1)).toEqual(served.length > 1 ? [web.holder.current()!.snapshot.version] : []);
    expect(web.applied.map((a) => a.source)).toEqual(['control-plane', 'control-plane']);
  });

  it('serves the persisted snapshot when a sidecar restarts while the control plane is down', async () => {
    const dir = await meshDirectory();
    const state = await mkdtemp(join(tmpdir(), 'weft-state-'));
    const sidecarState = await mkdtemp(join(tmpdir(), 'weft-sidecar-'));
    const snapshotFile = join(sidecarState, 'snapshot.json');
    const cp = await spawnControlPlane(dir, state);
    defer(() => cp.kill());
    const web = started(sidecar(cp.grpc, 'web', { snapshotFile }));
    await until(() => web.applied.length === 1, 'the first snapshot');
    const version = web.holder.current()!.snapshot.version;
    web.client.stop();
    await cp.kill('SIGKILL');

    const restarted = started(sidecar(cp.grpc, 'web', { snapshotFile }));
    await until(() => restarted.holder.current() !== undefined, 'the persisted snapshot');
    expect(restarted.holder.current()!).toMatchObject({ source: 'disk', snapshot: { version } });
    expect(restarted.holder.current()!.snapshot.services.has('orders')).toBe(true);
  });

  it('kill -9 of the control plane during traffic through two managed sidecars: no request fails, and they resync when it returns', { timeout: 120_000 }, async () => {
    const dir = await meshDirectory();
    const state = await mkdtemp(join(tmpdir(), 'weft-state-'));
    const cp = await spawnControlPlane(dir, state, { security: 'own-ca' });
    defer(() => cp.kill());
    const token = async (workload: string) => (await runWeft(['token', 'create', '--workload', workload, '--state-dir', state, '--trust-domain', 'weft.test'])).stdout.trim();
    const { status, traffic } = await meshUnderTraffic({ controlPlane: cp.grpc, trustBundle: cp.trustBundle!, token, defer });
    await cp.kill('SIGKILL');
    // While it is down the mesh keeps serving, and a change is made to the store.
    await writeFile(join(dir, 'policies', 'authz.rego'), SPARE_FORBIDDEN_REGO);
    const atKill = traffic.answered();
    await until(() => traffic.answered() > atKill + 200, 'traffic while the control plane is down', 20_000);

    const again = await spawnControlPlane(dir, state, { security: 'own-ca', grpc: Number(cp.grpc.split(':')[1]) });
    defer(() => again.kill());
    await until(async () => (await status('/orders/forbidden')) === 403, 'the change made while it was down to be enforced', 20_000);
    const connected = await until(async () => {
      const answer = (await (await fetch(`${again.admin}/v1/status`, { headers: again.adminHeaders.read })).json()) as { sidecars: { workload: string; ackedVersion: string | null }[] };
      return answer.sidecars.filter((s) => s.ackedVersion !== null).length === 2 && answer.sidecars;
    }, 'both sidecars to be back', 20_000);
    expect(connected.map((s) => s.workload).sort()).toEqual(['default/orders', 'default/web']);
    const atReturn = traffic.answered();
    await until(() => traffic.answered() > atReturn + 200, 'traffic after the return');
    const result = await traffic.stop();
    expect(result.errors).toEqual([]);
    expect(result.statuses).toEqual({ 200: result.sent });
    expect(result.sent).toBeGreaterThan(450);

    // A change applied now reaches the sidecars as well.
    await writeFile(join(dir, 'policies', 'authz.rego'), DENY_ALL_REGO);
    await until(async () => (await status('/orders/1')) === 403, 'the policy that denies everything', 20_000);
  });
});
