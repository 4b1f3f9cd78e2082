// The real `openai` npm client through the mesh: the SDK -> caller sidecar (inference filter and
// balancer) -> mutual TLS -> the model server's sidecar (load reports) -> `weft sim vllm`. A
// streamed chat completion arrives chunk by chunk to `[DONE]`, a plain one whole, and a 429 of
// the sidecar (a token budget used up) surfaces as the SDK's RateLimitError.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaServer, type TestCaServer } from '../helpers/ca-server.js';
import { MODEL, simServer, stopAll } from '../helpers/inference-mesh.js';
import { startMeshSidecar, type MeshSidecar } from '../helpers/mesh.js';
import { testId } from '../helpers/throwaway-ca.js';

let ca: TestCaServer;
let backend: MeshSidecar;
const callers: MeshSidecar[] = [];

/** A calling service's sidecar: the SDK's base URL is its outbound listener, whose host routes to the pool. */
async function callerSidecar(workload: string, inference: object): Promise<OpenAI> {
  const sidecar = await startMeshSidecar(ca, {
    workload,
    outbound: {
      port: 0,
      filters: [{ name: 'inference', config: inference }, { name: 'router' }],
      clusters: [
        {
          name: 'llm',
          hosts: ['127.0.0.1'],
          loadBalancer: 'inference',
          endpoints: [{ address: '127.0.0.1', port: backend.inboundPort, models: [MODEL] }],
          spiffeId: testId('vllm'),
        },
      ],
    },
  });
  callers.push(sidecar);
  return new OpenAI({ baseURL: `http://127.0.0.1:${sidecar.outboundPort}/v1`, apiKey: 'not-checked', maxRetries: 0 });
}

beforeAll(async () => {
  ca = await startCaServer();
  const { port } = await simServer('vllm');
  backend = await startMeshSidecar(ca, {
    workload: 'vllm',
    inbound: {
      port: 0,
      appPort: port,
      filters: [{ name: 'inference-load-report', config: { metricsUrl: `http://127.0.0.1:${port}/metrics`, intervalMs: 20 } }, { name: 'router' }],
    },
  });
});

afterAll(async () => {
  for (const sidecar of callers) await sidecar.stop();
  await backend?.stop();
  await stopAll();
  await ca?.close();
});

const messages = [{ role: 'user' as const, content: 'Say something.' }];
/** vLLM's extension: exactly max_tokens tokens. */
const vllmExtras = { ignore_eos: true } as Record<string, unknown>;

describe('the openai SDK through the mesh', () => {
  it('streams a chat completion chunk by chunk to [DONE]', async () => {
    const client = await callerSidecar('chat-frontend', { budgets: [{ windowMs: 60_000, tokens: 1_000_000 }] });
    const stream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 6, stream: true, ...vllmExtras });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const content = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').filter((piece) => piece !== '');
    expect(content).toHaveLength(6);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length');
    // The usage chunk the sidecar asked for (to settle the budget) never reaches the client.
    expect(chunks.every((chunk) => chunk.usage === undefined || chunk.usage === null)).toBe(true);

    // The same stream as bytes: each event whole, the last `[DONE]`.
    const response = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 3, stream: true, ...vllmExtras }).asResponse();
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('endpoint-load-metrics')).toBeNull();
    const events = (await response.text()).split('\n\n').filter((event) => event !== '');
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.filter((event) => event.includes('"content"'))).toHaveLength(3);
  });

  it('answers a plain chat completion whole', async () => {
    const client = await callerSidecar('batch-frontend', {});
    const completion = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 5, ...vllmExtras });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content?.split(' ')).toHaveLength(5);
    expect(completion.usage?.completion_tokens).toBe(5);
  });

  it("surfaces the sidecar's 429 as RateLimitError, retry-after included", async () => {
    const client = await callerSidecar('thrifty-frontend', { budgets: [{ windowMs: 3_600_000, tokens: 50 }] });
    const error = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 200 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimited = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimited.status).toBe(429);
    expect(Number(rateLimited.headers?.get('retry-after'))).toBeGreaterThan(0);
  });
});
