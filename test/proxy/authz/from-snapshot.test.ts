// A control-plane snapshot becomes the inbound filter chain: decoded from its wire documents,
// translated by inboundFiltersFromSnapshot, validated like a YAML config, and enforced by a
// real sidecar.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../../helpers/sidecar.js';
import { echoServer, type TestServer } from '../../helpers/upstream.js';
import { decodeSnapshot } from '../../../proxy/xds/snapshot.js';
import { inboundFiltersFromSnapshot, registerFilter } from '../../../proxy/filters/registry.js';
import { inboundMtlsMode } from '../../../proxy/xds/sidecar-config-from-snapshot.js';
import type { Snapshot } from '../../../proxy/xds/snapshot.js';

const doc = (kind: string, name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) =>
  JSON.stringify({ apiVersion: 'weft.dev/v1alpha1', kind, metadata: { name, namespace: 'default', labels }, spec });

const workloadGetOnly = doc('AuthorizationPolicy', 'workload-get-only', {
  modules: [{ name: 'w.rego', rego: 'package w\nimport rego.v1\ndefault allow := false\nallow if input.attributes.request.http.method == "GET"\n' }],
  entrypoint: 'data.w.allow',
  targets: { workloadSelector: { matchLabels: { tier: 'api' } } },
  mode: 'dry-run',
});

function snapshotDocuments(peerMode: string | undefined, workloadPolicy = true) {
  return {
    versionInfo: 'v1',
    revision: 1,
    documents: [
      doc('Workload', 'test-app', { serviceAccount: 'test-app', ports: [{ port: 8080, protocol: 'http' }] }, { tier: 'api' }),
      doc('Asset', 'reports', { workload: 'test-app', match: { paths: [{ prefix: '/reports' }] } }, { pii: 'true' }),
      doc('Asset', 'health', { workload: 'test-app', match: { paths: [{ exact: '/health' }] } }),
      doc('Asset', 'uploads', { workload: 'test-app', match: { paths: [{ prefix: '/uploads' }] }, requestBody: { maxBytes: 1024 } }),
      doc('AuthorizationPolicy', 'uploads-ok', {
        modules: [{ name: 'u.rego', rego: 'package u\nimport rego.v1\ndefault allow := false\nallow if input.parsed_body.ok == true\n' }],
        entrypoint: 'data.u.allow',
        targets: { assets: ['uploads'] },
      }),
      doc('AuthorizationPolicy', 'reports-by-header', {
        modules: [{ name: 'r.rego', rego: 'package r\nimport rego.v1\ndefault allow := false\nallow if input.attributes.request.http.headers["x-team"] == "finance"\n' }],
        entrypoint: 'data.r.allow',
        targets: { assetSelector: { matchLabels: { pii: 'true' } } },
      }),
      ...(workloadPolicy ? [workloadGetOnly] : []),
      ...(peerMode === undefined ? [] : [doc('PeerAuthentication', 'mtls', { mode: peerMode })]),
      doc('RequestAuthentication', 'users', { jwtRules: [{ issuer: 'https://issuer.test', jwksUri: 'https://127.0.0.1:9/jwks', clockSkew: '30s' }] }),
    ],
  };
}

/** The inbound chain, with the mode the listener would run for the Workload's port 8080. */
const filtersOf = (snapshot: Snapshot) => inboundFiltersFromSnapshot(snapshot, { mtls: inboundMtlsMode(snapshot, 8080), appPort: 8080 });

let app: TestServer;
const sidecars: InProcessSidecar[] = [];
beforeAll(async () => {
  app = await echoServer();
});
afterAll(async () => {
  for (const s of sidecars) await s.stop();
  await app.close();
});

async function sidecarFor(peerMode: string | undefined, workloadPolicy = true): Promise<InProcessSidecar> {
  const filters = filtersOf(decodeSnapshot(snapshotDocuments(peerMode, workloadPolicy), { workload: 'test-app', namespace: 'default' }));
  const s = await startSidecar({ accessLog: { mode: 'off' }, inbound: { port: 0, appPort: app.port, filters } });
  sidecars.push(s);
  return s;
}

