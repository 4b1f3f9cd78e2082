// The load signals a caller's picker reads: the ORCA-style endpoint-load-metrics header (strict
// parse) and the backend sidecar's scrape of its engine's /metrics, here a simulated vLLM over
// real HTTP on loopback.
import { afterEach, describe, expect, it } from 'vitest';
import { fleetOf } from '../../../deploy/sim/sim-profile.js';
import { SimServer } from '../../../deploy/sim/sim-server.js';
import { EngineLoadScraper } from '../../../control-plane/api/engine-load-scraper.js';
import { formatLoadReport, parseLoadReport } from '../../../proxy/filters/inference/load-report-header.js';
import { eventually } from '../../helpers/eventually.js';

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('endpoint-load-metrics header', () => {
  it('round-trips a report, LoRA adapters included', () => {
    const load = { waiting: 3, running: 12, kvCacheUsage: 0.4375, inFlightTokens: 20480, activeLoras: ['sql-lora', 'org/chat.v2'] };
    const header = formatLoadReport(load, 12.4);
    expect(header).toBe('TEXT named_metrics.age_ms=12, named_metrics.waiting=3, named_metrics.running=12, named_metrics.kv_cache_usage=0.4375, named_metrics.in_flight_tokens=20480, named_metrics.lora.sql-lora=1, named_metrics.lora.org/chat.v2=1');
    expect(parseLoadReport(header)).toEqual({ load, ageMs: 12 });
  });

  it('ignores unknown named metrics but refuses anything malformed as a whole', () => {
    const base = 'TEXT named_metrics.waiting=1, named_metrics.running=2, named_metrics.kv_cache_usage=0.5, named_metrics.in_flight_tokens=9';
    expect(parseLoadReport(`${base}, cpu_utilization=0.3`)).toMatchObject({ load: { waiting: 1, running: 2 }, ageMs: 0 });
    for (const bad of [
      undefined,
      'JSON {"waiting":1}',
      base.replace('waiting=1', 'waiting=-1'),
      base.replace('waiting=1', 'waiting=NaN'),
      `${base}, named_metrics.age_ms=-5`,
      base.replace('kv_cache_usage=0.5', 'kv_cache_usage=1.5'),
      base.replace(', named_metrics.running=2', ''),
      `${base}, named_metrics.x=1=2`,
      `${base}, ${'named_metrics.pad=1, '.repeat(300)}named_metrics.end=1`,
    ]) {
      expect(parseLoadReport(bad), String(bad).slice(0, 60)).toBeUndefined();
    }
  });
});

describe('engine load scraper', () => {
  it('reads the engine load from a vLLM /metrics on an interval, and keeps the last reading when the engine goes', async () => {
    const [params] = fleetOf({ servers: [{ name: 'gpu', maxNumSeqs: 1, kvCacheTokens: 1000, prefixCacheBlocks: 10 }] }).servers;
    const server = new SimServer(params!);
    const url = await server.listen('127.0.0.1');
    let open = true;
    stops.push(() => (open ? server.close() : undefined));
    const errors: Error[] = [];
    const scraper = new EngineLoadScraper({ url: `${url}/metrics`, engine: 'vllm', intervalMs: 20, onError: (error) => errors.push(error) });
    scraper.start();
    stops.push(() => scraper.stop());
    await eventually(async () => scraper.latest?.load, (load) => load !== undefined && load.running === 0, 5000);
    const events = { token: () => undefined, finished: () => undefined };
    server.engine.submit({ promptTokens: 100, blockHashes: [], outputTokens: 500, lora: undefined }, events);
    server.engine.submit({ promptTokens: 10, blockHashes: [], outputTokens: 5 }, events);
    const busy = await eventually(async () => scraper.latest?.load, (load) => load?.waiting === 1, 5000);
    expect(busy).toMatchObject({ running: 1, waiting: 1 });
    expect(busy!.kvCacheUsage).toBeGreaterThan(0.09);
    await server.close();
    open = false;
    // Scrapes run one after another: once one failed, none that read the engine is still under way.
    const before = errors.length;
    await eventually(async () => errors.length, (n) => n > before, 5000);
    const lastAt = scraper.latest!.at;
    await eventually(async () => errors.length, (n) => n > before + 2, 5000);
    expect(scraper.latest!.at).toBe(lastAt);
    expect(scraper.latest!.load.running).toBe(1);
  });

  it('reports a server whose metrics lack the engine’s names as an error, not as idle', async () => {
    const [params] = fleetOf({ servers: [{ name: 'gpu' }] }).servers;
    const server = new SimServer(params!);
    const url = await server.listen('127.0.0.1');
    stops.push(() => server.close());
    const errors: Error[] = [];
    const scraper = new EngineLoadScraper({ url: `${url}/metrics`, engine: 'sglang', intervalMs: 20, onError: (error) => errors.push(error) });
    scraper.start();
    stops.push(() => scraper.stop());
    await eventually(async () => errors.length, (n) => n >= 1, 5000);
    expect(errors[0]!.message).toContain('sglang metrics missing: sglang:num_queue_reqs');
    expect(scraper.latest).toBeUndefined();
  });
});
