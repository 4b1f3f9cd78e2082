// Inference routing's parts of a control-plane snapshot. At a model server (an InferencePool's
// selector matches its Workload): the inbound `inference-load-report` filter, scraping the app
// behind the sidecar. At a caller (a pool among its outbound services): the outbound `inference`
// filter with the pool's InferenceObjectives that govern this caller (each with its pool, its
// priority, TTFT objective and budgets), the pool's KV isolation, and a cluster per pool on the `inference` balancer over
// the members' endpoints. Objectives whose tenant is a JWT claim are left to sidecar configs.
import { matchesLabels, type Resource } from '../../../control-plane/api/resource-types.js';
import type { Snapshot } from '../../xds/snapshot.js';
import type { InboundListenerFacts } from '../http-filter.js';

function servedPool(snapshot: Snapshot): Resource<'InferencePool'> | undefined {
  const self = snapshot.workload;
  if (self === undefined) return undefined;
  return snapshot.inferencePools.find((p) => p.spec.selector !== undefined && matchesLabels(p.spec.selector, self.metadata.labels));
}

export function loadReportConfigFromSnapshot(snapshot: Snapshot, inbound: InboundListenerFacts): Record<string, unknown> | undefined {
  const pool = servedPool(snapshot);
  if (pool === undefined) return undefined;
  return {
    metricsUrl: `http://127.0.0.1:${inbound.appPort}${pool.spec.metricsPath}`,
    engine: pool.spec.engine,
    intervalMs: pool.spec.picker.scrapeIntervalMs,
  };
}

/** Pools this sidecar calls: those among its Workload's outbound services. */
export function calledPools(snapshot: Snapshot): Resource<'InferencePool'>[] {
  const allowed = snapshot.workload?.spec.outbound?.services ?? [];
  return snapshot.inferencePools.filter((p) => allowed.includes(p.metadata.name));
}

/**
 * The outbound `inference` filter's config; undefined when this sidecar calls no pool. Tenants
 * are calling workloads (SPIFFE IDs): an objective naming tenants applies when it names `selfId`.
 */
export function inferenceConfigFromSnapshot(snapshot: Snapshot, selfId: string): Record<string, unknown> | undefined {
  const pools = new Set(calledPools(snapshot).map((p) => p.metadata.name));
  if (pools.size === 0) return undefined;
  const governing = snapshot.inferenceObjectives.filter(
    (o) => pools.has(o.spec.poolRef) && o.spec.tenantFrom.source === 'spiffe' && (o.spec.tenants === undefined || o.spec.tenants.includes(selfId)),
  );
  const objectives = governing.map(({ metadata, spec }) => ({
    name: metadata.name,
    pool: spec.poolRef,
    priority: spec.priority,
    ...(spec.ttftObjectiveMs === undefined ? {} : { ttftObjectiveMs: spec.ttftObjectiveMs }),
    budgets: spec.budgets ?? [],
    ...(spec.models === undefined ? {} : { models: spec.models }),
    ...(spec.tenants === undefined ? {} : { tenants: spec.tenants }),
  }));
  const [pool] = calledPools(snapshot);
  return {
    objectives,
    kvIsolation: pool!.spec.kvIsolation,
    prefix: { blockChars: pool!.spec.picker.prefixBlockChars, blocks: pool!.spec.picker.prefixBlocks },
  };
}

/**
 * The endpoints of a called pool, each with the pool's models, for the `inference` balancer: its
 * members' sidecars (the Workloads its selector matches), or its static servers outside the mesh
 * on each target port (plaintext: they have no sidecar; the control plane scrapes their load).
 */
export function poolCluster(pool: Resource<'InferencePool'>, members: readonly Resource<'Workload'>[]): { endpoints: Record<string, unknown>[]; loadBalancerConfig: Record<string, unknown> } {
  const { models, picker, failureMode } = pool.spec;
  const served = models === undefined ? {} : { models };
  const memberEndpoints = members.flatMap((m) => (m.spec.endpoints ?? []).map(({ host, labels, ...metadata }) => ({ address: host, ...metadata, labels: { ...m.metadata.labels, ...labels }, ...served })));
  const staticEndpoints = (pool.spec.endpoints ?? []).flatMap(({ host }) => pool.spec.targetPorts.map((port) => ({ address: host, port, ...served })));
  return {
    endpoints: [...memberEndpoints, ...staticEndpoints],
    loadBalancerConfig: { failureMode, staleAfterMs: picker.staleAfterMs, affinityLoadBound: picker.affinityLoadBound, weights: picker.weights },
  };
}
