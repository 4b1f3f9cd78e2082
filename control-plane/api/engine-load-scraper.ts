// An engine's load, scraped every interval (default 50 ms): by a model server's own sidecar over
// loopback, and by the control plane for servers outside the mesh. Keeps the latest reading with
// its time: one scrape per server, whatever the number of callers. A failed or unreadable scrape
// keeps the last reading, which then ages into staleness: the callers treat it as saturated.
// One kept-alive connection (undici's Pool): a scrape through it costs about a third of the CPU
// of one through global fetch (200 against 420-660 us on the 2-core bench machine), every 50 ms.
import { Pool } from 'undici';
import type { InferenceEngineName } from './resource-types.js';
import { engineLoadOf, type EngineLoad } from './inference-engines.js';

/** An engine's /metrics past this is refused unread (vLLM's are tens of KB). */
export const MAX_METRICS_BYTES = 4 * 1024 * 1024;

export interface EngineReading {
  readonly load: EngineLoad;
  /** performance.now() when it was read. */
  readonly at: number;
  /** The `sample` option's figure as the scrape started. */
  readonly sampled?: number;
}

export interface ScraperOptions {
  /** The engine's metrics URL on loopback, e.g. http://127.0.0.1:8000/metrics. */
  readonly url: string;
  readonly engine: InferenceEngineName;
  readonly intervalMs: number;
  /** Called with each scrape that failed, for the sidecar's log and metrics. */
  readonly onError?: (error: Error) => void;
  /** A figure taken as each scrape starts and kept with its reading (a sidecar's own count of requests then). */
  readonly sample?: () => number;
}

export class EngineLoadScraper {
  private reading: EngineReading | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly controller = new AbortController();
  private scrapes = 0;
  private lastFailed = false;
  private readonly pool: Pool;
  private readonly path: string;

  constructor(private readonly options: ScraperOptions) {
    const url = new URL(options.url);
    this.pool = new Pool(url.origin, { connections: 1 });
    this.path = `${url.pathname}${url.search}`;
  }

  get latest(): EngineReading | undefined {
    return this.reading;
  }

  /** Whether the last scrape completed failed (the reading kept is from before it). */
  get failing(): boolean {
    return this.lastFailed;
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
    void this.pool.destroy();
  }

  private async scrape(): Promise<void> {
    const started = performance.now();
    const sampled = this.options.sample?.();
    try {
      const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(Math.max(this.options.intervalMs * 4, 1000))]);
      const response = await this.pool.request({ method: 'GET', path: this.path, signal });
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > MAX_METRICS_BYTES) {
          response.body.destroy();
          throw new Error(`${this.options.url}: metrics past ${MAX_METRICS_BYTES} bytes`);
        }
        chunks.push(chunk);
      }
      if (response.statusCode < 200 || response.statusCode > 299) throw new Error(`${this.options.url}: HTTP ${response.statusCode}`);
      const load = engineLoadOf(Buffer.concat(chunks).toString('utf8'), this.options.engine);
      this.reading = sampled === undefined ? { load, at: started } : { load, at: started, sampled };
      this.lastFailed = false;
    } catch (error) {
      this.lastFailed = true;
      if (!this.stopped) this.options.onError?.(error as Error);
    }
    this.scrapes += 1;
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.scrape(), Math.max(0, this.options.intervalMs - (performance.now() - started)));
    this.timer.unref();
  }
}
