import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupScope, sidecar, until } from './control-plane-fixture.js';
import { spawnControlPlane } from './control-plane-process.js';
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
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(web.holder.current()).toBe(first);

    const [, port] = cp.grpc.split(':');
    const again = await spawnControlPlane(dir, state, { grpc: Number(port) });
    defer(() => again.kill());
    await until(() => web.holder.current()!.snapshot.routes.get('orders')?.spec.timeoutMs === 8000, 'the resync');
    clearInterval(sampler);
    expect(reads.length).toBeGreaterThan(20);
    expect(reads.every((version) => version !== undefined)).toBe(true);
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
});
