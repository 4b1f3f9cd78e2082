// A model server's sidecar shows the engine load it scraped on its own /metrics (queue, running,
// KV-cache use) and what it counts itself (the requests it passed that are not over, their
// tokens), so the control plane's dashboard reads every backend's load from the sidecars' admin
// listeners without reaching the engines. One set of gauges and one in-flight count per sidecar
// registry, reading the latest scraper (a new snapshot builds a new one). The same figures are
// what the sidecar reports on its responses and to the control plane (`ownLoadOf`).
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { EngineLoadScraper } from '../../../control-plane/api/engine-load-scraper.js';
import { loadFiguresOf, type LoadFigures } from '../../../control-plane/api/load-reporting-contract.js';
import { BackendInFlight, type BackendRequest } from './backend-in-flight.js';

const require = createRequire(import.meta.url);
const Gauge = require('prom-client/lib/gauge.js') as typeof PromClient.Gauge;

const latest = new WeakMap<PromClient.Registry, EngineLoadScraper>();
const inFlight = new WeakMap<PromClient.Registry, BackendInFlight>();

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
 * The load the sidecar whose registry this is reports: its latest engine reading (with the time
 * the engine was read) and its own count of tokens in flight now, without `carrier` (the request
 * whose answer carries it); undefined when it is not a model server's or has not read its engine yet.
 */
export function ownLoadOf(registry: PromClient.Registry, carrier?: BackendRequest): { load: LoadFigures; at: number } | undefined {
  const reading = latest.get(registry)?.latest;
  return reading === undefined ? undefined : { load: loadFiguresOf(reading.load, backendInFlightOf(registry).tokens(carrier)), at: reading.at };
}
