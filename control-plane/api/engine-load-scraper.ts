// An engine's load, scraped every interval (default 50 ms): by a model server's own sidecar over
// loopback, and by the control plane for servers outside the mesh. Keeps the latest reading with
// its time: one scrape per server, whatever the number of callers. A failed or unreadable scrape
// keeps the last reading, which then ages into staleness: the callers treat it as saturated.
import type { InferenceEngineName } from './resource-types.js';
import { engineLoadOf, type EngineLoad } from './inference-engines.js';

export interface EngineReading {
  readonly load: EngineLoad;
  /** performance.now() when it was read. */
  readonly at: number;
}

export interface ScraperOptions {
  /** The engine's metrics URL on loopback, e.g. http://127.0.0.1:8000/metrics. */
  readonly url: string;
  readonly engine: InferenceEngineName;
  readonly intervalMs: number;
  /** Called with each scrape that failed, for the sidecar's log and metrics. */
  readonly onError?: (error: Error) => void;
}

export class EngineLoadScraper {
  private reading: EngineReading | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly controller = new AbortController();
  private scrapes = 0;

  constructor(private readonly options: ScraperOptions) {}

  get latest(): EngineReading | undefined {
    return this.reading;
  }

  /** Scrapes completed (successful or not): lets a test wait for the next one. */
  get completed(): number {
    return this.scrapes;
  }

  start(): void {
    void this.scrape();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller.abort();
  }

  private async scrape(): Promise<void> {
    const started = performance.now();
    try {
      const response = await fetch(this.options.url, { signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(Math.max(this.options.intervalMs * 4, 1000))]) });
      if (!response.ok) throw new Error(`${this.options.url}: HTTP ${response.status}`);
      const load = engineLoadOf(await response.text(), this.options.engine);
      this.reading = { load, at: started };
    } catch (error) {
      if (!this.stopped) this.options.onError?.(error as Error);
    }
    this.scrapes += 1;
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.scrape(), Math.max(0, this.options.intervalMs - (performance.now() - started)));
    this.timer.unref();
  }
}
