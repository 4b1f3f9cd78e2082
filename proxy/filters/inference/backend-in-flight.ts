// What a model server's own sidecar knows exactly and its engine's /metrics does not say: the
// OpenAI requests it has passed to the engine that are not over, and what they still cost in
// generated tokens, counted as each caller's sidecar counts its own (load-table.ts
// `remainingCost`), so a caller subtracting its share from the reported total is left with the
// other callers' share. One per sidecar (its metrics registry), so requests that started on an
// earlier snapshot's filter still count and still end.
//
// A report counts the requests as they are when it is sent, and a report on a response leaves
// out the request it answers; the caller's sidecar subtracts its own requests in flight then,
// but that one (load-table.ts), so what is left is the other callers'.
import { remainingCost } from './load-table.js';

/** One request the engine is serving; hand it back to `generated` and `finish`. */
export interface BackendRequest {
  readonly promptTokens: number;
  readonly outputTokens: number;
  cost: number;
}

export class BackendInFlight {
  private readonly requests = new Set<BackendRequest>();
  private total = 0;

  start(promptTokens: number, outputTokens: number): BackendRequest {
    const request = { promptTokens, outputTokens, cost: remainingCost(promptTokens, outputTokens, 0) };
    this.requests.add(request);
    this.total += request.cost;
    return request;
  }

  /** `count` tokens of the request's answer have passed so far. */
  generated(request: BackendRequest, count: number): void {
    if (!this.requests.has(request)) return;
    const cost = remainingCost(request.promptTokens, request.outputTokens, count);
    this.total += cost - request.cost;
    request.cost = cost;
  }

  finish(request: BackendRequest): void {
    if (!this.requests.delete(request)) return;
    // A fresh sum when idle: no rounding left over from fractional prompt costs.
    this.total = this.requests.size === 0 ? 0 : this.total - request.cost;
  }

  /** The requests in flight, but `carrier`. */
  count(carrier?: BackendRequest): number {
    return this.requests.size - (carrier !== undefined && this.requests.has(carrier) ? 1 : 0);
  }

  /** What the requests in flight still cost, but `carrier`'s, in whole generated tokens (as a load report carries it). */
  tokens(carrier?: BackendRequest): number {
    const carried = carrier !== undefined && this.requests.has(carrier) ? carrier.cost : 0;
    return Math.max(0, Math.round(this.total - carried));
  }
}
