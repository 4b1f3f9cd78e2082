// The `inference` filter, in the caller's outbound chain in front of the `inference` balancer.
// On the OpenAI routes it reads the body (bounded), takes the tenant from verified identity
// only (the calling workload as this sidecar is configured, or a claim of a verified end-user
// token; never a header), reserves prompt + max_tokens against the tenant's budgets (429 with
// retry-after when a budget is used up), and attaches model, tenant, token estimate and prefix
// key for the balancer and Rego (`input.weft.inference`). While the pool is saturated the request
// waits in the balancer's queue by the priority of its InferenceObjective (matched on model and
// verified tenant; within one priority, earliest TTFT deadline first), and a sheddable or losing
// one is refused 429; whether it met its TTFT objective is counted. On the response it strips the
// backend's endpoint-load-metrics report into the balancer's load table before the app sees it,
// passes an event stream on event by event, settles the budget from the reported usage (asking
// for it when the client did not, and stripping that chunk), and releases the pick. A stream
// that fails after its first event ends with an error event (`data: {"error":...}`, as OpenAI's
// do) after the last whole event, instead of being cut; so does a stream whose tenant's budget
// with `endStreams` is overspent (checked before each chunk, spending counted as it streams). `GET /v1/models` on an inference host
// answers the union of what the pool's endpoints serve (models-list.ts).
import type { HttpFilter, HttpFilterFactory, FilterExchange, HeadersOutcome, FilterOutcome, BodyData, FilterBuildContext, LocalReplyOutcome } from '../http-filter.js';
import { createHash } from 'node:crypto';
import { errorCatalogue } from '../../errors.js';
import type { Cluster } from '../../upstream/cluster.js';
import { CONTINUE, STREAM_BODY, TRANSFORM_BODY, bufferBody } from '../http-filter.js';
import { headerValue, removeHeader } from '../../http/headers.js';
import { INFERENCE_DURATION_BOUNDS, type TokenBudget } from '../../../control-plane/api/resource-types.js';
import { inferenceRoutingOf, releasePick, type InferenceRouting } from './inference-routing.js';
import { LOAD_REPORT_HEADER, parseLoadReport } from './load-report-header.js';
import { DEFAULT_CHARS_PER_TOKEN, DEFAULT_MAX_TOKENS, OPENAI_ROUTES, OpenAiBodyError, openAiOperationOf, readOpenAiBody, routePath, tokenEstimate } from './openai-body.js';
import { MODELS_PATH, aggregateModels } from './models-list.js';
import { prefixKey, type PrefixKeyParams } from './prefix-key.js';
import { StreamPace } from './stream-pace.js';
import { SseUsageTap, usageOfJsonBody } from './sse-usage-tap.js';
import { InferenceBalancer } from './inference-balancer.js';
import { inferenceMetricsOf, type InferenceMetrics } from './inference-metrics.js';
import type { QueuedAdmission } from './priority-queue.js';
import { governingObjective, matchingObjectives, tenantOf, type NamedObjective, type ObjectiveMatch } from './tenancy.js';
import { HeldBudgets, TokenBudgetLedger } from './token-budgets.js';

const BUDGETS_SCHEMA = {
  type: 'array',
  maxItems: 8,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['windowMs', 'tokens'],
    properties: { windowMs: { type: 'integer', ...INFERENCE_DURATION_BOUNDS.budgetWindowMs }, tokens: { type: 'integer', minimum: 1 }, endStreams: { type: 'boolean', default: false } },
  },
  default: [],
} as const;

