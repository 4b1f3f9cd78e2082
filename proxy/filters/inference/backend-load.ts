// The load a model server's sidecar reports: its engine's queue as it is now, not as it was at
// the last scrape. The requests reach the engine through this sidecar, which counts them exactly
// (backend-in-flight.ts); so the engine holds the ones counted now, plus those it held at its last
// reading that the sidecar was not counting then (a client beside it on loopback, a probe). Split
// into running and waiting by the engine's slots, learnt from readings (with requests waiting,
// the running ones fill them). KV-cache use and adapters are the last reading's. While the scrapes
// succeed the report is of now; once one fails it is dated at the last reading, so the callers
// see it age into staleness (treated as saturated) as they would without the count. Without
// this, a report is as old as the scrape (up to its interval), and a caller cannot tell the
// requests other callers sent since then from none.
import type { EngineReading } from '../../../control-plane/api/engine-load-scraper.js';
import { loadFiguresOf, type LoadFigures } from '../../../control-plane/api/load-reporting-contract.js';
import type { BackendInFlight, BackendRequest } from './backend-in-flight.js';

export interface BackendLoadReport {
  readonly load: LoadFigures;
  /** performance.now() the figures hold for. */
  readonly at: number;
}

export class BackendLoad {
  /** The engine's running slots, once a reading showed them full. */
  #slots: number | undefined;

  constructor(private readonly counted: BackendInFlight) {}

  /**
   * The report at `now`, from the latest `reading` (`failing`: the scrapes since it failed),
   * leaving out `carrier`, the request whose answer carries it.
   */
  report(reading: EngineReading, failing: boolean, now: number, carrier?: BackendRequest): BackendLoadReport {
    const engine = reading.load;
    if (engine.waiting > 0 || (this.#slots !== undefined && engine.running > this.#slots)) this.#slots = engine.running;
    const tokens = this.counted.tokens(carrier);
    if (failing || reading.sampled === undefined) return { load: loadFiguresOf(engine, tokens), at: reading.at };
    const uncounted = Math.max(0, engine.waiting + engine.running - reading.sampled);
    const requests = this.counted.count(carrier) + uncounted;
    const running = this.#slots === undefined ? requests : Math.min(requests, this.#slots);
    return { load: loadFiguresOf({ ...engine, waiting: requests - running, running }, tokens), at: now };
  }
}
