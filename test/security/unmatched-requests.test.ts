// Requests that match no asset (issue 11), as Istio applies ALLOW policies: once the workload is
// STRICT (defaultDeny) or any enforcing policy selects it, what no asset covers is denied unless
// a workload-level policy allows it. One row per line of the table in
// proxy/filters/authz/README.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { recordingApp, type RecordingApp } from './security-mesh.js';

const rego = (pkg: string, body: string) => [{ name: `${pkg}.rego`, rego: `package ${pkg}\nimport rego.v1\n${body}\n` }];
const asset = { name: 'admin', match: { paths: [{ prefix: '/admin' }] } };
const assetPolicy = (mode: 'enforce' | 'dry-run') => ({ name: `admin-${mode}`, mode, targets: { assets: ['admin'] }, entrypoint: 'data.admin.allow', modules: rego('admin', 'default allow := false') });
const workloadPolicy = (name: string, allow: boolean, mode: 'enforce' | 'dry-run' = 'enforce') => ({
  name,
  mode,
  targets: { workloads: ['test-app'] },
  entrypoint: `data.${name.replaceAll('-', '')}.allow`,
  // The workload policy lets /admin through so that the asset's own policy is what decides it.
  modules: rego(name.replaceAll('-', ''), `default allow := false\nallow if ${allow ? 'true' : 'startswith(input.attributes.request.http.path, "/admin")'}`),
});

interface Row {
  readonly name: string;
  readonly authz: Record<string, unknown>;
  readonly expected: { status: 200 } | { status: 403; policy: string };
}

const rows: Row[] = [
  { name: 'STRICT (defaultDeny), no policy at all: denied', authz: { defaultDeny: true, assets: [asset] }, expected: { status: 403, policy: 'default-deny' } },
  { name: 'PERMISSIVE (defaultDeny false), no policy: passes', authz: { defaultDeny: false, assets: [asset] }, expected: { status: 200 } },
  { name: 'PERMISSIVE, an enforcing asset policy: denied', authz: { defaultDeny: false, assets: [asset], policies: [assetPolicy('enforce')] }, expected: { status: 403, policy: 'default-deny' } },
  { name: 'PERMISSIVE, only a dry-run asset policy: passes', authz: { defaultDeny: false, assets: [asset], policies: [assetPolicy('dry-run')] }, expected: { status: 200 } },
  { name: 'STRICT, a workload policy that allows: passes', authz: { assets: [asset], policies: [workloadPolicy('wide-open', true)] }, expected: { status: 200 } },
  { name: 'STRICT, a workload policy that denies: denied by it', authz: { assets: [asset], policies: [workloadPolicy('wide-shut', false)] }, expected: { status: 403, policy: 'wide-shut' } },
  { name: 'STRICT, only a dry-run workload policy that allows: denied', authz: { assets: [asset], policies: [workloadPolicy('wide-dry', true, 'dry-run')] }, expected: { status: 403, policy: 'default-deny' } },
  { name: 'PERMISSIVE, an enforcing workload policy that allows: passes', authz: { defaultDeny: false, assets: [asset], policies: [assetPolicy('enforce'), workloadPolicy('wide-open', true)] }, expected: { status: 200 } },
];

let app: RecordingApp;
const sidecars: InProcessSidecar[] = [];
beforeAll(async () => {
  app = await recordingApp();
});
afterAll(async () => {
  for (const sidecar of sidecars) await sidecar.stop();
  await app.close();
});

describe('a request that matches no asset', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const sidecar = await startSidecar({ inbound: { port: 0, appPort: app.port, filters: [{ name: 'authz', config: { decisionLogSampleRate: 1, ...row.authz } }, { name: 'router' }] } });
    sidecars.push(sidecar);
    const requestId = `unmatched-${sidecars.length}`;
    const reply = await request(sidecar.inboundPort, { path: '/elsewhere', headers: { 'x-request-id': requestId } });
    expect(reply.status).toBe(row.expected.status);
    const served = app.served.filter((s) => s.requestId === requestId);
    if (row.expected.status === 200) {
      expect(served.map((s) => s.path)).toEqual(['/elsewhere']);
      return;
    }
    expect(served).toEqual([]);
    const policy = row.expected.policy;
    const lines = await eventually(
      () => Promise.resolve(sidecar.logLines().filter((l) => l.type === 'authz_decision' && l.request_id === requestId)),
      (found) => found.some((l) => l.decision === 'deny'),
      5000,
    );
    expect(lines).toContainEqual(expect.objectContaining({ decision: 'deny', policy, asset: null }));
    if (policy === 'default-deny') expect(lines.find((l) => l.decision === 'deny')?.reason).toBe('no asset matches this request');
  });

  it('under PERMISSIVE, an asset no enforcing policy targets is denied once another asset has one', async () => {
    const sidecar = await startSidecar({
      inbound: {
        port: 0,
        appPort: app.port,
        filters: [{ name: 'authz', config: { defaultDeny: false, assets: [asset, { name: 'open', match: { paths: [{ prefix: '/open' }] } }], policies: [assetPolicy('enforce')] } }, { name: 'router' }],
      },
    });
    sidecars.push(sidecar);
    const reply = await request(sidecar.inboundPort, { path: '/open/x' });
    expect(reply.status).toBe(403);
    expect(reply.body).toBe('AUTHZ_DENIED: no policy targets this asset\n');
  });

  it('a matched asset whose only policy is dry-run falls to default-deny under STRICT, with the dry-run logged', async () => {
    const sidecar = await startSidecar({
      inbound: { port: 0, appPort: app.port, filters: [{ name: 'authz', config: { decisionLogSampleRate: 1, assets: [asset], policies: [assetPolicy('dry-run')] } }, { name: 'router' }] },
    });
    sidecars.push(sidecar);
    const reply = await request(sidecar.inboundPort, { path: '/admin', headers: { 'x-request-id': 'dry-only' } });
    expect(reply.status).toBe(403);
    const lines = await eventually(
      () => Promise.resolve(sidecar.logLines().filter((l) => l.type === 'authz_decision' && l.request_id === 'dry-only')),
      (found) => found.length === 2,
      5000,
    );
    expect(lines.map((l) => [l.policy, l.decision])).toEqual([
      ['admin-dry-run', 'dry_run_deny'],
      ['default-deny', 'deny'],
    ]);
  });
});
