// What the inference filter attaches to a request (`exchange.metadata.inference`) for the
// balancer, the Rego input and its own response side: the request's model, verified tenant,
// token estimate and prefix key, and, set by the balancer, the endpoint it picked with the load
// table that counts the request, so the response's load report credits the right endpoint and
// the request is released once, whether it ends, fails over or is cancelled.
import type { InFlightTicket, LoadTable } from './load-table.js';

export interface PickedEndpoint {
  readonly table: LoadTable;
  readonly ticket: InFlightTicket;
}

export interface InferenceRouting {
  readonly model: string;
  readonly tenant: string;
  /** Prompt estimate + max_tokens. */
  readonly estimatedTokens: number;
  /** The prompt estimate and the output cap (max_tokens; 0 for embeddings), for the picker (LoadTable.start). */
  readonly promptTokens: number;
  readonly outputTokens: number;
  readonly prefixKey: string | undefined;
  picked: PickedEndpoint | undefined;
}

export function inferenceRoutingOf(metadata: Readonly<Record<string, unknown>> | undefined): InferenceRouting | undefined {
  return metadata?.inference as InferenceRouting | undefined;
}

/** The request no longer occupies its endpoint (answered, failed over or cancelled). */
export function releasePick(routing: InferenceRouting): void {
  if (routing.picked === undefined) return;
  routing.picked.table.finish(routing.picked.ticket);
  routing.picked = undefined;
}

/** `input.weft.inference` for Rego: what the inference filter read, or null on other requests. */
export function inferenceInputOf(metadata: Readonly<Record<string, unknown>> | undefined): { model: string; tenant: string; estimated_tokens: number } | null {
  const routing = inferenceRoutingOf(metadata);
  return routing === undefined ? null : { model: routing.model, tenant: routing.tenant, estimated_tokens: routing.estimatedTokens };
}
