// An upstream cluster: named endpoints, each with its own keep-alive connections (an undici pool
// for HTTP/1.1, a node:http2 session for HTTP/2, chosen per request by how its caller spoke), a load balancer, the limits that give local
// replies (UO overflow, UH no healthy endpoint), and, when configured, its retry policy and
// outlier detection.
import type { Readable } from 'node:stream';
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
import { bodyForUndici } from '../http/http2-downstream.js';
import type { ClusterCounters } from '../telemetry/resilience-metrics.js';
import { createLoadBalancer, type EndpointMetadata, type LoadBalancer, type PickRequest } from './load-balancers.js';
import { Http2Endpoint, type UpstreamDispatcher } from './http2-endpoint.js';
import { OutlierDetector } from './outlier-detector.js';
import { RetryPolicy, type RetryTarget } from './retry-policy.js';

export class Endpoint {
  active = 0;
  healthy = true;
  readonly http2: Http2Endpoint;
  /** Where an HTTP/1.1 caller's requests go, and where HTTP/2 and gRPC callers' go. */
  readonly forHttp1Callers: UpstreamDispatcher;
  readonly forHttp2Callers: UpstreamDispatcher;
  /** `address:port`, as the access log shows it. */
  readonly label: string;
  readonly address: string;
  readonly port: number;
  readonly metadata: EndpointMetadata;
  private currentPool: Pool;
  /** The TLS context the pool's connections were opened with: a rotated certificate or bundle replaces the pool. */
  private poolContext: unknown;
  /** Replaced pools finishing their requests in flight. */
  private readonly retiringPools = new Set<Pool>();

  constructor(
    config: EndpointConfig,
    private readonly cluster: Pick<ClusterConfig, 'connectTimeoutMs' | 'timeoutMs' | 'bodyTimeoutMs' | 'protocol'>,
    private readonly tls: (() => ConnectionOptions) | undefined,
    /** HTTP/1.1 connections this endpoint's pool may open; undefined: as many as requests need. */
    private readonly connections: number | undefined,
  ) {
    const { address, port } = config;
    this.address = address;
    this.port = port;
    this.metadata = config;
    const host = address.includes(':') ? `[${address}]` : address;
    this.label = `${host}:${port}`;
    this.currentPool = this.newPool();
    const pool: UpstreamDispatcher = {
      dispatch: (request, handler) => {
        const body = bodyForUndici(request.body);
        (this.pool as unknown as UpstreamDispatcher).dispatch(body === request.body ? request : { ...request, body: body as Readable }, handler);
      },
    };
    this.http2 = new Http2Endpoint({
      address,
      port,
      connectTimeoutMs: cluster.connectTimeoutMs,
      timeoutMs: cluster.timeoutMs,
      bodyTimeoutMs: cluster.bodyTimeoutMs,
      idleTimeoutMs: 60_000,
      tls,
      http1: pool,
    });
    // Mesh (TLS) endpoints are sidecars: each request crosses the way its caller spoke, HTTP/1.1
    // over pooled mTLS connections (about twice HTTP/2's throughput for HTTP/1.1 callers in
    // bench:mesh: proxy/README.md), HTTP/2 and gRPC as HTTP/2 streams. Plaintext endpoints speak
    // what the cluster says, whatever the caller spoke: h2c by prior knowledge for http2 and
    // grpc, else HTTP/1.1.
    const plaintextDispatcher = cluster.protocol === 'http1' ? pool : this.http2;
    this.forHttp1Callers = tls === undefined ? plaintextDispatcher : pool;
    this.forHttp2Callers = tls === undefined ? plaintextDispatcher : this.http2;
  }

  /** The HTTP/1.1 pool. With TLS, a new one once the TLS context changed (the old one finishes what it carries, then closes), as HTTP/2 sessions are retired. */
  get pool(): Pool {
    if (this.tls !== undefined) {
      const context = this.tls().secureContext;
      if (context !== this.poolContext) {
        const retired = this.currentPool;
        this.currentPool = this.newPool();
        this.retiringPools.add(retired);
        void retired.close().finally(() => this.retiringPools.delete(retired));
      }
    }
    return this.currentPool;
  }

  private newPool(): Pool {
    const { connectTimeoutMs, timeoutMs, bodyTimeoutMs } = this.cluster;
    const connectOptions = { timeout: connectTimeoutMs, noDelay: true };
    const tlsOptions = this.tls?.();
    this.poolContext = tlsOptions?.secureContext;
    // One connector per pool, so its connections resume TLS sessions.
    return new Pool(`${tlsOptions === undefined ? 'http' : 'https'}://${this.label}`, {
      connect: tlsOptions === undefined ? connectOptions : buildConnector({ ...tlsOptions, ...connectOptions }),
      headersTimeout: timeoutMs,
      bodyTimeout: bodyTimeoutMs,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      pipelining: 1,
      ...(this.connections === undefined ? {} : { connections: this.connections }),
    });
  }

  /** Closes the connections once their requests in flight are done. */
  async close(): Promise<void> {
    this.http2.close();
    await Promise.all([this.currentPool.close(), ...[...this.retiringPools].map((pool) => pool.close())]);
  }

  /** Closes the connections now, failing what is in flight. */
  async destroy(): Promise<void> {
    this.http2.destroy();
    await Promise.all([this.currentPool.destroy(), ...[...this.retiringPools].map((pool) => pool.destroy())]);
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
    await Promise.all(this.endpoints.map((e) => e.close()));
  }

  /** Closes the pools now, failing what is in flight. */
  async destroy(): Promise<void> {
    this.outliers?.close();
    await Promise.all(this.endpoints.map((e) => e.destroy()));
  }
}
