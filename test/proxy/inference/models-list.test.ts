// The aggregated `GET /v1/models` of an inference host through a real caller sidecar in front of
// two `weft sim vllm` servers serving different models and LoRA adapters: the union, in OpenAI's
// list shape, whichever endpoint the request itself went to.
import { afterAll, describe, expect, it } from 'vitest';
import { request } from '../../helpers/http-client.js';
import { caller, MODEL, simBehindSidecar, stopAll } from '../../helpers/inference-mesh.js';

afterAll(stopAll);

interface ModelList {
  object: string;
  data: { id: string; object: string; parent?: string | null }[];
}

describe('GET /v1/models on an inference host', () => {
  it("answers the union of the pool's models and LoRA adapters", async () => {
    const a = await simBehindSidecar('a', { loras: ['sql-lora'] });
    const b = await simBehindSidecar('b', { model: 'other/model', loras: ['chat-lora'] });
    // The config names only the base models; the adapters are discovered from the endpoints.
    const proxy = await caller([a.sidecar, b.sidecar], { models: [MODEL, 'other/model', 'configured-only'] });
    for (let i = 0; i < 2; i++) {
      const reply = await request(proxy.outboundPort, { path: '/v1/models', headers: { host: 'llm' } });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body));
      const list = JSON.parse(reply.body) as ModelList;
      expect(list.object).toBe('list');
      expect(list.data.map((model) => model.id).sort()).toEqual(['chat-lora', 'configured-only', MODEL, 'other/model', 'sql-lora'].sort());
      expect(list.data.every((model) => model.object === 'model')).toBe(true);
      expect(list.data.find((model) => model.id === 'chat-lora')?.parent).toBe('other/model');
    }
  });
});
