// Priority classes at a saturated pool: the caller's queue on its own (order by priority and TTFT
// deadline, bounds, shedding, cancel), the load table counting requests that ended as freed slots, and the whole through a
// real caller sidecar in front of a real `weft sim vllm` whose engine is held saturated.
import { afterAll, describe, expect, it } from 'vitest';
import { poolSaturated } from '../../../proxy/filters/inference/endpoint-picker.js';
import { parseLoadReport } from '../../../proxy/filters/inference/load-report-header.js';
import { LoadTable } from '../../../proxy/filters/inference/load-table.js';
import { PriorityAdmissionQueue, type Admission, type QueuedAdmission } from '../../../proxy/filters/inference/priority-queue.js';
import { eventually } from '../../helpers/eventually.js';
import { request } from '../../helpers/http-client.js';
import { caller, chat, MODEL, onStop, servedBy, simBehindSidecar, stopAll } from '../../helpers/inference-mesh.js';

afterAll(stopAll);

function queued(outcome: Admission | QueuedAdmission): QueuedAdmission {
  if (typeof outcome === 'string') throw new Error(`expected a place in the queue, got ${outcome}`);
  return outcome;
}

describe('the priority queue', () => {
  const settings = { maxQueued: 3, maxWaitMs: 60_000, recheckMs: 60_000 };

  it('admits at once while the pool has room, and queues nothing', () => {
    const queue = new PriorityAdmissionQueue(settings, () => false);
    expect(queue.admit(0)).toBe('admitted');
    expect(queue.admit(-5)).toBe('admitted');
    expect(queue.length).toBe(0);
  });

  it('sheds sheddable requests at once when saturated, and admits the others highest priority first, first come within one', async () => {
    let saturated = true;
    const queue = new PriorityAdmissionQueue(settings, () => saturated);
    expect(queue.admit(-1)).toBe('shed');
    const order: string[] = [];
    const places = [['low', 0], ['high', 5], ['low-2', 0]] as const;
    const done = places.map(([name, priority]) => queued(queue.admit(priority)).admission.then((a) => order.push(`${name}:${a}`)));
    queue.wake();
    expect(queue.length).toBe(3);
    saturated = false;
    queue.wake();
    await Promise.all(done);
    expect(order).toEqual(['high:admitted', 'low:admitted', 'low-2:admitted']);
    expect(queue.length).toBe(0);
  });

  it('serves one priority by earliest TTFT deadline, then first come; a higher priority still goes first', async () => {
    let saturated = true;
    const queue = new PriorityAdmissionQueue({ maxQueued: 5, maxWaitMs: 60_000, recheckMs: 60_000 }, () => saturated);
    const order: string[] = [];
    const places = [['none', 0, undefined], ['late', 0, 500], ['none-2', 0, undefined], ['soon', 0, 100], ['high', 1, undefined]] as const;
    const done = places.map(([name, priority, deadline]) => queued(queue.admit(priority, deadline)).admission.then(() => order.push(name)));
    saturated = false;
    queue.wake();
    await Promise.all(done);
    expect(order).toEqual(['high', 'soon', 'late', 'none', 'none-2']);
  });

  it('is bounded: a newcomer served before the last place takes it, one that would not is shed', async () => {
    const queue = new PriorityAdmissionQueue({ ...settings, maxQueued: 2 }, () => true);
    const first = queued(queue.admit(0, 50));
    const second = queued(queue.admit(0));
    // Same priority, no deadline: it would be served after the last, so it is shed.
    expect(queue.admit(0)).toBe('shed');
    expect(queue.admit(0, 60)).not.toBe('shed');
    expect(await second.admission).toBe('shed');
    first.cancel();
  });

  it('is bounded: a newcomer of higher priority takes the lowest place, one of no higher priority is shed', async () => {
    const queue = new PriorityAdmissionQueue(settings, () => true);
    const first = queued(queue.admit(1));
    const second = queued(queue.admit(0));
    const third = queued(queue.admit(0));
    expect(queue.admit(0)).toBe('shed');
    const urgent = queued(queue.admit(9));
    expect(await third.admission).toBe('shed');
    expect(queue.length).toBe(3);
    for (const place of [first, second, urgent]) place.cancel();
    expect(queue.length).toBe(0);
  });

  it('bounds the wait: past maxWaitMs the request is shed', async () => {
    const queue = new PriorityAdmissionQueue({ maxQueued: 3, maxWaitMs: 20, recheckMs: 60_000 }, () => true);
    expect(await queued(queue.admit(3)).admission).toBe('shed');
    expect(queue.length).toBe(0);
  });

  it('rechecks while requests wait, so load turning stale frees the queue', async () => {
    let saturated = true;
    const queue = new PriorityAdmissionQueue({ maxQueued: 3, maxWaitMs: 60_000, recheckMs: 5 }, () => saturated);
    const place = queued(queue.admit(0));
    setImmediate(() => (saturated = false));
    expect(await place.admission).toBe('admitted');
  });
});

