// An upstream cluster: named endpoints, each with its own keep-alive connections (an undici pool
// for HTTP/1.1, a node:http2 session for HTTP/2), a load balancer, the limits that give local
// replies (UO overflow, UH no healthy endpoint), and, when configured, its retry policy and
// outlier detection.
import type { ConnectionOptions } from 'node:tls';
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

// Only the pool: undici's index also loads fetch, WebSocket, caches and more, about 7 MB of
// resident memory per sidecar (measured).
const require = createRequire(import.meta.url);
const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
type Pool = Undici.Pool;
const buildConnector = require('undici/lib/core/connect.js') as typeof Undici.buildConnector;
import type { ClusterConfig, EndpointConfig } from '../config/types.js';
import type { ClusterCounters } from '../telemetry/resilience-metrics.js';
import { createLoadBalancer, type EndpointMetadata, type LoadBalancer, type PickRequest } from './load-balancers.js';
import { Http2Endpoint, type UpstreamDispatcher } from './http2-endpoint.js';
import { OutlierDetector } from './outlier-detector.js';
import { RetryPolicy, type RetryTarget } from './retry-policy.js';

export class Endpoint {
  active = 0;
  healthy = true;
  readonly pool: Pool;
  readonly http2: Http2Endpoint;
  /** Where requests go: the HTTP/2 session or the HTTP/1.1 pool (see `protocol` in the config). */
  readonly dispatcher: UpstreamDispatcher;
  /** `address:port`, as the access log shows it. */
  readonly label: string;
  readonly address: string;
  readonly port: number;
  readonly metadata: EndpointMetadata;

  constructor(
    config: EndpointConfig,
    cluster: Pick<ClusterConfig, 'connectTimeoutMs' | 'timeoutMs' | 'bodyTimeoutMs' | 'protocol'>,
    tls: (() => ConnectionOptions) | undefined,
    /** HTTP/1.1 connections this endpoint's pool may open; undefined: as many as requests need. */
    connections: number | undefined,
  ) {
    const { address, port } = config;
    this.address = address;
    this.port = port;
    this.metadata = config;
    const host = address.includes(':') ? `[${address}]` : address;
    this.label = `${host}:${port}`;
    const connectOptions = { timeout: cluster.connectTimeoutMs, noDelay: true };
    // With TLS, every new connection takes the TLS options of the moment (a rotated certificate).
    const connect: Undici.Pool.Options['connect'] =
      tls === undefined
        ? connectOptions
        : (options, callback) => buildConnector({ ...tls(), ...connectOptions })(options, callback);
    this.pool = new Pool(`${tls === undefined ? 'http' : 'https'}://${this.label}`, {
      connect,
      headersTimeout: cluster.timeoutMs,
      bodyTimeout: cluster.bodyTimeoutMs,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      pipelining: 1,
      ...(connections === undefined ? {} : { connections }),
    });
    this.http2 = new Http2Endpoint({
      address,
      port,
      connectTimeoutMs: cluster.connectTimeoutMs,
      timeoutMs: cluster.timeoutMs,
      bodyTimeoutMs: cluster.bodyTimeoutMs,
      idleTimeoutMs: 60_000,
      tls,
      http1: this.pool as unknown as UpstreamDispatcher,
    });
    // Mesh (TLS) endpoints are sidecars: HTTP/2 to them always, ALPN falling back to HTTP/1.1.
    // Plaintext ones speak what the cluster says, whatever the caller spoke: h2c by prior
    // knowledge for http2 and grpc, else HTTP/1.1.
    this.dispatcher = tls !== undefined || cluster.protocol !== 'http1' ? this.http2 : (this.pool as unknown as UpstreamDispatcher);
  }
}

export class Cluster implements RetryTarget<Endpoint> {
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  /** The endpoints requests may go to; rebuilt when health changes. */
  healthy: readonly Endpoint[];
  active = 0;
  /** Requests dispatched that no connection has taken yet (waiting in a pool's queue). */
  pending = 0;
  readonly maxRequests: number;
  readonly maxPendingRequests: number;
  readonly retries: RetryPolicy | undefined;
  readonly outliers: OutlierDetector<Endpoint> | undefined;
  /** Its balancer, for a filter that works with it (the inference filter's priority queue). */
  readonly balancer: LoadBalancer;

  constructor(
    readonly config: ClusterConfig,
    tls: (() => ConnectionOptions) | undefined,
    counters?: ClusterCounters,
  ) {
    this.name = config.name;
    this.maxRequests = config.maxRequests;
    this.maxPendingRequests = config.maxPendingRequests ?? Number.MAX_SAFE_INTEGER;
    // The Route's maxConnections is the cluster's: shared out among its endpoints.
    const connections = config.maxConnections === undefined ? undefined : Math.max(1, Math.floor(config.maxConnections / Math.max(1, config.endpoints.length)));
    this.endpoints = config.endpoints.map((e) => new Endpoint(e, config, tls, connections));
    this.healthy = this.endpoints.filter((e) => e.healthy);
    this.balancer = createLoadBalancer(config.loadBalancer, config.loadBalancerConfig);
    this.retries = config.retries === undefined ? undefined : new RetryPolicy(config.retries, counters, config.maxRetries);
    this.outliers =
      config.outlierDetection === undefined
        ? undefined
        : new OutlierDetector(
            config.outlierDetection,
            this.endpoints,
            () => (this.healthy = this.endpoints.filter((e) => e.healthy)),
            () => counters?.ejections.inc(),
          );
  }

  /** Whether a new request is within the circuit-breaker limits (else 503 UPSTREAM_OVERFLOW). */
  admits(): boolean {
    return this.active < this.maxRequests && this.pending < this.maxPendingRequests;
  }

  /** The balancer's endpoint for `request`, or undefined when none is healthy (or none may serve it). */
  pick(request: PickRequest): Endpoint | undefined {
    return this.healthy.length === 0 ? undefined : this.balancer.pick(this.healthy, request);
  }

  /** For a retry: the balancer's choice among the healthy endpoints other than `previous`. */
  pickOther(previous: Endpoint, request: PickRequest): Endpoint | undefined {
    const healthy = this.healthy;
    if (healthy.length <= 1) return healthy[0];
    const choice = this.balancer.pick(healthy, request);
    if (choice !== previous) return choice;
    // Asked again among the others, so what the balancer counts (an inference pick) is the retry's endpoint.
    return this.balancer.pick(
      healthy.filter((endpoint) => endpoint !== previous),
      request,
    );
  }

  /** Closes the pools once their in-flight requests are done. */
  async close(): Promise<void> {
    this.outliers?.close();
    for (const endpoint of this.endpoints) endpoint.http2.close();
    await Promise.all(this.endpoints.map((e) => e.pool.close()));
  }

  /** Closes the pools now, failing what is in flight. */
  async destroy(): Promise<void> {
    this.outliers?.close();
    for (const endpoint of this.endpoints) endpoint.http2.destroy();
    await Promise.all(this.endpoints.map((e) => e.pool.destroy()));
  }
}
