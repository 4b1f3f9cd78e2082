// The sidecar's translation of LegacyBridge and inference resources in its snapshot: the bridge
// before authz (a relative WSDL read from the app), the model server's load report scraping its
// app, the caller's inference filter with its own budgets and a cluster per pool on the
// inference balancer.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../proxy/config/load-config.js';
import { sidecarConfigFromSnapshot, type LocalSidecarSettings } from '../../../proxy/xds/sidecar-config-from-snapshot.js';
import { decodeSnapshot } from '../../../proxy/xds/snapshot.js';

const local = (workload: string, appPort: number): LocalSidecarSettings => ({
  workload,
  namespace: 'default',
  identity: { trustDomain: 'weft.test', ca: { address: '127.0.0.1:15010', trustBundleFile: 'root.pem' }, certificateTtlSeconds: 0 },
  appPort,
  inbound: { address: '127.0.0.1', port: 15006 },
  outbound: { address: '127.0.0.1', port: 15001 },
  admin: { address: '127.0.0.1', port: 15000 },
});

const doc = (kind: string, name: string, spec: object, labels: Record<string, string> = {}) =>
  JSON.stringify({ apiVersion: 'weft.dev/v1alpha1', kind, metadata: { name, namespace: 'default', labels }, spec });
const workload = (name: string, account: string, services: string[], labels: Record<string, string> = {}, endpoints: object[] = []) =>
  doc('Workload', name, { serviceAccount: account, ports: [{ port: 8000, protocol: 'http' }], outbound: { services }, endpoints }, labels);
const pool = doc('InferencePool', 'llm', {
  selector: { matchLabels: { pool: 'llm' } },
  targetPorts: [8000],
  models: ['m'],
  picker: { scrapeInterval: '50ms' },
  failureMode: 'FailOpen',
});
const objective = (name: string, tenants: string[] | undefined, tokens: number, priority = 0, extra: Record<string, unknown> = {}) =>
  doc('InferenceObjective', name, { poolRef: 'llm', ...(tenants === undefined ? {} : { tenants }), priority, budgets: [{ window: '1m', tokens }], ...extra });
const member = (name: string, account = 'llm', port = 17001) => workload(name, account, [], { pool: 'llm' }, [{ host: '127.0.0.1', port }]);

function config(self: string, appPort: number, ...documents: string[]) {
  const snapshot = decodeSnapshot({ versionInfo: 'v1', revision: 1, documents }, { workload: self, namespace: 'default' });
  return sidecarConfigFromSnapshot(snapshot, local(self, appPort));
}

describe('snapshot translation of LegacyBridge and inference resources', () => {
  it('runs the bridge before authz, reading a relative WSDL from the app and an absolute one as given', () => {
    const bridge = (name: string, wsdl: string) => doc('LegacyBridge', name, { hosts: ['erp'], protocol: 'soap', soap: { wsdl, maxResponseBytes: 1024 }, routes: [], maxRequestBytes: 1024 });
    const erp = config('erp', 9100, workload('erp', 'erp', []), bridge('a', 'CustomerService?wsdl'), bridge('b', 'https://legacy.example/s?wsdl'));
    expect(erp.inbound!.filters.map((f) => f.name)).toEqual(['bridge', 'authz', 'router']);
    const bridges = erp.inbound!.filters[0]!.config.bridges as { name: string; soap: { wsdl: string } }[];
    expect(bridges.map((b) => [b.name, b.soap.wsdl])).toEqual([
      ['a', 'http://127.0.0.1:9100/CustomerService?wsdl'],
      ['b', 'https://legacy.example/s?wsdl'],
    ]);
  });

  it("reports a model server's load from its app's metrics", () => {
    const server = config('llm-a', 9200, member('llm-a'), pool);
    expect(server.inbound!.filters.find((f) => f.name === 'inference-load-report')?.config).toEqual({
      metricsUrl: 'http://127.0.0.1:9200/metrics',
      engine: 'vllm',
      intervalMs: 50,
      charsPerToken: 4,
      defaultMaxTokens: 256,
      maxBodyBytes: 4 * 1024 * 1024,
    });
    expect(server.outbound!.filters.map((f) => f.name)).toEqual(['router']);
  });

  it("gives a pool's caller the inference filter with the objectives that govern it (pool, priority, TTFT objective, budgets), the pool's KV isolation, and the pool's cluster", () => {
    const isolated = pool.replace('"failureMode":"FailOpen"', '"failureMode":"FailOpen","kvIsolation":"tenant"');
    const web = config('web', 9300, workload('web', 'web', ['llm']), isolated, member('llm-a'), member('llm-b', 'llm', 17002),
      objective('mine', ['spiffe://weft.test/ns/default/sa/web'], 100, 5, { ttftObjective: '250ms' }), objective('everyone', undefined, 500, -1), objective('theirs', ['spiffe://weft.test/ns/default/sa/other'], 7, 9));
    expect(web.outbound!.filters.map((f) => f.name)).toEqual(['inference', 'router']);
    const inference = web.outbound!.filters[0]!.config;
    // Each objective keeps its own budgets (they count only the requests it matches), and its pool.
    expect(inference.budgets).toEqual([]);
    const budget = (tokens: number) => [{ windowMs: 60_000, tokens, endStreams: false }];
    expect([...(inference.objectives as { name: string }[])].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'everyone', pool: 'llm', priority: -1, budgets: budget(500) },
      { name: 'mine', pool: 'llm', priority: 5, ttftObjectiveMs: 250, budgets: budget(100), tenants: ['spiffe://weft.test/ns/default/sa/web'] },
    ]);
    expect(inference.kvIsolation).toBe('tenant');
    const cluster = web.outbound!.clusters.find((c) => c.name === 'llm')!;
    expect(cluster).toMatchObject({ hosts: ['llm', 'llm.default', 'llm.default.svc', 'llm.default.svc.cluster.local'], loadBalancer: 'inference', spiffeId: 'spiffe://weft.test/ns/default/sa/llm', loadBalancerConfig: { failureMode: 'FailOpen' } });
    expect(cluster.endpoints.map((e) => [e.port, e.models])).toEqual([[17001, ['m']], [17002, ['m']]]);
  });

  it("gives a pool of static servers outside the mesh a plaintext cluster of each server on each target port", () => {
    const outside = doc('InferencePool', 'llm', { endpoints: [{ host: '10.0.0.11' }, { host: '10.0.0.12' }], targetPorts: [8000, 8001], models: ['m'] });
    const cluster = config('web', 9300, workload('web', 'web', ['llm']), outside).outbound!.clusters.find((c) => c.name === 'llm')!;
    expect(cluster.spiffeId).toBeUndefined();
    expect(cluster.endpoints.map((e) => [e.address, e.port, e.models])).toEqual([
      ['10.0.0.11', 8000, ['m']],
      ['10.0.0.11', 8001, ['m']],
      ['10.0.0.12', 8000, ['m']],
      ['10.0.0.12', 8001, ['m']],
    ]);
  });

  it('refuses a pool whose members run as different service accounts', () => {
    expect(() => config('web', 9300, workload('web', 'web', ['llm']), pool, member('llm-a'), member('llm-b', 'other', 17002))).toThrow(ConfigError);
  });
});
