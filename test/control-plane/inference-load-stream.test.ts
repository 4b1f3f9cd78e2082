// The control plane's inference load stream (issue 13), over its real mutual-TLS gRPC port: pool
// members' sidecars report their engine load, the control plane scrapes a pool's static
// endpoints itself, and a caller's sidecar that never sent a request learns every endpoint's load
// (so its first pick goes to the idle one); with the control plane gone, that load turns stale.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workloadId } from '../../control-plane/api/spiffe-id.js';
import { InferenceBalancer, inferenceBalancer, reportPoolLoad } from '../../proxy/filters/inference/inference-balancer.js';
import type { InferenceRouting } from '../../proxy/filters/inference/inference-routing.js';
import type { ReportedLoad } from '../../proxy/filters/inference/load-table.js';
import { LoadStreamClient, type OwnLoad } from '../../proxy/xds/load-stream-client.js';
import { cleanupScope, controlPlaneChannelOptions, controlPlaneOn, sidecarCredentials, TRUST_DOMAIN, until } from './control-plane-fixture.js';

const { defer } = cleanupScope();

const MESH = (staticPort: number) => `apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: web }
spec: { serviceAccount: web, ports: [{ port: 8080, protocol: http }], outbound: { services: [llm, ext] } }
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: llm-a, labels: { pool: llm } }
spec: { serviceAccount: llm, ports: [{ port: 8000, protocol: http }], outbound: { services: [] } }
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: other }
spec: { serviceAccount: other, ports: [{ port: 8000, protocol: http }], outbound: { services: [] } }
---
apiVersion: weft.dev/v1alpha1
kind: InferencePool
metadata: { name: llm }
spec: { selector: { matchLabels: { pool: llm } }, targetPorts: [8000], models: [m] }
---
apiVersion: weft.dev/v1alpha1
kind: InferencePool
metadata: { name: ext }
spec: { endpoints: [{ host: 127.0.0.1 }], targetPorts: [${staticPort}], models: [m], picker: { scrapeInterval: 20ms } }
`;

const BUSY: ReportedLoad = { waiting: 4, running: 6, kvCacheUsage: 0.7, inFlightTokens: 0, activeLoras: [] };
const IDLE: ReportedLoad = { waiting: 0, running: 0, kvCacheUsage: 0.05, inFlightTokens: 0, activeLoras: [] };

