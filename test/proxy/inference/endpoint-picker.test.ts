// The inference picker as a pure function, and the load table that feeds it: model and LoRA
// filtering, load scoring, ties, stale load, failure modes, bounded prefix affinity that two
// independent callers agree on, and a caller's own requests between two reports.
import { describe, expect, it } from 'vitest';
import { pickEndpoint, type CandidateLoad, type PickerSettings } from '../../../proxy/filters/inference/endpoint-picker.js';
import { LoadTable, type PoolEndpoint, type ReportedLoad } from '../../../proxy/filters/inference/load-table.js';
import { prefixKey } from '../../../proxy/filters/inference/prefix-key.js';
import { boundedRendezvous } from '../../../proxy/filters/inference/rendezvous.js';
import { RecentPrefixes } from '../../../proxy/filters/inference/recent-prefixes.js';
import { inferenceBalancer, inferenceBalancerSettings } from '../../../proxy/filters/inference/inference-balancer.js';
import type { InferenceRouting } from '../../../proxy/filters/inference/inference-routing.js';

const SETTINGS: PickerSettings = {
  weights: { queue: 2, kvCache: 1, inFlightTokens: 1, prefixAffinity: 3, lora: 1 },
  affinityLoadBound: 1.25,
  failureMode: 'FailClose',
};

function candidate(id: string, load: Partial<CandidateLoad> = {}): CandidateLoad {
  return { id, models: ['m'], loras: [], fresh: true, waiting: 0, running: 0, kvCacheUsage: 0, inFlightTokens: 0, activeLoras: [], callerInFlight: 0, interTokenMs: undefined, probeDue: false, ...load };
}


const pick = (candidates: CandidateLoad[], model = 'm', key?: string, settings: PickerSettings = SETTINGS, turn = 0) =>
  pickEndpoint(candidates, { model, prefixKey: key }, settings, turn);

const ids = (candidates: CandidateLoad[], outcome: ReturnType<typeof pick>) => (outcome.picked ? candidates[outcome.index]!.id : outcome.code);

