// The authz filter's config: the workload's assets and the policies that target them or the
// workload, in the shape of the control plane's Asset and AuthorizationPolicy specs, so that a
// static YAML config and a control-plane snapshot (see from-snapshot.ts) give the same thing.
import type { AssetSpec, AuthorizationPolicySpec, Labels } from '../../../control-plane/api/resource-types.js';

export interface AuthzAssetConfig {
  readonly name: string;
  readonly labels: Labels;
  readonly match: AssetSpec['match'];
  /** When set, the body is read (up to the cap) before the policies decide, and put in their input. */
  readonly requestBody?: { readonly maxBytes: number; readonly allowPartial: boolean; readonly decideGrpcWithoutBody: boolean };
}

export interface AuthzPolicyConfig {
  readonly name: string;
  readonly modules: AuthorizationPolicySpec['modules'];
  readonly entrypoint: string;
  readonly targets: AuthorizationPolicySpec['targets'];
  readonly mode: AuthorizationPolicySpec['mode'];
  readonly data: Readonly<Record<string, unknown>>;
}

export interface AuthzConfig {
  readonly workloadLabels: Labels;
  /**
   * STRICT's default: a request no enforcing policy decided (a matched asset none targets, or no
   * asset matched and none targets the workload) is denied. When false, it is denied only once
   * any enforcing policy is configured (Istio's ALLOW semantics; see README.md).
   */
  readonly defaultDeny: boolean;
  /** Longest one policy may evaluate before the request is refused (fail closed). */
  readonly decisionBudgetMs: number;
  /** Tell denied callers which policy denied them (`x-weft-denied-by`). */
  readonly deniedByHeader: boolean;
  /** Share of allowed decisions written to the decision log; denials are always written. */
  readonly decisionLogSampleRate: number;
  readonly assets: readonly AuthzAssetConfig[];
  readonly policies: readonly AuthzPolicyConfig[];
}

const labels = { type: 'object', additionalProperties: { type: 'string' }, default: {} } as const;
const nonEmpty = { type: 'string', minLength: 1 } as const;
const names = { type: 'array', items: nonEmpty } as const;

const pathMatch = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: { exact: { type: 'string', pattern: '^/' }, prefix: { type: 'string', pattern: '^/' }, glob: { type: 'string', pattern: '^/' } },
} as const;

export const authzConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    workloadLabels: labels,
    defaultDeny: { type: 'boolean', default: true },
    decisionBudgetMs: { type: 'number', exclusiveMinimum: 0, maximum: 10000, default: 50 },
    deniedByHeader: { type: 'boolean', default: false },
    decisionLogSampleRate: { type: 'number', minimum: 0, maximum: 1, default: 0.01 },
    assets: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'match'],
        properties: {
          name: nonEmpty,
          labels,
          match: {
            type: 'object',
            additionalProperties: false,
            properties: {
              hosts: names,
              paths: { type: 'array', items: pathMatch },
              methods: names,
              grpc: {
                type: 'object',
                additionalProperties: false,
                required: ['service'],
                properties: { service: nonEmpty, method: nonEmpty },
              },
            },
          },
          requestBody: {
            type: 'object',
            additionalProperties: false,
            required: ['maxBytes'],
            properties: {
              maxBytes: { type: 'integer', minimum: 1, maximum: 16777216 },
              allowPartial: { type: 'boolean', default: false },
              decideGrpcWithoutBody: { type: 'boolean', default: false },
            },
          },
        },
      },
    },
    policies: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'modules', 'entrypoint', 'targets'],
        properties: {
          name: nonEmpty,
          modules: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'rego'],
              properties: { name: nonEmpty, rego: { type: 'string' } },
            },
          },
          entrypoint: nonEmpty,
          mode: { enum: ['enforce', 'dry-run'], default: 'enforce' },
          data: { type: 'object', default: {} },
          targets: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              workloads: names,
              assets: names,
              workloadSelector: { type: 'object', required: ['matchLabels'], properties: { matchLabels: labels } },
              assetSelector: { type: 'object', required: ['matchLabels'], properties: { matchLabels: labels } },
            },
          },
        },
      },
    },
  },
} as const;
