// The sidecar's configuration after validation and defaults: what the rest of the sidecar reads.
// Deep-frozen once loaded (see load-config.ts).
import type { RetryOn } from '../../control-plane/api/resource-types.js';

export type { RetryOn };

export type AccessLogMode = 'off' | 'on' | 'sampled';
/** Like Istio's PeerAuthentication: what an inbound listener accepts. */
export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export interface FilterConfig {
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
}

export interface EndpointConfig {
  readonly address: string;
  readonly port: number;
  /** Relative share of requests; balancers that weigh endpoints read it. */
  readonly weight: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Models the endpoint serves (inference endpoints). */
  readonly models?: readonly string[];
  /** Where the endpoint's load metrics are read (inference endpoints). */
  readonly metricsUrl?: string;
}

export interface ClusterConfig {
  readonly name: string;
  /** Host names (Host header or absolute-form authority, without port) routed to this cluster. */
  readonly hosts: readonly string[];
  /** A balancer registered in upstream/load-balancers.ts, built with `loadBalancerConfig` (its own schema). */
  readonly loadBalancer: string;
  readonly loadBalancerConfig: Readonly<Record<string, unknown>>;
  readonly endpoints: readonly EndpointConfig[];
  /** Requests in flight to the cluster above which new ones get 503 UPSTREAM_OVERFLOW. */
  readonly maxRequests: number;
  /** Connections to the cluster's endpoints, shared out among them (at least one each). */
  readonly maxConnections?: number;
  /** Requests waiting for a connection above which new ones get 503 UPSTREAM_OVERFLOW. */
  readonly maxPendingRequests?: number;
  /** Retries in flight to the cluster at once (Envoy's circuit-breaker max_retries). */
  readonly maxRetries?: number;
  readonly connectTimeoutMs: number;
  /** Time allowed until the upstream's response headers (504 past it). */
  readonly timeoutMs: number;
  /** Longest silence allowed inside a response body. */
  readonly bodyTimeoutMs: number;
  /** The SPIFFE ID the endpoints must present: set, the sidecar originates mTLS to them. */
  readonly spiffeId?: string;
  readonly retries?: RetriesConfig;
  readonly outlierDetection?: OutlierDetectionConfig;
}

/** Retries of a request that failed before its response began (see proxy/README.md). */
export interface RetriesConfig {
  /** Retries after the first try (0: none). */
  readonly attempts: number;
  /** Each try's time until response headers; absent: the cluster's timeoutMs. */
  readonly perTryTimeoutMs?: number;
  readonly retryOn: readonly RetryOn[];
  /** Also retry methods that are not idempotent (POST, PATCH, ...). */
  readonly retryNonIdempotent: boolean;
  /** Envoy's retry_budget: retries in flight <= max(minRetryConcurrency, percent% of requests in flight). */
  readonly budget: { readonly percent: number; readonly minRetryConcurrency: number };
}

/** Passive health: endpoints failing in a row are taken out of balancing for a while. */
export interface OutlierDetectionConfig {
  readonly consecutive5xx: number;
  readonly consecutiveConnectFailures: number;
  /** Sweep period: returns endpoints whose ejection ran out, lowers the multiplier of healthy ones. */
  readonly intervalMs: number;
  /** An ejection lasts baseEjectionTimeMs times the endpoint's ejection count. */
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
}

export interface InboundConfig {
  readonly address: string;
  readonly port: number;
  /** The local service's port on 127.0.0.1. */
  readonly appPort: number;
  readonly timeoutMs: number;
  readonly filters: readonly FilterConfig[];
  /** Default STRICT with an identity, DISABLE without. */
  readonly mtls?: MtlsMode;
}

export interface OutboundConfig {
  readonly address: string;
  readonly port: number;
  readonly filters: readonly FilterConfig[];
  readonly clusters: readonly ClusterConfig[];
}

export interface LimitsConfig {
  readonly maxConnections: number;
  readonly maxHeaderBytes: number;
  /** Streams an HTTP/2 caller may have open on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** The sidecar's mesh identity and where it gets its certificates (see proxy/tls/README.md). */
export interface IdentityConfig {
  readonly trustDomain: string;
  /** Default: the workload name. */
  readonly serviceAccount?: string;
  readonly ca: {
    /** host:port of the control plane's TLS port. */
    readonly address: string;
    /** The mesh roots (PEM) that vouch for the CA server. */
    readonly trustBundleFile: string;
    /** Default: spiffe://<trustDomain>/ns/weft-system/sa/weft-control-plane. */
    readonly serverSpiffeId?: string;
  };
  /** A file holding the bootstrap token; else $WEFT_BOOTSTRAP_TOKEN. */
  readonly bootstrapTokenFile?: string;
  /** 0: the CA's default lifetime. */
  readonly certificateTtlSeconds: number;
}

export interface SidecarConfig {
  readonly workload: string;
  readonly namespace: string;
  readonly identity?: IdentityConfig;
  readonly admin: { readonly address: string; readonly port: number };
  readonly inbound?: InboundConfig;
  readonly outbound?: OutboundConfig;
  readonly limits: LimitsConfig;
  readonly drain: { readonly deadlineMs: number };
  readonly accessLog: { readonly mode: AccessLogMode; readonly sampleRate: number };
}