/** A server outside the mesh: vLLM's metrics, with `waiting` requests queued. */
async function staticVllm(waiting: number): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) => {
    response.end(['vllm:num_requests_waiting 0', `vllm:num_requests_waiting{engine="1"} ${waiting}`, 'vllm:num_requests_running 2', 'vllm:kv_cache_usage_perc 0.4', ''].join('\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, port: (server.address() as AddressInfo).port };
}

async function meshWithControlPlane(staticPort: number) {
  const dir = await mkdtemp(join(tmpdir(), 'weft-load-stream-'));
  await writeFile(join(dir, 'mesh.yaml'), MESH(staticPort));
  const cp = await controlPlaneOn(dir);
  let closed = false;
  defer(() => (closed ? undefined : cp.close()));
  return { cp, close: async () => ((closed = true), await cp.close()) };
}

/** A load stream client of the test control plane for `workload` running as `serviceAccount`. */
function loadClient(target: string, workload: string, serviceAccount: string, extra: { inbound?: string; ownLoad?: () => OwnLoad | undefined; received?: (pool: string, endpoint: string, load: ReportedLoad, at: number) => void }): LoadStreamClient {
  const id = workloadId({ trustDomain: TRUST_DOMAIN, namespace: 'default', serviceAccount });
  const client = new LoadStreamClient({
    target,
    credentials: () => sidecarCredentials(target, id),
    channelOptions: controlPlaneChannelOptions,
    node: { id: id.uri, workload, namespace: 'default', ...(extra.inbound === undefined ? {} : { inboundAddress: extra.inbound }) },
    received: extra.received ?? (() => undefined),
    ...(extra.ownLoad === undefined ? {} : { ownLoad: extra.ownLoad }),
    reportMs: 20,
    refreshMs: 100,
    backoff: { initialMs: 50, maxMs: 400 },
  });
  client.start();
  defer(() => client.stop());
  return client;
}

/** A reading of `load`, read just now. */
const fresh = (load: ReportedLoad): (() => OwnLoad) => () => ({ load, at: performance.now() });

const endpoint = (label: string) => ({ label, active: 0, metadata: { models: ['m'] } });
const routing = (): { metadata: { inference: InferenceRouting } } => ({ metadata: { inference: { model: 'm', tenant: 't', estimatedTokens: 100, promptTokens: 0, outputTokens: 100, prefixKey: undefined, picked: undefined } } });

/** A caller's two pool clusters, each on the inference balancer, fed by its load stream. */
function callerClusters(config: Record<string, unknown> = {}) {
  const clusters = ['llm', 'ext'].map((name) => ({ name, balancer: inferenceBalancer.create(config) as InferenceBalancer }));
  const received: { pool: string; endpoint: string; load: ReportedLoad }[] = [];
  return {
    clusters,
    table: (name: string) => clusters.find((c) => c.name === name)!.balancer.table,
    received,
    sink: (pool: string, id: string, load: ReportedLoad, at: number) => {
      received.push({ pool, endpoint: id, load });
      reportPoolLoad(clusters, pool, id, load, at);
    },
  };
}

describe('the inference load stream', () => {
  it("tells a caller that never sent a request each member's load, so its first pick is the idle member", async () => {
    const { port } = await staticVllm(7);
    const { cp } = await meshWithControlPlane(port);
    loadClient(cp.grpcAddress, 'llm-a', 'llm', { inbound: '127.0.0.1:17001', ownLoad: fresh(BUSY) });
    // A second replica of the same Workload, idle.
    loadClient(cp.grpcAddress, 'llm-a', 'llm', { inbound: '127.0.0.1:17002', ownLoad: fresh(IDLE) });
    const caller = callerClusters();
    loadClient(cp.grpcAddress, 'web', 'web', { received: caller.sink });
    const table = caller.table('llm');
    await until(() => !table.isStale('127.0.0.1:17001') && !table.isStale('127.0.0.1:17002'), 'both members’ load at the caller');
    const balancer = caller.clusters[0]!.balancer;
    const picks: string[] = [];
    balancer.onPick = (id, by) => picks.push(`${id} ${by}`);
    const members = [endpoint('127.0.0.1:17001'), endpoint('127.0.0.1:17002')];
    expect(balancer.pick(members, routing())?.label).toBe('127.0.0.1:17002');
    expect(picks).toEqual(['127.0.0.1:17002 load']);
    expect(caller.received.find((r) => r.endpoint === '127.0.0.1:17001')?.load).toEqual(BUSY);
  });

  it('sends a caller a changed load, and never one of a sidecar whose Workload the pool does not select', async () => {
    const { port } = await staticVllm(0);
    const { cp } = await meshWithControlPlane(port);
    let load = BUSY;
    loadClient(cp.grpcAddress, 'llm-a', 'llm', { inbound: '127.0.0.1:17001', ownLoad: () => ({ load, at: performance.now() }) });
    // Not a member: its report must reach no caller of the pool.
    loadClient(cp.grpcAddress, 'other', 'other', { inbound: '127.0.0.1:17009', ownLoad: fresh(IDLE) });
    const caller = callerClusters();
    loadClient(cp.grpcAddress, 'web', 'web', { received: caller.sink });
    await until(() => caller.received.some((r) => r.endpoint === '127.0.0.1:17001' && r.load.waiting === 4), 'the busy report');
    load = IDLE;
    await until(() => caller.received.some((r) => r.endpoint === '127.0.0.1:17001' && r.load.waiting === 0), 'the changed report');
    expect(caller.received.filter((r) => r.endpoint === '127.0.0.1:17009')).toEqual([]);
    expect(caller.received.filter((r) => r.pool === 'llm').map((r) => r.endpoint)).not.toContain('127.0.0.1:17009');
  });

  it("scrapes a static endpoint outside the mesh itself, and streams its load to every caller", async () => {
    const vllm = await staticVllm(7);
    const { cp } = await meshWithControlPlane(vllm.port);
    const first = callerClusters();
    const second = callerClusters();
    loadClient(cp.grpcAddress, 'web', 'web', { received: first.sink });
    loadClient(cp.grpcAddress, 'web', 'web', { received: second.sink });
    const id = `127.0.0.1:${vllm.port}`;
    for (const caller of [first, second]) {
      const seen = await until(() => caller.received.find((r) => r.pool === 'ext' && r.endpoint === id), 'the static endpoint’s load');
      expect(seen.load).toEqual({ waiting: 7, running: 2, kvCacheUsage: 0.4, inFlightTokens: 0, activeLoras: [] });
      expect(caller.table('ext').isStale(id)).toBe(false);
    }
  });

  it('lets load turn stale once the control plane is gone: scored as saturated, picked by the failure mode', async () => {
    const { port } = await staticVllm(0);
    const { cp, close } = await meshWithControlPlane(port);
    loadClient(cp.grpcAddress, 'llm-a', 'llm', { inbound: '127.0.0.1:17001', ownLoad: fresh(IDLE) });
    loadClient(cp.grpcAddress, 'llm-a', 'llm', { inbound: '127.0.0.1:17002', ownLoad: fresh(IDLE) });
    const open = callerClusters({ staleAfterMs: 300, failureMode: 'FailOpen' });
    const closed = callerClusters({ staleAfterMs: 300, failureMode: 'FailClose' });
    loadClient(cp.grpcAddress, 'web', 'web', { received: (...args) => (open.sink(...args), closed.sink(...args)) });
    const members = [endpoint('127.0.0.1:17001'), endpoint('127.0.0.1:17002')];
    await until(() => !closed.table('llm').isStale('127.0.0.1:17001') && !closed.table('llm').isStale('127.0.0.1:17002'), 'fresh load');
    expect(closed.clusters[0]!.balancer.pick(members, routing())).toBeDefined();
    await close();
    await until(() => open.table('llm').isStale('127.0.0.1:17001') && open.table('llm').isStale('127.0.0.1:17002'), 'stale load', 5000);
    const picks: string[] = [];
    open.clusters[0]!.balancer.onPick = (_id, by) => picks.push(by);
    expect(open.clusters[0]!.balancer.pick(members, routing())).toBeDefined();
    expect(picks).toEqual(['fail-open']);
    expect(closed.clusters[0]!.balancer.pick(members, routing())).toBeUndefined();
  });
});
