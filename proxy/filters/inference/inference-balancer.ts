// The `inference` load balancer: the endpoint picker (endpoint-picker.ts) on the request-aware
// balancer seam. One load table per cluster, fed by the inference filter from each response's
// endpoint-load-metrics report; the request's model, tenant and prefix key come from what the
// filter attached. A request the filter did not read (not an OpenAI route) goes to the endpoint
// with the fewest requests in flight.
import type { LoadBalancer, LoadBalancerFactory } from '../../upstream/load-balancers.js';
import { pickEndpoint, type PickerSettings } from './endpoint-picker.js';
import { inferenceRoutingOf, releasePick } from './inference-routing.js';
import { LoadTable } from './load-table.js';
import { RecentPrefixes } from './recent-prefixes.js';

export const inferenceBalancerConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    failureMode: { enum: ['FailOpen', 'FailClose'], default: 'FailOpen' },
    staleAfterMs: { type: 'integer', minimum: 1, maximum: 600_000, default: 2000 },
    affinityLoadBound: { type: 'number', minimum: 1, maximum: 100, default: 1.25 },
    weights: {
      type: 'object',
      additionalProperties: false,
      properties: {
        queue: { type: 'number', minimum: 0, default: 2 },
        kvCache: { type: 'number', minimum: 0, default: 1 },
        inFlightTokens: { type: 'number', minimum: 0, default: 1 },
        lora: { type: 'number', minimum: 0, default: 1 },
        prefixAffinity: { type: 'number', minimum: 0, default: 3 },
      },
      default: {},
    },
  },
} as const;

/** Prefix keys remembered per cluster, to tell a shared prefix from a one-off one. */
const RECENT_PREFIXES = 8192;

const DEFAULT_WEIGHTS = { queue: 2, kvCache: 1, inFlightTokens: 1, lora: 1, prefixAffinity: 3 };

class InferenceBalancer implements LoadBalancer {
  private readonly recentPrefixes = new RecentPrefixes(RECENT_PREFIXES);

  constructor(
    private readonly settings: PickerSettings,
    readonly table: LoadTable,
  ) {}

  pick<E extends { readonly active: number; readonly label?: string; readonly metadata: { readonly models?: readonly string[] } }>(healthy: readonly E[], request: { readonly metadata: Readonly<Record<string, unknown>> | undefined }): E | undefined {
    const routing = inferenceRoutingOf(request.metadata);
    if (routing === undefined) {
      let best = healthy[0]!;
      for (const endpoint of healthy) if (endpoint.active < best.active) best = endpoint;
      return best;
    }
    const pool = healthy.map((endpoint) => ({ id: endpoint.label ?? '', models: endpoint.metadata.models ?? [routing.model], loras: [] }));
    // Affinity for a prefix only once it repeats: a one-off prefix is cached nowhere.
    const prefixKey = routing.prefixKey !== undefined && this.recentPrefixes.repeated(routing.prefixKey) ? routing.prefixKey : undefined;
    const outcome = pickEndpoint(this.table.candidates(pool), { model: routing.model, prefixKey }, this.settings);
    if (!outcome.picked) return undefined;
    // A retry picks again: the try it replaces no longer counts against its endpoint.
    releasePick(routing);
    routing.picked = { table: this.table, ticket: this.table.start(pool[outcome.index]!.id, routing.estimatedTokens) };
    return healthy[outcome.index];
  }
}

export const inferenceBalancer: LoadBalancerFactory = {
  name: 'inference',
  configSchema: inferenceBalancerConfigSchema,
  create: (config) => {
    const weights = { ...DEFAULT_WEIGHTS, ...(config.weights as Partial<typeof DEFAULT_WEIGHTS> | undefined) };
    const settings: PickerSettings = {
      weights,
      affinityLoadBound: (config.affinityLoadBound as number | undefined) ?? 1.25,
      failureMode: (config.failureMode as PickerSettings['failureMode'] | undefined) ?? 'FailOpen',
    };
    return new InferenceBalancer(settings, new LoadTable((config.staleAfterMs as number | undefined) ?? 2000));
  },
};
