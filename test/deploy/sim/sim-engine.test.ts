// The simulator's latency model against its parameters, on a virtual clock: TTFT from queue wait
// and uncached prefill, inter-token latency from the batch size, KV capacity, the prefix cache.
import { describe, expect, it } from 'vitest';
import { PrefixCache, promptBlockHashes } from '../../../deploy/sim/prefix-cache.js';
import { SimEngine, type EngineParams, type EngineRequest } from '../../../deploy/sim/sim-engine.js';
import { VirtualClock } from '../../helpers/virtual-clock.js';

const PARAMS: EngineParams = {
  maxNumSeqs: 2,
  kvCacheTokens: 1000,
  blockSize: 4,
  prefixCacheBlocks: 100,
  prefillMsPerToken: 1,
  decodeMsBase: 10,
  decodeMsPerSeq: 2,
};

interface Trace {
  tokens: number[];
  finishedAt: number | undefined;
}

function setup(params: Partial<EngineParams> = {}) {
  const clock = new VirtualClock();
  const engine = new SimEngine({ ...PARAMS, ...params }, clock);
  const submit = (request: Partial<EngineRequest> = {}) => {
    const trace: Trace = { tokens: [], finishedAt: undefined };
    const sequence = engine.submit(
      { promptTokens: 40, blockHashes: [], outputTokens: 5, ...request },
      { token: () => trace.tokens.push(clock.now()), finished: () => (trace.finishedAt = clock.now()) },
    );
    return { trace, sequence };
  };
  return { clock, engine, submit };
}

const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

describe('sim engine latency model', () => {
  it('alone: TTFT is the prefill cost of the prompt, then one token per decodeMsBase + decodeMsPerSeq', () => {
    const { clock, submit } = setup();
    const { trace } = submit({ promptTokens: 40, outputTokens: 5 });
    clock.runAll();
    expect(trace.tokens).toEqual([40, 52, 64, 76, 88]);
    expect(trace.finishedAt).toBe(88);
  });

  it('a full batch queues FIFO: TTFT adds the wait for a slot', () => {
    const { clock, engine, submit } = setup({ maxNumSeqs: 1 });
    const first = submit({ promptTokens: 40, outputTokens: 5 });
    const second = submit({ promptTokens: 20, outputTokens: 1 });
    const third = submit({ promptTokens: 10, outputTokens: 1 });
    expect(engine.load()).toMatchObject({ running: 1, waiting: 2 });
    clock.runAll();
    expect(first.trace.finishedAt).toBe(88);
    expect(second.trace.tokens).toEqual([88 + 20]);
    expect(third.trace.tokens).toEqual([108 + 10]);
  });

  it('inter-token latency grows with the running batch', () => {
    const alone = setup();
    const one = alone.submit({ promptTokens: 4, outputTokens: 4 });
    alone.clock.runAll();
    const paired = setup();
    const a = paired.submit({ promptTokens: 4, outputTokens: 4 });
    paired.submit({ promptTokens: 4, outputTokens: 4 });
    paired.clock.runAll();
    expect(gaps(one.trace.tokens)).toEqual([12, 12, 12]);
    expect(gaps(a.trace.tokens)).toEqual([14, 14, 14]);
  });

  it('a cached prefix is not prefilled again: TTFT drops by its tokens x prefillMsPerToken', () => {
    const { clock, engine, submit } = setup();
    const hashes = ['b0', 'b1', 'b2', 'b3', 'b4'];
    const cold = submit({ promptTokens: 40, blockHashes: hashes, outputTokens: 1 });
    clock.runAll();
    const start = clock.now();
    const warm = submit({ promptTokens: 40, blockHashes: [...hashes.slice(0, 3), 'other'], outputTokens: 1 });
    clock.runAll();
    expect(cold.sequence.cachedTokens).toBe(0);
    expect(warm.sequence.cachedTokens).toBe(3 * PARAMS.blockSize);
    expect(warm.trace.tokens[0]! - start).toBe(40 - 12);
    expect(engine.totals).toMatchObject({ prefixQueryTokens: 80, prefixHitTokens: 12, promptTokens: 80, generationTokens: 2 });
  });

  it('a fully cached prompt still computes its last token', () => {
    const { clock, submit } = setup();
    submit({ promptTokens: 8, blockHashes: ['x', 'y'], outputTokens: 1 });
    clock.runAll();
    const warm = submit({ promptTokens: 8, blockHashes: ['x', 'y'], outputTokens: 1 });
    expect(warm.sequence.cachedTokens).toBe(7);
  });

  it('KV capacity holds the head of the queue even with a free slot; usage is what running sequences hold', () => {
    const { clock, engine, submit } = setup({ kvCacheTokens: 100 });
    const big = submit({ promptTokens: 50, outputTokens: 10 });
    const next = submit({ promptTokens: 40, outputTokens: 10 });
    expect(engine.load()).toMatchObject({ running: 1, waiting: 1, kvUsage: 0.5 });
    clock.advance(50 + 12 * 2);
    expect(engine.load().kvUsage).toBeCloseTo(53 / 100);
    clock.runAll();
    expect(next.trace.tokens[0]).toBe(big.trace.finishedAt! + 40);
    expect(engine.load()).toMatchObject({ running: 0, waiting: 0, kvUsage: 0 });
    expect(() => submit({ promptTokens: 95, outputTokens: 10 })).toThrow(/exceed the KV capacity of 100/);
  });

  it('a cancelled sequence frees its slot at once and emits nothing more', () => {
    const { clock, engine, submit } = setup({ maxNumSeqs: 1 });
    const first = submit({ promptTokens: 40, outputTokens: 50 });
    const second = submit({ promptTokens: 10, outputTokens: 1 });
    clock.advance(45);
    engine.cancel(first.sequence);
    expect(engine.load()).toMatchObject({ running: 1, waiting: 0 });
    clock.runAll();
    expect(first.trace.tokens).toEqual([40]);
    expect(first.trace.finishedAt).toBeUndefined();
    expect(second.trace.tokens).toEqual([55]);
  });

  it('reports the LoRA adapters running and waiting', () => {
    const { engine, submit } = setup({ maxNumSeqs: 1 });
    submit({ lora: 'sql' });
    submit({ lora: 'chat' });
    submit();
    expect(engine.load()).toMatchObject({ runningLoras: ['sql'], waitingLoras: ['chat'] });
  });
});

describe('sim prefix cache', () => {
  it('chain-hashes full blocks: a block matches only under the same prefix, salt and model', () => {
    const base = promptBlockHashes('aaaabbbbccccdd', 4, '', 'm');
    expect(base).toHaveLength(3);
    expect(promptBlockHashes('aaaabbbbcccc', 4, '', 'm')).toEqual(base);
    expect(promptBlockHashes('zzzzbbbbcccc', 4, '', 'm')[1]).not.toBe(base[1]);
    expect(promptBlockHashes('aaaabbbbcccc', 4, 'tenant-b', 'm')[0]).not.toBe(base[0]);
    expect(promptBlockHashes('aaaabbbbcccc', 4, '', 'lora')[0]).not.toBe(base[0]);
  });

  it('evicts the least recently used blocks past its capacity', () => {
    const cache = new PrefixCache(3);
    cache.insert(['a', 'b', 'c']);
    expect(cache.lookup(['a'])).toBe(1);
    cache.insert(['d']);
    expect(cache.size).toBe(3);
    expect(cache.lookup(['b'])).toBe(0);
    expect(cache.lookup(['a'])).toBe(1);
    expect(cache.lookup(['c', 'd'])).toBe(2);
  });
});
