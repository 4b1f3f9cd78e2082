// The model-server engines an InferencePool can run, one row each: where each reads its queue
// depth, running batch, KV-cache use and LoRA adapters in its Prometheus /metrics (the names of
// the Gateway API Inference Extension's model server protocol). Adding an engine is one row.
// Shared by the sidecar beside a model server and the control plane (servers outside the mesh),
// which both read an engine's load with `engineLoadOf`.
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import type { InferenceEngineName } from './resource-types.js';

/** One series: a metric name and the labels a sample must carry. */
export interface SeriesRef {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface EngineMetricNames {
  readonly waiting: SeriesRef;
  readonly running: SeriesRef;
  /** Fraction 0..1; the first present is read (a deprecated name after its successor). */
  readonly kvCacheUsage: readonly SeriesRef[];
  /** An info gauge with `running_lora_adapters` and `waiting_lora_adapters` labels (vLLM's). */
  readonly loraInfo?: SeriesRef;
  /** An info gauge with a `block_size` label. */
  readonly cacheConfig?: SeriesRef;
}

export const INFERENCE_ENGINES: Readonly<Record<InferenceEngineName, EngineMetricNames>> = Object.freeze({
  vllm: {
    waiting: { name: 'vllm:num_requests_waiting' },
    running: { name: 'vllm:num_requests_running' },
    kvCacheUsage: [{ name: 'vllm:kv_cache_usage_perc' }, { name: 'vllm:gpu_cache_usage_perc' }],
    loraInfo: { name: 'vllm:lora_requests_info' },
    cacheConfig: { name: 'vllm:cache_config_info' },
  },
  sglang: {
    waiting: { name: 'sglang:num_queue_reqs' },
    running: { name: 'sglang:num_running_reqs' },
    kvCacheUsage: [{ name: 'sglang:token_usage' }],
  },
  'triton-trtllm': {
    waiting: { name: 'nv_trt_llm_request_metrics', labels: { request_type: 'waiting' } },
    running: { name: 'nv_trt_llm_request_metrics', labels: { request_type: 'scheduled' } },
    kvCacheUsage: [{ name: 'nv_trt_llm_kv_cache_block_metrics', labels: { kv_cache_block_type: 'fraction' } }],
  },
});

/** What one scrape of an engine says about its load. */
export interface EngineLoad {
  readonly waiting: number;
  readonly running: number;
  /** 0..1 */
  readonly kvCacheUsage: number;
  readonly runningLoras: readonly string[];
  readonly waitingLoras: readonly string[];
  /** Tokens per KV block, when the engine says. */
  readonly blockSize?: number;
}

export class EngineMetricsError extends Error {}

type Sample = PromFamily['metrics'][number];

function samplesOf(families: ReadonlyMap<string, PromFamily>, ref: SeriesRef): Sample[] {
  const wanted = Object.entries(ref.labels ?? {});
  return (families.get(ref.name)?.metrics ?? []).filter((sample) => wanted.every(([key, value]) => sample.labels?.[key] === value));
}

function valuesOf(samples: readonly Sample[]): number[] {
  return samples.map((sample) => Number(sample.value)).filter((value) => Number.isFinite(value));
}

function adapterList(text: string | undefined): string[] {
  return text === undefined || text === '' ? [] : text.split(',').map((name) => name.trim()).filter((name) => name !== '');
}

function describeRef(ref: SeriesRef): string {
  const labels = Object.entries(ref.labels ?? {}).map(([key, value]) => `${key}="${value}"`);
  return labels.length === 0 ? ref.name : `${ref.name}{${labels.join(',')}}`;
}

/**
 * Reads an engine's load from its /metrics text. Queue and batch sum over the engine's series
 * (one per model or data-parallel rank), KV use takes the highest. A text without the engine's
 * queue, batch or KV metrics is an error naming what is missing: load that cannot be read must
 * not read as idle.
 */
export function engineLoadOf(text: string, engine: InferenceEngineName): EngineLoad {
  const names = INFERENCE_ENGINES[engine];
  let parsed: PromFamily[];
  try {
    parsed = parsePrometheusTextFormat(text);
  } catch (error) {
    throw new EngineMetricsError(`not Prometheus text: ${(error as Error).message}`);
  }
  const families = new Map(parsed.map((family) => [family.name, family]));
  const missing: string[] = [];
  const sum = (ref: SeriesRef): number => {
    const values = valuesOf(samplesOf(families, ref));
    if (values.length === 0) missing.push(describeRef(ref));
    return values.reduce((a, b) => a + b, 0);
  };
  const waiting = sum(names.waiting);
  const running = sum(names.running);
  const kvValues = names.kvCacheUsage.map((ref) => valuesOf(samplesOf(families, ref))).find((values) => values.length > 0);
  if (kvValues === undefined) missing.push(names.kvCacheUsage.map(describeRef).join(' or '));
  if (missing.length > 0) throw new EngineMetricsError(`${engine} metrics missing: ${missing.join(', ')}`);
  // vLLM sets the LoRA info gauge to the time of its last update: the newest sample is current.
  const lora = names.loraInfo === undefined ? undefined : samplesOf(families, names.loraInfo).sort((a, b) => Number(b.value) - Number(a.value))[0];
  const blockSizeLabel = names.cacheConfig === undefined ? undefined : samplesOf(families, names.cacheConfig)[0]?.labels?.block_size;
  const blockSize = Number(blockSizeLabel);
  return {
    waiting,
    running,
    kvCacheUsage: Math.min(1, Math.max(0, ...kvValues!)),
    runningLoras: adapterList(lora?.labels?.running_lora_adapters),
    waitingLoras: adapterList(lora?.labels?.waiting_lora_adapters),
    ...(Number.isInteger(blockSize) && blockSize > 0 ? { blockSize } : {}),
  };
}
