// A model server's sidecar shows the engine load it scraped on its own /metrics (queue, running,
// KV-cache use) and what it counts itself (the requests it passed that are not over, their
// tokens), so the control plane's dashboard reads every backend's load from the sidecars' admin
// listeners without reaching the engines. One set of gauges and one in-flight count per sidecar
// registry, reading the latest scraper (a new snapshot builds a new one). What the sidecar reports
// on its responses and to the control plane (`ownLoadOf`) is that reading brought up to now by the
// count (backend-load.ts).
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { EngineLoadScraper } from '../../../control-plane/api/engine-load-scraper.js';
import { BackendInFlight, type BackendRequest } from './backend-in-flight.js';
import { BackendLoad, type BackendLoadReport } from './backend-load.js';

const require = createRequire(import.meta.url);
const Gauge = require('prom-client/lib/gauge.js') as typeof PromClient.Gauge;

const latest = new WeakMap<PromClient.Registry, EngineLoadScraper>();
const inFlight = new WeakMap<PromClient.Registry, BackendInFlight>();
const reported = new WeakMap<PromClient.Registry, BackendLoad>();

/** The sidecar's count of the requests it passed to its engine (one per registry). */
export function backendInFlightOf(registry: PromClient.Registry): BackendInFlight {
  let count = inFlight.get(registry);
  if (count === undefined) {
    count = new BackendInFlight();
    inFlight.set(registry, count);
  }
  return count;
}

export function exportEngineLoad(registry: PromClient.Registry, scraper: EngineLoadScraper): void {
  const known = latest.has(registry);
  latest.set(registry, scraper);
  if (known) return;
  const gauge = (name: string, help: string, read: (load: NonNullable<EngineLoadScraper['latest']>['load']) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const load = latest.get(registry)?.latest?.load;
        if (load === undefined) this.reset();
        else this.set(read(load));
      },
    });
  gauge('weft_inference_engine_requests_waiting', 'Requests waiting in the engine behind this sidecar (last scrape)', (l) => l.waiting);
  gauge('weft_inference_engine_requests_running', 'Requests running in the engine behind this sidecar (last scrape)', (l) => l.running);
  gauge('weft_inference_engine_kv_cache_usage', 'KV-cache use of the engine behind this sidecar, 0..1 (last scrape)', (l) => l.kvCacheUsage);
  const counted = backendInFlightOf(registry);
  new Gauge({
    name: 'weft_inference_backend_in_flight_tokens',
    help: 'What the requests this sidecar passed to its engine still cost, in generated tokens (its own count)',
    registers: [registry],
    collect() {
      this.set(counted.tokens());
    },
  });
}

/**
 * The load the sidecar whose registry this is reports, without `carrier` (the request whose
 * answer carries it); undefined when it is not a model server's or has not read its engine yet.
 */
export function ownLoadOf(registry: PromClient.Registry, carrier?: BackendRequest): BackendLoadReport | undefined {
  const scraper = latest.get(registry);
  const reading = scraper?.latest;
  if (scraper === undefined || reading === undefined) return undefined;
  let load = reported.get(registry);
  if (load === undefined) {
    load = new BackendLoad(backendInFlightOf(registry));
    reported.set(registry, load);
  }
  return load.report(reading, scraper.failing, performance.now(), carrier);
}
