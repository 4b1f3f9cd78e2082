// Inference routing through real sidecars in front of real `weft sim vllm` servers: each model
// server's inbound sidecar reports its engine's load on every response; the caller's outbound
// sidecar reads OpenAI bodies, picks by that load, strips the report before the app sees it,
// streams event by event, and enforces token budgets per verified tenant (never a header's).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sequence } from '../../../deploy/sim/sim-engine.js';
import { request } from '../../helpers/http-client.js';
import { buildInput } from '../../../proxy/filters/authz/input-document.js';
import { eventually } from '../../helpers/eventually.js';
import type { InferenceBalancer } from '../../../proxy/filters/inference/inference-balancer.js';
import { caller, chat, onStop, servedBy, simBehindSidecar, sseEvents, stopAll, streamChat, MODEL } from '../../helpers/inference-mesh.js';
import { filterExchange } from '../../helpers/filter-exchange.js';

afterAll(stopAll);

describe('inference routing through sidecars', () => {
  let busy: Awaited<ReturnType<typeof simBehindSidecar>>;
  let idle: Awaited<ReturnType<typeof simBehindSidecar>>;
  const held: Sequence[] = [];

  beforeAll(async () => {
    busy = await simBehindSidecar('busy');
    idle = await simBehindSidecar('idle');
    // The busy engine holds long requests filling most of its KV cache; it still has free slots.
    const events = { token: () => undefined, finished: () => undefined };
    for (let i = 0; i < 3; i++) held.push(busy.sim.engine.submit({ promptTokens: 2_000, blockHashes: [], outputTokens: 10_000 }, events));
    onStop(() => held.forEach((sequence) => busy.sim.engine.cancel(sequence)));
  });

  it('sends requests to the least-loaded backend once both reported, and strips the load report', async () => {
    const proxy = await caller([busy.sidecar, idle.sidecar]);
    // No load known yet (fail open: fewest in flight from this caller), so two requests at once,
    // each long enough to still be in flight when the other is picked, go one to each backend.
    const first = await Promise.all([0, 1].map(() => chat(proxy.outboundPort, { max_tokens: 100, ignore_eos: true })));
    for (const reply of first) {
      expect(reply.status).toBe(200);
      expect(reply.headers['endpoint-load-metrics']).toBeUndefined();
    }
    const seen = new Set(first.map(servedBy));
    expect(seen).toEqual(new Set(['busy', 'idle']));
    const after: string[] = [];
    for (let i = 0; i < 8; i++) {
      const reply = await chat(proxy.outboundPort, {});
      expect(reply.headers['endpoint-load-metrics']).toBeUndefined();
      after.push(servedBy(reply));
    }
    expect(after).toEqual(Array(8).fill('idle'));
  });

  it('answers 400 for a body it cannot read, before any backend sees it', async () => {
    const proxy = await caller([idle.sidecar]);
    const reply = await request(proxy.outboundPort, { method: 'POST', path: '/v1/completions', headers: { host: 'llm', 'content-type': 'application/json' }, body: '{"prompt":"x"}' });
    expect(reply.status).toBe(400);
    expect(reply.body).toContain('model: is required');
  });

  it('passes a stream on event by event, and strips the usage chunk it asked for on the client\'s behalf', async () => {
    const proxy = await caller([idle.sidecar], { inference: { budgets: [{ windowMs: 60_000, tokens: 1_000_000 }] } });
    const chunks = await streamChat(proxy.outboundPort, {});
    expect(chunks.contentType).toMatch(/^text\/event-stream/);
    const events = sseEvents(chunks.chunks);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.filter((e) => e.includes('"usage"') && e.includes('"choices":[]'))).toEqual([]);
    expect(events.length).toBeGreaterThanOrEqual(7);
    // Token events 2 ms apart arrive as they are made, not as one buffered body.
    expect(chunks.chunks.length).toBeGreaterThanOrEqual(4);
    // The stream's pace went into the load table, for the picker to weigh the endpoint's queue by.
    const llm = proxy.sidecar.holder.current.clusters.find((cluster) => cluster.name === 'llm')!;
    const [seen] = (llm.balancer as InferenceBalancer).candidates();
    expect(seen!.interTokenMs).toBeGreaterThan(0);
    expect(seen!.interTokenMs).toBeLessThan(1000);
  });

  it("asks for usage on the client's behalf without changing its chunks: continuous usage stays off, a client's own ask is left as is, a Responses stream is not asked", async () => {
    const received: unknown[] = [];
    const engine = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part)).on('end', () => {
        received.push((JSON.parse(Buffer.concat(parts).toString('utf8')) as { stream_options?: unknown }).stream_options);
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: [DONE]\n\n');
      });
    });
    await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve));
    onStop(() => new Promise<void>((resolve) => engine.close(() => resolve())));
    const proxy = await caller([(engine.address() as { port: number }).port]);
    await streamChat(proxy.outboundPort, { stream_options: { continuous_usage_stats: true } });
    await streamChat(proxy.outboundPort, { stream_options: { include_usage: true, continuous_usage_stats: true } });
    await streamChat(proxy.outboundPort, {});
    // The Responses API reports usage at a stream's end unasked: its body is left as sent.
    await request(proxy.outboundPort, { method: 'POST', path: '/v1/responses', headers: { host: 'llm', 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input: 'hi', stream: true }) });
    expect(received).toEqual([{ include_usage: true, continuous_usage_stats: false }, { include_usage: true, continuous_usage_stats: true }, { include_usage: true }, undefined]);
  });

  it('lowers a streaming request\'s weight on its endpoint by the tokens that passed, while it runs', async () => {
    const proxy = await caller([idle.sidecar]);
    const llm = proxy.sidecar.holder.current.clusters.find((cluster) => cluster.name === 'llm')!;
    const seen = () => (llm.balancer as InferenceBalancer).candidates()[0]!;
    const req = http.request({ host: '127.0.0.1', port: proxy.outboundPort, method: 'POST', path: '/v1/chat/completions', headers: { host: 'llm', 'content-type': 'application/json' }, agent: false });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'a long answer' }], max_tokens: 5_000, ignore_eos: true, stream: true }));
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    // Sent to cost its max_tokens; 20 events in, the request still runs and weighs less.
    await new Promise<void>((resolve) => {
      let events = 0;
      res.setEncoding('utf8').on('data', (chunk: string) => {
        events += chunk.split('\n\n').length - 1;
        if (events >= 20) resolve();
      });
    });
    const running = seen();
    expect(running.callerInFlight).toBe(1);
    expect(running.inFlightTokens).toBeLessThanOrEqual(5_000 - 20);
    req.destroy();
    await eventually(async () => seen().callerInFlight, (count) => count === 0);
  });

  it('refuses over budget with 429 and retry-after, whatever tenant a header claims', async () => {
    // Each request reserves its prompt estimate + max_tokens 100: the budget takes two.
    const proxy = await caller([idle.sidecar], { inference: { budgets: [{ windowMs: 3_600_000, tokens: 230 }] } });
    const claims: Record<string, string>[] = [{ 'x-tenant': 'alice' }, { 'x-tenant': 'bob', 'openai-organization': 'org-bob' }, { 'x-weft-tenant': 'carol' }];
    const replies = [];
    for (const headers of claims) replies.push(await chat(proxy.outboundPort, { max_tokens: 100 }, headers));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(Number(replies[2]!.headers['retry-after'])).toBeGreaterThan(0);
    expect(replies[2]!.headers['x-weft-error']).toBe('INFERENCE_BUDGET_EXHAUSTED');
  });

  it('reserves every sequence a request asks for: n answers of max_tokens each count against the budget', async () => {
    const proxy = await caller([idle.sidecar], { workload: 'several', inference: { budgets: [{ windowMs: 3_600_000, tokens: 230 }] } });
    // 100 tokens fit; four sequences of 100 do not, nor does a cap the chat engine ignores.
    const four = await chat(proxy.outboundPort, { max_tokens: 100, n: 4 });
    expect(four.status).toBe(429);
    expect(four.headers['x-weft-error']).toBe('INFERENCE_BUDGET_EXHAUSTED');
    expect((await chat(proxy.outboundPort, { max_tokens: 300, max_output_tokens: 10 })).status).toBe(429);
    expect((await chat(proxy.outboundPort, { max_tokens: 100, n: 1 })).status).toBe(200);
  });

  it("counts an objective's budget only on the requests it matches: its models, its pool", async () => {
    const gpu = await simBehindSidecar('lora', { loras: ['sql'] });
    const objectives = [
      { name: 'sql-cap', pool: 'llm', models: ['sql'], priority: 0, budgets: [{ windowMs: 3_600_000, tokens: 230 }] },
      { name: 'elsewhere', pool: 'other-pool', priority: 0, budgets: [{ windowMs: 3_600_000, tokens: 1 }] },
    ];
    const proxy = await caller([gpu.sidecar], { workload: 'per-objective', models: [MODEL, 'sql'], inference: { objectives } });
    // Each request spends about 103 tokens: 'sql-cap' takes two of its model's.
    const ask = (model: string) => chat(proxy.outboundPort, { model, max_tokens: 100, ignore_eos: true });
    for (let i = 0; i < 3; i++) expect((await ask(MODEL)).status).toBe(200);
    expect((await ask('sql')).status).toBe(200);
    expect((await ask('sql')).status).toBe(200);
    const over = await ask('sql');
    expect(over.status).toBe(429);
    expect(over.headers['x-weft-error']).toBe('INFERENCE_BUDGET_EXHAUSTED');
    expect((await ask(MODEL)).status).toBe(200);
  });

  it('reads a route as the engine routes it: an escaped slash names the same chat completion, under the same budget', async () => {
    // Each request spends about 103 tokens (100 generated): the budget takes two.
    const proxy = await caller([idle.sidecar], { workload: 'escaped', inference: { budgets: [{ windowMs: 3_600_000, tokens: 230 }] } });
    const post = (path: string) =>
      request(proxy.outboundPort, { method: 'POST', path, headers: { host: 'llm', 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 100, ignore_eos: true }) });
    const first = await post('/v1/chat%2Fcompletions');
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ object: 'chat.completion' });
    expect((await post('/v1/chat%2fcompletions?x=1')).status).toBe(200);
    const third = await post('/v1%2Fchat%2Fcompletions');
    expect(third.status).toBe(429);
    expect(third.headers['x-weft-error']).toBe('INFERENCE_BUDGET_EXHAUSTED');
  });

  it('ends a stream once its tenant spent past a budget that ends streams: an error event, what it spent counted and charged', async () => {
    // Without max_tokens the filter reserves 1 output token; the server makes up to 256: the
    // stream spends past its reservation, then past the 30-token budget.
    const budget = { windowMs: 3_600_000, tokens: 30 };
    const proxy = await caller([idle.sidecar], { workload: 'ended', inference: { defaultMaxTokens: 1, budgets: [{ ...budget, endStreams: true }] } });
    const reply = await streamChat(proxy.outboundPort, { max_tokens: undefined });
    expect(reply.status).toBe(200);
    const events = sseEvents(reply.chunks);
    const last = JSON.parse(events.at(-1)!.slice('data: '.length)) as { error: { type: string; code: number } };
    expect(last.error).toMatchObject({ type: 'INFERENCE_BUDGET_EXHAUSTED', code: 429 });
    expect(events).not.toContain('data: [DONE]');
    const delivered = events.filter((e) => e.includes('"choices":[{')).length;
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(257);
    const registry = proxy.sidecar.metrics.registry;
    const counted = (await registry.getSingleMetric('weft_inference_tokens_total')!.get()).values.filter((v) => v.labels.kind === 'completion');
    expect(counted.map((v) => v.value)).toEqual([delivered]);
    const ended = (await registry.getSingleMetric('weft_inference_refused_total')!.get()).values.filter((v) => v.labels.reason === 'budget-ended');
    expect(ended.map((v) => v.value)).toEqual([1]);
    // What it spent was charged: the tenant has nothing left.
    expect((await chat(proxy.outboundPort, { max_tokens: 1 })).headers['x-weft-error']).toBe('INFERENCE_BUDGET_EXHAUSTED');

    // The same budget without endStreams lets the stream finish (and charges it afterwards).
    const lenient = await caller([idle.sidecar], { inference: { defaultMaxTokens: 1, budgets: [{ ...budget, endStreams: false }] } });
    const whole = sseEvents((await streamChat(lenient.outboundPort, { max_tokens: undefined })).chunks);
    expect(whole.at(-1)).toBe('data: [DONE]');
    // 256 tokens and the finish chunk.
    expect(whole.filter((e) => e.includes('"choices":[{')).length).toBe(257);
  });

  it('aborts the upstream request when the client goes away, and releases its endpoint at once', async () => {
    // The engines directly, without their sidecars: no load reports, so the caller fails open to
    // the endpoint with the fewest of its own requests in flight.
    const proxy = await caller([busy.port, idle.port]);
    const servers = { busy: busy.sim, idle: idle.sim };
    const open = async () => {
      const req = http.request({ host: '127.0.0.1', port: proxy.outboundPort, method: 'POST', path: '/v1/completions', headers: { host: 'llm', 'content-type': 'application/json' }, agent: false });
      req.end(JSON.stringify({ model: MODEL, prompt: 'a long story', max_tokens: 2000, ignore_eos: true, stream: true }));
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => req.on('response', resolve).on('error', reject));
      const first = await new Promise<string>((resolve) => res.setEncoding('utf8').once('data', resolve));
      return { req, server: /"id":"cmpl-([a-z]+)-/.exec(first)![1] as keyof typeof servers };
    };
    const kept = await open();
    const cancelled = await open();
    expect(cancelled.server).not.toBe(kept.server);
    const running = () => servers[cancelled.server].engine.load().running;
    const before = running();
    cancelled.req.destroy();
    await eventually(async () => running(), (n) => n === before - 1, 5000);
    // Released: the cancelled request's endpoint has none in flight again, the other has one.
    for (let i = 0; i < 6; i++) expect(servedBy(await chat(proxy.outboundPort, {}))).toBe(cancelled.server);
    kept.req.destroy();
  });
});

describe('input.weft.inference for Rego', () => {
  it('is what the inference filter attached, and null on other requests', () => {
    const exchange = filterExchange({ direction: 'outbound', path: '/v1/chat/completions', method: 'POST', authority: 'llm', hasBody: true });
    const context = { destinationPrincipal: undefined, workload: { name: 'w', namespace: 'n', labels: {} } };
    expect((buildInput(exchange, context, undefined).weft as Record<string, unknown>).inference).toBeNull();
    exchange.metadata = { inference: { model: 'm', tenant: 'spiffe://td/ns/a/sa/b', estimatedTokens: 42, promptTokens: 10, outputTokens: 32, prefixKey: undefined, picked: undefined } };
    expect((buildInput(exchange, context, undefined).weft as Record<string, unknown>).inference).toEqual({ model: 'm', tenant: 'spiffe://td/ns/a/sa/b', estimated_tokens: 42 });
  });
});
