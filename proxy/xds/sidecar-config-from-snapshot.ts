// The one translation from what the control plane sends a sidecar (its Snapshot) to the
// sidecar's runtime config: the app behind the inbound listener, a cluster per service it may
// call (mTLS to that service's SPIFFE ID, its endpoints with their metadata, its Route's
// timeout, balancer, circuit-breaker limits, retries and outlier detection), and the inbound mTLS mode from PeerAuthentication. What only this
// process knows (its listener ports, its identity settings) comes in as `local`. The result goes through the same
// validation as a YAML config, so a snapshot the sidecar cannot run is refused (NACK).
import { workloadId } from '../../control-plane/api/spiffe-id.js';
import type { MtlsMode, Resource, RouteSpec } from '../../control-plane/api/resource-types.js';
import { ConfigError, validateConfig } from '../config/load-config.js';
import type { IdentityConfig, SidecarConfig } from '../config/types.js';
import { inboundFiltersFromSnapshot } from '../filters/registry.js';
import type { Snapshot } from './snapshot.js';

export interface ListenAddress {
  readonly address: string;
  readonly port: number;
}

export interface LocalSidecarSettings {
  readonly workload: string;
  readonly namespace: string;
  readonly identity: IdentityConfig;
  /** The app's port on 127.0.0.1; absent: the first port of the Workload resource. */
  readonly appPort?: number;
  readonly inbound: ListenAddress;
  readonly outbound: ListenAddress;
  readonly admin: ListenAddress;
}

/** Names a caller may use for a service: `orders`, `orders.shop`, `orders.shop.svc`. */
export function serviceHosts(name: string, namespace: string): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`];
}

/** The workload's own PeerAuthentication wins over a namespace-wide one; a port entry over both. */
function inboundMode(snapshot: Snapshot, appPort: number): MtlsMode {
  const own = snapshot.peerAuthentications.find((p) => p.spec.workload !== undefined);
  const wide = snapshot.peerAuthentications.find((p) => p.spec.workload === undefined);
  const chosen = own ?? wide;
  if (chosen === undefined) return 'STRICT';
  return chosen.spec.ports?.[String(appPort)]?.mode ?? chosen.spec.mode;
}

function cluster(service: Resource<'Workload'>, snapshot: Snapshot, trustDomain: string): Record<string, unknown> {
  const { name, namespace } = service.metadata;
  const route = snapshot.routes.get(name)?.spec;
  return {
    name,
    hosts: serviceHosts(name, namespace),
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

function loadBalancer(spec: NonNullable<RouteSpec['loadBalancer']>): Record<string, unknown> {
  if (spec.policy === 'ROUND_ROBIN') return { loadBalancer: 'round_robin' };
  return { loadBalancer: 'least_request', loadBalancerConfig: { choiceCount: spec.choiceCount } };
}

/** The Route's `minRetriesPerSecond` is the floor of Envoy's budget: concurrent retries always allowed. */
function retries(spec: NonNullable<RouteSpec['retries']>): Record<string, unknown> {
  const { budget, ...rest } = spec;
  return { ...rest, ...(budget === undefined ? {} : { budget: { percent: budget.percent, minRetryConcurrency: budget.minRetriesPerSecond } }) };
}

/** Throws (ConfigError, with every problem) when the snapshot cannot be run by this sidecar. */
export function sidecarConfigFromSnapshot(snapshot: Snapshot, local: LocalSidecarSettings): SidecarConfig {
  const self = snapshot.workload;
  const source = `snapshot ${snapshot.version}`;
  const appPort = local.appPort ?? self?.spec.ports[0]?.port;
  if (self === undefined || appPort === undefined) {
    throw new ConfigError(source, [`the control plane has no Workload ${local.namespace}/${local.workload} (or it declares no port)`]);
  }
  return validateConfig(
    {
      workload: local.workload,
      namespace: local.namespace,
      identity: local.identity,
      admin: local.admin,
      inbound: { ...local.inbound, appPort, mtls: inboundMode(snapshot, appPort), filters: inboundFiltersFromSnapshot(snapshot) },
      outbound: {
        ...local.outbound,
        clusters: [...snapshot.services.values()].map((service) => cluster(service, snapshot, local.identity.trustDomain)),
      },
    },
    source,
  );
}
