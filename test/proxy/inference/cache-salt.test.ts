// KV isolation by tenant: with `kvIsolation: tenant` the caller's sidecar sets vLLM's cache_salt
// from the verified tenant, overwriting the client's, so a `weft sim vllm` (which honours
// cache_salt, as vLLM does) shares prefix-cache entries only within one tenant. Without it,
// callers of different tenants share the engines' caches, and so agree where a prefix lives.
import { afterAll, describe, expect, it } from 'vitest';
import { caller, chat, servedBy, simBehindSidecar, simServer, stopAll } from '../../helpers/inference-mesh.js';

afterAll(stopAll);

const SYSTEM = 'You are a careful assistant for the accounts team. '.repeat(40);

async function cachedTokens(port: number, extra: object = {}): Promise<number> {
  const reply = await chat(port, { messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'summarise' }], ...extra });
  expect(reply.status).toBe(200);
  return (JSON.parse(reply.body) as { usage: { prompt_tokens_details: { cached_tokens: number } } }).usage.prompt_tokens_details.cached_tokens;
}

describe('cache_salt from the tenant', () => {
  it('shares a prefix within one tenant only, whatever cache_salt the client sets', async () => {
    const gpu = await simServer('gpu');
    const a = await caller([gpu.port], { workload: 'tenant-a', inference: { kvIsolation: 'tenant' } });
    const b = await caller([gpu.port], { workload: 'tenant-b', inference: { kvIsolation: 'tenant' } });
    expect(await cachedTokens(a.outboundPort)).toBe(0);
    expect(await cachedTokens(a.outboundPort)).toBeGreaterThan(0);
    // Another tenant, the same prompt: its own salt, nothing cached for it.
    expect(await cachedTokens(b.outboundPort)).toBe(0);
    // A client's own salt is overwritten by its tenant's: tenant a still hits its cache, and a
    // salt tenant b's client picks cannot reach tenant a's entries.
    expect(await cachedTokens(a.outboundPort, { cache_salt: 'client-chosen' })).toBeGreaterThan(0);
    expect(await cachedTokens(b.outboundPort, { cache_salt: 'client-chosen' })).toBeGreaterThan(0);
    const fresh = await caller([gpu.port], { workload: 'tenant-c', inference: { kvIsolation: 'tenant' } });
    expect(await cachedTokens(fresh.outboundPort, { cache_salt: 'client-chosen' })).toBe(0);
  });

  it('leaves the cache shared across tenants by default', async () => {
    const gpu = await simServer('gpu');
    const a = await caller([gpu.port], { workload: 'tenant-a' });
    const b = await caller([gpu.port], { workload: 'tenant-b' });
    expect(await cachedTokens(a.outboundPort)).toBe(0);
    expect(await cachedTokens(b.outboundPort)).toBeGreaterThan(0);
  });
});

describe('prefix placement across tenants', () => {
  it('sends the same prefix from callers of different tenants to the same home when the cache is shared', async () => {
    const backends = await Promise.all(['g0', 'g1', 'g2', 'g3'].map((name) => simBehindSidecar(name)));
    const sidecars = backends.map((backend) => backend.sidecar);
    const callers = await Promise.all(['tenant-a', 'tenant-b'].map((workload) => caller(sidecars, { workload, inference: { prefix: { blockChars: 64, blocks: 2 } } })));
    // Every endpoint's load known to both (idle: no bound in the way of a prefix's home).
    for (const proxy of callers) for (let i = 0; i < 8; i += 1) expect((await chat(proxy.outboundPort, {})).status).toBe(200);
    for (let prompt = 0; prompt < 6; prompt += 1) {
      const messages = [{ role: 'system', content: `System prompt number ${prompt}. `.repeat(20) }, { role: 'user', content: 'hi' }];
      const homes: string[] = [];
      for (const proxy of callers) {
        // The second sighting of a prefix earns affinity (the first goes by load).
        await chat(proxy.outboundPort, { messages });
        homes.push(servedBy(await chat(proxy.outboundPort, { messages })));
      }
      expect(homes[1]).toBe(homes[0]);
    }
  });
});