describe('inference endpoint picker', () => {
  it('keeps to endpoints that serve the model or LoRA adapter; none is a clear refusal', () => {
    const pool = [candidate('a', { models: ['other'] }), candidate('b', { waiting: 9 }), candidate('c', { models: ['x'], loras: ['sql'] })];
    expect(ids(pool, pick(pool, 'm'))).toBe('b');
    expect(ids(pool, pick(pool, 'sql'))).toBe('c');
    expect(pick(pool, 'gpt-9')).toEqual({ picked: false, code: 'INFERENCE_MODEL_NOT_SERVED' });
  });

  it('scores queue depth, KV-cache use and in-flight tokens', () => {
    expect(ids([candidate('a', { waiting: 3 }), candidate('b', { waiting: 1 })], pick([candidate('a', { waiting: 3 }), candidate('b', { waiting: 1 })]))).toBe('b');
    const kv = [candidate('a', { kvCacheUsage: 0.9 }), candidate('b', { kvCacheUsage: 0.2 })];
    expect(ids(kv, pick(kv))).toBe('b');
    const tokens = [candidate('a', { inFlightTokens: 100 }), candidate('b', { inFlightTokens: 5000 })];
    expect(ids(tokens, pick(tokens))).toBe('a');
    // The queue weighs twice the KV cache: a shorter queue beats a cooler cache.
    const mixed = [candidate('a', { waiting: 4, kvCacheUsage: 0.1 }), candidate('b', { waiting: 1, kvCacheUsage: 0.8 })];
    expect(ids(mixed, pick(mixed))).toBe('b');
  });

  it('counts running requests in the queue depth: a full batch loses to one with free slots and one waiting', () => {
    const pool = [candidate('full', { waiting: 0, running: 6 }), candidate('free', { waiting: 1, running: 1 })];
    for (let seed = 0; seed < 10; seed += 1) expect(ids(pool, pick(pool, 'm', undefined, SETTINGS, seed))).toBe('free');
  });

  it('serves ties in turn, as round robin would, and takes a KV reading\'s last digits for a tie', () => {
    const pool = [candidate('a'), candidate('b', { kvCacheUsage: 0.011 }), candidate('c', { kvCacheUsage: 0.002 }), candidate('d', { waiting: 1 })];
    expect(Array.from({ length: 6 }, (_, turn) => ids(pool, pick(pool, 'm', undefined, SETTINGS, turn)))).toEqual(['a', 'b', 'c', 'a', 'a', 'b']);
  });

  it('treats stale load as saturated: an idle-looking stale endpoint loses to a busy fresh one', () => {
    const pool = [candidate('stale', { fresh: false }), candidate('busy', { waiting: 5, kvCacheUsage: 0.7 })];
    expect(ids(pool, pick(pool))).toBe('busy');
    // And it never takes a prefix key's affinity.
    for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) expect(ids(pool, pick(pool, 'm', key))).toBe('busy');
  });

  it('under FailOpen probes a stale endpoint once per staleness window, so a caller learning load from answers keeps it in view', () => {
    const open: PickerSettings = { ...SETTINGS, failureMode: 'FailOpen' };
    const due = [candidate('stale', { fresh: false, probeDue: true }), candidate('fresh', { running: 2 })];
    for (let turn = 0; turn < 4; turn += 1) expect(ids(due, pick(due, 'm', undefined, open, turn))).toBe('stale');
    // Probed lately (or a probe out): it reads as saturated again, and a busy fresh endpoint beats it.
    const probed = [candidate('stale', { fresh: false }), candidate('busy', { waiting: 4, running: 6, kvCacheUsage: 0.7 })];
    for (let turn = 0; turn < 4; turn += 1) expect(ids(probed, pick(probed, 'm', undefined, open, turn))).toBe('busy');
    // FailClose never probes: the stale endpoint stays last.
    for (let turn = 0; turn < 4; turn += 1) expect(ids(due, pick(due, 'm', undefined, SETTINGS, turn))).toBe('fresh');
  });

  it('weighs a queue by the pace the endpoint makes tokens at: a slower one takes fewer requests', () => {
    const slow = (depth: number) => candidate('slow', { running: depth, interTokenMs: 100 });
    const fast = (depth: number) => candidate('fast', { running: depth, interTokenMs: 50 });
    // Idle both: the fast one.
    expect(ids([slow(0), fast(0)], pick([slow(0), fast(0)]))).toBe('fast');
    // Two running on the fast one cost about what one does on the slow one; three cost more.
    expect(ids([slow(1), fast(2)], pick([slow(1), fast(2)]))).toBe('fast');
    expect(ids([slow(1), fast(4)], pick([slow(1), fast(4)]))).toBe('slow');
    // Paces within 1.25 of the fastest count as the same: equal depths tie, served in turn.
    const close = [candidate('a', { running: 2, interTokenMs: 60 }), candidate('b', { running: 2, interTokenMs: 50 })];
    expect([0, 1].map((turn) => ids(close, pick(close, 'm', undefined, SETTINGS, turn)))).toEqual(['a', 'b']);
    // No pace known for one of them: depth alone.
    const unknown = [candidate('slow', { running: 1 }), fast(2)];
    expect(ids(unknown, pick(unknown))).toBe('slow');
  });

  it('with no fresh load: FailClose refuses, FailOpen picks the least in flight from this caller', () => {
    const pool = [candidate('a', { fresh: false, callerInFlight: 3 }), candidate('b', { fresh: false, callerInFlight: 1 })];
    expect(pick(pool)).toEqual({ picked: false, code: 'INFERENCE_LOAD_UNKNOWN' });
    const open = pick(pool, 'm', 'key', { ...SETTINGS, failureMode: 'FailOpen' });
    expect(open).toMatchObject({ picked: true, by: 'fail-open' });
    expect(ids(pool, open)).toBe('b');
  });

  it('prefers an endpoint where the LoRA adapter is already active', () => {
    const pool = [candidate('cold', { loras: ['sql'] }), candidate('warm', { loras: ['sql'], activeLoras: ['sql'], waiting: 0, kvCacheUsage: 0.3 })];
    expect(ids(pool, pick(pool, 'sql'))).toBe('warm');
  });

  it('sticks a prefix to its rendezvous home until that home passes the load bound', () => {
    const pool = ['a', 'b', 'c', 'd'].map((id) => candidate(id, { running: 4 }));
    const home = pick(pool, 'm', 'tenant-prefix');
    expect(home).toMatchObject({ picked: true, by: 'affinity' });
    const homeId = ids(pool, home);
    // Somewhat busier than the others but under 1.25 x the mean: still home.
    const busier = pool.map((c) => (c.id === homeId ? { ...c, running: 5, kvCacheUsage: 0.5 } : c));
    expect(ids(busier, pick(busier, 'm', 'tenant-prefix'))).toBe(homeId);
    // Past the bound: the prefix spills to another endpoint, the same one for every caller.
    const hot = pool.map((c) => (c.id === homeId ? { ...c, waiting: 8, running: 8 } : c));
    const spilled = pick(hot, 'm', 'tenant-prefix');
    expect(ids(hot, spilled)).not.toBe(homeId);
    expect(ids(hot, pick(hot, 'm', 'tenant-prefix', SETTINGS, 99))).toBe(ids(hot, spilled));
  });

  it("sends a prefix seen once to its home when that ties on load (so the first request warms the cache the next go to), never against load", () => {
    const key = prefixKey('a long system prompt '.repeat(40), { blockChars: 256, blocks: 1 }, 'm', '');
    const tied = ['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000', '10.0.0.4:8000'].map((id) => candidate(id));
    const home = ids(tied, pickEndpoint(tied, { model: 'm', prefixKey: key }, SETTINGS, 1));
    // Whatever the random draw, independent callers send its first request home.
    for (let seed = 0; seed < 20; seed += 1) expect(ids(tied, pickEndpoint(tied, { model: 'm', prefixKey: undefined, tieBreakKey: key }, SETTINGS, seed))).toBe(home);
    // A busier home does not take a prefix seen once: the tie-break never outweighs load.
    const busyHome = tied.map((c) => (c.id === home ? candidate(c.id, { kvCacheUsage: 0.1 }) : c));
    for (let seed = 0; seed < 20; seed += 1) {
      const outcome = pickEndpoint(busyHome, { model: 'm', prefixKey: undefined, tieBreakKey: key }, SETTINGS, seed);
      expect(ids(busyHome, outcome)).not.toBe(home);
      expect(outcome).toMatchObject({ by: 'load' });
    }
  });

  it('two independent callers agree where each prefix lives, and prefixes spread over the pool', () => {
    const endpoints: PoolEndpoint[] = ['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000', '10.0.0.4:8000'].map((id) => ({ id, models: ['m'], loras: [] }));
    const callers = [new LoadTable(2000, () => 0), new LoadTable(2000, () => 0)];
    const report: ReportedLoad = { waiting: 0, running: 2, kvCacheUsage: 0.2, inFlightTokens: 500, activeLoras: [] };
    for (const table of callers) for (const e of endpoints) table.report(e.id, report, -1);
    // Each caller has its own requests in flight, different from the other's.
    callers[0]!.start(endpoints[0]!.id, 0, 300);
    callers[1]!.start(endpoints[2]!.id, 0, 300);
    const homes = new Set<string>();
    for (let tenant = 0; tenant < 40; tenant += 1) {
      const key = prefixKey(`system prompt of tenant ${tenant} `.repeat(20), { blockChars: 256, blocks: 1 }, 'm', '');
      const [first, second] = callers.map((table, i) => {
        const candidates = table.candidates(endpoints);
        const outcome = pickEndpoint(candidates, { model: 'm', prefixKey: key }, SETTINGS, i + 1);
        return ids(candidates, outcome);
      });
      expect(second).toBe(first);
      homes.add(first!);
    }
    expect(homes.size).toBe(4);
  });
});

