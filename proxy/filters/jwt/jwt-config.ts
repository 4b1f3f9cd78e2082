// The jwt filter's config: RequestAuthentication's jwtRules, with the JWKS cache settings. A
// `jwksUri` is https: the keys decide who a caller is, so they may not travel where anyone on the
// path can swap them. Plain http is taken only for a loopback host, and only when the rule says
// `allowLoopbackHttpJwks: true` (a JWKS served beside the sidecar, or a test).
import type { JwtRule } from '../../../control-plane/api/resource-types.js';

/** A RequestAuthentication rule as the sidecar runs it: the clock skew in seconds. */
export interface JwtRuleConfig extends Omit<JwtRule, 'clockSkew'> {
  readonly clockSkewSeconds: number;
  /** The resource the rule comes from, e.g. `RequestAuthentication default/users`, named in errors. */
  readonly source?: string;
}

/** An https URL, or a plain http one whose host is a loopback address. */
const httpsOrLoopbackUri = '^(https://|http://(127(\\.[0-9]{1,3}){3}|localhost|\\[::1\\])(:[0-9]{1,5})?(/|$))';

/** The rule's `jwksUri` must be https unless the rule allows loopback http (JSON Schema). */
const jwksUriRule = {
  if: { required: ['allowLoopbackHttpJwks'], properties: { allowLoopbackHttpJwks: { const: true } } },
  then: { properties: { jwksUri: { type: 'string', pattern: httpsOrLoopbackUri } } },
  else: { properties: { jwksUri: { type: 'string', pattern: '^https://' } } },
} as const;

export interface JwtConfig {
  readonly rules: readonly JwtRuleConfig[];
  /** Least time between two JWKS fetches (an unknown `kid` refreshes, but not faster than this). */
  readonly minRefreshIntervalMs: number;
  readonly cacheMaxAgeMs: number;
  readonly fetchTimeoutMs: number;
}

export const jwtConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: {
    minRefreshIntervalMs: { type: 'integer', minimum: 0, default: 30000 },
    cacheMaxAgeMs: { type: 'integer', minimum: 1, default: 600000 },
    fetchTimeoutMs: { type: 'integer', minimum: 1, default: 5000 },
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['issuer'],
        oneOf: [{ required: ['jwksUri'] }, { required: ['jwks'] }],
        ...jwksUriRule,
        properties: {
          issuer: { type: 'string', minLength: 1 },
          audiences: { type: 'array', items: { type: 'string', minLength: 1 } },
          jwksUri: { type: 'string' },
          allowLoopbackHttpJwks: { type: 'boolean', default: false },
          jwks: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object' } } } },
          fromHeaders: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name'],
              properties: { name: { type: 'string', minLength: 1 }, prefix: { type: 'string' } },
            },
          },
          fromCookies: { type: 'array', items: { type: 'string', minLength: 1 } },
          forwardOriginalToken: { type: 'boolean', default: false },
          clockSkewSeconds: { type: 'integer', minimum: 0, maximum: 3600, default: 60 },
          source: { type: 'string' },
        },
      },
    },
  },
} as const;
