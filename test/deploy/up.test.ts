// `weft up` end to end: the built CLI as a child process, a fresh state directory, a copy of the
// demo directory; everything checked through the real processes it starts.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callInventory, inventoryClient } from '../../deploy/local/apps/inventory-contract.js';
import { eventually } from '../helpers/eventually.js';
import { runWeft } from '../helpers/weft-cli.js';
import { alive, bannerPrinted, childPids, copyOfDemo, startUp, viaProxy, type RunningUp, type UpRecord } from './up-fixture.js';

/** A GET of the control plane's admin API with the read token `weft up` recorded. */
async function adminGet(record: UpRecord, path: string): Promise<Response> {
  const token = (await readFile(record.controlPlane.tokenFiles.read, 'utf8')).trim();
  return fetch(`${record.controlPlane.admin}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

async function status(record: UpRecord): Promise<{ revision: { number: number }; sidecars: { workload: string; ackedRevision: number | null; ackedVersion: string | null }[] }> {
  return (await (await adminGet(record, '/v1/status')).json()) as never;
}

async function cmdline(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
}

describe('weft up (demo mesh)', () => {
  let up: RunningUp;
  let record: UpRecord;

  beforeAll(async () => {
    up = await startUp([await copyOfDemo(), '--traffic']);
    await bannerPrinted(up);
    record = await up.record();
  }, 120_000);

  afterAll(async () => {
    if (up.child.exitCode === null && up.child.signalCode === null) {
      up.child.kill('SIGTERM');
      await up.exited;
    }
  });

  it('reports every workload with its identity and addresses, in the table and in .weft/up.json', async () => {
    expect(Object.keys(record)).toEqual(['controlPlane', 'trustBundle', 'dashboard', 'workloads']);
    const readToken = (await readFile(record.controlPlane.tokenFiles.read, 'utf8')).trim();
    expect(record.dashboard).toBe(`${record.controlPlane.admin}/dashboard/?token=${encodeURIComponent(readToken)}`);
    expect(up.output()).toContain(`Dashboard: ${record.dashboard}`);
    const login = await fetch(record.dashboard, { redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.getSetCookie()[0]).toMatch(/^weft-dashboard=.+; HttpOnly; SameSite=Strict$/);
    expect(record.controlPlane.admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(record.controlPlane.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(record.controlPlane.tokenFiles).toEqual({ read: join(up.cwd, '.weft', 'control-plane', 'admin-read.token'), write: join(up.cwd, '.weft', 'control-plane', 'admin-write.token') });
    expect(await readFile(record.trustBundle, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(Object.keys(record.workloads).sort()).toEqual(['erp', 'inventory', 'llm-fast', 'llm-medium', 'llm-slow', 'orders', 'web']);
    for (const [name, w] of Object.entries(record.workloads)) {
      expect(Object.keys(w)).toEqual(['identity', 'app', 'inbound', 'outbound', 'admin']);
      // The three model servers are replicas of one: one service account.
      expect(w.identity).toBe(`spiffe://cluster.local/ns/default/sa/${name.startsWith('llm-') ? 'llm' : name}`);
      expect(w.inbound).toMatch(/^127\.0\.0\.1:\d+$/);
      for (const url of [w.app, w.outbound, w.admin]) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(up.output()).toMatch(new RegExp(`^${name} +${w.identity} +${w.app} +${w.inbound} +${w.outbound} +${w.admin}$`, 'm'));
      const certs = (await (await fetch(`${w.admin}/certs`)).json()) as { spiffeId: string };
      expect(certs.spiffeId).toBe(w.identity);
    }
    expect(up.output()).toContain(`curl -x ${record.workloads.web!.outbound} http://orders/orders`);
    const sidecars = (await status(record)).sidecars;
    expect(sidecars.map((s) => s.workload).sort()).toEqual(['default/erp', 'default/inventory', 'default/llm-fast', 'default/llm-medium', 'default/llm-slow', 'default/orders', 'default/web']);
    expect(sidecars.every((s) => s.ackedVersion !== null)).toBe(true);
  });

  it('guards its admin API with the tokens it created, which `weft status` in its directory finds by itself', async () => {
    expect((await fetch(`${record.controlPlane.admin}/v1/status`)).status).toBe(401);
    for (const file of Object.values(record.controlPlane.tokenFiles)) expect((await stat(file)).mode & 0o777).toBe(0o600);
    const shown = await runWeft(['status'], { cwd: up.cwd, env: { WEFT_CONTROL_PLANE: '', WEFT_TOKEN: '' } });
    expect(shown.stderr).toBe('');
    expect(shown.stdout).toMatch(/default\/orders\s+\d+\s+[0-9a-f]{12}\s+in sync/);
    expect(shown.code).toBe(0);
  });

  it('carries web -> orders through both sidecars over mutual TLS', async () => {
    const web = record.workloads.web!;
    const response = await viaProxy(web.outbound, 'http://orders/orders');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toContainEqual(expect.objectContaining({ id: 1, sku: 'apple' }));
    const metrics = parsePrometheusTextFormat(await (await fetch(`${record.workloads.orders!.admin}/metrics`)).text());
    const requests = metrics.find((m) => m.name === 'istio_requests_total')!;
    const inbound = requests.metrics.filter((m) => m.labels?.reporter === 'destination' && m.labels?.response_code === '200');
    expect(inbound.length).toBeGreaterThan(0);
    expect(inbound.every((m) => m.labels?.connection_security_policy === 'mutual_tls')).toBe(true);
  });

  it('refuses plaintext on an inbound port', async () => {
    const [host, port] = record.workloads.orders!.inbound.split(':');
    await expect(
      new Promise((resolve, reject) => request({ host, port: Number(port), path: '/orders', headers: { host: 'orders' } }, resolve).on('error', reject).end()),
    ).rejects.toThrow();
  });

  it('runs the inventory gRPC app with Get and Adjust (grpc-js client)', async () => {
    const client = inventoryClient(new URL(record.workloads.inventory!.app).host);
    try {
      expect(await callInventory(client, 'Get', { sku: 'pear' })).toEqual({ sku: 'pear', quantity: 12 });
      expect(await callInventory(client, 'Adjust', { sku: 'pear', delta: -2 })).toEqual({ sku: 'pear', quantity: 10 });
    } finally {
      client.close();
    }
  });

  it('distributes the demo policies, one of them in dry-run', async () => {
    const body = (await (await adminGet(record, '/v1/resources?kind=AuthorizationPolicy')).json()) as { resources: { document: { metadata: { name: string }; spec: { mode: string } } }[] };
    const modes = Object.fromEntries(body.resources.map((r) => [r.document.metadata.name, r.document.spec.mode]));
    expect(modes).toEqual({
      'erp-customer-lookup': 'enforce',
      'inventory-adjust': 'enforce',
      'inventory-get': 'enforce',
      'llm-callers': 'enforce',
      'orders-admin': 'enforce',
      'orders-business-hours': 'dry-run',
      'orders-read': 'enforce',
      'pii-allow-list': 'enforce',
    });
  });

  it('applies a policy edit live and refuses a broken one with file:line:col, keeping the running policy', async () => {
    const before = await status(record);
    const piiFile = join(up.dir, 'policies', 'pii.yaml');
    const pii = await readFile(piiFile, 'utf8');
    await writeFile(piiFile, pii.replace('allowed: [', 'allowed: [spiffe://cluster.local/ns/default/sa/web, '));
    const revision = before.revision.number + 1;
    const after = await eventually(() => status(record), (s) => s.sidecars.find((x) => x.workload === 'default/orders')?.ackedRevision === revision);
    expect(after.revision.number).toBe(revision);

    const regoFile = join(up.dir, 'policies', 'principal-allow-list.rego');
    const rego = await readFile(regoFile, 'utf8');
    const mark = up.output().length;
    await writeFile(regoFile, rego.replace('in data.allowed', 'in in data.allowed'));
    await up.waitFor(/change refused whole[^\n]*\n[^\n]*policies\/principal-allow-list\.rego:\d+:\d+: unexpected in keyword \(rego_parse_error\)/, 20_000, mark);
    const refused = await status(record);
    expect(refused.revision.number).toBe(revision);
    expect(refused.sidecars.find((x) => x.workload === 'default/orders')?.ackedVersion).toBe(after.sidecars.find((x) => x.workload === 'default/orders')?.ackedVersion);
    await writeFile(regoFile, rego);
  });

  it('restarts a crashed app with backoff and reports it', async () => {
    const pids = await childPids(up.child.pid!);
    const lines = await Promise.all(pids.map(async (pid) => [pid, await cmdline(pid)] as const));
    const orders = lines.find(([, line]) => line.includes('apps/orders.js'))![0];
    const mark = up.output().length;
    process.kill(orders, 'SIGKILL');
    await up.waitFor(/orders exited unexpectedly \(signal SIGKILL\); restart 1 in 0\.5 s/, 10_000, mark);
    await up.waitFor(/weft up: orders restarted \(pid \d+\)/, 10_000, mark);
    const again = await eventually(() => viaProxy(record.workloads.web!.outbound, 'http://orders/orders'), (r) => (r as { status?: number }).status === 200);
    expect(again.status).toBe(200);
  });

  it('sends the manifest\'s traffic with --traffic and summarises it', async () => {
    await up.waitFor(/weft up: traffic in the last 10 s: .*http:\/\/orders\/orders 200 x\d+/, 20_000);
  });

  it('stops every process on SIGTERM and leaves none behind', async () => {
    const pids = await childPids(up.child.pid!);
    // The control plane, and an app and a sidecar per workload.
    expect(pids).toHaveLength(15);
    up.child.kill('SIGTERM');
    const { code } = await up.exited;
    expect(code).toBe(0);
    expect(up.output()).toMatch(/weft up: stopped in \d+\.\d s/);
    expect(pids.filter(alive)).toEqual([]);
    await expect(readFile(join(up.cwd, '.weft', 'up.json'))).rejects.toThrow();
  });
});