export const inferenceConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024, default: 4 * 1024 * 1024 },
    /** Tenant from this claim of a verified end-user token; without it, the calling workload. */
    tenantClaim: { type: 'string', minLength: 1 },
    charsPerToken: { type: 'number', minimum: 1, maximum: 16, default: DEFAULT_CHARS_PER_TOKEN },
    /** Output tokens reserved for a request that sets no max_tokens. */
    defaultMaxTokens: { type: 'integer', minimum: 1, default: DEFAULT_MAX_TOKENS },
    /** `tenant`: vLLM's cache_salt set from the tenant (the client's overwritten), so prefix caches are shared only within one. */
    kvIsolation: { enum: ['none', 'tenant'], default: 'none' },
    prefix: {
      type: 'object',
      additionalProperties: false,
      properties: { blockChars: { type: 'integer', minimum: 16, default: 256 }, blocks: { type: 'integer', minimum: 1, maximum: 64, default: 4 } },
      default: {},
    },
    /** Per tenant, on every request; an objective's own budgets apply to the requests it matches. */
    budgets: BUDGETS_SCHEMA,
    /** Priorities and TTFT objectives (InferenceObjective's): the most specific matching model and tenant wins; none, priority 0. */
    objectives: {
      type: 'array',
      maxItems: 256,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'priority'],
        properties: {
          name: { type: 'string', minLength: 1 },
          /** The pool (its cluster's name) whose requests it governs; absent: every pool's. */
          pool: { type: 'string', minLength: 1 },
          models: { type: 'array', items: { type: 'string', minLength: 1 } },
          tenants: { type: 'array', items: { type: 'string', minLength: 1 } },
          /** Higher first; below zero sheddable. */
          priority: { type: 'integer', minimum: -1000, maximum: 1000 },
          /** The time to first token aimed for, from when this sidecar read the request (queueing included). */
          ttftObjectiveMs: { type: 'integer', ...INFERENCE_DURATION_BOUNDS.ttftObjectiveMs },
          /** Per tenant, counting only the requests this objective matches (its models and tenants). */
          budgets: BUDGETS_SCHEMA,
        },
      },
      default: [],
    },
  },
} as const;

/** An endpoint's own `GET /v1/models` answer, held to merge the others' into. */
const MAX_MODELS_ANSWER_BYTES = 1 << 20;
/** How long `GET /v1/models` waits for each other endpoint's list. */
const MODELS_TIMEOUT_MS = 2000;

/** A non-streamed answer is kept up to this for its usage; past it, it passes unread. */
const MAX_JSON_USAGE_BYTES = 1 << 20;

interface ResponseState {
  readonly routing: InferenceRouting;
  readonly tap: SseUsageTap | undefined;
  json: Buffer[] | undefined;
  jsonBytes: number;
  /** Whether any bytes of the answer went on yet (its time to first token is then recorded). */
  started: boolean;
  /** A stream's tokens as they went on. */
  readonly pace: StreamPace | undefined;
}

interface RequestState {
  readonly operation: NonNullable<ReturnType<typeof OPENAI_ROUTES.get>>;
  /** The inference pool its host routes to (undefined: another balancer, no queue). */
  readonly pool: Pool | undefined;
  /** Its budgets, reserved at admission, extended as a stream spends past them; undefined once settled or refunded. */
  reservation: HeldBudgets | undefined;
  /** The objectives matching it (its budgets); the most specific governs its priority and TTFT objective. */
  matches: readonly ObjectiveMatch<ConfiguredObjective>[];
  /** The prompt's token estimate: what a stream has spent before its first event. */
  promptTokens: number;
  stripUsage: boolean;
  /** Its place in the balancer's queue while the pool is saturated. */
  queued: QueuedAdmission | undefined;
  /** When its body was read (performance.now()): its TTFT objective counts from here. */
  arrivedAt: number;
  /** The objective governing it, when that sets a TTFT objective. */
  ttftObjective: { readonly name: string; readonly ms: number } | undefined;
  /** When it was admitted to the pool (performance.now()). */
  admittedAt: number;
  response: ResponseState | undefined;
}

interface ObjectiveConfig {
  readonly name: string;
  readonly pool?: string;
  readonly models?: readonly string[];
  readonly tenants?: readonly string[];
  readonly priority: number;
  readonly ttftObjectiveMs?: number;
  readonly budgets: readonly TokenBudget[];
}

/** An objective as the filter holds it: its spec and the ledger of its own budgets. */
interface ConfiguredObjective extends NamedObjective {
  readonly pool: string | undefined;
  readonly ledger: TokenBudgetLedger | undefined;
}

function badRequest(detail: string): FilterOutcome {
  return { code: 'INFERENCE_BAD_REQUEST', detail: `invalid inference request: ${detail}` };
}

/** A pool the filter works with: its cluster's name and healthy endpoints, and its balancer. */
interface Pool {
  readonly cluster: Cluster;
  readonly balancer: InferenceBalancer;
}

