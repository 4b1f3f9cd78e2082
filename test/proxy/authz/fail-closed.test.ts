// Authorization fails closed: a policy that runs past the decision budget, or whose entrypoint
// is undefined, denies with AUTHZ_ERROR and counts as an error; a dry-run policy's failure does
// not block. Workload policies apply after the asset's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../../helpers/sidecar.js';
import { echoServer, type TestServer } from '../../helpers/upstream.js';

const module = (pkg: string, body: string) => [{ name: `${pkg}.rego`, rego: `package ${pkg}\nimport rego.v1\n${body}\n` }];
// Ten billion steps that never allow: past any budget on any machine. The budget itself is large
// enough that the fast policies never race it on a loaded 2-core machine (test/README.md).
const slow = 'allow if {\n  some i in numbers.range(1, 100000)\n  some j in numbers.range(1, 100000)\n  i * j == -1\n}';

let app: TestServer;
let s: InProcessSidecar;
beforeAll(async () => {
  app = await echoServer();
  s = await startSidecar({
    accessLog: { mode: 'off' },
    inbound: {
      port: 0,
      appPort: app.port,
      filters: [
        {
          name: 'authz',
          config: {
            decisionBudgetMs: 1000,
            workloadLabels: { team: 'a' },
            assets: [
              { name: 'slow', match: { paths: [{ prefix: '/slow' }] } },
              { name: 'slow-dry', match: { paths: [{ prefix: '/dry-slow' }] } },
              { name: 'undefined', match: { paths: [{ prefix: '/undefined' }] } },
              { name: 'files', match: { paths: [{ glob: '/files/**/*.pdf' }] } },
            ],
            policies: [
              { name: 'slow', targets: { assets: ['slow'] }, entrypoint: 'data.slow.allow', modules: module('slow', slow) },
              { name: 'slow-dry', mode: 'dry-run', targets: { assets: ['slow-dry'] }, entrypoint: 'data.slow.allow', modules: module('slow', slow) },
              { name: 'undefined', targets: { assets: ['undefined'] }, entrypoint: 'data.nothing.here', modules: module('nothing', 'other := 1') },
              { name: 'files-ok', targets: { assets: ['files'] }, entrypoint: 'data.files.allow', modules: module('files', 'allow := true') },
              {
                name: 'no-delete',
                targets: { workloadSelector: { matchLabels: { team: 'a' } } },
                entrypoint: 'data.wl.allow',
                modules: module('wl', 'default allow := false\nallow if input.attributes.request.http.method != "DELETE"'),
              },
            ],
          },
        },
        { name: 'router' },
      ],
    },
  });
});
afterAll(async () => {
  await s.stop();
  await app.close();
});

describe('authz fails closed', () => {
  it('denies a decision past its budget and one whose entrypoint is undefined', async () => {
    for (const path of ['/slow', '/undefined']) {
      const reply = await request(s.inboundPort, { path });
      expect(reply.status).toBe(403);
      expect(reply.headers['x-weft-error']).toBe('AUTHZ_ERROR');
      expect(reply.headers['x-weft-denied-by']).toBeUndefined();
    }
    const metrics = (await request(s.adminPort, { path: '/metrics' })).body;
    expect(metrics).toMatch(/weft_authz_decisions_total\{decision="error",policy="slow",asset="slow"\} 1/);
    expect(metrics).toMatch(/weft_authz_decisions_total\{decision="error",policy="undefined",asset="undefined"\} 1/);
    expect(metrics).toMatch(/istio_requests_total\{[^}]*response_flags="UAEF"[^}]*\} 2/);
  });

  it('lets a dry-run policy fail without blocking', async () => {
    expect((await request(s.inboundPort, { path: '/dry-slow' })).status).toBe(200);
  });

  it('applies the workload policies after the asset policy, and to requests matching no asset', async () => {
    expect((await request(s.inboundPort, { path: '/files/a/b/report.pdf' })).status).toBe(200);
    expect((await request(s.inboundPort, { path: '/files/a/b/report.pdf', method: 'DELETE' })).status).toBe(403);
    expect((await request(s.inboundPort, { path: '/elsewhere' })).status).toBe(200);
    expect((await request(s.inboundPort, { path: '/elsewhere', method: 'DELETE' })).status).toBe(403);
    // The admin listener's window onto the latest denials has them.
    const recent = JSON.parse((await request(s.adminPort, { path: '/decisions' })).body) as { decisions: { decision: string; asset: string | null }[] };
    expect(recent.decisions.filter((d) => d.decision === 'deny').length).toBeGreaterThanOrEqual(2);
  });
});
