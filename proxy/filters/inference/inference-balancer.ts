// The `inference` load balancer: the endpoint picker (endpoint-picker.ts) on the request-aware
// balancer seam. One load table per cluster, fed by the inference filter from each response's
// endpoint-load-metrics report; the request's model, tenant and prefix key come from what the
// filter attached. A request the filter did not read (not an OpenAI route) goes to the endpoint
// with the fewest requests in flight. While every endpoint is over its saturation bound the
// filter's requests wait in the balancer's priority queue (priority-queue.ts), woken by the table.
import type { LoadBalancer, LoadBalancerFactory } from '../../upstream/load-balancers.js';
import { INFERENCE_DURATION_BOUNDS, type PickerWeights } from '../../../control-plane/api/resource-types.js';
import { pickEndpoint, poolSaturated, type CandidateLoad, type PickedBy, type PickerSettings, type SaturationBounds } from './endpoint-picker.js';
import { inferenceRoutingOf, releasePick } from './inference-routing.js';
import { LoadTable, type PoolEndpoint, type ReportedLoad } from './load-table.js';
import { PriorityAdmissionQueue, type Admission, type PriorityQueueSettings, type QueuedAdmission } from './priority-queue.js';
import { RecentPrefixes } from './recent-prefixes.js';

export const inferenceBalancerConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    failureMode: { enum: ['FailOpen', 'FailClose'], default: 'FailOpen' },
    staleAfterMs: { type: 'integer', ...INFERENCE_DURATION_BOUNDS.staleAfterMs, default: 2000 },
    affinityLoadBound: { type: 'number', minimum: 1, maximum: 100, default: 3 },
    weights: {
      type: 'object',
      additionalProperties: false,
      properties: {
        queue: { type: 'number', minimum: 0, default: 1 },
        kvCache: { type: 'number', minimum: 0, default: 1 },
        inFlightTokens: { type: 'number', minimum: 0, default: 1 },
        lora: { type: 'number', minimum: 0, default: 1 },
        prefixAffinity: { type: 'number', minimum: 0, default: 2 },
      },
      default: {},
    },
    /** An endpoint is saturated past either bound; the pool, when all its endpoints are. */
    saturation: {
      type: 'object',
      additionalProperties: false,
      properties: { waiting: { type: 'integer', minimum: 1, default: 5 }, kvCacheUsage: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.8 } },
      default: {},
    },
    /** While the pool is saturated: requests waiting at this caller, and for how long at most. */
    queue: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxQueued: { type: 'integer', minimum: 0, maximum: 100_000, default: 256 },
        maxWaitMs: { type: 'integer', minimum: 1, maximum: 600_000, default: 2000 },
        recheckMs: { type: 'integer', minimum: 1, maximum: 10_000, default: 50 },
      },
      default: {},
    },
  },
} as const;

/** Prefix keys remembered per cluster, to tell a shared prefix from a one-off one. */
const RECENT_PREFIXES = 8192;


/** What the balancer reads of an endpoint. */
type PoolMember = { readonly active: number; readonly label?: string; readonly metadata: { readonly models?: readonly string[] } };

const poolEndpoint = (endpoint: PoolMember, model: string | undefined): PoolEndpoint => ({ id: endpoint.label ?? '', models: endpoint.metadata.models ?? (model === undefined ? [] : [model]), loras: [] });

export class InferenceBalancer implements LoadBalancer {
  private readonly recentPrefixes = new RecentPrefixes(RECENT_PREFIXES);
  private readonly queue: PriorityAdmissionQueue;
  /** Moves on each pick: equal loads are served in turn. */
  private turn = 0;
  /** The pool's healthy endpoints (its cluster's, set by the filter): for saturation and metrics. */
  members: () => readonly PoolMember[] = () => [];
  /** Told each pick (metrics). */
  onPick: ((endpoint: string, by: PickedBy) => void) | undefined = undefined;

  constructor(
    private readonly settings: PickerSettings,
    readonly table: LoadTable,
    saturation: SaturationBounds,
    queue: PriorityQueueSettings,
  ) {
    this.queue = new PriorityAdmissionQueue(queue, () => poolSaturated(this.candidates(), saturation, settings.failureMode));
    table.onChange = () => this.queue.wake();
  }

