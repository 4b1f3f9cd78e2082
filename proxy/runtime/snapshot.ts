// What the data path reads on every request: a snapshot compiled from one config (filter chains,
// routes, clusters with their pools), held in one place and swapped whole. Requests read
// `holder.current` when they start and never wait for a new one (a control-plane update calls
// `replace`).
import type { ConnectionOptions } from 'node:tls';
import { isDeepStrictEqual } from 'node:util';
import type { ClusterConfig, FilterConfig, SidecarConfig } from '../config/types.js';
import { filterFactory } from '../filters/registry.js';
import type { FilterBuildContext, Route } from '../filters/http-filter.js';
import { FilterChain } from '../filters/filter-chain.js';
import type { AccessLog } from '../telemetry/access-log.js';
import type { RequestStats, SidecarMetrics } from '../telemetry/metrics.js';
import type { Socket } from 'node:net';
import type { Direction, PeerIdentity, TransportSecurity } from '../transport-security.js';
import { Cluster } from '../upstream/cluster.js';
import { workloadId } from '../../control-plane/api/spiffe-id.js';

export interface ListenerRuntime {
  readonly direction: Direction;
  /** `http` or `https`: what `x-forwarded-proto` says about the caller's hop. */
  readonly proto: string;
  readonly filters: FilterChain;
  /** Metrics of requests that never got a route. */
  readonly unrouted: RequestStats;
  readonly accessLog: AccessLog;
  /** The verified peer of a request's connection (its source principal), if any. */
  readonly peer: (socket: Socket) => PeerIdentity | undefined;
  /** `limits.requestTimeoutMs`: bounds a body read ahead for a filter. */
  readonly requestTimeoutMs: number;
}

const noPeer = (): undefined => undefined;

export interface Snapshot {
  readonly config: SidecarConfig;
  /** Inbound requests over mutual TLS, or all of them when the listener is plaintext. */
  readonly inbound: ListenerRuntime | undefined;
  /** Inbound plaintext requests on a listener that also takes TLS (PERMISSIVE). */
  readonly inboundPlaintext?: ListenerRuntime | undefined;
  readonly outbound: ListenerRuntime | undefined;
  readonly clusters: readonly Cluster[];
}

export interface SnapshotDeps {
  readonly metrics: SidecarMetrics;
  readonly accessLog: AccessLog;
  readonly security: TransportSecurity;
}

/**
 * Compiles `config`. A cluster of `previous` whose config is unchanged is taken over as it is,
 * so a policy push does not cost every upstream connection (and its TLS handshake).
 */
