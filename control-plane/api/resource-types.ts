// The mesh resource model shared by the control plane and the sidecar: the kinds, their
// validated and frozen domain shapes, and the keys that name them. Specs follow the published
// JSON Schemas in ./schemas/, with defaults filled; Route durations become milliseconds.

export const API_VERSION = 'weft.dev/v1alpha1';

export const RESOURCE_KINDS = [
  'Workload',
  'Asset',
  'AuthorizationPolicy',
  'PeerAuthentication',
  'RequestAuthentication',
  'Route',
  'LegacyBridge',
  'InferencePool',
  'InferenceObjective',
] as const;

export type ResourceKind = (typeof RESOURCE_KINDS)[number];
export type Labels = Readonly<Record<string, string>>;

export interface ResourceMetadata {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
}

export type PortProtocol = 'http' | 'http2' | 'grpc';

export interface WorkloadSpec {
  readonly serviceAccount: string;
  readonly ports: readonly { readonly name?: string; readonly port: number; readonly protocol: PortProtocol }[];
  readonly outbound?: { readonly services?: readonly string[] };
  readonly endpoints?: readonly WorkloadEndpoint[];
  /** The sidecar's path normalization (proxy/http/path-normalization.ts); absent: its default. */
  readonly pathNormalization?: {
    readonly normalization?: 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';
    readonly escapedSlashesAction?: 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';
    readonly forwardOriginalPath?: boolean;
  };
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** A Workload's static endpoint, with what balancers may choose by. */
export interface WorkloadEndpoint extends HostPort {
  readonly weight?: number;
  readonly labels?: Labels;
  readonly models?: readonly string[];
  readonly metricsUrl?: string;
}

export type PathMatch = { readonly exact: string } | { readonly prefix: string } | { readonly glob: string };

export interface AssetSpec {
  readonly workload: string;
  readonly match: {
    readonly hosts?: readonly string[];
    readonly paths?: readonly PathMatch[];
    readonly methods?: readonly string[];
    readonly grpc?: { readonly service: string; readonly method?: string };
  };
  /** Buffer the request body for the asset's policies (OPA-Envoy `with_request_body`). */
  readonly requestBody?: RequestBodyBuffering;
}

export interface RequestBodyBuffering {
  /** Most bytes a policy sees. */
  readonly maxBytes: number;
  /** Past `maxBytes`: the first `maxBytes` with `truncated_body` (true), or 413 (false, the default). */
  readonly allowPartial?: boolean;
  /** gRPC requests: refused (false, the default: policies cannot read their messages) or decided without the body. */
  readonly decideGrpcWithoutBody?: boolean;
}

/** A Rego module with its source inlined; `name` is the file it came from (for line:col). */
export interface RegoModule {
  readonly name: string;
  readonly rego: string;
}

export interface LabelSelector {
  readonly matchLabels: Labels;
}

export interface PolicyTargets {
  readonly workloads?: readonly string[];
  readonly assets?: readonly string[];
  readonly workloadSelector?: LabelSelector;
  readonly assetSelector?: LabelSelector;
}

export interface AuthorizationPolicySpec {
  readonly modules: readonly RegoModule[];
  readonly tests?: readonly RegoModule[];
  readonly entrypoint: string;
  readonly targets: PolicyTargets;
  readonly mode: 'enforce' | 'dry-run';
  readonly data?: Readonly<Record<string, unknown>>;
}

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export interface PeerAuthenticationSpec {
  readonly workload?: string;
  readonly mode: MtlsMode;
  readonly ports?: Readonly<Record<string, { readonly mode: MtlsMode }>>;
}

export interface JwtRule {
  readonly issuer: string;
  /** Absent: only tokens whose `aud` names the workload (SPIFFE ID, name, name.namespace[.svc]). */
  readonly audiences?: readonly string[];
  /** https; plain http only to a loopback host, with `allowLoopbackHttpJwks`. */
  readonly jwksUri?: string;
  readonly allowLoopbackHttpJwks?: boolean;
  readonly jwks?: { readonly keys: readonly Readonly<Record<string, unknown>>[] };
  /** Default: `Authorization: Bearer <token>`. */
  readonly fromHeaders?: readonly { readonly name: string; readonly prefix?: string }[];
  readonly fromCookies?: readonly string[];
  readonly forwardOriginalToken: boolean;
  readonly clockSkew?: string;
}

export interface RequestAuthenticationSpec {
  readonly workload?: string;
  readonly jwtRules: readonly JwtRule[];
}

export type RetryOn =
  | '5xx'
  | 'gateway-error'
  | 'connect-failure'
  | 'reset'
  | 'refused-stream'
  | 'retriable-4xx'
  | 'rate-limited'
  | 'unavailable'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'resource-exhausted';

export interface RouteSpec {
  readonly service: string;
  readonly timeoutMs?: number;
  readonly retries?: {
    readonly attempts: number;
    readonly perTryTimeoutMs?: number;
    readonly retryOn: readonly RetryOn[];
    readonly retryNonIdempotent: boolean;
    readonly budget?: { readonly percent: number; readonly minRetriesPerSecond: number };
  };
  readonly loadBalancer?: { readonly policy: 'LEAST_REQUEST' | 'ROUND_ROBIN'; readonly choiceCount: number };
  readonly circuitBreaker?: {
    readonly maxConnections?: number;
    readonly maxPendingRequests?: number;
    readonly maxRequests?: number;
    readonly maxRetries?: number;
  };
  readonly outlierDetection?: {
    readonly consecutive5xx: number;
    readonly consecutiveConnectFailures: number;
    readonly intervalMs: number;
    readonly baseEjectionTimeMs: number;
    readonly maxEjectionPercent: number;
  };
}

/** A JSON API in front of a legacy system, served by the sidecar beside it (schemas/legacy-bridge.json). */
export interface LegacyBridgeSpec {
  /** Hosts the facade answers for; every request of the listener when absent. */
  readonly hosts?: readonly string[];
  readonly protocol: 'soap' | 'xmlrpc' | 'grpc';
  readonly soap?: {
    readonly wsdl: string;
    readonly service?: string;
    readonly port?: string;
    readonly faultStatus?: Readonly<Record<string, number>>;
    readonly usernameToken?: { readonly username: string; readonly passwordEnv: string; readonly passwordType: 'PasswordText' | 'PasswordDigest' };
    readonly maxResponseBytes: number;
  };
  /** The bridge's XML-RPC section (proxy/filters/bridge/xmlrpc/xmlrpc-codec.ts has its shape). */
  readonly xmlrpc?: Readonly<Record<string, unknown>> & { readonly maxResponseBytes?: number };
  /** The bridge's gRPC section (proxy/filters/bridge/grpc/grpc-codec.ts has its shape). */
  readonly grpc?: { readonly descriptorSet: string; readonly services?: readonly string[]; readonly maxResponseBytes: number };
  readonly routes: readonly { readonly method: string; readonly path: string; readonly operation: string; readonly params?: Readonly<Record<string, string>> }[];
  readonly maxRequestBytes: number;
}

export type InferenceEngineName = 'vllm' | 'sglang' | 'triton-trtllm';

export interface PickerWeights {
  readonly queue: number;
  readonly kvCache: number;
  readonly inFlightTokens: number;
  readonly prefixAffinity: number;
  readonly lora: number;
}

/**
 * Bounds of the inference durations, in milliseconds: the control plane refuses a resource past
 * them, and the sidecar configs they become take exactly these.
 */
export const INFERENCE_DURATION_BOUNDS = Object.freeze({
  scrapeIntervalMs: Object.freeze({ minimum: 10, maximum: 60_000 }),
  staleAfterMs: Object.freeze({ minimum: 1, maximum: 600_000 }),
  budgetWindowMs: Object.freeze({ minimum: 1000 }),
  ttftObjectiveMs: Object.freeze({ minimum: 1 }),
});

export interface InferencePoolSpec {
  /** The model-server Workloads of the pool; else `endpoints`. */
  readonly selector?: LabelSelector;
  /** Static servers outside the mesh. */
  readonly endpoints?: readonly { readonly host: string }[];
  readonly targetPorts: readonly number[];
  readonly engine: InferenceEngineName;
  readonly metricsPath: string;
  /** Absent: discovered from `/v1/models`. */
  readonly models?: readonly string[];
  readonly loraAdapters?: readonly string[];
  readonly picker: {
    readonly weights: PickerWeights;
    readonly prefixBlockChars: number;
    readonly prefixBlocks: number;
    readonly affinityLoadBound: number;
    readonly scrapeIntervalMs: number;
    readonly staleAfterMs: number;
  };
  readonly failureMode: 'FailOpen' | 'FailClose';
  readonly kvIsolation: 'none' | 'tenant';
}

export interface TokenBudget {
  readonly windowMs: number;
  readonly tokens: number;
  readonly endStreams: boolean;
}

export interface InferenceObjectiveSpec {
  readonly poolRef: string;
  readonly models?: readonly string[];
  readonly tenants?: readonly string[];
  readonly tenantFrom: { readonly source: 'spiffe' } | { readonly source: 'jwtClaim'; readonly claim: string };
  /** Higher first; below zero sheddable. */
  readonly priority: number;
  readonly budgets?: readonly TokenBudget[];
  readonly ttftObjectiveMs?: number;
}

export interface SpecByKind {
  Workload: WorkloadSpec;
  Asset: AssetSpec;
  AuthorizationPolicy: AuthorizationPolicySpec;
  PeerAuthentication: PeerAuthenticationSpec;
  RequestAuthentication: RequestAuthenticationSpec;
  Route: RouteSpec;
  LegacyBridge: LegacyBridgeSpec;
  InferencePool: InferencePoolSpec;
  InferenceObjective: InferenceObjectiveSpec;
}

export interface Resource<K extends ResourceKind = ResourceKind> {
  readonly kind: K;
  readonly metadata: ResourceMetadata;
  readonly spec: SpecByKind[K];
}

export type AnyResource = { [K in ResourceKind]: Resource<K> }[ResourceKind];

/** `Kind/namespace/name`: the identity of a resource across revisions. */
export function resourceKey(resource: { kind: string; metadata: { namespace: string; name: string } }): string {
  return `${resource.kind}/${resource.metadata.namespace}/${resource.metadata.name}`;
}

export function isResourceKind(kind: unknown): kind is ResourceKind {
  return typeof kind === 'string' && (RESOURCE_KINDS as readonly string[]).includes(kind);
}

export function matchesLabels(selector: LabelSelector, labels: Labels): boolean {
  return Object.entries(selector.matchLabels).every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value);
}
