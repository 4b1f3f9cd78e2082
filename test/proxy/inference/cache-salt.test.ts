// KV isolation by tenant: with `kvIsolation: tenant` the caller's sidecar sets vLLM's cache_salt
// from the verified tenant, overwriting the client's, so a `weft sim vllm` (which honours
// cache_salt, as vLLM does) shares prefix-cache entries only within one tenant.
import { afterAll, describe, expect, it } from 'vitest';
import { caller, chat, simServer, stopAll } from '../../helpers/inference-mesh.js';

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
