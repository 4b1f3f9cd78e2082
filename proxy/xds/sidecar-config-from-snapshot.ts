// The one translation from what the control plane sends a sidecar (its Snapshot) to the
// sidecar's runtime config: the app behind the inbound listener, a cluster per service it may
// call (mTLS to that service's SPIFFE ID, its endpoints with their metadata, its Route's
// timeout, balancer, circuit-breaker limits, retries and outlier detection), the inbound mTLS
// mode from PeerAuthentication, and the Workload's path normalization. What only this
// process knows (its listener ports, its identity settings) comes in as `local`. The result goes through the same
// validation as a YAML config, so a snapshot the sidecar cannot run is refused (NACK).
import { serviceHosts } from '../../control-plane/api/service-hosts.js';
import { workloadId } from '../../control-plane/api/spiffe-id.js';
import { matchesLabels, type MtlsMode, type PortProtocol, type Resource, type RouteSpec } from '../../control-plane/api/resource-types.js';
import { ConfigError, validateConfig } from '../config/load-config.js';
import type { IdentityConfig, SidecarConfig, UpstreamProtocol } from '../config/types.js';
import { inboundFiltersFromSnapshot } from '../filters/registry.js';
import { calledPools, inferenceConfigFromSnapshot, poolCluster } from '../filters/inference/from-snapshot.js';
import type { Snapshot } from './snapshot.js';

export interface ListenAddress {
  readonly address: string;
  readonly port: number;
}

export interface LocalSidecarSettings {
  readonly workload: string;
  readonly namespace: string;
  readonly identity: IdentityConfig;
  /** The Kubernetes cluster domain in the services' fully qualified names (default cluster.local). */
  readonly clusterDomain?: string;
  /** The address other sidecars reach this one at (the pod IP); default the inbound listener's. */
  readonly announcedHost?: string;
  /** The app's port on 127.0.0.1; absent: the first port of the Workload resource. */
  readonly appPort?: number;
  readonly inbound: ListenAddress;
  readonly outbound: ListenAddress;
  readonly admin: ListenAddress;
}

/**
 * The inbound mTLS mode, one precedence for the listener and the authz default: the workload's
 * own PeerAuthentication over a namespace-wide one over the mesh default (STRICT), and in the
 * one chosen, the entry for the app's port over its mode.
 */
export function inboundMtlsMode(snapshot: Snapshot, appPort: number): MtlsMode {
  const own = snapshot.peerAuthentications.find((p) => p.spec.workload !== undefined);
  const wide = snapshot.peerAuthentications.find((p) => p.spec.workload === undefined);
  const chosen = own ?? wide;
  if (chosen === undefined) return 'STRICT';
  return chosen.spec.ports?.[String(appPort)]?.mode ?? chosen.spec.mode;
}

function cluster(service: Resource<'Workload'>, snapshot: Snapshot, trustDomain: string, clusterDomain: string | undefined): Record<string, unknown> {
  const { name, namespace } = service.metadata;
  const route = snapshot.routes.get(name)?.spec;
  return {
    name,
    hosts: serviceHosts(name, namespace, clusterDomain),
    protocol: upstreamProtocol(service.spec.ports[0]!.protocol),
    endpoints: (service.spec.endpoints ?? []).map(({ host, labels, ...metadata }) => ({
      address: host,
      ...metadata,
      labels: { ...service.metadata.labels, ...labels },
    })),
    spiffeId: workloadId({ trustDomain, namespace, serviceAccount: service.spec.serviceAccount }).uri,
    ...(route?.timeoutMs === undefined ? {} : { timeoutMs: route.timeoutMs }),
    ...(route?.loadBalancer === undefined ? {} : loadBalancer(route.loadBalancer)),
    ...route?.circuitBreaker,
    ...(route?.retries === undefined ? {} : { retries: retries(route.retries) }),
    ...(route?.outlierDetection === undefined ? {} : { outlierDetection: route.outlierDetection }),
  };
}

/** A Workload port's `protocol` as the upstream's (`http` is HTTP/1.1). */
function upstreamProtocol(protocol: PortProtocol): UpstreamProtocol {
  return protocol === 'http' ? 'http1' : protocol;
}

