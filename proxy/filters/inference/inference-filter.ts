// The `inference` filter, in the caller's outbound chain in front of the `inference` balancer.
// On the OpenAI routes it reads the body (bounded), takes the tenant from verified identity
// only (the calling workload as this sidecar is configured, or a claim of a verified end-user
// token; never a header), reserves prompt + max_tokens against the tenant's budgets (429 with
// retry-after when a budget is used up), and attaches model, tenant, token estimate and prefix
// key for the balancer and Rego (`input.weft.inference`). On the response it strips the
// backend's endpoint-load-metrics report into the balancer's load table before the app sees it,
// passes an event stream on event by event, settles the budget from the reported usage (asking
// for it when the client did not, and stripping that chunk), and releases the pick. A stream
// that fails after its first event ends with an error event (`data: {"error":...}`, as OpenAI's
// do) after the last whole event, instead of being cut.
import type { HttpFilter, HttpFilterFactory, FilterExchange, HeadersOutcome, FilterOutcome, BodyData, FilterBuildContext, LocalReplyOutcome } from '../http-filter.js';
import { errorCatalogue } from '../../errors.js';
import { CONTINUE, STREAM_BODY, TRANSFORM_BODY, bufferBody } from '../http-filter.js';
import { headerValue, removeHeader } from '../../http/headers.js';
import type { TokenBudget } from '../../../control-plane/api/resource-types.js';
import { inferenceRoutingOf, releasePick, type InferenceRouting } from './inference-routing.js';
import { LOAD_REPORT_HEADER, parseLoadReport } from './load-report-header.js';
import { OPENAI_ROUTES, OpenAiBodyError, estimatedPromptTokens, readOpenAiBody } from './openai-body.js';
import { prefixKey, type PrefixKeyParams } from './prefix-key.js';
import { SseUsageTap, usageOfJsonBody } from './sse-usage-tap.js';
import { tenantOf } from './tenancy.js';
import { TokenBudgetLedger, type Reservation } from './token-budgets.js';

export const inferenceConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024, default: 4 * 1024 * 1024 },
    /** Tenant from this claim of a verified end-user token; without it, the calling workload. */
    tenantClaim: { type: 'string', minLength: 1 },
    charsPerToken: { type: 'number', minimum: 1, maximum: 16, default: 4 },
    /** Output tokens reserved for a request that sets no max_tokens. */
    defaultMaxTokens: { type: 'integer', minimum: 1, default: 256 },
    prefix: {
      type: 'object',
      additionalProperties: false,
      properties: { blockChars: { type: 'integer', minimum: 16, default: 256 }, blocks: { type: 'integer', minimum: 1, maximum: 64, default: 4 } },
      default: {},
    },
    budgets: {
      type: 'array',
      maxItems: 8,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['windowMs', 'tokens'],
        properties: { windowMs: { type: 'integer', minimum: 1000 }, tokens: { type: 'integer', minimum: 1 }, endStreams: { type: 'boolean', default: false } },
      },
      default: [],
    },
  },
} as const;

/** A non-streamed answer is kept up to this for its usage; past it, it passes unread. */
const MAX_JSON_USAGE_BYTES = 1 << 20;

interface ResponseState {
  readonly routing: InferenceRouting;
  readonly reservation: Reservation | undefined;
  readonly tap: SseUsageTap | undefined;
  json: Buffer[] | undefined;
  jsonBytes: number;
}

interface RequestState {
  readonly operation: NonNullable<ReturnType<typeof OPENAI_ROUTES.get>>;
  reservation: Reservation | undefined;
  stripUsage: boolean;
  response: ResponseState | undefined;
}

function badRequest(detail: string): FilterOutcome {
  return { code: 'INFERENCE_BAD_REQUEST', detail: `invalid inference request: ${detail}` };
}