describe('inference load table', () => {
  const endpoints: PoolEndpoint[] = [{ id: 'a', models: ['m'], loras: [] }, { id: 'b', models: ['m'], loras: [] }];
  const idle: ReportedLoad = { waiting: 0, running: 0, kvCacheUsage: 0, inFlightTokens: 0, activeLoras: [] };

  it('counts this caller’s requests live, so a burst spreads before the next report', () => {
    const table = new LoadTable(2000, () => 0);
    for (const e of endpoints) table.report(e.id, idle, -1);
    const picks: string[] = [];
    for (let turn = 0; turn < 6; turn += 1) {
      const candidates = table.candidates(endpoints);
      const id = ids(candidates, pickEndpoint(candidates, { model: 'm', prefixKey: undefined }, SETTINGS, turn));
      table.start(id, 0, 1000);
      picks.push(id);
    }
    expect(picks.filter((id) => id === 'a')).toHaveLength(3);
    expect(table.candidates(endpoints)[0]).toMatchObject({ waiting: 0, running: 3, inFlightTokens: 3000, callerInFlight: 3 });
  });

  it("splits a report into this caller's requests (then counted live) and the other callers' (held until the next report)", () => {
    let now = 0;
    const table = new LoadTable(2000, () => now);
    const before = table.start('a', 0, 100);
    now = 10;
    const inGap = table.start('a', 0, 30);
    // The engine was read at 5 (between the two requests): 4 requests there, one of them `before`;
    // its sidecar counts tokens as they are when it reports: both of this caller's (130) and 300.
    now = 20;
    table.report('a', { ...idle, running: 4, inFlightTokens: 430 }, 5);
    expect(table.candidates(endpoints)[0]).toMatchObject({ waiting: 0, running: 5, inFlightTokens: 430, callerInFlight: 2 });
    // This caller's requests end: they come off at once, the others' three stay.
    table.finish(before);
    table.finish(inGap);
    expect(table.candidates(endpoints)[0]).toMatchObject({ running: 3, inFlightTokens: 300, callerInFlight: 0 });
    // Finishing twice changes nothing; the next report replaces the others' share.
    table.finish(before);
    table.report('a', { ...idle, running: 1 }, 25);
    expect(table.candidates(endpoints)[0]).toMatchObject({ running: 1, inFlightTokens: 0 });
    // The request whose answer carried a report is not taken as counted in it (refused at once, it
    // never held a place): when it ends, the others' share stays.
    const carrier = table.start('a', 0, 10);
    now = 30;
    table.report('a', { ...idle, waiting: 1, running: 1 }, 30, carrier);
    table.finish(carrier);
    expect(table.candidates(endpoints)[0]).toMatchObject({ waiting: 1, running: 1 });
  });

  it("weighs this caller's requests by the tokens they still have to generate, so the next goes where slots free soonest", () => {
    const table = new LoadTable(2000, () => 0);
    for (const e of endpoints) table.report(e.id, idle, -1);
    const onA = table.start('a', 0, 40);
    table.start('b', 0, 40);
    // As many requests on each; a's has streamed 36 of its 40 tokens, so it frees its slot first.
    table.generated(onA, 36);
    expect(table.candidates(endpoints).map((c) => c.inFlightTokens)).toEqual([4, 40]);
    for (const turn of [0, 1, 2, 3]) {
      const candidates = table.candidates(endpoints);
      expect(ids(candidates, pickEndpoint(candidates, { model: 'm', prefixKey: undefined }, SETTINGS, turn))).toBe('a');
    }
    // Counted from what it may generate, never below none; a report splits on what is left.
    table.generated(onA, 50);
    expect(table.candidates(endpoints)[0]!.inFlightTokens).toBe(0);
    // A prompt weighs a hundredth of a generated token each, until the first token is out.
    const prompted = table.start('a', 2_000, 10);
    expect(table.candidates(endpoints)[0]!.inFlightTokens).toBe(30);
    table.generated(prompted, 0);
    expect(table.candidates(endpoints)[0]!.inFlightTokens).toBe(30);
    table.generated(prompted, 1);
    expect(table.candidates(endpoints)[0]!.inFlightTokens).toBe(9);
    table.report('b', { ...idle, running: 2, inFlightTokens: 100 }, 0);
    expect(table.candidates(endpoints)[1]!.inFlightTokens).toBe(100);
  });

  it("drains the other callers' share as their requests generate at the endpoint's recent pace, once that pace is known", () => {
    let now = 0;
    const table = new LoadTable(2000, () => now);
    // Four of the other callers' requests running, 40 tokens left between them.
    table.report('a', { ...idle, running: 4, inFlightTokens: 40 }, 0);
    now = 100;
    // No stream seen from it yet: held as reported.
    expect(table.candidates(endpoints)[0]).toMatchObject({ running: 4, inFlightTokens: 40 });
    // Its streams run at 20 ms a token; the recent mean follows each stream a little.
    table.observeStream('a', 100, 5);
    expect(table.candidates(endpoints)[0]!.inFlightTokens).toBeCloseTo(20, 5);
    expect(table.candidates(endpoints)[0]!.running).toBeCloseTo(2, 5);
    table.observeStream('a', 300, 5);
    expect(table.candidates(endpoints)[0]!.inFlightTokens).toBeCloseTo(40 - 400 / 22, 5);
    // All generated: the others' requests there have ended; this caller's own still count.
    now = 400;
    table.start('a', 0, 10);
    expect(table.candidates(endpoints)[0]).toMatchObject({ running: 1, inFlightTokens: 10, callerInFlight: 1 });
    // The next report replaces the drained share (three there, one of them this caller's); one
    // without tokens in flight (a server that does not count them) is held.
    table.report('a', { ...idle, running: 3, inFlightTokens: 10 + 30 }, 400);
    expect(table.candidates(endpoints)[0]).toMatchObject({ running: 3, inFlightTokens: 40 });
    table.report('b', { ...idle, running: 3 }, 400);
    now = 5000;
    expect(table.candidates(endpoints)[1]).toMatchObject({ running: 3 });
  });

  it('learns the slot count from a report with requests waiting; past it, requests wait', () => {
    let now = 0;
    const table = new LoadTable(2000, () => now);
    table.report('a', { ...idle, running: 3 }, 0);
    const mine = [1, 2, 3, 4].map(() => table.start('a', 0, 10));
    // Slots not yet seen full: nothing counts as waiting.
    expect(table.candidates(endpoints)[0]).toMatchObject({ waiting: 0, running: 7 });
    now = 5;
    table.report('a', { ...idle, waiting: 1, running: 6 }, 5);
    // 7 requests there at the reading (4 of them this caller's) on 6 slots; one more of mine makes 8.
    table.start('a', 0, 10);
    expect(table.candidates(endpoints)[0]).toMatchObject({ waiting: 2, running: 6 });
    for (const ticket of mine) table.finish(ticket);
    expect(table.candidates(endpoints)[0]).toMatchObject({ waiting: 0, running: 4 });
  });

  it('keeps the lower envelope of a stream pace: a busy batch does not make an endpoint read slow', () => {
    const table = new LoadTable(2000, () => 0);
    table.report('a', idle, 0);
    // 5 token events after the first bytes, over 250 ms: 50 ms apart.
    table.observeStream('a', 250, 5);
    table.observeStream('a', 450, 5);
    expect(table.candidates(endpoints)[0]!.interTokenMs).toBeCloseTo(50.8, 5);
    table.observeStream('a', 200, 5);
    expect(table.candidates(endpoints)[0]!.interTokenMs).toBeCloseTo(45.4, 5);
    // Nothing after the first bytes (a stream read whole at once), no time, or no number: no measure
    // (a pace of 0 would make every other endpoint infinitely slow).
    for (const [span, tokens] of [[0, 0], [0, 4], [-5, 2], [Number.NaN, 3], [100, Number.NaN]] as const) table.observeStream('a', span, tokens);
    expect(table.candidates(endpoints)[0]!.interTokenMs).toBeCloseTo(45.4, 5);
    // An endpoint the table does not hold (it left the pool) is not brought back.
    table.observeStream('gone', 100, 2);
    expect(table.candidates([{ id: 'gone', models: ['m'], loras: [] }])[0]!.interTokenMs).toBeUndefined();
  });

  it('makes a stale endpoint due for a probe once this caller sent it nothing for a staleness window', () => {
    let now = 0;
    const table = new LoadTable(2000, () => now);
    table.report('a', idle, 0);
    const ticket = table.start('a', 0, 10);
    now = 2500;
    expect(table.candidates(endpoints)[0]).toMatchObject({ fresh: false, probeDue: false });
    table.finish(ticket);
    expect(table.candidates(endpoints)[0]).toMatchObject({ probeDue: true });
    table.finish(table.start('a', 0, 10));
    expect(table.candidates(endpoints)[0]).toMatchObject({ probeDue: false });
    now = 4501;
    expect(table.candidates(endpoints)[0]).toMatchObject({ probeDue: true });
  });

  it('ages reports into staleness and ignores one older than the last', () => {
    let now = 0;
    const table = new LoadTable(2000, () => now);
    expect(table.isStale('a')).toBe(true);
    table.report('a', { ...idle, waiting: 2 }, 0);
    now = 2000;
    expect(table.candidates(endpoints)[0]).toMatchObject({ fresh: true, waiting: 2 });
    now = 2001;
    expect(table.candidates(endpoints)[0]!.fresh).toBe(false);
    table.report('a', { ...idle, waiting: 7 }, 1500);
    table.report('a', { ...idle, waiting: 9 }, 1000);
    expect(table.candidates(endpoints)[0]).toMatchObject({ fresh: true, waiting: 7 });
  });
});