describe('saturation', () => {
  const bounds = { waiting: 2, kvCacheUsage: 0.8 };
  const now = 0;

  it('is every endpoint over a bound, judged on fresh load; this caller\'s request that ended frees its place', () => {
    const table = new LoadTable(1000, () => now);
    const pool = [{ id: 'a', models: [MODEL], loras: [] }, { id: 'b', models: [MODEL], loras: [] }];
    // No load known: not saturated (the failure mode decides), whatever this caller sent.
    const ticket = table.start('a', 0, 10);
    expect(poolSaturated(table.candidates(pool), bounds, 'FailClose')).toBe(false);
    table.report('a', { waiting: 2, running: 4, kvCacheUsage: 0.1, inFlightTokens: 0, activeLoras: [] });
    expect(table.candidates(pool)[0]).toMatchObject({ waiting: 2, running: 4 });
    // b is unknown (counts as over under FailClose), a is at its queue bound.
    expect(poolSaturated(table.candidates(pool), bounds, 'FailClose')).toBe(true);
    // Under FailOpen b may have room: the picker sends there rather than hold the request.
    expect(poolSaturated(table.candidates(pool), bounds, 'FailOpen')).toBe(false);
    // This caller's request the report counted ends: one fewer there.
    table.finish(ticket);
    expect(table.candidates(pool)[0]).toMatchObject({ waiting: 1, running: 4 });
    expect(poolSaturated(table.candidates(pool), bounds, 'FailClose')).toBe(false);
    // Both fresh: over only when both are, by queue or by KV cache.
    table.report('b', { waiting: 0, running: 1, kvCacheUsage: 0.9, inFlightTokens: 0, activeLoras: [] });
    expect(poolSaturated(table.candidates(pool), bounds, 'FailOpen')).toBe(false);
    table.start('a', 0, 10);
    expect(poolSaturated(table.candidates(pool), bounds, 'FailOpen')).toBe(true);
    table.report('a', { waiting: 0, running: 1, kvCacheUsage: 0, inFlightTokens: 0, activeLoras: [] });
    expect(poolSaturated(table.candidates(pool), bounds, 'FailOpen')).toBe(false);
  });
});

/**
 * A one-slot sim behind its sidecar, held saturated (one long sequence running, one waiting behind
 * it) until `release`, once its sidecar reports the queue.
 */
async function saturatedSim(overrides: Record<string, unknown>) {
  const gpu = await simBehindSidecar('gpu', { maxNumSeqs: 1, ...overrides });
  const events = { token: () => undefined, finished: () => undefined };
  const held = [0, 1].map(() => gpu.sim.engine.submit({ promptTokens: 10, blockHashes: [], outputTokens: 15_000 }, events));
  const release = () => held.forEach((sequence) => gpu.sim.engine.cancel(sequence));
  onStop(release);
  await eventually(
    async () => parseLoadReport((await request(gpu.sidecar.inboundPort, { path: '/health' })).headers['endpoint-load-metrics'] as string)?.load.waiting,
    (waiting) => waiting === 1,
  );
  return { gpu, release };
}

