// Computes what one sidecar receives: its own Workload, Assets, the policies that target either,
// the peer and request authentication that apply to it, the services it may call with their
// endpoints and Routes, the LegacyBridges it serves (those whose hosts name it), and the
// InferencePools it serves in (their selector matches it) or calls (named in its outbound
// services: the pool, its members with their endpoints and the pool's InferenceObjectives).
// Nothing else of the mesh leaves the control plane for that sidecar.
import { createHash } from 'node:crypto';
import { encodeResource } from '../api/resource-codec.js';
import { serviceHosts } from '../api/service-hosts.js';
import { matchesLabels, type AnyResource, type HostPort, type Resource } from '../api/resource-types.js';
import { canonicalJson } from '../resources/canonical-json.js';
import type { Revision } from '../resources/revision.js';

export interface SidecarSnapshot {
  readonly version: string;
  readonly revision: number;
  /** Canonical JSON of each resource document, in a stable order. */
  readonly documents: readonly string[];
  /** Services the sidecar may call that have no endpoint yet (none announced, none declared). */
  readonly servicesWithoutEndpoints: readonly string[];
}

/** Announced inbound addresses of connected sidecars, by `namespace/workload`. */
export type EndpointIndex = ReadonlyMap<string, readonly HostPort[]>;

function ofKind<K extends AnyResource['kind']>(revision: Revision, kind: K, namespace: string): Resource<K>[] {
  const found: Resource<K>[] = [];
  for (const { resource } of revision.resources.values()) {
    if (resource.kind === kind && resource.metadata.namespace === namespace) found.push(resource as Resource<K>);
  }
  return found;
}

function targets(policy: Resource<'AuthorizationPolicy'>, self: Resource<'Workload'>, assets: readonly Resource<'Asset'>[]): boolean {
  const { workloads, assets: assetNames, workloadSelector, assetSelector } = policy.spec.targets;
  if (workloads?.includes(self.metadata.name) === true) return true;
  if (workloadSelector !== undefined && matchesLabels(workloadSelector, self.metadata.labels)) return true;
  return assets.some(
    (asset) =>
      assetNames?.includes(asset.metadata.name) === true ||
      (assetSelector !== undefined && matchesLabels(assetSelector, asset.metadata.labels)),
  );
}

function poolSelects(pool: Resource<'InferencePool'>, workload: Resource<'Workload'>): boolean {
  return pool.spec.selector !== undefined && matchesLabels(pool.spec.selector, workload.metadata.labels);
}

function withEndpoints(service: Resource<'Workload'>, endpoints: EndpointIndex): Resource<'Workload'> {
  const announced = endpoints.get(`${service.metadata.namespace}/${service.metadata.name}`) ?? [];
  if (announced.length === 0) return service;
  // A static endpoint a sidecar also announces keeps the metadata the Workload gives it.
  const all = [...announced, ...(service.spec.endpoints ?? [])];
  const unique = [...new Map(all.map((e) => [`${e.host}:${e.port}`, e])).values()].sort(
    (a, b) => a.host.localeCompare(b.host) || a.port - b.port,
  );
  return { ...service, spec: { ...service.spec, endpoints: unique } };
}

/** Each resource is encoded once per revision, however many sidecars receive it. */
const encoded = new WeakMap<object, string>();
function encode(resource: AnyResource): string {
  let text = encoded.get(resource);
  if (text === undefined) {
    text = canonicalJson(encodeResource(resource));
    encoded.set(resource, text);
  }
  return text;
}

export function buildSnapshot(revision: Revision, workload: string, namespace: string, endpoints: EndpointIndex): SidecarSnapshot {
  const resources: AnyResource[] = [];
  const servicesWithoutEndpoints: string[] = [];
  const workloads = ofKind(revision, 'Workload', namespace);
  const self = workloads.find((w) => w.metadata.name === workload);
  if (self !== undefined) {
    const assets = ofKind(revision, 'Asset', namespace).filter((a) => a.spec.workload === workload);
    const appliesToSelf = (r: { spec: { workload?: string } }) => r.spec.workload === undefined || r.spec.workload === workload;
    const allowed = self.spec.outbound?.services;
    const services = workloads.filter((w) => w !== self && (allowed === undefined || allowed.includes(w.metadata.name)));
    const serviceNames = new Set(services.map((s) => s.metadata.name));
    const pools = ofKind(revision, 'InferencePool', namespace);
    const called = pools.filter((p) => allowed?.includes(p.metadata.name) === true);
    const members = workloads.filter((w) => w !== self && !serviceNames.has(w.metadata.name) && called.some((p) => poolSelects(p, w)));
    const reachable = [...services, ...members].map((s) => withEndpoints(s, endpoints));
    for (const service of reachable) if ((service.spec.endpoints ?? []).length === 0) servicesWithoutEndpoints.push(service.metadata.name);
    const ownHosts = new Set(serviceHosts(workload, namespace));
    resources.push(
      self,
      ...assets,
      ...ofKind(revision, 'AuthorizationPolicy', namespace).filter((p) => targets(p, self, assets)),
      ...ofKind(revision, 'PeerAuthentication', namespace).filter(appliesToSelf),
      ...ofKind(revision, 'RequestAuthentication', namespace).filter(appliesToSelf),
      ...reachable,
      ...ofKind(revision, 'Route', namespace).filter((r) => serviceNames.has(r.spec.service)),
      ...ofKind(revision, 'LegacyBridge', namespace).filter((b) => b.spec.hosts?.some((h) => ownHosts.has(h)) === true),
      ...new Set([...called, ...pools.filter((p) => poolSelects(p, self))]),
      ...ofKind(revision, 'InferenceObjective', namespace).filter((o) => called.some((p) => p.metadata.name === o.spec.poolRef)),
    );
  }
  const documents = resources.map(encode).sort();
  const version = createHash('sha256').update(documents.join('\n')).digest('hex').slice(0, 32);
  return { version, revision: revision.number, documents, servicesWithoutEndpoints };
}
