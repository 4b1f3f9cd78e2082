// What a caller's sidecar knows of each endpoint's load: the last report (from the
// endpoint-load-metrics header of a response, or the control plane's stream) with the time its
// engine was read, and its own requests in flight there, known exactly. A report splits the
// engine's requests into this caller's (its requests sent before the reading and still in flight)
// and the other callers', and the tokens the endpoint's sidecar counts in flight as it reports
// into this caller's (all it has in flight there) and the others'. This caller's own share is
// counted live, so a burst between two reports spreads, and an endpoint that just finished this
// caller's work does not look busy until the next report. The others' share drains until the next
// report as their running requests generate (at the endpoint's recent pace): a caller that stops
// sending to an endpoint hears nothing more of it, and would otherwise see the others' requests
// there long after they ended. Builds the picker's view (endpoint-picker.ts) of a pool's endpoints.
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
  /** The tokens it may generate (max_tokens). */
  readonly outputTokens: number;
  /** What it still costs its engine, in generated tokens (see `start`, `generated`). */
  tokens: number;
  /** When it was sent: a report of the engine read after this counts it. */
  readonly sentAt: number;
}

interface EndpointState {
  report: ReportedLoad | undefined;
  /** When the engine was read for that report (its sidecar says how old the reading was). */
  reportedAt: number;
  /** This caller's requests in flight to it, and when it last sent one. */
  readonly tickets: Set<InFlightTicket>;
  lastSentAt: number;
  /** The other callers' requests and tokens there at the last report. */
  othersDepth: number;
  othersTokens: number;
  /** The engine's slot count, once a report showed requests waiting (running then fills it). */
  slots: number | undefined;
  /** Its pace: the time between two tokens of its streams at a light batch, as this caller saw them. */
  interTokenMs: number | undefined;
  /** The time between two tokens of its streams lately, at the batches they ran in. */
  recentInterTokenMs: number | undefined;
}

// An engine's time between tokens grows with its batch; its pace is the lower envelope of what
// streams show (fast down, slow up), so a busy endpoint does not also read as a slow one, and a
// slower engine still does.
const PACE_DOWN = 0.5;
const PACE_UP = 0.02;
/** Weight of each stream in the recent mean time between tokens (about the last twenty streams). */
const RECENT_PACE = 0.05;

/**
 * A prompt token's cost beside a generated token's: a prefill runs a prompt's tokens together, a
 * generated token costs a decode step of the whole batch (vLLM on one GPU prefills thousands of
 * tokens a second for a request and decodes tens; `weft sim vllm`'s GPU profile, 0.25 ms against
 * 40-76 ms).
 */
export const PROMPT_TOKEN_COST = 0.01;

/**
 * What a request still costs its engine in generated tokens, `generated` of its `outputTokens`
 * out: its prompt until the first token is out (prefilled), at PROMPT_TOKEN_COST each, and the
 * tokens it has yet to generate, so what is left says how long it holds its slot.
 */
