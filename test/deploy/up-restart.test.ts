// `weft up` started again in the same working directory, with the snapshots the sidecars
// persisted under .weft/ by the previous run: after a clean stop, and after a run killed with -9.
// Either way the mesh gets ready, every sidecar in sync with what the control plane has for it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminTokenHeaders } from '../control-plane/control-plane-fixture.js';
import { bannerPrinted, childPids, copyOfDemo, startUp, viaProxy, type RunningUp, type UpRecord } from './up-fixture.js';

interface Sidecars {
  sidecars: { workload: string; sentVersion: string | null; ackedVersion: string | null; lastNack: unknown }[];
}

const running: RunningUp[] = [];

async function ready(args: string[], cwd?: string): Promise<{ up: RunningUp; record: UpRecord }> {
  const up = await startUp(args, cwd === undefined ? {} : { cwd });
  running.push(up);
  await bannerPrinted(up);
  return { up, record: await up.record() };
}

async function expectInSync(record: UpRecord): Promise<void> {
  const { sidecars } = (await (await fetch(`${record.controlPlane.admin}/v1/status`, { headers: (await adminTokenHeaders(record.controlPlane.tokenFiles)).read })).json()) as Sidecars;
  expect(sidecars.map((s) => s.workload).sort()).toEqual(Object.keys(record.workloads).map((name) => `default/${name}`).sort());
  expect(sidecars).toHaveLength(7);
  for (const s of sidecars) {
    expect(s.ackedVersion).not.toBeNull();
    expect(s.sentVersion).toBe(s.ackedVersion);
    expect(s.lastNack).toBeNull();
  }
  expect((await viaProxy(record.workloads.web!.outbound, 'http://orders/orders')).status).toBe(200);
}

afterEach(async () => {
  for (const up of running.splice(0)) {
    if (up.child.exitCode === null && up.child.signalCode === null) {
      up.child.kill('SIGTERM');
      await up.exited;
    }
  }
});

describe('weft up started again on the state of a previous run', () => {
  it('gets ready after a clean stop, on the snapshots the sidecars persisted', async () => {
    const dir = await copyOfDemo();
    const first = await ready([dir, '--quiet']);
    first.up.child.kill('SIGINT');
    expect((await first.up.exited).code).toBe(0);
    const persisted = await readFile(join(first.up.cwd, '.weft', 'sidecars', 'inventory', 'snapshot.json'), 'utf8');
    expect(persisted).toContain('weft.sidecar-snapshot.v1');

    const second = await ready([dir, '--quiet'], first.up.cwd);
    await expectInSync(second.record);
    expect(await readFile(join(first.up.cwd, '.weft', 'logs', 'inventory-sidecar.log'), 'utf8')).toMatch(/applied from disk/);
  }, 200_000);

  it('gets ready on the .weft/ left by a run killed with -9', async () => {
    const dir = await copyOfDemo();
    const first = await ready([dir, '--quiet']);
    const pids = await childPids(first.up.child.pid!);
    first.up.child.kill('SIGKILL');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await first.up.exited;
    expect(pids).toHaveLength(15);

    const second = await ready([dir, '--quiet'], first.up.cwd);
    await expectInSync(second.record);
  }, 200_000);
});
