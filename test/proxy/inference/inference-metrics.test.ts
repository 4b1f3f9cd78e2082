// The inference filter's metrics on the caller sidecar's registry after a run through real
// sidecars in front of real `weft sim vllm` servers: picks per endpoint, the load the picker
// sees (and staleness), time to first token and between tokens, tokens per tenant, refusals.
import type * as PromClient from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { caller, chat, servedBy, simBehindSidecar, simServer, sseEvents, stopAll, streamChat } from '../../helpers/inference-mesh.js';

afterAll(stopAll);

type Values = (PromClient.MetricValue<string> & { metricName?: string })[];

describe('inference metrics', () => {
  it('count what the run did', async () => {
    // Tokens 15 ms apart: a gap between two is never under 5 ms, even when a read brings two.
    const reporting = await simBehindSidecar('reporting', { decodeMsBase: 15 });
    const silent = await simServer('silent');
    const proxy = await caller([reporting.sidecar, silent.port], { workload: 'metered', inference: { budgets: [{ windowMs: 3_600_000, tokens: 400 }] } });
    const registry = proxy.sidecar.metrics.registry;
    const values = async (name: string): Promise<Values> => (await registry.getSingleMetric(name)!.get()).values;
    const sum = (list: Values, match: Record<string, string | number> = {}) =>
      list.filter((v) => Object.entries(match).every(([k, want]) => v.labels[k] === want)).reduce((total, v) => total + v.value, 0);

    const usage = { prompt: 0, completion: 0 };
    const send = async (): Promise<string> => {
      const reply = await chat(proxy.outboundPort, {});
      expect(reply.status).toBe(200);
      const counts = (JSON.parse(reply.body) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
      usage.prompt += counts.prompt_tokens;
      usage.completion += counts.completion_tokens;
      return servedBy(reply);
    };
    // No load is known until the reporting endpoint answered once: until then picks fail open (at random).
    let failedOpen = 1;
    while ((await send()) !== 'reporting' && failedOpen < 30) failedOpen++;
    // Then the reporting endpoint's fresh load wins; the silent one (stale: read as saturated) only
    // takes a probe if this caller never sent it one in the staleness window.
    let probes = 0;
    for (let served = 0; served < 3; ) if ((await send()) === 'reporting') served++;
    else probes++;
    expect(probes).toBe(failedOpen === 1 ? 1 : 0);
    const stream = await streamChat(proxy.outboundPort, { max_tokens: 5 });
    const tokenEvents = sseEvents(stream.chunks).filter((e) => e.includes('"delta":{"'));
    expect(tokenEvents).toHaveLength(5);
    // Over budget now (each request reserves its estimate + max_tokens): refused.
    expect((await chat(proxy.outboundPort, { max_tokens: 399 })).status).toBe(429);

    const picks = await values('weft_inference_picks_total');
    const reportingId = `127.0.0.1:${reporting.sidecar.inboundPort}`;
    const silentId = `127.0.0.1:${silent.port}`;
    expect(sum(picks)).toBe(failedOpen + probes + 4);
    expect(sum(picks, { by: 'fail-open' })).toBe(failedOpen);
    expect(sum(picks, { endpoint: silentId })).toBe(failedOpen - 1 + probes);
    expect(sum(picks, { endpoint: reportingId, by: 'load' })).toBe(4);

    const stale = await values('weft_inference_endpoint_load_stale');
    expect(sum(stale, { endpoint: silentId })).toBe(1);
    expect(sum(stale, { endpoint: reportingId })).toBe(0);
    const load = await values('weft_inference_endpoint_load');
    expect(load.filter((v) => v.labels.endpoint === reportingId).map((v) => v.labels.signal).sort()).toEqual(['inFlightTokens', 'kvCacheUsage', 'running', 'waiting']);

    const ttft = await values('weft_inference_ttft_seconds');
    expect(sum(ttft.filter((v) => v.metricName === 'weft_inference_ttft_seconds_count'))).toBe(failedOpen + probes + 4);
    const itl = await values('weft_inference_inter_token_seconds');
    // The gaps between the stream's 5 tokens: 4, or 3 if the second came in the same read as the
    // first (with the role). The finish-only chunk, [DONE] and the usage chunk asked for
    // (stripped) are no tokens, so no gap is a few microseconds.
    const gaps = sum(itl.filter((v) => v.metricName === 'weft_inference_inter_token_seconds_count'));
    expect(gaps).toBeGreaterThanOrEqual(3);
    expect(gaps).toBeLessThanOrEqual(4);
    expect(sum(itl.filter((v) => v.metricName === 'weft_inference_inter_token_seconds_bucket' && v.labels.le === 0.005))).toBe(0);

    const tokens = await values('weft_inference_tokens_total');
    const tenant = 'workload:default/metered';
    expect(sum(tokens, { tenant, kind: 'completion' })).toBe(usage.completion + 5);
    expect(sum(tokens, { tenant, kind: 'prompt' })).toBeGreaterThan(usage.prompt);
    expect(sum(await values('weft_inference_refused_total'), { reason: 'budget' })).toBe(1);
  });
});
