// What a caller's sidecar knows of each endpoint's load: the last report (from the
// endpoint-load-metrics header of a response, or the control plane's stream) with its time, and
// its own requests since that report: those it sent (so a burst between two reports does not
// pile onto one endpoint) and those the report counted that have ended since (so an endpoint
// that just finished work does not look busy until the next report). Builds the picker's view
// (endpoint-picker.ts) of a pool's endpoints.
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
  /** This caller's requests from before the report that ended after it, and their tokens. */
  endedRequests: number;
  endedTokens: number;
  inFlight: number;
}

export class LoadTable {
  private readonly states = new Map<string, EndpointState>();

  constructor(
    private readonly staleAfterMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private state(id: string): EndpointState {
    let state = this.states.get(id);
    if (state === undefined) {
      state = { report: undefined, reportedAt: -Infinity, epoch: 0, sinceRequests: 0, sinceTokens: 0, endedRequests: 0, endedTokens: 0, inFlight: 0 };
      this.states.set(id, state);
    }
    return state;
  }

  /** A load report taken at `at` (default now); an older one than the last is ignored. */
  report(id: string, load: ReportedLoad, at = this.now()): void {
    const state = this.state(id);
    if (at < state.reportedAt) return;
    state.report = load;
    state.reportedAt = at;
    state.epoch += 1;
    state.sinceRequests = 0;
    state.sinceTokens = 0;
    state.endedRequests = 0;
    state.endedTokens = 0;
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
    } else {
      // Sent before the current report (which counted it, or it was on its way): ended since.
      state.endedRequests += 1;
      state.endedTokens += ticket.tokens;
    }
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
      return {
        id: endpoint.id,
        models: endpoint.models,
        loras: endpoint.loras,
        fresh: !this.isStale(endpoint.id),
        waiting: (report?.waiting ?? 0) + state.sinceRequests,
        running: Math.max(0, (report?.running ?? 0) - state.endedRequests),
        kvCacheUsage: report?.kvCacheUsage ?? 0,
        inFlightTokens: Math.max(0, (report?.inFlightTokens ?? 0) + state.sinceTokens - state.endedTokens),
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