/** vLLM's `cache_salt` for a tenant: its prefix-cache entries are shared with no other tenant (the tenant's name not revealed). */
const cacheSaltOf = (tenant: string): string => createHash('sha256').update(tenant).digest('base64url');

function createInferenceFilter(config: Readonly<Record<string, unknown>>, context: FilterBuildContext): HttpFilter {
  const maxBodyBytes = config.maxBodyBytes as number;
  const tenantClaim = config.tenantClaim as string | undefined;
  const charsPerToken = config.charsPerToken as number;
  const defaultMaxTokens = config.defaultMaxTokens as number;
  const prefixParams = config.prefix as PrefixKeyParams;
  const kvIsolation = config.kvIsolation as 'none' | 'tenant';
  const budgets = config.budgets as readonly TokenBudget[];
  const ledger = budgets.length === 0 ? undefined : new TokenBudgetLedger(budgets);
  const workloadIdentity = context.localPrincipal ?? `workload:${context.namespace}/${context.workload}`;
  const tenantFrom = tenantClaim === undefined ? ({ source: 'spiffe' } as const) : ({ source: 'jwtClaim', claim: tenantClaim } as const);
  const objectives: ConfiguredObjective[] = (config.objectives as readonly ObjectiveConfig[]).map(({ name, pool, models, tenants, priority, ttftObjectiveMs, budgets: own }) => ({
    name,
    pool,
    spec: { poolRef: '', models, tenants, tenantFrom, priority, ttftObjectiveMs },
    ledger: own.length === 0 ? undefined : new TokenBudgetLedger(own),
  }));
  /** Per cluster, the objectives of its pool (or of none), sifted once. */
  const byCluster = new Map<string | undefined, readonly ConfiguredObjective[]>();
  const objectivesOf = (cluster: string | undefined): readonly ConfiguredObjective[] => {
    let governing = byCluster.get(cluster);
    if (governing === undefined) {
      governing = objectives.filter((o) => o.pool === undefined || o.pool === cluster);
      byCluster.set(cluster, governing);
    }
    return governing;
  };
  const metrics = inferenceMetricsOf(context.metrics.registry);
  const states = new WeakMap<FilterExchange, RequestState>();
  /** `GET /v1/models` requests to an inference host, with their pool. */
  const modelLists = new WeakMap<FilterExchange, Pool>();
  const watched = new WeakSet<InferenceBalancer>();

  /** The inference pool a request's host routes to, its balancer wired to the metrics on first sight. */
  const poolOf = (exchange: FilterExchange): Pool | undefined => {
    const cluster = (context.routesByHost.get(exchange.authority) ?? context.defaultRoute)?.cluster;
    const balancer = cluster?.balancer;
    if (cluster === undefined || !(balancer instanceof InferenceBalancer)) return undefined;
    if (!watched.has(balancer)) {
      watched.add(balancer);
      balancer.members = () => cluster.healthy;
      balancer.onPick = (endpoint, by) => metrics.picks.labels(cluster.name, endpoint, by).inc();
      metrics.watchPool(cluster.name, () => balancer.candidates());
    }
    return { cluster, balancer };
  };

  /** The request leaves without its tokens used: its reservation is returned. */
  const refund = (state: RequestState): void => {
    state.reservation?.settle(0);
    state.reservation = undefined;
  };

  const shed = (state: RequestState): FilterOutcome => {
    refund(state);
    if (state.pool !== undefined) metrics.refused.labels(state.pool.cluster.name, 'shed').inc();
    if (state.pool !== undefined && state.ttftObjective !== undefined) metrics.ttftObjective.labels(state.pool.cluster.name, state.ttftObjective.name, 'shed').inc();
    return { code: 'INFERENCE_SHED', overrides: { headers: ['retry-after', '1'] } };
  };

  const admitted = (state: RequestState): FilterOutcome => {
    state.admittedAt = performance.now();
    return CONTINUE;
  };

  /** Admitted now, shed now, or once the pool has room (or the wait is over). */
  const admission = (state: RequestState): FilterOutcome | Promise<FilterOutcome> => {
    const pool = state.pool;
    if (pool === undefined) return admitted(state);
    const objective = governingObjective(state.matches)?.objective;
    const ttftObjectiveMs = objective?.spec.ttftObjectiveMs;
    if (ttftObjectiveMs !== undefined) state.ttftObjective = { name: objective!.name, ms: ttftObjectiveMs };
    const outcome = pool.balancer.admit(objective?.spec.priority ?? 0, ttftObjectiveMs === undefined ? undefined : state.arrivedAt + ttftObjectiveMs);
    if (outcome === 'admitted') return admitted(state);
    if (outcome === 'shed') return shed(state);
    state.queued = outcome;
    const queued = metrics.queued.labels(pool.cluster.name);
    queued.inc();
    return outcome.admission.then((result) => {
      queued.dec();
      state.queued = undefined;
      return result === 'admitted' ? admitted(state) : shed(state);
    });
  };

  /**
   * The tenant's budget that ends streams is overspent: the stream ends after the events already
   * passed on, with an error event (onLocalReply), the upstream request is cancelled, and what it
   * spent (the prompt estimate and one token per event with output passed on) is settled and counted.
   */
  const endOverBudget = (state: RequestState, response: ResponseState, tap: SseUsageTap): FilterOutcome => {
    const completionTokens = tap.outputEvents;
    state.reservation!.settle(state.promptTokens + completionTokens);
    state.reservation = undefined;
    metrics.tokens.labels(response.routing.tenant, 'prompt').inc(state.promptTokens);
    metrics.tokens.labels(response.routing.tenant, 'completion').inc(completionTokens);
    if (state.pool !== undefined) metrics.refused.labels(state.pool.cluster.name, 'budget-ended').inc();
    return { code: 'INFERENCE_BUDGET_EXHAUSTED', detail: "the tenant's token budget is used up: stream ended" };
  };

  return {
    decodeHeaders(exchange): HeadersOutcome {
      if (exchange.method === 'GET' && routePath(exchange.path) === MODELS_PATH) {
        const pool = poolOf(exchange);
        if (pool !== undefined) modelLists.set(exchange, pool);
        return CONTINUE;
      }
      const operation = openAiOperationOf(exchange.method, exchange.path);
      if (operation === undefined) return CONTINUE;
      states.set(exchange, { operation, pool: poolOf(exchange), reservation: undefined, matches: NO_MATCHES, promptTokens: 0, stripUsage: false, queued: undefined, arrivedAt: 0, ttftObjective: undefined, admittedAt: 0, response: undefined });
      return bufferBody(maxBodyBytes);
    },

    decodeData(exchange, data: BodyData): FilterOutcome | Promise<FilterOutcome> {
      const state = states.get(exchange);
      if (state === undefined) return CONTINUE;
      state.arrivedAt = performance.now();
      let body: Record<string, unknown>;
      let request;
      try {
        body = JSON.parse(data.bytes.toString('utf8')) as Record<string, unknown>;
        request = readOpenAiBody(state.operation, body);
      } catch (error) {
        if (error instanceof SyntaxError || error instanceof OpenAiBodyError) return badRequest(error.message);
        throw error;
      }
      const tenant = tenantOf(tenantFrom, workloadIdentity, exchange.endUser);
      if (tenant === undefined) return { code: 'INFERENCE_NO_TENANT' };
      const { promptTokens, outputTokens } = tokenEstimate(request, charsPerToken, defaultMaxTokens);
      state.promptTokens = promptTokens;
      const estimatedTokens = promptTokens + outputTokens;
      if (objectives.length > 0) state.matches = matchingObjectives(objectivesOf(state.pool?.cluster.name), request.model, workloadIdentity, exchange.endUser);
      const ledgers = budgetLedgers(ledger, state.matches);
      if (ledgers.length > 0) {
        const reserved = HeldBudgets.reserve(ledgers, tenant, estimatedTokens);
        if (!reserved.admitted) {
          if (state.pool !== undefined) metrics.refused.labels(state.pool.cluster.name, 'budget').inc();
          return { code: 'INFERENCE_BUDGET_EXHAUSTED', overrides: { headers: ['retry-after', String(Math.max(1, Math.ceil(reserved.retryAfterMs / 1000)))] } };
        }
        state.reservation = reserved.held;
      }
      let rewritten = false;
      // The Responses API always ends a stream with its usage (response.completed): nothing to ask.
      if (request.stream && !request.includeUsage && state.operation !== 'responses') {
        // Ask for the usage chunk to settle and count by; the client, who did not, never sees it.
        // vLLM's continuous_usage_stats takes effect only with include_usage: a client's one is
        // turned off, so its chunks stay as they would have been (no usage in each). Not added
        // otherwise: a server that does not know the field may refuse it.
        const asked = body.stream_options as Record<string, unknown> | undefined;
        body.stream_options = { ...asked, include_usage: true, ...(asked?.continuous_usage_stats === undefined ? {} : { continuous_usage_stats: false }) };
        state.stripUsage = true;
        rewritten = true;
      }
      // The salt the engine keys its prefix cache by is the one the prefix key takes: the tenant's
      // under KV isolation, else the client's own, else none, so callers of different tenants
      // that share an engine's cache also agree where a prefix lives.
      let salt = request.cacheSalt ?? '';
      if (kvIsolation === 'tenant' && state.operation !== 'embeddings') {
        // The tenant's salt, whatever the client set: its prefix cache is its own.
        salt = cacheSaltOf(tenant);
        body.cache_salt = salt;
        rewritten = true;
      }
      if (rewritten) data.bytes = Buffer.from(JSON.stringify(body));
      const routing: InferenceRouting = {
        model: request.model,
        tenant,
        estimatedTokens,
        promptTokens: state.promptTokens,
        outputTokens,
        prefixKey: prefixKey(request.promptText, prefixParams, request.model, salt),
        picked: undefined,
      };
      exchange.metadata = { ...exchange.metadata, inference: routing };
      return admission(state);
    },

    encodeHeaders(exchange): HeadersOutcome {
      const routing = inferenceRoutingOf(exchange.metadata);
      const headers = exchange.responseHeaders;
      if (headers !== undefined) {
        const report = parseLoadReport(headerValue(headers, LOAD_REPORT_HEADER));
        removeHeader(headers, LOAD_REPORT_HEADER);
        // Dated by the engine reading it carries, so the table knows which requests it counted.
        if (report !== undefined && routing?.picked !== undefined) routing.picked.table.report(routing.picked.ticket.id, report.load, performance.now() - report.ageMs, routing.picked.ticket);
      }
      if (modelLists.has(exchange) && exchange.responseStatus === 200) return bufferBody(MAX_MODELS_ANSWER_BYTES);
      const state = states.get(exchange);
      if (routing === undefined || state === undefined) return CONTINUE;
      const eventStream = (headerValue(headers ?? [], 'content-type') ?? '').startsWith('text/event-stream');
      state.response = {
        routing,
        tap: eventStream ? new SseUsageTap(state.stripUsage) : undefined,
        json: eventStream ? undefined : [],
        jsonBytes: 0,
        started: false,
        pace: eventStream ? new StreamPace() : undefined,
      };
      return eventStream ? TRANSFORM_BODY : STREAM_BODY;
    },

    encodeData(exchange, data: BodyData): FilterOutcome | Promise<FilterOutcome> {
      const models = modelLists.get(exchange);
      if (models !== undefined) return aggregatedModels(exchange, data, models);
      const state = states.get(exchange);
      const response = state?.response;
      if (response === undefined) return CONTINUE;
      if (response.tap !== undefined) {
        if (state!.reservation?.exhaustedForStreams() === true) return endOverBudget(state!, response, response.tap);
        const out = response.tap.push(data.bytes);
        data.bytes = data.end ? Buffer.concat([out, response.tap.end()]) : out;
        state!.reservation?.extend(state!.promptTokens + response.tap.outputEvents);
        if (response.routing.picked !== undefined) response.routing.picked.table.generated(response.routing.picked.ticket, response.tap.outputEvents);
      } else if (response.json !== undefined) {
        response.jsonBytes += data.bytes.length;
        if (response.jsonBytes <= MAX_JSON_USAGE_BYTES) response.json.push(data.bytes);
        else response.json = undefined;
      }
      if (data.bytes.length > 0 && state!.pool !== undefined) observeLatency(metrics, state!.pool.cluster.name, state!, response);
      if (!data.end) return CONTINUE;
      const picked = response.routing.picked;
      // The endpoint's pace, for the picker: how fast it turns a slot over.
      if (picked !== undefined && response.pace !== undefined) picked.table.observeStream(picked.ticket.id, response.pace.span.ms, response.pace.span.tokens);
      const usage = response.tap?.usage ?? (response.json === undefined ? undefined : usageOfJsonBody(Buffer.concat(response.json)));
      if (usage === undefined) return CONTINUE;
      state!.reservation?.settle(usage.promptTokens + usage.completionTokens);
      state!.reservation = undefined;
      metrics.tokens.labels(response.routing.tenant, 'prompt').inc(usage.promptTokens);
      metrics.tokens.labels(response.routing.tenant, 'completion').inc(usage.completionTokens);
      return CONTINUE;
    },

    onLocalReply(exchange, outcome): LocalReplyOutcome | undefined {
      if (states.get(exchange)?.response?.tap === undefined) return undefined;
      const { message, httpStatus } = errorCatalogue[outcome.code];
      const error = { message: outcome.detail ?? message, type: outcome.code, param: null, code: httpStatus };
      return { ...outcome, streamEnd: Buffer.from(`data: ${JSON.stringify({ error })}\n\n`) };
    },

    onEnd(exchange) {
      const state = states.get(exchange);
      if (state?.queued !== undefined) {
        // The caller went away while waiting for the pool.
        state.queued.cancel();
        refund(state);
      }
      // Answered, failed or cancelled by the caller: the endpoint stops counting it at once.
      const routing = inferenceRoutingOf(exchange.metadata);
      if (routing !== undefined) releasePick(routing);
    },
  };
}