function createInferenceFilter(config: Readonly<Record<string, unknown>>, context: FilterBuildContext): HttpFilter {
  const maxBodyBytes = config.maxBodyBytes as number;
  const tenantClaim = config.tenantClaim as string | undefined;
  const charsPerToken = config.charsPerToken as number;
  const defaultMaxTokens = config.defaultMaxTokens as number;
  const prefixParams = config.prefix as PrefixKeyParams;
  const budgets = config.budgets as readonly TokenBudget[];
  const ledger = budgets.length === 0 ? undefined : new TokenBudgetLedger(budgets);
  const workloadIdentity = context.localPrincipal ?? `workload:${context.namespace}/${context.workload}`;
  const states = new WeakMap<FilterExchange, RequestState>();

  return {
    decodeHeaders(exchange): HeadersOutcome {
      const queryAt = exchange.path.indexOf('?');
      const operation = OPENAI_ROUTES.get(queryAt === -1 ? exchange.path : exchange.path.slice(0, queryAt));
      if (exchange.method !== 'POST' || operation === undefined) return CONTINUE;
      states.set(exchange, { operation, reservation: undefined, stripUsage: false, response: undefined });
      return bufferBody(maxBodyBytes);
    },

    decodeData(exchange, data: BodyData): FilterOutcome {
      const state = states.get(exchange);
      if (state === undefined) return CONTINUE;
      let body: Record<string, unknown>;
      let request;
      try {
        body = JSON.parse(data.bytes.toString('utf8')) as Record<string, unknown>;
        request = readOpenAiBody(state.operation, body);
      } catch (error) {
        if (error instanceof SyntaxError || error instanceof OpenAiBodyError) return badRequest(error.message);
        throw error;
      }
      const tenant = tenantOf(tenantClaim === undefined ? { source: 'spiffe' } : { source: 'jwtClaim', claim: tenantClaim }, workloadIdentity, exchange.endUser);
      if (tenant === undefined) return { code: 'INFERENCE_NO_TENANT' };
      const estimatedTokens = estimatedPromptTokens(request, charsPerToken) + (state.operation === 'embeddings' ? 0 : (request.maxTokens ?? defaultMaxTokens));
      if (ledger !== undefined) {
        const admission = ledger.reserve(tenant, estimatedTokens);
        if (!admission.admitted) {
          return { code: 'INFERENCE_BUDGET_EXHAUSTED', overrides: { headers: ['retry-after', String(Math.max(1, Math.ceil(admission.retryAfterMs / 1000)))] } };
        }
        state.reservation = admission.reservation;
        if (request.stream && !request.includeUsage) {
          // Ask for the usage chunk to settle by; the client, who did not, never sees it.
          body.stream_options = { ...(body.stream_options as object | undefined), include_usage: true };
          data.bytes = Buffer.from(JSON.stringify(body));
          state.stripUsage = true;
        }
      }
      const routing: InferenceRouting = {
        model: request.model,
        tenant,
        estimatedTokens,
        prefixKey: prefixKey(request.promptText, prefixParams, request.model, tenant),
        picked: undefined,
      };
      exchange.metadata = { ...exchange.metadata, inference: routing };
      return CONTINUE;
    },

    encodeHeaders(exchange): HeadersOutcome {
      const routing = inferenceRoutingOf(exchange.metadata);
      const headers = exchange.responseHeaders;
      if (headers !== undefined) {
        const report = parseLoadReport(headerValue(headers, LOAD_REPORT_HEADER));
        removeHeader(headers, LOAD_REPORT_HEADER);
        if (report !== undefined && routing?.picked !== undefined) routing.picked.table.report(routing.picked.ticket.id, report);
      }
      const state = states.get(exchange);
      if (routing === undefined || state === undefined) return CONTINUE;
      const eventStream = (headerValue(headers ?? [], 'content-type') ?? '').startsWith('text/event-stream');
      state.response = {
        routing,
        reservation: state.reservation,
        tap: eventStream ? new SseUsageTap(state.stripUsage) : undefined,
        json: eventStream ? undefined : [],
        jsonBytes: 0,
      };
      return eventStream ? TRANSFORM_BODY : STREAM_BODY;
    },

    encodeData(exchange, data: BodyData): FilterOutcome {
      const response = states.get(exchange)?.response;
      if (response === undefined) return CONTINUE;
      if (response.tap !== undefined) {
        const out = response.tap.push(data.bytes);
        data.bytes = data.end ? Buffer.concat([out, response.tap.end()]) : out;
      } else if (response.json !== undefined) {
        response.jsonBytes += data.bytes.length;
        if (response.jsonBytes <= MAX_JSON_USAGE_BYTES) response.json.push(data.bytes);
        else response.json = undefined;
      }
      if (!data.end) return CONTINUE;
      const usage = response.tap?.usage ?? (response.json === undefined ? undefined : usageOfJsonBody(Buffer.concat(response.json)));
      if (ledger !== undefined && response.reservation !== undefined && usage !== undefined) ledger.settle(response.reservation, usage.promptTokens + usage.completionTokens);
      return CONTINUE;
    },

    onLocalReply(exchange, outcome): LocalReplyOutcome | undefined {
      if (states.get(exchange)?.response?.tap === undefined) return undefined;
      const { message, httpStatus } = errorCatalogue[outcome.code];
      const error = { message: outcome.detail ?? message, type: outcome.code, param: null, code: httpStatus };
      return { ...outcome, streamEnd: Buffer.from(`data: ${JSON.stringify({ error })}\n\n`) };
    },

    onEnd(exchange) {
      // Answered, failed or cancelled by the caller: the endpoint stops counting it at once.
      const routing = inferenceRoutingOf(exchange.metadata);
      if (routing !== undefined) releasePick(routing);
    },
  };
}

export const inferenceFilter: HttpFilterFactory = {
  name: 'inference',
  configSchema: inferenceConfigSchema,
  terminal: false,
  create: createInferenceFilter,
};
