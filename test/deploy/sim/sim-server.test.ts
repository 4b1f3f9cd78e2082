// The simulated vLLM server over real HTTP on loopback: OpenAI shapes (streaming with usage),
// /v1/models, vLLM's /metrics names, cache_salt, cancel on disconnect, failure injection.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { fleetOf } from '../../../deploy/sim/sim-profile.js';
import { SimServer } from '../../../deploy/sim/sim-server.js';
import { eventually } from '../../helpers/eventually.js';

const servers: SimServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(overrides: Record<string, unknown> = {}): Promise<{ url: string; server: SimServer }> {
  const [params] = fleetOf({ servers: [{ name: 'gpu', model: 'base', loras: ['sql'], decodeMsBase: 1, decodeMsPerSeq: 0, prefillMsPerToken: 0.01, blockSize: 4, ...overrides }] }).servers;
  const server = new SimServer(params!);
  servers.push(server);
  return { url: await server.listen('127.0.0.1'), server };
}

function post(url: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
}

async function events(response: Response): Promise<string[]> {
  const text = await response.text();
  return text.split('\n\n').filter((e) => e !== '').map((e) => e.replace(/^data: /, ''));
}

async function gauge(url: string, name: string): Promise<number> {
  const families = parsePrometheusTextFormat(await (await fetch(`${url}/metrics`)).text());
  return Number(families.find((f) => f.name === name)?.metrics[0]?.value);
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'base', messages: [{ role: 'user', content }], ...extra });

