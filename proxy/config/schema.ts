// JSON Schema of the sidecar's YAML config. Defaults are filled in by ajv (useDefaults), so the
// types in types.ts hold every field. Filter and balancer configs are validated by each one's own
// schema (filters/registry.ts, upstream/load-balancers.ts), not here.
import type { RetryOn, UpstreamProtocol } from './types.js';

const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const positiveMs = { type: 'integer', minimum: 1 } as const;
const hostname = { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9.-]+$' } as const;
const address = { type: 'string', minLength: 1 } as const;
const retryOnValues = [
  '5xx',
  'gateway-error',
  'connect-failure',
  'reset',
  'refused-stream',
  'retriable-4xx',
  'rate-limited',
  'unavailable',
  'cancelled',
  'deadline-exceeded',
  'resource-exhausted',
] as const satisfies readonly RetryOn[];

const filters = {
  type: 'array',
  default: [{ name: 'router' }],
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 1 },
      config: { type: 'object', default: {} },
    },
  },
} as const;

const upstreamProtocol = { enum: ['http1', 'http2', 'grpc'] as const satisfies readonly UpstreamProtocol[], default: 'http1' } as const;

const endpoint = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'port'],
  properties: {
    address,
    port: { ...port, minimum: 1 },
    weight: { type: 'integer', minimum: 1, maximum: 1000, default: 1 },
    labels: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    models: { type: 'array', items: { type: 'string', minLength: 1 } },
    metricsUrl: { type: 'string', minLength: 1 },
  },
} as const;

const retries = {
  type: 'object',
  additionalProperties: false,
  required: ['attempts'],
  properties: {
    attempts: { type: 'integer', minimum: 0, maximum: 10 },
    perTryTimeoutMs: positiveMs,
    retryOn: {
      type: 'array',
      uniqueItems: true,
      items: { enum: retryOnValues },
      default: ['connect-failure', 'refused-stream', 'unavailable', 'gateway-error'],
    },
    retryNonIdempotent: { type: 'boolean', default: false },
    budget: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        percent: { type: 'number', minimum: 0, maximum: 100, default: 20 },
        minRetryConcurrency: { type: 'integer', minimum: 0, default: 3 },
      },
    },
  },
} as const;

const outlierDetection = {
  type: 'object',
  additionalProperties: false,
  properties: {
    consecutive5xx: { type: 'integer', minimum: 1, default: 5 },
    consecutiveConnectFailures: { type: 'integer', minimum: 1, default: 5 },
    intervalMs: { ...positiveMs, default: 10000 },
    baseEjectionTimeMs: { ...positiveMs, default: 30000 },
    maxEjectionPercent: { type: 'integer', minimum: 0, maximum: 100, default: 10 },
  },
} as const;

const cluster = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'hosts', 'endpoints'],
  properties: {
    name: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9._-]+$' },
    hosts: { type: 'array', minItems: 1, items: hostname },
    loadBalancer: { type: 'string', minLength: 1, default: 'least_request' },
    loadBalancerConfig: { type: 'object', default: {} },
    endpoints: { type: 'array', items: endpoint },
    protocol: upstreamProtocol,
    maxRequests: { type: 'integer', minimum: 1, default: 1024 },
    maxConnections: { type: 'integer', minimum: 1 },
    maxPendingRequests: { type: 'integer', minimum: 1 },
    maxRetries: { type: 'integer', minimum: 0 },
    connectTimeoutMs: { ...positiveMs, default: 2000 },
    timeoutMs: { ...positiveMs, default: 15000 },
    bodyTimeoutMs: { ...positiveMs, default: 300000 },
    spiffeId: { type: 'string', minLength: 1 },
    retries,
    outlierDetection,
  },
} as const;

const identity = {
  type: 'object',
  additionalProperties: false,
  required: ['ca'],
  properties: {
    trustDomain: { type: 'string', minLength: 1, default: 'cluster.local' },
    serviceAccount: { type: 'string', minLength: 1 },
    ca: {
      type: 'object',
      additionalProperties: false,
      required: ['address', 'trustBundleFile'],
      properties: {
        address: { type: 'string', minLength: 1 },
        trustBundleFile: { type: 'string', minLength: 1 },
        serverSpiffeId: { type: 'string', minLength: 1 },
      },
    },
    bootstrapTokenFile: { type: 'string', minLength: 1 },
    certificateTtlSeconds: { type: 'integer', minimum: 0, default: 0 },
  },
} as const;

export const sidecarConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['workload'],
  anyOf: [{ required: ['inbound'] }, { required: ['outbound'] }],
  properties: {
    workload: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9._-]+$' },
    namespace: { type: 'string', minLength: 1, default: 'default' },
    identity,
    admin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        address: { ...address, default: '127.0.0.1' },
        port: { ...port, default: 15000 },
      },
    },
    inbound: {
      type: 'object',
      additionalProperties: false,
      required: ['port', 'appPort'],
      properties: {
        address: { ...address, default: '0.0.0.0' },
        port,
        appPort: { ...port, minimum: 1 },
        appProtocol: upstreamProtocol,
        timeoutMs: { ...positiveMs, default: 15000 },
        filters,
        mtls: { enum: ['STRICT', 'PERMISSIVE', 'DISABLE'] },
      },
    },
    outbound: {
      type: 'object',
      additionalProperties: false,
      required: ['port', 'clusters'],
      properties: {
        address: { ...address, default: '127.0.0.1' },
        port,
        filters,
        clusters: { type: 'array', items: cluster },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxConnections: { type: 'integer', minimum: 1, default: 10000 },
        maxHeaderBytes: { type: 'integer', minimum: 1024, maximum: 1048576, default: 16384 },
        maxConcurrentStreams: { type: 'integer', minimum: 1, maximum: 2147483647, default: 1024 },
        headersTimeoutMs: { ...positiveMs, default: 10000 },
        requestTimeoutMs: { ...positiveMs, default: 300000 },
        idleTimeoutMs: { ...positiveMs, default: 300000 },
      },
    },
    headersWithUnderscoresAction: { enum: ['ALLOW', 'REJECT_REQUEST', 'DROP_HEADER'], default: 'DROP_HEADER' },
    upgrades: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // h2c is refused whatever the list says: HTTP/2 comes with prior knowledge or ALPN.
        protocols: { type: 'array', uniqueItems: true, items: { type: 'string', pattern: "^[a-z0-9!#$%&'*+.^_`|~-]+$", not: { const: 'h2c' } }, default: ['websocket'] },
        idleTimeoutMs: { ...positiveMs, default: 300000 },
      },
    },
    drain: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { deadlineMs: { ...positiveMs, default: 5000 } },
    },
    pathNormalization: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        normalization: { enum: ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'], default: 'MERGE_SLASHES' },
        escapedSlashesAction: { enum: ['KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'] },
        forwardOriginalPath: { type: 'boolean', default: false },
      },
    },
    accessLog: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        mode: { enum: ['off', 'on', 'sampled'], default: 'on' },
        sampleRate: { type: 'number', minimum: 0, maximum: 1, default: 0.01 },
      },
    },
  },
} as const;
