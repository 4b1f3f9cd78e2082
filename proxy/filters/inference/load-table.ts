// What a caller's sidecar knows of each endpoint's load: the last report (from the
// endpoint-load-metrics header of a response, or the control plane's stream) with its time, and
// its own requests against that report's reading time: those sent after the engine was read
// (so a burst between two reports does not pile onto one endpoint) and those sent before it that
// have ended since (each freed a slot: one waiting took it, or none was waiting, so an endpoint
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
  readonly tokens: number;
  /** When it was sent: a report of the engine read after this may count it. */
  readonly sentAt: number;
}

interface EndpointState {
  report: ReportedLoad | undefined;
  /** When the engine was read for that report (its sidecar says how old the reading was). */
  reportedAt: number;
  /** This caller's requests in flight to it. */
  readonly tickets: Set<InFlightTicket>;
  /** Requests the report may count that ended since, and their tokens. */
  endedRequests: number;
  endedTokens: number;
  /** The request whose answer carried the report: its end frees nothing the report counted (it may never have held a slot). */
  carrier: InFlightTicket | undefined;
}

export class LoadTable {
  private readonly states = new Map<string, EndpointState>();
  /** Told when a report arrives or a request ends (the balancer's priority queue rechecks). */
  onChange: (() => void) | undefined = undefined;

  constructor(
    private readonly staleAfterMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private state(id: string): EndpointState {
    let state = this.states.get(id);
    if (state === undefined) {
      state = { report: undefined, reportedAt: -Infinity, tickets: new Set(), endedRequests: 0, endedTokens: 0, carrier: undefined };
      this.states.set(id, state);
    }
    return state;
  }

  /**
   * A load report of the engine as read at `at` (default now), on the answer to `carrier` when it
   * came on one; an older one than the last is ignored.
   */
  report(id: string, load: ReportedLoad, at = this.now(), carrier?: InFlightTicket): void {
    const state = this.state(id);
    if (at < state.reportedAt) return;
    state.report = load;
    state.reportedAt = at;
    state.endedRequests = 0;
    state.endedTokens = 0;
    state.carrier = carrier;
    this.onChange?.();
  }

  /** This caller sends a request of about `tokens` tokens (prompt estimate + max_tokens). */
  start(id: string, tokens: number): InFlightTicket {
    const ticket = { id, tokens, sentAt: this.now() };
    this.state(id).tickets.add(ticket);
    return ticket;
  }

  /** The request ended (answered, failed or cancelled): released at once. */
  finish(ticket: InFlightTicket): void {
    const state = this.states.get(ticket.id);
    if (state === undefined || !state.tickets.delete(ticket)) return;
    if (ticket.sentAt <= state.reportedAt && ticket !== state.carrier) {
      // Sent before the engine was read: the report counted it, and it is gone now.
      state.endedRequests += 1;
      state.endedTokens += ticket.tokens;
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
      // This caller's requests sent after the engine was read: not in the report yet.
      let sinceRequests = 0;
      let sinceTokens = 0;
      for (const ticket of state.tickets) {
        if (ticket.sentAt > state.reportedAt) {
          sinceRequests += 1;
          sinceTokens += ticket.tokens;
        }
      }
      // A request the report counted that has ended freed a slot: one waiting took it, or none did.
      const reportedWaiting = report?.waiting ?? 0;
      const freedWaiting = Math.min(reportedWaiting, state.endedRequests);
      return {
        id: endpoint.id,
        models: endpoint.models,
        loras: endpoint.loras,
        fresh: !this.isStale(endpoint.id),
        waiting: reportedWaiting - freedWaiting + sinceRequests,
        running: Math.max(0, (report?.running ?? 0) - (state.endedRequests - freedWaiting)),
        kvCacheUsage: report?.kvCacheUsage ?? 0,
        inFlightTokens: Math.max(0, (report?.inFlightTokens ?? 0) + sinceTokens - state.endedTokens),
        activeLoras: report?.activeLoras ?? [],
        callerInFlight: state.tickets.size,
      };
    });
  }

  /** An endpoint left the pool. */
  forget(id: string): void {
    this.states.delete(id);
  }
}
