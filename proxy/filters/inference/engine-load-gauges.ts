// A model server's sidecar shows the engine load it scraped on its own /metrics (queue, running,
// KV-cache use), so the control plane's dashboard reads every backend's load from the sidecars'
// admin listeners without reaching the engines. One set of gauges per sidecar registry, reading
// the latest scraper (a new snapshot builds a new one). The same latest reading is what the
// sidecar reports to the control plane (`engineReadingOf`).
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { EngineLoadScraper, EngineReading } from '../../../control-plane/api/engine-load-scraper.js';

const require = createRequire(import.meta.url);
const Gauge = require('prom-client/lib/gauge.js') as typeof PromClient.Gauge;

const latest = new WeakMap<PromClient.Registry, EngineLoadScraper>();

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
}

/** The latest engine reading of the sidecar whose registry this is (undefined: not a model server, or not read yet). */
export function engineReadingOf(registry: PromClient.Registry): EngineReading | undefined {
  return latest.get(registry)?.latest;
}
