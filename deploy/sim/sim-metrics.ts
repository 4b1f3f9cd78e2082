// The simulated server's /metrics under vLLM's own names (v0.10/v1 engine), so whatever scrapes
// a real vLLM (weft's load scraper, Prometheus, the Gateway API inference extension) reads the
// simulator unchanged. Gauges read the engine when scraped; counters mirror its totals.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SimEngine } from './sim-engine.js';
import type { ServerParams } from './sim-profile.js';

export class SimMetrics {
  readonly registry = new Registry();
  private readonly ttft: Histogram<'model_name'>;
  private readonly interToken: Histogram<'model_name'>;
  private readonly model: { model_name: string };

  constructor(params: ServerParams, engine: SimEngine) {
    const registers = [this.registry];
    const model = { model_name: params.model };
    this.model = model;
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, labelNames: ['model_name'], registers, collect() { this.set(model, read()); } });
    };
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', () => engine.load().waiting);
    gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', () => engine.load().running);
    gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', () => engine.load().kvUsage);
    gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage (deprecated name).', () => engine.load().kvUsage);
    new Gauge({
      name: 'vllm:lora_requests_info',
      help: 'Running stats on lora requests.',
      labelNames: ['max_lora', 'running_lora_adapters', 'waiting_lora_adapters'],
      registers,
      collect() {
        const load = engine.load();
        this.reset();
        this.set(
          { max_lora: String(params.loras.length), running_lora_adapters: load.runningLoras.join(','), waiting_lora_adapters: load.waitingLoras.join(',') },
          Date.now() / 1000,
        );
      },
    });
    new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Information of the LLMEngine CacheConfig',
      labelNames: ['block_size', 'num_gpu_blocks', 'enable_prefix_caching', 'cache_dtype'],
      registers,
      collect() {
        this.set({ block_size: String(params.blockSize), num_gpu_blocks: String(Math.floor(params.kvCacheTokens / params.blockSize)), enable_prefix_caching: 'True', cache_dtype: 'auto' }, 1);
      },
    });
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({ name, help, labelNames: ['model_name'], registers, collect() { this.reset(); this.inc(model, read()); } });
    };
    counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', () => engine.totals.promptTokens);
    counter('vllm:generation_tokens_total', 'Number of generation tokens processed.', () => engine.totals.generationTokens);
    counter('vllm:prefix_cache_queries_total', 'Prefix cache queries, in terms of number of queried tokens.', () => engine.totals.prefixQueryTokens);
    counter('vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.', () => engine.totals.prefixHitTokens);
    const histogram = (name: string, help: string, buckets: number[]): Histogram<'model_name'> =>
      new Histogram({ name, help, labelNames: ['model_name'], buckets, registers });
    this.ttft = histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    this.interToken = histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5]);
  }

  firstToken(seconds: number): void {
    this.ttft.observe(this.model, seconds);
  }

  interTokenGap(seconds: number): void {
    this.interToken.observe(this.model, seconds);
  }
}