export function remainingCost(promptTokens: number, outputTokens: number, generated: number): number {
  return generated > 0 ? Math.max(0, outputTokens - generated) : outputTokens + promptTokens * PROMPT_TOKEN_COST;
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
      state = { report: undefined, reportedAt: -Infinity, tickets: new Set(), lastSentAt: -Infinity, othersDepth: 0, othersTokens: 0, slots: undefined, interTokenMs: undefined, recentInterTokenMs: undefined };
      this.states.set(id, state);
    }
    return state;
  }

  /**
   * A load report of the engine as read at `at` (default now), on the answer to `carrier` when it
   * came on one; an older one than the last is ignored. The carrier is not taken as counted in
   * it: answered at once (refused), it never held a place there; running, it reads one too many
   * until the next report, the safer error.
   */
  report(id: string, load: ReportedLoad, at = this.now(), carrier?: InFlightTicket): void {
    const state = this.state(id);
    if (at < state.reportedAt) return;
    let mine = 0;
    let mineTokens = 0;
    for (const ticket of state.tickets) {
      if (ticket === carrier) continue;
      // The endpoint's sidecar counts tokens as they are when it reports (and leaves the carrier
      // out): all of this caller's count; the engine's queue was read at `at`.
      mineTokens += ticket.tokens;
      if (ticket.sentAt <= at) mine += 1;
    }
    state.report = load;
    state.reportedAt = at;
    state.othersDepth = Math.max(0, load.waiting + load.running - mine);
    state.othersTokens = Math.max(0, load.inFlightTokens - mineTokens);
    if (load.waiting > 0 || (state.slots !== undefined && load.running > state.slots)) state.slots = load.running;
    this.onChange?.();
  }

  /**
   * This caller sends a request of about `promptTokens` prompt tokens that may generate
   * `outputTokens`; what it costs its engine is counted by `remainingCost`.
   */
  start(id: string, promptTokens: number, outputTokens: number): InFlightTicket {
    const ticket = { id, outputTokens, tokens: remainingCost(promptTokens, outputTokens, 0), sentAt: this.now() };
    const state = this.state(id);
    state.tickets.add(ticket);
    state.lastSentAt = ticket.sentAt;
    return ticket;
  }

  /** `count` tokens of the request's answer have passed: they, and its prompt, no longer weigh on its endpoint. */
  generated(ticket: InFlightTicket, count: number): void {
    if (count > 0) ticket.tokens = remainingCost(0, ticket.outputTokens, count);
  }

  /** The request ended (answered, failed or cancelled): released at once. */
  finish(ticket: InFlightTicket): void {
    if (this.states.get(ticket.id)?.tickets.delete(ticket) === true) this.onChange?.();
  }

  /**
   * A stream from the endpoint ended: `tokens` token events came after its first bytes, over
   * `spanMs` from those to its last bytes (events that came together with the first bytes say
   * nothing of the pace). No events after the first bytes (all in one read), no measure.
   */
  observeStream(id: string, spanMs: number, tokens: number): void {
    const ms = spanMs / tokens;
    const state = this.states.get(id);
    if (state === undefined || !(tokens >= 1) || !(ms > 0) || !Number.isFinite(ms)) return;
    const pace = state.interTokenMs;
    state.interTokenMs = pace === undefined ? ms : pace + (ms < pace ? PACE_DOWN : PACE_UP) * (ms - pace);
    const recent = state.recentInterTokenMs;
    state.recentInterTokenMs = recent === undefined ? ms : recent + RECENT_PACE * (ms - recent);
  }

  /**
   * The other callers' share now: the tokens their requests held at the report, less what those
   * running have generated since at the endpoint's recent pace, and their requests in proportion
   * (a request with nothing left to generate has ended). Their new requests show at the next
   * report. Held as reported while the pace or the tokens are unknown.
   */
  private othersNow(state: EndpointState): { readonly depth: number; readonly tokens: number } {
    const pace = state.recentInterTokenMs;
    const age = this.now() - state.reportedAt;
    if (pace === undefined || !(age > 0) || state.othersTokens <= 0) return { depth: state.othersDepth, tokens: state.othersTokens };
    const running = state.slots === undefined ? state.othersDepth : Math.min(state.othersDepth, state.slots);
    const tokens = Math.max(0, state.othersTokens - (running * age) / pace);
    return { depth: (state.othersDepth * tokens) / state.othersTokens, tokens };
  }

  /** Whether the endpoint's last report is older than the staleness bound (or absent). */
  isStale(id: string): boolean {
    const state = this.states.get(id);
    return state?.report === undefined || this.now() - state.reportedAt > this.staleAfterMs;
  }

  candidates(endpoints: readonly PoolEndpoint[]): CandidateLoad[] {
    return endpoints.map((endpoint) => {
      const state = this.state(endpoint.id);
      let tokens = 0;
      for (const ticket of state.tickets) tokens += ticket.tokens;
      const others = this.othersNow(state);
      const depth = others.depth + state.tickets.size;
      // Past its slots, the requests there wait; with the slot count not yet seen, none does.
      const waiting = state.slots === undefined ? 0 : Math.max(0, depth - state.slots);
      const fresh = !this.isStale(endpoint.id);
      return {
        id: endpoint.id,
        models: endpoint.models,
        loras: endpoint.loras,
        fresh,
        // Stale, nothing of ours there, and nothing sent for a staleness window: one request may find out.
        probeDue: !fresh && state.tickets.size === 0 && this.now() - state.lastSentAt > this.staleAfterMs,
        waiting,
        running: depth - waiting,
        kvCacheUsage: state.report?.kvCacheUsage ?? 0,
        inFlightTokens: others.tokens + tokens,
        activeLoras: state.report?.activeLoras ?? [],
        callerInFlight: state.tickets.size,
        interTokenMs: state.interTokenMs,
      };
    });
  }

  /** An endpoint left the pool. */
  forget(id: string): void {
    this.states.delete(id);
  }
}