export function buildSnapshot(config: SidecarConfig, deps: SnapshotDeps, previous?: Snapshot): Snapshot {
  const clusters: Cluster[] = [];
  const clusterFor = (clusterConfig: ClusterConfig, tls: (() => ConnectionOptions) | undefined): Cluster => {
    const kept = previous?.clusters.find((c) => c.name === clusterConfig.name && isDeepStrictEqual(c.config, clusterConfig));
    const cluster = kept ?? new Cluster(clusterConfig, tls, deps.metrics.resilience.forCluster(clusterConfig.name));
    clusters.push(cluster);
    return cluster;
  };
  const identity = config.identity;
  const shared = {
    workload: config.workload,
    namespace: config.namespace,
    localPrincipal:
      identity === undefined
        ? undefined
        : workloadId({ trustDomain: identity.trustDomain, namespace: config.namespace, serviceAccount: identity.serviceAccount ?? config.workload }).uri,
    metrics: deps.metrics,
    logOut: deps.accessLog.out,
  };
  let inbound: ListenerRuntime | undefined;
  let inboundPlaintext: ListenerRuntime | undefined;
  let outbound: ListenerRuntime | undefined;

  if (config.inbound !== undefined) {
    const appCluster = clusterFor(
      {
        name: `inbound|${config.inbound.appPort}`,
        hosts: [],
        loadBalancer: 'round_robin',
        loadBalancerConfig: {},
        endpoints: [{ address: '127.0.0.1', port: config.inbound.appPort, weight: 1, labels: {} }],
        maxRequests: Number.MAX_SAFE_INTEGER,
        connectTimeoutMs: 1000,
        timeoutMs: config.inbound.timeoutMs,
        bodyTimeoutMs: config.limits.idleTimeoutMs,
      },
      undefined,
    );
    const inboundConfig = config.inbound;
    // One runtime per kind of connection the listener takes, so that metrics and
    // x-forwarded-proto say whether the request came over mutual TLS.
    const runtimeFor = (securityPolicy: 'mutual_tls' | 'none'): ListenerRuntime => {
      const labels = {
        reporter: 'destination',
        source_workload: 'unknown',
        destination_workload: config.workload,
        destination_service: config.workload,
        request_protocol: 'http',
        connection_security_policy: securityPolicy,
        source_principal: 'unknown',
        destination_principal: securityPolicy === 'mutual_tls' ? (shared.localPrincipal ?? 'unknown') : 'unknown',
      };
      const route: Route = { cluster: appCluster, stats: deps.metrics.statsFor(labels) };
      return {
        direction: 'inbound',
        proto: securityPolicy === 'none' ? 'http' : 'https',
        filters: buildFilters(inboundConfig.filters, { ...shared, direction: 'inbound', routesByHost: new Map(), defaultRoute: route }),
        unrouted: deps.metrics.statsFor({ ...labels, destination_service: 'unknown' }),
        accessLog: deps.accessLog,
        peer: securityPolicy === 'none' ? noPeer : (socket) => deps.security.inboundPeer(socket),
        requestTimeoutMs: config.limits.requestTimeoutMs,
      };
    };
    const mutualTls = deps.security.serverOptions('inbound') !== undefined;
    inbound = runtimeFor(mutualTls ? 'mutual_tls' : 'none');
    if (mutualTls && deps.security.acceptsPlaintext('inbound')) inboundPlaintext = runtimeFor('none');
  }

  if (config.outbound !== undefined) {
    const routesByHost = new Map<string, Route>();
    const base = { reporter: 'source', source_workload: config.workload, request_protocol: 'http', source_principal: shared.localPrincipal ?? 'unknown' };
    for (const clusterConfig of config.outbound.clusters) {
      const tls = deps.security.clientOptions(clusterConfig);
      const cluster = clusterFor(clusterConfig, tls);
      const route: Route = {
        cluster,
        stats: deps.metrics.statsFor({
          ...base,
          destination_workload: cluster.name,
          destination_service: clusterConfig.hosts[0]!,
          connection_security_policy: tls === undefined ? 'none' : 'mutual_tls',
          destination_principal: clusterConfig.spiffeId ?? 'unknown',
        }),
      };
      for (const host of clusterConfig.hosts) routesByHost.set(host.toLowerCase(), route);
    }
    outbound = {
      direction: 'outbound',
      proto: deps.security.serverOptions('outbound') === undefined ? 'http' : 'https',
      filters: buildFilters(config.outbound.filters, { ...shared, direction: 'outbound', routesByHost, defaultRoute: undefined }),
      unrouted: deps.metrics.statsFor({
        ...base,
        destination_workload: 'unknown',
        destination_service: 'unknown',
        connection_security_policy: 'none',
        destination_principal: 'unknown',
      }),
      accessLog: deps.accessLog,
      peer: noPeer,
      requestTimeoutMs: config.limits.requestTimeoutMs,
    };
  }
  return { config, inbound, inboundPlaintext, outbound, clusters };
}

function buildFilters(configs: readonly FilterConfig[], context: FilterBuildContext): FilterChain {
  return new FilterChain(
    configs.map((filter) => {
      const factory = filterFactory(filter.name);
      // load-config.ts has checked every name against the registry.
      if (factory === undefined) throw new Error(`unknown filter '${filter.name}'`);
      return factory.create(filter.config ?? {}, context);
    }),
  );
}

export class SnapshotHolder {
  constructor(public current: Snapshot) {}

  /** Makes `next` the snapshot new requests use; pools it did not take over close once idle. */
  replace(next: Snapshot): void {
    const previous = this.current;
    this.current = next;
    for (const cluster of previous.clusters) if (!next.clusters.includes(cluster)) void cluster.close();
  }
}