const NO_LEDGERS: readonly TokenBudgetLedger[] = [];
const NO_MATCHES: readonly ObjectiveMatch<ConfiguredObjective>[] = [];

/** The ledgers whose budgets a request spends: the filter's own and those of the objectives matching it. */
function budgetLedgers(own: TokenBudgetLedger | undefined, matches: readonly ObjectiveMatch<ConfiguredObjective>[]): readonly TokenBudgetLedger[] {
  if (matches.length === 0) return own === undefined ? NO_LEDGERS : [own];
  const ledgers = own === undefined ? [] : [own];
  for (const { objective } of matches) if (objective.ledger !== undefined) ledgers.push(objective.ledger);
  return ledgers;
}

/** The answer of one endpoint to `GET /v1/models` becomes the union of every endpoint's. */
async function aggregatedModels(exchange: FilterExchange, data: BodyData, pool: Pool): Promise<FilterOutcome> {
  let first: unknown;
  try {
    first = JSON.parse(data.bytes.toString('utf8'));
  } catch {
    first = undefined;
  }
  const sources = pool.cluster.healthy.map((endpoint) => ({ dispatcher: endpoint.pool, models: endpoint.metadata.models ?? [] }));
  data.bytes = Buffer.from(JSON.stringify(await aggregateModels(first, sources, exchange.authority, MODELS_TIMEOUT_MS)));
  return CONTINUE;
}

/** Time to the answer's first bytes (and whether that met the TTFT objective), then between the tokens of a stream. */
function observeLatency(metrics: InferenceMetrics, cluster: string, state: RequestState, response: ResponseState): void {
  const now = performance.now();
  if (!response.started) {
    response.started = true;
    metrics.timeToFirstToken.labels(cluster).observe((now - state.admittedAt) / 1000);
    const objective = state.ttftObjective;
    if (objective !== undefined) metrics.ttftObjective.labels(cluster, objective.name, now - state.arrivedAt <= objective.ms ? 'met' : 'missed').inc();
  }
  if (response.pace === undefined || response.tap === undefined) return;
  const tokens = response.pace.passed(now, response.tap.outputEvents);
  if (tokens === 0) return;
  const histogram = metrics.interTokenLatency.labels(cluster);
  for (let token = 0; token < tokens; token += 1) histogram.observe(response.pace.gapMs / 1000);
}

export const inferenceFilter: HttpFilterFactory = {
  name: 'inference',
  configSchema: inferenceConfigSchema,
  terminal: false,
  create: createInferenceFilter,
};