  /** Whether a request of `priority` (and TTFT `deadline`, see priority-queue.ts) may go to the pool: now, never, or once it has room. */
  admit(priority: number, deadline?: number): Admission | QueuedAdmission {
    return this.queue.admit(priority, deadline);
  }

  /** The pool's endpoints as the picker sees them now. */
  candidates(): CandidateLoad[] {
    return this.table.candidates(this.members().map((member) => poolEndpoint(member, undefined)));
  }

  pick<E extends PoolMember>(healthy: readonly E[], request: { readonly metadata: Readonly<Record<string, unknown>> | undefined }): E | undefined {
    const routing = inferenceRoutingOf(request.metadata);
    if (routing === undefined) {
      let best = healthy[0]!;
      for (const endpoint of healthy) if (endpoint.active < best.active) best = endpoint;
      return best;
    }
    const pool = healthy.map((endpoint) => poolEndpoint(endpoint, routing.model));
    // Affinity for a prefix only once it repeats: a one-off prefix is cached nowhere. Its first
    // request still goes to its home when that costs nothing (a tie), so the cache it warms is
    // the one the next requests, from this caller or another, are sent to.
    const repeated = routing.prefixKey !== undefined && this.recentPrefixes.repeated(routing.prefixKey);
    const keys = repeated ? { prefixKey: routing.prefixKey } : { prefixKey: undefined, ...(routing.prefixKey === undefined ? {} : { tieBreakKey: routing.prefixKey }) };
    const outcome = pickEndpoint(this.table.candidates(pool), { model: routing.model, ...keys }, this.settings, this.turn++);
    if (!outcome.picked) return undefined;
    // A retry picks again: the try it replaces no longer counts against its endpoint.
    releasePick(routing);
    const id = pool[outcome.index]!.id;
    routing.picked = { table: this.table, ticket: this.table.start(id, routing.promptTokens, routing.outputTokens) };
    this.onPick?.(id, outcome.by);
    return healthy[outcome.index];
  }
}

/**
 * An endpoint's load from the control plane's stream, into the load table of the cluster named
 * for its pool (newest reading wins there, whether it came this way or on a response). A cluster
 * of that name on another balancer, or none, takes nothing.
 */
export function reportPoolLoad(clusters: readonly { readonly name: string; readonly balancer: LoadBalancer }[], pool: string, endpoint: string, load: ReportedLoad, at: number): void {
  const balancer = clusters.find((cluster) => cluster.name === pool)?.balancer;
  if (balancer instanceof InferenceBalancer) balancer.table.report(endpoint, load, at);
}

/** A validated `inference` balancer config with its defaults filled. */
export interface InferenceBalancerSettings {
  readonly picker: PickerSettings;
  readonly staleAfterMs: number;
  readonly saturation: SaturationBounds;
  readonly queue: PriorityQueueSettings;
}

/** The schema's default of each of an object's properties. */
function defaultsOf<P extends Record<string, { readonly default: unknown }>>(properties: P): { [K in keyof P]: P[K]['default'] } {
  return Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, property.default])) as { [K in keyof P]: P[K]['default'] };
}

const { properties } = inferenceBalancerConfigSchema;

/** Reads a config the schema validated, its defaults (the schema's) filled. */
export function inferenceBalancerSettings(config: Readonly<Record<string, unknown>>): InferenceBalancerSettings {
  return {
    picker: {
      weights: { ...defaultsOf(properties.weights.properties), ...(config.weights as Partial<PickerWeights> | undefined) },
      affinityLoadBound: (config.affinityLoadBound as number | undefined) ?? properties.affinityLoadBound.default,
      failureMode: (config.failureMode as PickerSettings['failureMode'] | undefined) ?? properties.failureMode.default,
    },
    staleAfterMs: (config.staleAfterMs as number | undefined) ?? properties.staleAfterMs.default,
    saturation: { ...defaultsOf(properties.saturation.properties), ...(config.saturation as Partial<SaturationBounds> | undefined) },
    queue: { ...defaultsOf(properties.queue.properties), ...(config.queue as Partial<PriorityQueueSettings> | undefined) },
  };
}

export const inferenceBalancer: LoadBalancerFactory = {
  name: 'inference',
  configSchema: inferenceBalancerConfigSchema,
  create: (config) => {
    const settings = inferenceBalancerSettings(config);
    return new InferenceBalancer(settings.picker, new LoadTable(settings.staleAfterMs), settings.saturation, settings.queue);
  },
};
