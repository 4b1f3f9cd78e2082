// The inference filter's metrics, on the sidecar's registry: each endpoint's load as the picker
// sees it (read from the load tables when scraped, so the request path pays nothing for it) and
// whether that load is stale, picks per endpoint, time to first token and between tokens, tokens
// per tenant, requests waiting in the priority queue, requests refused (shed, over budget), and
// requests that met or missed their InferenceObjective's TTFT objective.
// One set per registry: filters rebuilt by a new config keep counting into the same series.
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { CandidateLoad } from './endpoint-picker.js';

// Only the metric modules: the package's index loads far more (see telemetry/metrics.ts).
const require = createRequire(import.meta.url);
const Counter = require('prom-client/lib/counter.js') as typeof PromClient.Counter;
const Gauge = require('prom-client/lib/gauge.js') as typeof PromClient.Gauge;
const Histogram = require('prom-client/lib/histogram.js') as typeof PromClient.Histogram;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const LOAD_SIGNALS = ['waiting', 'running', 'kvCacheUsage', 'inFlightTokens'] as const satisfies readonly (keyof CandidateLoad)[];

export type RefusalReason = 'shed' | 'budget';

export class InferenceMetrics {
  /** Per cluster: the candidates as the picker would see them now. */
  private readonly pools = new Map<string, () => readonly CandidateLoad[]>();
  readonly picks: PromClient.Counter<'cluster' | 'endpoint' | 'by'>;
  readonly timeToFirstToken: PromClient.Histogram<'cluster'>;
  readonly interTokenLatency: PromClient.Histogram<'cluster'>;
  readonly tokens: PromClient.Counter<'tenant' | 'kind'>;
  readonly queued: PromClient.Gauge<'cluster'>;
  readonly refused: PromClient.Counter<'cluster' | 'reason'>;
  readonly ttftObjective: PromClient.Counter<'cluster' | 'objective' | 'outcome'>;

  constructor(registry: PromClient.Registry) {
    const registers = [registry];
    const pools = this.pools;
    new Gauge({
      name: 'weft_inference_endpoint_load',
      help: "An endpoint's load as the caller's picker sees it (the last report and this caller's requests since)",
      labelNames: ['cluster', 'endpoint', 'signal'] as const,
      registers,
      collect() {
        this.reset();
        for (const [cluster, candidates] of pools) {
          for (const candidate of candidates()) for (const signal of LOAD_SIGNALS) this.labels(cluster, candidate.id, signal).set(candidate[signal]);
        }
      },
    });
    new Gauge({
      name: 'weft_inference_endpoint_load_stale',
      help: "1 when an endpoint's last load report is older than the staleness bound (or absent): scored as saturated",
      labelNames: ['cluster', 'endpoint'] as const,
      registers,
      collect() {
        this.reset();
        for (const [cluster, candidates] of pools) for (const candidate of candidates()) this.labels(cluster, candidate.id).set(candidate.fresh ? 0 : 1);
      },
    });
    this.picks = new Counter({ name: 'weft_inference_picks_total', help: 'Endpoints picked for inference requests (retries included), by why', labelNames: ['cluster', 'endpoint', 'by'] as const, registers });
    this.timeToFirstToken = new Histogram({ name: 'weft_inference_ttft_seconds', help: 'From admission to the first byte of the answer', labelNames: ['cluster'] as const, buckets: LATENCY_BUCKETS, registers });
    this.interTokenLatency = new Histogram({ name: 'weft_inference_inter_token_seconds', help: 'Between successive tokens of a streamed answer', labelNames: ['cluster'] as const, buckets: LATENCY_BUCKETS, registers });
    this.tokens = new Counter({ name: 'weft_inference_tokens_total', help: 'Tokens used per tenant, as the answers reported them', labelNames: ['tenant', 'kind'] as const, registers });
    this.queued = new Gauge({ name: 'weft_inference_queued_requests', help: 'Requests waiting at this caller for a saturated pool', labelNames: ['cluster'] as const, registers });
    this.refused = new Counter({ name: 'weft_inference_refused_total', help: 'Inference requests refused (shed by priority, over a token budget) or streams ended over a budget with endStreams', labelNames: ['cluster', 'reason'] as const, registers });
    this.ttftObjective = new Counter({
      name: 'weft_inference_ttft_objective_requests_total',
      help: "Requests governed by an InferenceObjective's TTFT objective: first token within it from their arrival at the caller (met), later (missed), or none (shed)",
      labelNames: ['cluster', 'objective', 'outcome'] as const,
      registers,
    });
  }

  /** Reports `cluster`'s endpoints' load from now on (a newer balancer of the same cluster replaces it). */
  watchPool(cluster: string, candidates: () => readonly CandidateLoad[]): void {
    this.pools.set(cluster, candidates);
  }
}

const byRegistry = new WeakMap<PromClient.Registry, InferenceMetrics>();

export function inferenceMetricsOf(registry: PromClient.Registry): InferenceMetrics {
  let metrics = byRegistry.get(registry);
  if (metrics === undefined) {
    metrics = new InferenceMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}