describe('prefix affinity only for prefixes that repeat', () => {
  it('remembers a bounded number of keys, forgetting the least recently seen', () => {
    const recent = new RecentPrefixes(2);
    expect([recent.repeated('a'), recent.repeated('b'), recent.repeated('a')]).toEqual([false, false, true]);
    // 'b' is now the least recently seen: a third key pushes it out, 'a' stays.
    recent.repeated('c');
    expect([recent.repeated('a'), recent.repeated('b')]).toEqual([true, false]);
  });

  it("fills the balancer's settings from its schema's defaults, a config's own values first", () => {
    expect(inferenceBalancerSettings({})).toEqual({
      picker: { weights: { queue: 1, kvCache: 1, inFlightTokens: 1, lora: 1, prefixAffinity: 2 }, affinityLoadBound: 3, failureMode: 'FailOpen' },
      staleAfterMs: 2000,
      saturation: { waiting: 5, kvCacheUsage: 0.8 },
      queue: { maxQueued: 256, maxWaitMs: 2000, recheckMs: 50 },
    });
    const set = inferenceBalancerSettings({ weights: { queue: 4 }, affinityLoadBound: 1.5, failureMode: 'FailClose', staleAfterMs: 10, saturation: { waiting: 2 }, queue: { maxWaitMs: 7 } });
    expect(set.picker).toEqual({ weights: { queue: 4, kvCache: 1, inFlightTokens: 1, lora: 1, prefixAffinity: 2 }, affinityLoadBound: 1.5, failureMode: 'FailClose' });
    expect([set.staleAfterMs, set.saturation, set.queue]).toEqual([10, { waiting: 2, kvCacheUsage: 0.8 }, { maxQueued: 256, maxWaitMs: 7, recheckMs: 50 }]);
  });

  it('the inference balancer sends a one-off prefix by load, a repeated one to its home', () => {
    const balancer = inferenceBalancer.create({ weights: { queue: 2, kvCache: 1, inFlightTokens: 1, lora: 1, prefixAffinity: 3 } });
    const table = (balancer as unknown as { table: LoadTable }).table;
    const healthy = ['a', 'b', 'c', 'd'].map((label) => ({ active: 0, label, metadata: { labels: {}, weight: 1, models: ['m'] } }));
    const routing = (key: string): InferenceRouting => ({ model: 'm', tenant: 't', estimatedTokens: 10, promptTokens: 2, outputTokens: 8, prefixKey: key, picked: undefined });
    const pickFor = (key: string): string => {
      const request = { method: 'POST', path: '/v1/completions', authority: 'llm', requestHeaders: [], sourcePrincipal: undefined, endUser: undefined, metadata: { inference: routing(key) } };
      const chosen = balancer.pick(healthy, request)!;
      table.finish((request.metadata.inference.picked as unknown as { ticket: Parameters<LoadTable['finish']>[0] }).ticket);
      return chosen.label;
    };
    // Find keys whose home is not the least-loaded endpoint 'd'.
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`).filter((key) => boundedRendezvous(key, healthy.map((e) => ({ id: e.label, load: 2 })), 1.25) !== 3);
    for (const e of healthy) table.report(e.label, { waiting: 0, running: e.label === 'd' ? 1 : 2, kvCacheUsage: 0, inFlightTokens: 0, activeLoras: [] }, performance.now());
    for (const key of keys.slice(0, 5)) {
      expect(pickFor(key)).toBe('d');
      const home = pickFor(key);
      expect(home).not.toBe('d');
      expect(pickFor(key)).toBe(home);
    }
  });
});

describe('prefix key and rendezvous', () => {
  const params = { blockChars: 16, blocks: 2 };

  it('chain-hashes the leading blocks with the model and salt; a shorter prompt has no key', () => {
    const key = prefixKey('0123456789abcdef0123456789ABCDEF and then a suffix', params, 'm', 'tenant-a');
    expect(prefixKey('0123456789abcdef0123456789ABCDEF another suffix', params, 'm', 'tenant-a')).toBe(key);
    expect(prefixKey('0123456789abcdef0123456789ABCDEX and then a suffix', params, 'm', 'tenant-a')).not.toBe(key);
    expect(prefixKey('0123456789abcdef0123456789ABCDEF and then a suffix', params, 'm', 'tenant-b')).not.toBe(key);
    expect(prefixKey('0123456789abcdef0123456789ABCDEF and then a suffix', params, 'lora', 'tenant-a')).not.toBe(key);
    expect(prefixKey('0123456789abcdef0123456789', params, 'm', '')).toBeUndefined();
  });

  it('moves only the keys of an endpoint that leaves', () => {
    const four = ['a', 'b', 'c', 'd'].map((id) => ({ id, load: 0 }));
    const three = four.filter((c) => c.id !== 'd');
    for (let k = 0; k < 100; k += 1) {
      const before = four[boundedRendezvous(`key-${k}`, four, 1.25)!]!.id;
      const after = three[boundedRendezvous(`key-${k}`, three, 1.25)!]!.id;
      if (before !== 'd') expect(after).toBe(before);
    }
  });
});
