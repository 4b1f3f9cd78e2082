// What the inference filter attaches to a request (`exchange.metadata.inference`) for the
// balancer, the Rego input and its own response side: the request's model, verified tenant,
// token estimate and prefix key, and, set by the balancer, the endpoint it picked with the load
// table that counts the request, so the response's load report credits the right endpoint and
// the request is released once, whether it ends, fails over or is cancelled. Also
// `input.weft.inference` for Rego, from that or, at a model server's own sidecar, from the body.
import type { InFlightTicket, LoadTable } from './load-table.js';
import { DEFAULT_CHARS_PER_TOKEN, DEFAULT_MAX_TOKENS, OpenAiBodyError, openAiOperationOf, readOpenAiBody, tokenEstimate } from './openai-body.js';

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

/** `input.weft.inference` for Rego. */
export interface InferenceInput {
  readonly model: string;
  /** Null where no verified caller identity names it (a plaintext request at a model server). */
  readonly tenant: string | null;
  readonly estimated_tokens: number;
}

/** `input.weft.inference` where the inference filter ran (the caller's sidecar): what it read, or null on other requests. */
export function inferenceInputOf(metadata: Readonly<Record<string, unknown>> | undefined): InferenceInput | null {
  const routing = inferenceRoutingOf(metadata);
  return routing === undefined ? null : { model: routing.model, tenant: routing.tenant, estimated_tokens: routing.estimatedTokens };
}

/**
 * `input.weft.inference` where it did not (a model server's inbound chain, its asset buffering
 * request bodies): the OpenAI route's body read the same way, the tenant the verified calling
 * workload, tokens estimated with the defaults. Null on other requests and on a body that is no
 * OpenAI request (the engine refuses it); a body the sidecar cannot read as the app would throws
 * from `parsedBody`, and the decision fails closed.
 */
export function inferenceInputOfBody(method: string, path: string, sourcePrincipal: string | undefined, parsedBody: () => unknown): InferenceInput | null {
  const operation = openAiOperationOf(method, path);
  if (operation === undefined) return null;
  let request;
  try {
    request = readOpenAiBody(operation, parsedBody());
  } catch (error) {
    if (error instanceof OpenAiBodyError) return null;
    throw error;
  }
  const { promptTokens, outputTokens } = tokenEstimate(request, DEFAULT_CHARS_PER_TOKEN, DEFAULT_MAX_TOKENS);
  return { model: request.model, tenant: sourcePrincipal ?? null, estimated_tokens: promptTokens + outputTokens };
}
