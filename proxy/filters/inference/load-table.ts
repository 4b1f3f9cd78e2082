// What a caller's sidecar knows of each endpoint's load: the last report (from the
// endpoint-load-metrics header of a response, or the control plane's stream) with its time, and
// its own requests since that report, so a burst between two reports does not pile onto one
// endpoint, and those the report counted that ended since (each freed a slot). Builds the picker's view (endpoint-picker.ts) of a pool's endpoints.
import type { CandidateLoad } from './endpoint-picker.js';

/** An endpoint's load as its own sidecar reports it. */
export interface ReportedLoad {
  readonly waiting: number;
  readonly running: number;
  readonly kvCacheUsage: number;
  readonly inFlightTokens: number;
  readonly activeLoras: readonly string[];
}

export interface PoolEndpoint {
  readonly id: string;
  readonly models: readonly string[];
  readonly loras: readonly string[];
}

/** One request this caller sent; hand it back to `finish`. */
export interface InFlightTicket {
  readonly id: string;
  readonly epoch: number;
  readonly tokens: number;
}

interface EndpointState {
  report: ReportedLoad | undefined;
  reportedAt: number;
  /** Counts reports, so a request knows whether the current report could include it. */
  epoch: number;
  sinceRequests: number;
  sinceTokens: number;
  /** This caller's requests the report counted that have ended since. */
  sinceFinished: number;
  /** The request whose answer carried the report: its end frees nothing the report counted. */
  reportedBy: InFlightTicket | undefined;
  inFlight: number;
}

export class LoadTable {
  private readonly states = new Map<string, EndpointState>();
  /** Called when an endpoint's load may have changed (a report, a request ended). */
  onChange: (() => void) | undefined = undefined;

  constructor(
    private readonly staleAfterMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private state(id: string): EndpointState {
    let state = this.states.get(id);
    if (state === undefined) {
      state = { report: undefined, reportedAt: -Infinity, epoch: 0, sinceRequests: 0, sinceTokens: 0, sinceFinished: 0, reportedBy: undefined, inFlight: 0 };
      this.states.set(id, state);
    }
    return state;
  }

  /**
   * A load report taken at `at` (default now), on the answer to `carrier` when it came on one;
   * an older one than the last is ignored.
   */
  report(id: string, load: ReportedLoad, at = this.now(), carrier?: InFlightTicket): void {
    const state = this.state(id);
    if (at < state.reportedAt) return;
    state.report = load;
    state.reportedAt = at;
    state.epoch += 1;
    state.sinceRequests = 0;
    state.sinceTokens = 0;
    state.sinceFinished = 0;
    state.reportedBy = carrier;
    this.onChange?.();
  }

  /** This caller sends a request of about `tokens` tokens (prompt estimate + max_tokens). */
  start(id: string, tokens: number): InFlightTicket {
    const state = this.state(id);
    state.inFlight += 1;
    state.sinceRequests += 1;
    state.sinceTokens += tokens;
    return { id, epoch: state.epoch, tokens };
  }

  /** The request ended (answered, failed or cancelled): released at once. */
  finish(ticket: InFlightTicket): void {
    const state = this.states.get(ticket.id);
    if (state === undefined) return;
    state.inFlight -= 1;
    if (ticket.epoch === state.epoch) {
      state.sinceRequests -= 1;
      state.sinceTokens -= ticket.tokens;
    } else if (ticket !== state.reportedBy) {
      state.sinceFinished += 1;
    }
    this.onChange?.();
  }

  /** Whether the endpoint's last report is older than the staleness bound (or absent). */
  isStale(id: string): boolean {
    const state = this.states.get(id);
    return state?.report === undefined || this.now() - state.reportedAt > this.staleAfterMs;
  }

  candidates(endpoints: readonly PoolEndpoint[]): CandidateLoad[] {
    return endpoints.map((endpoint) => {
      const state = this.state(endpoint.id);
      const report = state.report;
      // A request the report counted that has ended freed a slot: one waiting took it, or none did.
      const reportedWaiting = report?.waiting ?? 0;
      const freedWaiting = Math.min(reportedWaiting, state.sinceFinished);
      return {
        id: endpoint.id,
        models: endpoint.models,
        loras: endpoint.loras,
        fresh: !this.isStale(endpoint.id),
        waiting: reportedWaiting - freedWaiting + state.sinceRequests,
        running: Math.max(0, (report?.running ?? 0) - (state.sinceFinished - freedWaiting)),
        kvCacheUsage: report?.kvCacheUsage ?? 0,
        inFlightTokens: (report?.inFlightTokens ?? 0) + state.sinceTokens,
        activeLoras: report?.activeLoras ?? [],
        callerInFlight: state.inFlight,
      };
    });
  }

  /** An endpoint left the pool. */
  forget(id: string): void {
    this.states.delete(id);
  }
}
