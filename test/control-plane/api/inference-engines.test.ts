// Reading an engine's load from its /metrics: vLLM's names as the simulator serves them (the
// same prom-client rendering a real vLLM uses), SGLang's and Triton TensorRT-LLM's rows.
import { afterEach, describe, expect, it } from 'vitest';
import { EngineMetricsError, INFERENCE_ENGINES, engineLoadOf } from '../../../control-plane/api/inference-engines.js';
import inferencePoolSchema from '../../../control-plane/api/schemas/inference-pool.json' with { type: 'json' };
import { fleetOf } from '../../../deploy/sim/sim-profile.js';
import { SimServer } from '../../../deploy/sim/sim-server.js';

const servers: SimServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('inference engine metrics', () => {
  it('reads vLLM load: queue, batch, KV use, LoRA adapters running and waiting, block size', async () => {
    const [params] = fleetOf({ servers: [{ name: 'gpu', maxNumSeqs: 1, kvCacheTokens: 1000, prefixCacheBlocks: 10, blockSize: 8, loras: ['sql', 'chat'] }] }).servers;
    const server = new SimServer(params!);
    servers.push(server);
    const idle = engineLoadOf(await server.metrics.registry.metrics(), 'vllm');
    expect(idle).toEqual({ waiting: 0, running: 0, kvCacheUsage: 0, runningLoras: [], waitingLoras: [], blockSize: 8 });
    const events = { token: () => undefined, finished: () => undefined };
    server.engine.submit({ promptTokens: 100, blockHashes: [], outputTokens: 10, lora: 'sql' }, events);
    server.engine.submit({ promptTokens: 10, blockHashes: [], outputTokens: 10, lora: 'chat' }, events);
    const busy = engineLoadOf(await server.metrics.registry.metrics(), 'vllm');
    expect(busy).toEqual({ waiting: 1, running: 1, kvCacheUsage: 0.1, runningLoras: ['sql'], waitingLoras: ['chat'], blockSize: 8 });
  });

  it('falls back to the deprecated vLLM KV name and sums series across ranks', () => {
    const text = [
      'vllm:num_requests_waiting{engine="0"} 2',
      'vllm:num_requests_waiting{engine="1"} 3',
      'vllm:num_requests_running{engine="0"} 4',
      'vllm:gpu_cache_usage_perc{engine="0"} 0.25',
      'vllm:gpu_cache_usage_perc{engine="1"} 0.5',
      '',
    ].join('\n');
    expect(engineLoadOf(text, 'vllm')).toMatchObject({ waiting: 5, running: 4, kvCacheUsage: 0.5 });
  });

  it('reads SGLang and Triton TensorRT-LLM by their rows', () => {
    const sglang = 'sglang:num_queue_reqs{model_name="m"} 7\nsglang:num_running_reqs{model_name="m"} 12\nsglang:token_usage{model_name="m"} 0.8\n';
    expect(engineLoadOf(sglang, 'sglang')).toEqual({ waiting: 7, running: 12, kvCacheUsage: 0.8, runningLoras: [], waitingLoras: [] });
    const triton = [
      'nv_trt_llm_request_metrics{model="ensemble",request_type="waiting",version="1"} 3',
      'nv_trt_llm_request_metrics{model="ensemble",request_type="scheduled",version="1"} 9',
      'nv_trt_llm_request_metrics{model="ensemble",request_type="max",version="1"} 64',
      'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction",model="ensemble",version="1"} 0.4',
      'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="max",model="ensemble",version="1"} 4096',
      '',
    ].join('\n');
    expect(engineLoadOf(triton, 'triton-trtllm')).toEqual({ waiting: 3, running: 9, kvCacheUsage: 0.4, runningLoras: [], waitingLoras: [] });
  });

  it('refuses metrics that lack the load, naming what is missing, rather than reading idle', () => {
    expect(() => engineLoadOf('process_cpu_seconds_total 1\n', 'vllm')).toThrow(EngineMetricsError);
    expect(() => engineLoadOf('vllm:num_requests_running 1\n', 'vllm')).toThrow(
      'vllm metrics missing: vllm:num_requests_waiting, vllm:kv_cache_usage_perc or vllm:gpu_cache_usage_perc',
    );
    expect(() => engineLoadOf('sglang:num_queue_reqs 1\n', 'triton-trtllm')).toThrow(/nv_trt_llm_request_metrics\{request_type="waiting"\}/);
  });

  it('has one row per engine of the InferencePool schema', () => {
    expect(Object.keys(INFERENCE_ENGINES).sort()).toEqual([...inferencePoolSchema.properties.spec.properties.engine.enum].sort());
  });
});