describe('priority classes through a caller sidecar', () => {
  it('sheds sheddable requests, queues the rest by priority within bounds, and admits the highest first once the pool has room', async () => {
    const { gpu, release } = await saturatedSim({ loras: ['batch', 'urgent'] });
    const proxy = await caller([gpu.sidecar], {
      models: [MODEL, 'batch', 'urgent'],
      balancer: { staleAfterMs: 1500, saturation: { waiting: 1 }, queue: { maxQueued: 2, maxWaitMs: 60_000 } },
      inference: { objectives: [{ name: 'batch', models: ['batch'], priority: -1, ttftObjectiveMs: 60_000 }, { name: 'urgent', models: ['urgent'], priority: 10 }] },
    });
    const queuedNow = async () => (await proxy.sidecar.metrics.registry.getSingleMetric('weft_inference_queued_requests')!.get()).values[0]?.value ?? 0;
    // No load known yet, so this one goes; the engine refuses it at once (past its context), and
    // the load report on that answer says the pool is saturated.
    expect((await chat(proxy.outboundPort, { max_tokens: 100_000 })).status).toBe(400);

    // A header cannot raise a request's priority: it comes from the objective matching the request.
    const batch = await chat(proxy.outboundPort, { model: 'batch' }, { 'x-weft-priority': '100', 'x-priority': 'high' });
    expect(batch.status).toBe(429);
    expect(batch.headers['x-weft-error']).toBe('INFERENCE_SHED');
    expect(batch.headers['retry-after']).toBe('1');

    const normal = chat(proxy.outboundPort, {});
    await eventually(queuedNow, (n) => n === 1);
    const normal2 = chat(proxy.outboundPort, {});
    await eventually(queuedNow, (n) => n === 2);
    // The queue is full of equal priority: a third is shed at once.
    expect((await chat(proxy.outboundPort, {})).status).toBe(429);
    // A higher priority takes the last place.
    const urgent = chat(proxy.outboundPort, { model: 'urgent' });
    expect((await normal2).status).toBe(429);
    expect(await queuedNow()).toBe(2);

    // Room: the engine's work goes, and with no answer to report it the caller's view of the
    // load turns stale (FailOpen: no longer saturated). The urgent request is admitted first.
    release();
    const [urgentReply, normalReply] = await Promise.all([urgent, normal]);
    expect(urgentReply.status).toBe(200);
    expect(normalReply.status).toBe(200);
    const sequenceOf = (reply: typeof urgentReply) => Number((JSON.parse(reply.body) as { id: string }).id.split('-').at(-1));
    expect(servedBy(urgentReply)).toBe('gpu');
    expect(sequenceOf(urgentReply)).toBeLessThan(sequenceOf(normalReply));
    expect(await queuedNow()).toBe(0);
    const refused = await proxy.sidecar.metrics.registry.getSingleMetric('weft_inference_refused_total')!.get();
    expect(refused.values.find((v) => v.labels.reason === 'shed')?.value).toBe(3);
    // The shed batch request counts against its TTFT objective as shed (urgent has none).
    const outcomes = (await proxy.sidecar.metrics.registry.getSingleMetric('weft_inference_ttft_objective_requests_total')!.get()).values;
    expect(outcomes.map((v) => [v.labels.objective, v.labels.outcome, v.value])).toEqual([['batch', 'shed', 1]]);
  });

  it("serves a priority by its TTFT objectives' deadlines and counts each request against its objective", async () => {
    // Prefill at 0.2 ms a token: a request of 100 tokens has its first token 20 ms after it starts.
    const { gpu, release } = await saturatedSim({ prefillMsPerToken: 0.2, loras: ['strict', 'loose'] });
    const proxy = await caller([gpu.sidecar], {
      models: [MODEL, 'strict', 'loose'],
      balancer: { staleAfterMs: 1500, saturation: { waiting: 1 }, queue: { maxQueued: 3, maxWaitMs: 60_000 } },
      inference: { objectives: [{ name: 'strict', models: ['strict'], priority: 0, ttftObjectiveMs: 1 }, { name: 'loose', models: ['loose'], priority: 0, ttftObjectiveMs: 600_000 }] },
    });
    const registry = proxy.sidecar.metrics.registry;
    const queuedNow = async () => (await registry.getSingleMetric('weft_inference_queued_requests')!.get()).values[0]?.value ?? 0;
    // The report on this refused answer says the pool is saturated.
    expect((await chat(proxy.outboundPort, { max_tokens: 100_000 })).status).toBe(400);

    const prompt = { messages: [{ role: 'user', content: 'x'.repeat(400) }] };
    const plain = chat(proxy.outboundPort, prompt);
    await eventually(queuedNow, (n) => n === 1);
    const loose = chat(proxy.outboundPort, { ...prompt, model: 'loose' });
    await eventually(queuedNow, (n) => n === 2);
    const strict = chat(proxy.outboundPort, { ...prompt, model: 'strict' });
    await eventually(queuedNow, (n) => n === 3);

    release();
    const replies = await Promise.all([strict, loose, plain]);
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200]);
    const sequences = replies.map((reply) => Number((JSON.parse(reply.body) as { id: string }).id.split('-').at(-1)));
    // Earliest deadline first (strict's 1 ms, loose's 10 minutes), then the one without an objective.
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    const outcomes = (await registry.getSingleMetric('weft_inference_ttft_objective_requests_total')!.get()).values;
    expect(outcomes.map((v) => [v.labels.objective, v.labels.outcome, v.value]).sort()).toEqual([['loose', 'met', 1], ['strict', 'missed', 1]]);
  });
});
