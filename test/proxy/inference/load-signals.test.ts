// The load signals a caller's picker reads: the ORCA-style endpoint-load-metrics header (strict
// parse) and the backend sidecar's scrape of its engine's /metrics, here a simulated vLLM over
// real HTTP on loopback.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fleetOf } from '../../../deploy/sim/sim-profile.js';
import { SimServer } from '../../../deploy/sim/sim-server.js';
import { EngineLoadScraper, MAX_METRICS_BYTES } from '../../../control-plane/api/engine-load-scraper.js';
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
  it('reads the engine load from a vLLM /metrics on an interval, and keeps the last reading (failing) when the engine goes', async () => {
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
    expect(scraper.failing).toBe(false);
    await server.close();
    open = false;
    // Scrapes run one after another: once one failed, none that read the engine is still under way.
    const before = errors.length;
    await eventually(async () => errors.length, (n) => n > before, 5000);
    const lastAt = scraper.latest!.at;
    await eventually(async () => errors.length, (n) => n > before + 2, 5000);
    expect(scraper.latest!.at).toBe(lastAt);
    expect(scraper.latest!.load.running).toBe(1);
    expect(scraper.failing).toBe(true);
  });

  it('refuses metrics past its bound unread, and keeps the reading it had', async () => {
    const valid = 'vllm:num_requests_waiting 2\nvllm:num_requests_running 3\nvllm:kv_cache_usage_perc 0.5\n';
    let huge = false;
    const server = createServer((_request, response) => {
      if (!huge) {
        response.end(valid);
        return;
      }
      // A valid exposition that goes on past the bound: only the bound stops the read.
      response.write(valid);
      const filler = Buffer.alloc(64 * 1024, '# padding padding padding padding\n');
      let sent = 0;
      const more = (): void => {
        while (sent <= MAX_METRICS_BYTES) {
          sent += filler.length;
          if (!response.write(filler)) return void response.once('drain', more);
        }
        response.end();
      };
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const errors: Error[] = [];
    const scraper = new EngineLoadScraper({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, engine: 'vllm', intervalMs: 20, onError: (error) => errors.push(error) });
    scraper.start();
    stops.push(() => scraper.stop());
    const first = await eventually(async () => scraper.latest, (reading) => reading !== undefined, 5000);
    expect(first!.load).toMatchObject({ waiting: 2, running: 3, kvCacheUsage: 0.5 });
    huge = true;
    // A scrape under way as the body grew may still read the small one; after the first refusal none does.
    await eventually(async () => errors.length, (n) => n >= 1, 10_000);
    expect(errors[0]!.message).toContain(`metrics past ${MAX_METRICS_BYTES} bytes`);
    const lastAt = scraper.latest!.at;
    await eventually(async () => errors.length, (n) => n >= 3, 10_000);
    expect(errors.every((error) => error.message.includes(`metrics past ${MAX_METRICS_BYTES} bytes`))).toBe(true);
    expect(scraper.latest!.at).toBe(lastAt);
    expect(scraper.latest!.load).toMatchObject({ waiting: 2, running: 3, kvCacheUsage: 0.5 });
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
