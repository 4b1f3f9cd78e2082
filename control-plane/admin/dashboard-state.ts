// What the dashboard shows, computed from what the control plane holds: the resources of the
// current revision and what each connected sidecar acknowledged. Traffic figures, decisions and
// inference figures live in the sidecars, not here; the snapshot says so instead of guessing.
import { X509Certificate } from 'node:crypto';
import { matchesLabels, type AnyResource, type MtlsMode, type Resource, type ResourceKind } from '../api/resource-types.js';
import type { StatusAnswer } from '../api/admin-contract.js';
import type { Revision } from '../resources/revision.js';

/** A sidecar's status without its ever-changing last-seen age (a snapshot changes when something happened). */
type Sidecar = Omit<StatusAnswer['sidecars'][number], 'lastSeenMsAgo'>;

export interface DashboardState {
  revision: number;
  converged: boolean;
  workloads: { key: string; serviceAccount: string; sidecars: Sidecar[] }[];
  /** Declared calls (Workload spec.outbound.services); `observed` is null: the sidecars keep their traffic metrics. */
  edges: { from: string; to: string; mtls: MtlsMode; observed: null }[];
  assets: { key: string; workload: string; policies: { key: string; mode: 'enforce' | 'dry-run' }[]; sidecars: Sidecar[] }[];
  certificates: { workload: string; identity: string; expiresAt: string | null }[];
  trustRoots: { subject: string; notAfter: string; fingerprint256: string }[];
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

export function dashboardState(revision: Revision, status: StatusAnswer, trustRoots: DashboardState['trustRoots']): DashboardState {
  const workloads = ofKind(revision, 'Workload');
  const byKey = new Map(workloads.map((w) => [keyOf(w), w]));
  const sidecarsOf = (key: string): Sidecar[] => status.sidecars.filter((s) => s.workload === key).map(({ lastSeenMsAgo: _, ...s }) => s);
  const edges: DashboardState['edges'] = [];
  for (const caller of workloads) {
    for (const service of caller.spec.outbound?.services ?? []) {
      const callee = byKey.get(`${caller.metadata.namespace}/${service}`);
      if (callee !== undefined) edges.push({ from: keyOf(caller), to: keyOf(callee), mtls: mtlsOf(revision, callee), observed: null });
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
    certificates: status.sidecars.map((s) => ({ workload: s.workload, identity: s.identity, expiresAt: null })),
    trustRoots,
    notes: {
      topology: 'Edges are the calls each Workload declares (spec.outbound.services); requests/s, error rate and p99 are kept by the sidecars and not yet read by the control plane.',
      decisions: 'No data yet: denials and dry-run would-denials are recorded by the sidecars, not reported to the control plane.',
      inference: 'No data yet: no InferencePool in this mesh is reported to the control plane.',
      certificates: 'Identities are those the connected sidecars proved; their certificates\' expiry is not reported to the control plane.',
    },
  };
}
