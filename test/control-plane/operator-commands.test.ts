import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWeft } from '../helpers/weft-cli.js';
import { cleanupScope, sidecar, unusedPort, until } from './control-plane-fixture.js';
import { spawnControlPlane, type ControlPlaneProcess } from './control-plane-process.js';
import { compileSnapshotPolicies } from '../../proxy/xds/snapshot-policies.js';
import { ALLOW_REGO, ROUTE_YAML, meshDirectory, policyYaml, writeFiles } from './mesh-fixture.js';

const { defer, started } = cleanupScope();

async function meshProcess(): Promise<{ dir: string; state: string; cp: ControlPlaneProcess }> {
  const dir = await meshDirectory();
  const state = await mkdtemp(join(tmpdir(), 'weft-state-'));
  const cp = await spawnControlPlane(dir, state);
  defer(() => cp.kill());
  return { dir, state, cp };
}


async function changeDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-change-'));
  await writeFiles(dir, files);
  return dir;
}

interface StatusJson {
  revision: { number: number };
  sidecars: { identity: string; ackedRevision: number | null; lastNack: { message: string } | null }[];
}

describe('weft control-plane with apply, get, delete and status', () => {
  it('applies a change that a connected sidecar receives and ACKs, as status shows', async () => {
    const { cp } = await meshProcess();
    const web = started(sidecar(cp.grpc, 'web'));
    await until(() => web.applied.length === 1, 'the first snapshot');
    const change = await changeDir({ 'route.yaml': ROUTE_YAML.replace('timeout: 2s', 'timeout: 4s') });

    const dry = await runWeft(['apply', '-f', change, '--dry-run', ...cp.adminArgs]);
    expect(dry.stdout).toBe('Route/default/orders configured (dry run)\n');
    expect(dry.code).toBe(0);

    const applied = await runWeft(['apply', '-f', change, ...cp.adminArgs]);
    expect(applied.stdout).toBe('Route/default/orders configured\nrevision 2\n');
    await until(() => web.holder.current()!.snapshot.routes.get('orders')?.spec.timeoutMs === 4000, 'the applied route');
    // The barrier for the dry run: the stream is ordered, so a snapshot the dry run had pushed
    // would have arrived before this one.
    expect(web.applied.map((a) => a.snapshot.revision)).toEqual([1, 2]);
    const status = await until(async () => {
      const result = await runWeft(['status', '--json'], { env: { WEFT_CONTROL_PLANE: cp.admin, WEFT_TOKEN: cp.adminHeaders.read.authorization!.slice('Bearer '.length) } });
      const parsed = JSON.parse(result.stdout) as StatusJson;
      return parsed.sidecars[0]?.ackedRevision === 2 && parsed;
    }, 'the ACK of revision 2');
    expect(status.sidecars[0]!.identity).toBe('spiffe://weft.test/ns/default/sa/web');
    const table = await runWeft(['status', ...cp.adminArgs]);
    expect(table.stdout).toMatch(/^revision 2 \([0-9a-f]{12}\), converged, last convergence \d+ ms \(revision 2\)\n/);
    expect(table.stdout).toMatch(/spiffe:\/\/weft\.test\/ns\/default\/sa\/web\s+default\/web\s+2\s+[0-9a-f]{12}\s+in sync/);
  });

  it('refuses a broken change whole with file:line:col, and the running revision stays', async () => {
    const { cp } = await meshProcess();
    const web = started(sidecar(cp.grpc, 'web'));
    await until(() => web.applied.length === 1, 'the first snapshot');
    const change = await changeDir({
      'a-good.yaml': ROUTE_YAML.replace('timeout: 2s', 'timeout: 9s'),
      'b-bad.yaml': ROUTE_YAML.replace('name: orders', 'name: other').replace('attempts: 2', 'attempts: 99'),
    });
    const refused = await runWeft(['apply', '-f', change, ...cp.adminArgs]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the change was refused whole; nothing was applied');
    expect(refused.stderr).toContain(`${join(change, 'b-bad.yaml')}:7:24: spec.retries.attempts: must be <= 10 (RESOURCE_SCHEMA_INVALID)`);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const route = await runWeft(['get', 'route', 'orders', '-o', 'json', ...cp.adminArgs]);
    expect(JSON.parse(route.stdout).spec.timeout).toBe('2000ms');
    expect(web.holder.current()!.snapshot.routes.get('orders')!.spec.timeoutMs).toBe(2000);
  });

  it('refuses a broken policy with its Rego line:col; the old policy is still the one enforced', async () => {
    const { cp, dir } = await meshProcess();
    const orders = started(sidecar(cp.grpc, 'orders', { compile: compileSnapshotPolicies }));
    await until(() => orders.applied.length === 1, 'the first snapshot');
    const decide = (method: string) =>
      orders.holder.current()!.compiled.get('orders-authz')!.policySet.evaluate('data.weft.authz.allow', { input: { attributes: { request: { http: { method } } } } }).value;
    expect(decide('GET')).toBe(true);
    expect(decide('DELETE')).toBe(false);

    const broken = await changeDir({ 'orders.yaml': policyYaml(), 'authz.rego': ALLOW_REGO.replace('allow if input', 'allow if input.attributes.request.http.method == "DELETE"\nallow if input') + 'deny if {\n' });
    const refused = await runWeft(['apply', '-f', broken, ...cp.adminArgs]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`${join(broken, 'authz.rego').replaceAll('/', '\\/')}:\\d+:\\d+: .*\\(rego_parse_error\\)`));

    // The same broken edit made in the watched directory is refused too, and status says so.
    await writeFile(join(dir, 'policies', 'authz.rego'), 'package weft.authz\n\nallow if {\n  x := \n}\n');
    const status = await until(async () => {
      const result = await runWeft(['status', ...cp.adminArgs]);
      return result.stdout.includes('last refused change') && result.stdout;
    }, 'the refusal in status');
    expect(status).toMatch(/^revision 1 /);
    expect(status).toMatch(/policies\/authz\.rego:\d+:\d+: .*\(rego_parse_error\)/);
    expect(cp.output()).toContain('change refused whole, revision 1 stays');
    expect(decide('GET')).toBe(true);
    expect(decide('DELETE')).toBe(false);
    // The barrier: a good edit after the refused ones arrives, and it is the only snapshot since
    // the first (the stream is ordered: anything the refused edits had pushed came before it).
    await writeFile(join(dir, 'policies', 'authz.rego'), ALLOW_REGO.replace('== "GET"', 'in {"GET", "POST"}'));
    await until(() => orders.applied.length > 1 && decide('POST') === true, 'the good edit');
    expect(orders.applied.map((a) => a.snapshot.revision)).toEqual([1, 2]);
    expect(decide('DELETE')).toBe(false);
  });

  it('shows a sidecar NACK in status while the sidecar keeps its snapshot', async () => {
    const { cp } = await meshProcess();
    const web = started(
      sidecar(cp.grpc, 'web', {
        compile: (snapshot) => {
          if ((snapshot.routes.get('orders')?.spec.timeoutMs ?? 0) > 5000) throw new Error('timeouts above 5s are refused by this sidecar');
          return null;
        },
      }),
    );
    await until(() => web.applied.length === 1, 'the first snapshot');
    const change = await changeDir({ 'route.yaml': ROUTE_YAML.replace('timeout: 2s', 'timeout: 6s') });
    expect((await runWeft(['apply', '-f', change, ...cp.adminArgs])).code).toBe(0);
    await until(() => web.rejected.length === 1, 'the NACK');
    const table = await until(async () => {
      const result = await runWeft(['status', ...cp.adminArgs]);
      return result.stdout.includes('NACK') && result.stdout;
    }, 'the NACK in status');
    expect(table).toContain('timeouts above 5s are refused by this sidecar');
    expect(table).toMatch(/default\/web\s+1\s+/);
    expect(web.holder.current()!.snapshot.revision).toBe(1);
  });

  it('deletes a resource, refuses a delete that breaks references, and gets what runs', async () => {
    const { cp, dir } = await meshProcess();
    const list = await runWeft(['get', 'workloads', ...cp.adminArgs]);
    expect(list.stdout).toBe('NAMESPACE  NAME    SOURCE\ndefault    orders  workloads.yaml:9\ndefault    web     workloads.yaml:1\n');
    const refused = await runWeft(['delete', 'workload', 'orders', ...cp.adminArgs]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('routes.yaml:1:1: spec.service: no Workload named "orders" in namespace default (RESOURCE_REFERENCE_UNKNOWN)');
    const deleted = await runWeft(['delete', 'route', 'orders', ...cp.adminArgs]);
    expect(deleted.stdout).toBe('Route/default/orders deleted\nrevision 2\n');
    await expect(readFile(join(dir, 'routes.yaml'))).rejects.toThrow(/ENOENT/);
    const missing = await runWeft(['get', 'route', 'orders', ...cp.adminArgs]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no Route named orders (RESOURCE_NOT_FOUND)');
  });

  it('reports usage errors and an unreachable control plane without a stack trace', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'weft-cwd-'));
    const none = await runWeft(['status'], { cwd, env: { WEFT_CONTROL_PLANE: '' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no control plane to talk to');
    await writeFile(join(cwd, 'unused'), '');
    const closed = await unusedPort();
    const down = await runWeft(['get', 'workload', '--control-plane', `http://127.0.0.1:${closed}`], { cwd });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`cannot reach the control plane at http://127.0.0.1:${closed}: ECONNREFUSED`);
    const badKind = await runWeft(['get', 'gateway', '--control-plane', 'http://127.0.0.1:1'], { cwd });
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toContain('unknown kind "gateway"');
    const badFlag = await runWeft(['control-plane', '--frobnicate'], { cwd });
    expect(badFlag.code).toBe(2);
    const badStore = await runWeft(['control-plane', '--store', 'nfs:/x'], { cwd });
    expect(badStore.code).toBe(2);
    expect(badStore.stderr).toContain('--store must be file:DIR, etcd:URL[,URL...] or kubernetes:[KUBECONFIG]');
    const { cp, dir } = await meshProcess();
    const taken = await runWeft(['control-plane', '--store', `file:${dir}`, '--grpc-port', '0', '--admin-port', cp.admin.split(':').at(-1)!, '--state-dir', join(cwd, 'state')], { cwd });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('a port is already in use');
    for (const result of [none, down, badKind, badFlag, badStore, taken]) expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
