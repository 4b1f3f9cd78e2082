// What the dashboard shows, computed from what the control plane holds (the resources of the
// current revision and what each connected sidecar acknowledged) and from what it last read from
// the sidecars' admin listeners (sidecar-telemetry.ts): traffic per edge, recent denials, the
// model servers' load.
import { X509Certificate } from 'node:crypto';
import { matchesLabels, type AnyResource, type MtlsMode, type Resource, type ResourceKind } from '../api/resource-types.js';
import type { StatusAnswer } from '../api/admin-contract.js';
import type { Revision } from '../resources/revision.js';
import type { DecisionRow, EdgeTraffic, EngineSample, TelemetryView, TenantTokens } from './sidecar-telemetry.js';

/** A sidecar's status without its ever-changing last-seen age (a snapshot changes when something happened). */
type Sidecar = Omit<StatusAnswer['sidecars'][number], 'lastSeenMsAgo'>;

export interface DashboardState {
  revision: number;
  converged: boolean;
  workloads: { key: string; serviceAccount: string; sidecars: Sidecar[] }[];
  /**
   * Declared calls (Workload spec.outbound.services; a pool named there: each of its members),
   * with the callee's mTLS mode; `observed`: what the callee's sidecar counted over the last
   * interval, null before two readings.
   */
  edges: { from: string; to: string; mtls: MtlsMode; observed: EdgeTraffic | null }[];
  assets: { key: string; workload: string; policies: { key: string; mode: 'enforce' | 'dry-run' }[]; sidecars: Sidecar[] }[];
  certificates: { workload: string; identity: string; expiresAt: string | null }[];
  trustRoots: { subject: string; notAfter: string; fingerprint256: string }[];
  /** Newest first. */
  decisions: readonly DecisionRow[];
  inference: { pool: string; backends: { workload: string; labels: Record<string, string>; picks: number | null; history: readonly EngineSample[] }[] }[];
  tokensPerTenant: readonly TenantTokens[];
  notes: { topology: string; decisions: string; inference: string; certificates: string };
}

function ofKind<K extends ResourceKind>(revision: Revision, kind: K): Resource<K>[] {
  return [...revision.resources.values()].map(({ resource }) => resource as AnyResource).filter((r): r is Resource<K> & AnyResource => r.kind === kind) as Resource<K>[];
}

const keyOf = (r: { metadata: { namespace: string; name: string } }) => `${r.metadata.namespace}/${r.metadata.name}`;

function appliesTo(policy: Resource<'AuthorizationPolicy'>, asset: Resource<'Asset'>, workload: Resource<'Workload'> | undefined): boolean {
  if (policy.metadata.namespace !== asset.metadata.namespace) return false;
  const { workloads, assets, workloadSelector, assetSelector } = policy.spec.targets;
  if (assets?.includes(asset.metadata.name) === true) return true;
  if (assetSelector !== undefined && matchesLabels(assetSelector, asset.metadata.labels)) return true;
  if (workload === undefined) return false;
  return workloads?.includes(workload.metadata.name) === true || (workloadSelector !== undefined && matchesLabels(workloadSelector, workload.metadata.labels));
}

/** The mode a callee's inbound port runs in: its own PeerAuthentication, else its namespace's, else STRICT. */
function mtlsOf(revision: Revision, callee: Resource<'Workload'>): MtlsMode {
  const inNamespace = ofKind(revision, 'PeerAuthentication').filter((p) => p.metadata.namespace === callee.metadata.namespace);
  return (inNamespace.find((p) => p.spec.workload === callee.metadata.name) ?? inNamespace.find((p) => p.spec.workload === undefined))?.spec.mode ?? 'STRICT';
}

/** The certificates of a PEM bundle (unparseable blocks are left out). */
export function trustRootsOf(pem: string): DashboardState['trustRoots'] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((block) => {
    try {
      const cert = new X509Certificate(block);
      return [{ subject: cert.subject.replace(/\n/g, ', '), notAfter: new Date(cert.validTo).toISOString(), fingerprint256: cert.fingerprint256 }];
    } catch {
      return [];
    }
  });
}

export function dashboardState(revision: Revision, status: StatusAnswer, trustRoots: DashboardState['trustRoots'], telemetry: TelemetryView): DashboardState {
  const workloads = ofKind(revision, 'Workload');
  const byKey = new Map(workloads.map((w) => [keyOf(w), w]));
  const sidecarsOf = (key: string): Sidecar[] => status.sidecars.filter((s) => s.workload === key).map(({ lastSeenMsAgo: _, ...s }) => s);
  const pools = ofKind(revision, 'InferencePool');
  const membersOf = (pool: Resource<'InferencePool'>) =>
    workloads.filter((w) => w.metadata.namespace === pool.metadata.namespace && pool.spec.selector !== undefined && matchesLabels(pool.spec.selector, w.metadata.labels));
  const edges: DashboardState['edges'] = [];
  for (const caller of workloads) {
    for (const service of caller.spec.outbound?.services ?? []) {
      const callee = byKey.get(`${caller.metadata.namespace}/${service}`);
      const pool = pools.find((p) => p.metadata.namespace === caller.metadata.namespace && p.metadata.name === service);
      for (const target of callee !== undefined ? [callee] : pool !== undefined ? membersOf(pool) : []) {
        edges.push({ from: keyOf(caller), to: keyOf(target), mtls: mtlsOf(revision, target), observed: telemetry.traffic.get(`${keyOf(caller)}->${keyOf(target)}`) ?? null });
      }
    }
  }
  const policies = ofKind(revision, 'AuthorizationPolicy');
  return {
    revision: revision.number,
    converged: status.convergence.converged,
    workloads: workloads.map((w) => ({ key: keyOf(w), serviceAccount: w.spec.serviceAccount, sidecars: sidecarsOf(keyOf(w)) })),
    edges,
    assets: ofKind(revision, 'Asset').map((asset) => {
      const workloadKey = `${asset.metadata.namespace}/${asset.spec.workload}`;
      return {
        key: keyOf(asset),
        workload: workloadKey,
        policies: policies.filter((p) => appliesTo(p, asset, byKey.get(workloadKey))).map((p) => ({ key: keyOf(p), mode: p.spec.mode })),
        sidecars: sidecarsOf(workloadKey),
      };
    }),
    certificates: status.sidecars.map((s) => ({
      workload: s.workload,
      identity: s.identity,
      expiresAt: telemetry.certificateExpiry.get(s.workload) ?? null,
    })),
    trustRoots,
    decisions: telemetry.decisions,
    inference: pools.map((pool) => ({
      pool: keyOf(pool),
      backends: membersOf(pool).map((w) => {
        const backend = telemetry.backends.get(keyOf(w));
        return { workload: keyOf(w), labels: w.metadata.labels, picks: backend?.picks ?? null, history: backend?.history ?? [] };
      }),
    })),
    tokensPerTenant: telemetry.tokens,
    notes: {
      topology: 'Edges are the calls each Workload declares (spec.outbound.services; a pool: each of its members); requests/s, error rate (4xx and 5xx) and p99 over the last 2 s are what the callee\'s sidecar counted.',
      decisions: 'The latest denials and dry-run would-denials the sidecars kept (each keeps its last 100), read every 2 s while this page is open.',
      inference: 'Each model server\'s queue, running requests and KV-cache use as its sidecar last scraped them; picks: requests its sidecar served. Tokens per tenant: what the callers\' sidecars settled from the answers\' usage, all callers summed.',
      certificates: 'Identities are those the connected sidecars proved; expiry as the sidecars\' metrics report it (read while this page is open; a workload with several sidecars shows the soonest).',
    },
  };
}
