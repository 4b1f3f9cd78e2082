// Failover of inference requests through a real caller sidecar in front of real `weft sim vllm`
// servers with injected faults: before the first response byte a connect error, a 5xx or a 429
// is retried once on another endpoint, the body the inference filter held sent again; after the
// first byte an event stream ends with an OpenAI-style error event instead of being cut.
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { InProcessSidecar } from '../../helpers/sidecar.js';
import { caller, chat, servedBy, simServer, sseEvents, stopAll, streamChat } from '../../helpers/inference-mesh.js';

afterAll(stopAll);

const failover = { cluster: { retries: { attempts: 1, retryOn: ['connect-failure', '5xx', 'rate-limited'], retryNonIdempotent: true } } };

async function retriesOf(proxy: InProcessSidecar): Promise<number> {
  const metric = await proxy.sidecar.metrics.registry.getSingleMetric('weft_retries_total')!.get();
  return metric.values.find((value) => value.labels.cluster === 'llm')?.value ?? 0;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Sends requests until `retried` of them were retried (the engines report no load, so each
 * first try goes to either endpoint at random); every reply must come from `good`.
 */
async function expectEveryReplyFrom(proxy: InProcessSidecar, good: string, retried: number): Promise<void> {
  for (let sent = 0; sent < 60 && (await retriesOf(proxy)) < retried; sent++) {
    const reply = await chat(proxy.outboundPort, {});
    expect(reply.status).toBe(200);
    expect(servedBy(reply)).toBe(good);
  }
  expect(await retriesOf(proxy)).toBeGreaterThanOrEqual(retried);
}

describe('inference failover before the first byte', () => {
  it.each([503, 429])('retries a %i on the other endpoint, sending the held body again', async (errorStatus) => {
    const faulty = await simServer('faulty', { faults: { errorRate: 1, errorStatus } });
    const good = await simServer('good');
    const proxy = await caller([faulty.port, good.port], failover);
    await expectEveryReplyFrom(proxy, 'good', 3);
  });

  it('retries a connect error on the other endpoint', async () => {
    const good = await simServer('good');
    const proxy = await caller([await closedPort(), good.port], failover);
    await expectEveryReplyFrom(proxy, 'good', 3);
  });

  it('retries once only: with every endpoint failing, the second failure is the answer', async () => {
    const a = await simServer('a', { faults: { errorRate: 1, errorStatus: 503 } });
    const b = await simServer('b', { faults: { errorRate: 1, errorStatus: 429 } });
    const proxy = await caller([a.port, b.port], failover);
    const reply = await chat(proxy.outboundPort, {});
    expect([429, 503]).toContain(reply.status);
    expect(reply.body).toContain('injected fault');
    expect(await retriesOf(proxy)).toBe(1);
  });

  it('passes a 429 on when the cluster does not retry it', async () => {
    const a = await simServer('a', { faults: { errorRate: 1, errorStatus: 429 } });
    const b = await simServer('b', { faults: { errorRate: 1, errorStatus: 429 } });
    const proxy = await caller([a.port, b.port], { cluster: { retries: { attempts: 1, retryOn: ['5xx'], retryNonIdempotent: true } } });
    expect((await chat(proxy.outboundPort, {})).status).toBe(429);
    expect(await retriesOf(proxy)).toBe(0);
  });
});

describe('a stream failing after its first byte', () => {
  it('ends with an error event after the last whole event, and closes cleanly', async () => {
    const cut = await simServer('cut', { faults: { abortRate: 1 } });
    const proxy = await caller([cut.port], failover);
    const reply = await streamChat(proxy.outboundPort, {});
    expect(reply.status).toBe(200);
    expect(reply.complete).toBe(true);
    const events = sseEvents(reply.chunks);
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[0]!.slice('data: '.length))).toMatchObject({ object: 'chat.completion.chunk', choices: [{ delta: { role: 'assistant' } }] });
    const error = JSON.parse(events[1]!.slice('data: '.length)) as { error: { message: string; type: string; code: number } };
    expect(error.error).toMatchObject({ type: 'UPSTREAM_CONNECTION_TERMINATION', code: 502 });
    expect(events).not.toContain('data: [DONE]');
    // Not retried: part of the answer had gone to the client.
    expect(await retriesOf(proxy)).toBe(0);
  });
});
