// A model server's own sidecar counts the OpenAI requests it passed to its engine and the tokens
// they still cost, as their callers count theirs (prompt until the first token, then the tokens
// yet to come), and reports them as they are now on every response (without the request the
// response answers) and on its /metrics, whenever its engine was last read.
import { afterAll, describe, expect, it } from 'vitest';
import { parseLoadReport } from '../../../proxy/filters/inference/load-report-header.js';
import { eventually } from '../../helpers/eventually.js';
import { request } from '../../helpers/http-client.js';
import { chat, MODEL, simBehindSidecar, stopAll, streamChat } from '../../helpers/inference-mesh.js';

afterAll(stopAll);

/** The load report the backend's sidecar adds to a response that is not an OpenAI call. */
async function loadReport(port: number): Promise<ReturnType<typeof parseLoadReport>> {
  const reply = await request(port, { path: '/v1/models' });
  return parseLoadReport(reply.headers['endpoint-load-metrics'] as string | undefined);
}

/** The in-flight tokens of that report. */
async function reportedTokens(port: number): Promise<number | undefined> {
  return (await loadReport(port))?.load.inFlightTokens;
}

describe("a model server's sidecar counts its own requests in flight", () => {
  it('reserves prompt and max_tokens from the body for each request until it is answered', async () => {
    // One slot, 20 ms a token: the first request runs for 800 ms, the second waits behind it.
    const backend = await simBehindSidecar('counted', { maxNumSeqs: 1, decodeMsBase: 20 });
    const port = backend.sidecar.inboundPort;
    await eventually(() => reportedTokens(port), (tokens) => tokens === 0, 5000);
    // "<|user|>\nhello there\n" is 21 characters: 6 prompt tokens at 4 a token, 0.06 of a generated token.
    const answers = Promise.all([chat(port, { max_tokens: 40, ignore_eos: true }), chat(port, { max_tokens: 25, ignore_eos: true })]);
    await eventually(() => reportedTokens(port), (tokens) => tokens === 65, 5000);
    const metrics = await request(backend.sidecar.adminPort, { path: '/metrics' });
    expect(metrics.body).toMatch(/^weft_inference_backend_in_flight_tokens 65$/m);
    for (const reply of await answers) expect(reply.status).toBe(200);
    await eventually(() => reportedTokens(port), (tokens) => tokens === 0, 5000);
  });

  it('reports the requests it passed since its engine was last read, dated now', async () => {
    // Read once, idle, as it starts; then a minute before the next reading.
    const backend = await simBehindSidecar('between-readings', { maxNumSeqs: 1, decodeMsBase: 20 }, { intervalMs: 60_000 });
    const port = backend.sidecar.inboundPort;
    const idle = await eventually(() => loadReport(port), (report) => report !== undefined, 5000);
    const idleAt = performance.now();
    expect(idle!.load).toMatchObject({ waiting: 0, running: 0 });
    const answers = Promise.all([chat(port, { max_tokens: 40, ignore_eos: true }), chat(port, { max_tokens: 25, ignore_eos: true })]);
    const busy = await eventually(() => loadReport(port), (report) => report?.load.inFlightTokens === 65, 5000);
    // No reading since the idle one: the two requests are the sidecar's count, as of now.
    expect(busy!.load.waiting + busy!.load.running).toBe(2);
    expect(busy!.ageMs).toBeLessThan(idle!.ageMs + (performance.now() - idleAt));
    for (const reply of await answers) expect(reply.status).toBe(200);
  });

  it('counts down a streamed answer by the tokens that passed', async () => {
    const backend = await simBehindSidecar('streaming', { decodeMsBase: 20 });
    const port = backend.sidecar.inboundPort;
    await eventually(() => reportedTokens(port), (tokens) => tokens === 0, 5000);
    const streamed = streamChat(port, { max_tokens: 40 });
    const seen = new Set<number>();
    await eventually(
      async () => {
        const tokens = await reportedTokens(port);
        if (tokens !== undefined) seen.add(tokens);
        return tokens;
      },
      (tokens) => tokens !== undefined && tokens > 0 && tokens < 35,
      5000,
    );
    expect((await streamed).status).toBe(200);
    await eventually(() => reportedTokens(port), (tokens) => tokens === 0, 5000);
    expect(Math.max(...seen)).toBeLessThanOrEqual(40);
  });

  it('counts a body past maxBodyBytes by its length, unread, with the default output cap', async () => {
    const backend = await simBehindSidecar('long', { maxNumSeqs: 1 }, { maxBodyBytes: 1024 });
    const port = backend.sidecar.inboundPort;
    await eventually(() => reportedTokens(port), (tokens) => tokens === 0, 5000);
    // The one slot is taken (not through the sidecar, so not counted): the long request waits.
    const held = backend.sim.engine.submit({ promptTokens: 10, blockHashes: [], outputTokens: 30_000 }, { token: () => undefined, finished: () => undefined });
    const body = JSON.stringify({ model: MODEL, prompt: 'x'.repeat(4000), max_tokens: 10 });
    const answer = request(port, { method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json' }, body });
    // Read, it would count 10 + 1000 x 0.01; unread, 256 + ceil(bytes / 4) x 0.01.
    const unread = Math.round(256 + Math.ceil(Buffer.byteLength(body) / 4) * 0.01);
    await eventually(() => reportedTokens(port), (tokens) => tokens === unread, 5000);
    backend.sim.engine.cancel(held);
    expect((await answer).status).toBe(200);
    await eventually(() => reportedTokens(port), (tokens) => tokens === 0, 5000);
  });

  it('releases a request the engine refuses at once', async () => {
    const backend = await simBehindSidecar('unread');
    const port = backend.sidecar.inboundPort;
    await eventually(() => reportedTokens(port), (tokens) => tokens === 0, 5000);
    const reply = await request(port, { method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json' }, body: '{"prompt":' });
    expect(reply.status).toBe(400);
    await eventually(() => reportedTokens(port), (tokens) => tokens === 0, 5000);
  });
});