function loadBalancer(spec: NonNullable<RouteSpec['loadBalancer']>): Record<string, unknown> {
  if (spec.policy === 'ROUND_ROBIN') return { loadBalancer: 'round_robin' };
  return { loadBalancer: 'least_request', loadBalancerConfig: { choiceCount: spec.choiceCount } };
}

/** The Route's `minRetriesPerSecond` is the floor of Envoy's budget: concurrent retries always allowed. */
function retries(spec: NonNullable<RouteSpec['retries']>): Record<string, unknown> {
  const { budget, ...rest } = spec;
  return { ...rest, ...(budget === undefined ? {} : { budget: { percent: budget.percent, minRetryConcurrency: budget.minRetriesPerSecond } }) };
}

/** The outbound chain: `inference` in front of the router when this sidecar calls a pool. */
function outboundFilters(snapshot: Snapshot, local: LocalSidecarSettings): { filters?: Record<string, unknown>[] } {
  const self = workloadId({ trustDomain: local.identity.trustDomain, namespace: local.namespace, serviceAccount: local.identity.serviceAccount ?? local.workload }).uri;
  const inference = inferenceConfigFromSnapshot(snapshot, self);
  return inference === undefined ? {} : { filters: [{ name: 'inference', config: inference }, { name: 'router' }] };
}

/**
 * A pool's cluster, reached by the pool's name: its members' sidecars on the `inference`
 * balancer. One cluster checks one SPIFFE ID, so the members share a service account (replicas
 * of one model server); a pool whose members do not is refused.
 */
function inferenceCluster(pool: Resource<'InferencePool'>, snapshot: Snapshot, trustDomain: string, clusterDomain: string | undefined): Record<string, unknown> {
  const { name, namespace } = pool.metadata;
  const members = [...snapshot.services.values()].filter((w) => pool.spec.selector !== undefined && matchesLabels(pool.spec.selector, w.metadata.labels));
  const accounts = [...new Set(members.map((m) => m.spec.serviceAccount))];
  if (accounts.length > 1) throw new ConfigError(`snapshot ${snapshot.version}`, [`InferencePool ${name}: its members run as different service accounts (${accounts.join(', ')}); one cluster checks one identity`]);
  return {
    name,
    hosts: serviceHosts(name, namespace, clusterDomain),
    protocol: 'http1',
    loadBalancer: 'inference',
    ...poolCluster(pool, members),
    ...(accounts[0] === undefined ? {} : { spiffeId: workloadId({ trustDomain, namespace, serviceAccount: accounts[0] }).uri }),
  };
}

/** Throws (ConfigError, with every problem) when the snapshot cannot be run by this sidecar. */
export function sidecarConfigFromSnapshot(snapshot: Snapshot, local: LocalSidecarSettings): SidecarConfig {
  const self = snapshot.workload;
  const source = `snapshot ${snapshot.version}`;
  const appPort = local.appPort ?? self?.spec.ports[0]?.port;
  // The app speaks what its Workload port says (the first port's protocol for another port).
  const appPortSpec = self?.spec.ports.find((p) => p.port === appPort) ?? self?.spec.ports[0];
  if (self === undefined || appPort === undefined) {
    throw new ConfigError(source, [`the control plane has no Workload ${local.namespace}/${local.workload} (or it declares no port)`]);
  }
  const mtls = inboundMtlsMode(snapshot, appPort);
  return validateConfig(
    {
      workload: local.workload,
      namespace: local.namespace,
      identity: local.identity,
      admin: local.admin,
      ...(self.spec.pathNormalization === undefined ? {} : { pathNormalization: self.spec.pathNormalization }),
      inbound: {
        ...local.inbound,
        appPort,
        appProtocol: upstreamProtocol(appPortSpec!.protocol),
        mtls,
        filters: inboundFiltersFromSnapshot(snapshot, { mtls, appPort }),
      },
      outbound: {
        ...local.outbound,
        ...outboundFilters(snapshot, local),
        clusters: [
          ...[...snapshot.services.values()].map((service) => cluster(service, snapshot, local.identity.trustDomain, local.clusterDomain)),
          ...calledPools(snapshot).map((pool) => inferenceCluster(pool, snapshot, local.identity.trustDomain, local.clusterDomain)),
        ],
      },
    },
    source,
  );
}