describe('weft sim vllm server', () => {
  it('streams a chat completion as SSE chunks, with the usage chunk when asked, then [DONE]', async () => {
    const { url } = await start();
    const response = await post(url, '/v1/chat/completions', chat('hello there', { stream: true, max_tokens: 6, ignore_eos: true, stream_options: { include_usage: true } }));
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const data = await events(response);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { object: string; choices: { delta?: { role?: string; content?: string }; finish_reason: string | null }[]; usage?: Record<string, unknown> });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    const tokens = chunks.filter((c) => c.choices[0]?.delta?.content !== undefined);
    expect(tokens).toHaveLength(6);
    expect(tokens[0]!.choices[0]!.delta!.role).toBe('assistant');
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('length');
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 6, prompt_tokens: Math.ceil('<|user|>\nhello there\n'.length / 4), prompt_tokens_details: { cached_tokens: 0 } });
  });

  it("sends a streamed answer's head at once, while the request still waits for a slot (as vLLM behind uvicorn)", async () => {
    const { url } = await start({ maxNumSeqs: 1, decodeMsBase: 50 });
    const abort = new AbortController();
    const running = await post(url, '/v1/chat/completions', chat('first', { stream: true, max_tokens: 200, ignore_eos: true }), abort.signal);
    // Headers in hand while the slot is taken: the engine still holds this request in its queue.
    const queued = await post(url, '/v1/chat/completions', chat('second', { stream: true, max_tokens: 2, ignore_eos: true }), abort.signal);
    expect(queued.status).toBe(200);
    expect(queued.headers.get('content-type')).toBe('text/event-stream');
    expect(await gauge(url, 'vllm:num_requests_waiting')).toBe(1);
    expect(running.status).toBe(200);
    abort.abort();
  });

  it('leaves the usage chunk out unless stream_options.include_usage', async () => {
    const { url } = await start();
    const data = await events(await post(url, '/v1/completions', { model: 'base', prompt: 'hi', stream: true, max_tokens: 3, ignore_eos: true }));
    expect(data.filter((d) => d.includes('"usage"'))).toEqual([]);
    expect(data).toHaveLength(3 + 1 + 1);
  });

  it('answers a non-streaming completion in one JSON with usage; without ignore_eos it may stop early', async () => {
    const { url } = await start();
    const body = (await (await post(url, '/v1/completions', { model: 'sql', prompt: 'select', max_tokens: 200 })).json()) as { object: string; choices: { text: string; finish_reason: string }[]; usage: { completion_tokens: number } };
    expect(body.object).toBe('text_completion');
    expect(body.usage.completion_tokens).toBeGreaterThanOrEqual(1);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(200);
    expect(body.choices[0]!.text.split(' ')).toHaveLength(body.usage.completion_tokens);
    expect(body.choices[0]!.finish_reason).toBe(body.usage.completion_tokens === 200 ? 'length' : 'stop');
  });

  it('lists its base model and LoRA adapters', async () => {
    const { url } = await start();
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string; parent: string | null }[] };
    expect(models.data.map((m) => [m.id, m.parent])).toEqual([['base', null], ['sql', 'base']]);
  });

  it('refuses an unknown model (404) and a bad body (400) in OpenAI error shape', async () => {
    const { url } = await start();
    const unknown = await post(url, '/v1/chat/completions', { ...chat('x'), model: 'gpt-9' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/gpt-9/);
    const bad = await post(url, '/v1/chat/completions', { model: 'base', messages: [], max_tokens: -1 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { type: string } }).error.type).toBe('BadRequestError');
    const tooLong = await post(url, '/v1/completions', { model: 'base', prompt: 'x', max_tokens: 10_000_000 });
    expect(tooLong.status).toBe(400);
  });

  it('exposes vLLM metric names; running and waiting follow the engine', async () => {
    const { url } = await start({ maxNumSeqs: 1, decodeMsBase: 5 });
    const controller = new AbortController();
    const long = await post(url, '/v1/chat/completions', chat('long', { stream: true, max_tokens: 60_000, ignore_eos: true }), controller.signal);
    const queued = post(url, '/v1/chat/completions', chat('queued', { max_tokens: 1 }));
    await eventually(() => gauge(url, 'vllm:num_requests_waiting'), (n) => n === 1);
    const families = parsePrometheusTextFormat(await (await fetch(`${url}/metrics`)).text());
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const name of ['vllm:num_requests_waiting', 'vllm:num_requests_running', 'vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'vllm:lora_requests_info', 'vllm:cache_config_info']) {
      expect(byName.get(name)?.type, name).toBe('GAUGE');
    }
    expect(Number(byName.get('vllm:num_requests_running')!.metrics[0]!.value)).toBe(1);
    expect(Number(byName.get('vllm:kv_cache_usage_perc')!.metrics[0]!.value)).toBeGreaterThan(0);
    expect(byName.get('vllm:cache_config_info')!.metrics[0]!.labels).toMatchObject({ block_size: '4' });
    expect(byName.get('vllm:lora_requests_info')!.metrics[0]!.labels).toMatchObject({ max_lora: '1', running_lora_adapters: '' });
    // The client goes away: its sequence is cancelled and the queued one runs.
    controller.abort();
    await long.body?.cancel().catch(() => undefined);
    expect((await queued).status).toBe(200);
    expect(await gauge(url, 'vllm:num_requests_running')).toBe(0);
  });

  it('shares a prefix cache within one cache_salt only', async () => {
    const { url } = await start();
    const prompt = 'a long shared system prompt '.repeat(20);
    const cached = async (salt: string): Promise<number> => {
      const body = (await (await post(url, '/v1/chat/completions', chat(prompt, { max_tokens: 1, cache_salt: salt }))).json()) as { usage: { prompt_tokens_details: { cached_tokens: number } } };
      return body.usage.prompt_tokens_details.cached_tokens;
    };
    expect(await cached('tenant-a')).toBe(0);
    expect(await cached('tenant-a')).toBeGreaterThan(100);
    expect(await cached('tenant-b')).toBe(0);
  });

  it('injects faults from the profile and from PUT /sim/faults; refuses a bad fault setting', async () => {
    const { url } = await start({ faults: { errorRate: 1, errorStatus: 429 } });
    expect((await post(url, '/v1/completions', { model: 'base', prompt: 'x' })).status).toBe(429);
    const bad = await fetch(`${url}/sim/faults`, { method: 'PUT', body: JSON.stringify({ errorRate: 2 }) });
    expect(bad.status).toBe(400);
    expect((await post(url, '/v1/completions', { model: 'base', prompt: 'x' })).status).toBe(429);
    const put = await fetch(`${url}/sim/faults`, { method: 'PUT', body: JSON.stringify({ errorRate: 0, abortRate: 1 }) });
    expect(put.status).toBe(200);
    const cut = await post(url, '/v1/completions', { model: 'base', prompt: 'x', stream: true, max_tokens: 50, ignore_eos: true });
    await expect(cut.text()).rejects.toThrow();
  });
});

describe('weft sim vllm profile', () => {
  it('expands replicas with defaults and per-server overrides', () => {
    const fleet = fleetOf({ seed: 7, defaults: { model: 'm', maxNumSeqs: 8 }, servers: [{ name: 'fast', replicas: 3 }, { name: 'slow', decodeMsBase: 20, loras: ['l'] }] });
    expect(fleet.servers.map((s) => [s.name, s.maxNumSeqs, s.decodeMsBase, s.model, s.seed])).toEqual([
      ['fast-0', 8, 10, 'm', 7],
      ['fast-1', 8, 10, 'm', 8],
      ['fast-2', 8, 10, 'm', 9],
      ['slow', 8, 20, 'm', 10],
    ]);
    expect(Object.isFrozen(fleet.servers[0])).toBe(true);
  });

  it('reports every problem at once', () => {
    expect(() => fleetOf({ servers: [{ name: 'A', maxNumSeqs: 0, speed: 2 }] })).toThrow(/servers\.0\.maxNumSeqs[\s\S]*servers\.0(: must NOT have additional|\.name)[\s\S]*/);
    expect(() => fleetOf({ servers: [{ name: 'a', replicas: 2, port: 8000 }, { name: 'a-1' }] })).toThrow(/fixed port cannot serve 2 replicas[\s\S]*'a-1' is named twice/);
  });
});