describe('inboundFiltersFromSnapshot', () => {
  it('translates RequestAuthentication, assets and policies into jwt, authz and router', () => {
    const filters = filtersOf(decodeSnapshot(snapshotDocuments(undefined), { workload: 'test-app', namespace: 'default' }));
    expect(filters.map((f) => f.name)).toEqual(['jwt', 'authz', 'router']);
    expect((filters[0]!.config.rules as { clockSkewSeconds: number }[])[0]!.clockSkewSeconds).toBe(30);
    expect(filters[1]!.config).toMatchObject({ defaultDeny: true, workloadLabels: { tier: 'api' } });
    const uploads = (filters[1]!.config.assets as { name: string; requestBody?: unknown }[]).find((a) => a.name === 'uploads');
    expect(uploads?.requestBody).toEqual({ maxBytes: 1024, allowPartial: false, decideGrpcWithoutBody: false });
  });

  it('asks each registered filter for its part: a new filter is an addition, placed before the router', () => {
    registerFilter({
      name: 'test-counts-assets',
      configSchema: { type: 'object' },
      terminal: false,
      create: () => ({}),
      fromSnapshot: (snapshot) => (snapshot.assets.length === 0 ? undefined : { assets: snapshot.assets.length }),
    });
    const filters = inboundFiltersFromSnapshot(decodeSnapshot(snapshotDocuments(undefined), { workload: 'test-app', namespace: 'default' }), { mtls: 'STRICT', appPort: 8080 });
    expect(filters.map((f) => f.name)).toEqual(['jwt', 'authz', 'test-counts-assets', 'router']);
    expect(filters[2]!.config).toEqual({ assets: 3 });
  });

  it("buffers an Asset's request body for its policies when its spec asks", async () => {
    const s = await sidecarFor(undefined);
    const post = (body: string) => request(s.inboundPort, { method: 'POST', path: '/uploads', headers: { 'content-type': 'application/json' }, body });
    expect((await post('{"ok":true}')).status).toBe(200);
    expect((await post('{"ok":false}')).status).toBe(403);
    expect((await post(JSON.stringify({ ok: true, pad: 'x'.repeat(2000) }))).status).toBe(413);
  });

  it('refuses an Asset whose requestBody is out of range', () => {
    const documents = snapshotDocuments(undefined);
    documents.documents.push(doc('Asset', 'bad', { workload: 'test-app', match: { paths: [{ prefix: '/b' }] }, requestBody: { maxBytes: 0, extra: 1 } }));
    expect(() => decodeSnapshot(documents, { workload: 'test-app', namespace: 'default' })).toThrow(/requestBody/);
  });

  it("enforces asset policies by label selector, then the workload's dry-run policy", async () => {
    const s = await sidecarFor(undefined);
    expect((await request(s.inboundPort, { path: '/reports/q3', headers: { 'x-team': 'finance' } })).status).toBe(200);
    expect((await request(s.inboundPort, { path: '/reports/q3', headers: { 'x-team': 'sales' } })).status).toBe(403);
    // The workload's dry-run policy would deny a POST but only logs it.
    expect((await request(s.inboundPort, { method: 'POST', path: '/reports/q3', headers: { 'x-team': 'finance' } })).status).toBe(200);
    const metrics = (await request(s.adminPort, { path: '/metrics' })).body;
    expect(metrics).toMatch(/weft_authz_decisions_total\{decision="dry_run_deny",policy="workload-get-only",asset="reports"\} 1/);
  });

  it('STRICT denies an asset no policy covers; so does PERMISSIVE once enforcing policies select the workload (Istio ALLOW semantics)', async () => {
    const strict = await sidecarFor('STRICT', false);
    const permissive = await sidecarFor('PERMISSIVE', false);
    const denied = await request(strict.inboundPort, { path: '/health' });
    expect(denied.status).toBe(403);
    expect(denied.headers['x-weft-error']).toBe('AUTHZ_DENIED');
    const alsoDenied = await request(permissive.inboundPort, { path: '/health' });
    expect(alsoDenied.status).toBe(403);
    expect(alsoDenied.body).toBe('AUTHZ_DENIED: no policy targets this asset\n');
  });
});
