// The `inference-load-report` filter, in a model server's inbound chain: its sidecar scrapes
// the engine's /metrics over loopback (one scrape per server, whatever the number of callers)
// and counts the OpenAI requests it passes to the engine and the tokens they still cost (their
// bodies read as they stream past, their answers' events counted as they go back); the load they
// make now (backend-load.ts), with its age, goes on every response as an endpoint-load-metrics
// header, which the caller's sidecar strips into its load table. No reading yet: no header
// (callers then count the endpoint's load as unknown). A report the engine itself sent is
// replaced, never passed on. The same figures go to the control plane
// (proxy/xds/load-stream-client.ts), for callers that have not called this server yet.
// `charsPerToken` and `defaultMaxTokens` must be the callers' (the inference filter's): each
// caller subtracts its own requests, counted alike, from the total.
import { INFERENCE_DURATION_BOUNDS, type InferenceEngineName } from '../../../control-plane/api/resource-types.js';
import { headerValue, removeHeader } from '../../http/headers.js';
import type { BodyData, FilterExchange, HttpFilterFactory } from '../http-filter.js';
import { CONTINUE, STREAM_BODY } from '../http-filter.js';
import type { BackendRequest } from './backend-in-flight.js';
import { backendInFlightOf, exportEngineLoad, ownLoadOf } from './engine-load-gauges.js';
import { EngineLoadScraper } from '../../../control-plane/api/engine-load-scraper.js';
import { LOAD_REPORT_HEADER, formatLoadReport } from './load-report-header.js';
import { DEFAULT_CHARS_PER_TOKEN, DEFAULT_MAX_TOKENS, openAiOperationOf, outputTokenCap, readOpenAiBody, tokenEstimate, type OpenAiOperation } from './openai-body.js';
import { SseUsageTap } from './sse-usage-tap.js';

/** A request on its way to the engine: its body as read so far, then its place in the count. */
interface Passing {
  readonly operation: OpenAiOperation;
  chunks: Buffer[] | undefined;
  bytes: number;
  counted: BackendRequest | undefined;
  tap: SseUsageTap | undefined;
}

export const loadReportConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['metricsUrl'],
  properties: {
    /** The engine's metrics on loopback, e.g. http://127.0.0.1:8000/metrics. */
    metricsUrl: { type: 'string', pattern: '^http://(127\\.[0-9.]+|localhost|\\[::1\\])(:[0-9]+)?/' },
    engine: { enum: ['vllm', 'sglang', 'triton-trtllm'], default: 'vllm' },
    intervalMs: { type: 'integer', ...INFERENCE_DURATION_BOUNDS.scrapeIntervalMs, default: 50 },
    /** As the callers' inference filter estimates prompts and uncapped answers. */
    charsPerToken: { type: 'number', minimum: 1, maximum: 16, default: DEFAULT_CHARS_PER_TOKEN },
    defaultMaxTokens: { type: 'integer', minimum: 1, default: DEFAULT_MAX_TOKENS },
    /** A longer body is counted as a prompt of its length, unread. */
    maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024, default: 4 * 1024 * 1024 },
  },
} as const;

export const loadReportFilter: HttpFilterFactory = {
  name: 'inference-load-report',
  configSchema: loadReportConfigSchema,
  terminal: false,
  create: (config, context) => {
    const registry = context.metrics.registry;
    const inFlight = backendInFlightOf(registry);
    const scraper = new EngineLoadScraper({
      url: config.metricsUrl as string,
      engine: config.engine as InferenceEngineName,
      intervalMs: config.intervalMs as number,
      onError: (error) => context.logOut.write(`${JSON.stringify({ filter: 'inference-load-report', error: error.message })}\n`),
      // What the engine holds beyond the sidecar's count shows as a reading less the count then.
      sample: () => inFlight.count(),
    });
    scraper.start();
    exportEngineLoad(registry, scraper);
    const charsPerToken = config.charsPerToken as number;
    const defaultMaxTokens = config.defaultMaxTokens as number;
    const maxBodyBytes = config.maxBodyBytes as number;
    const passing = new WeakMap<FilterExchange, Passing>();

    /** The body is all read: the request takes its place in the count, as its caller counted it. */
    const count = (state: Passing): void => {
      let estimate = { promptTokens: Math.ceil(state.bytes / charsPerToken), outputTokens: outputTokenCap(state.operation, undefined, defaultMaxTokens) };
      if (state.chunks !== undefined) {
        try {
          estimate = tokenEstimate(readOpenAiBody(state.operation, JSON.parse(Buffer.concat(state.chunks).toString('utf8'))), charsPerToken, defaultMaxTokens);
        } catch {
          // The engine answers 400 at once; until then it counts as an uncapped request of its length.
        }
      }
      state.chunks = undefined;
      state.counted = inFlight.start(estimate.promptTokens, estimate.outputTokens);
    };

    return {
      decodeHeaders(exchange) {
        const operation = openAiOperationOf(exchange.method, exchange.path);
        if (operation === undefined) return CONTINUE;
        passing.set(exchange, { operation, chunks: [], bytes: 0, counted: undefined, tap: undefined });
        return STREAM_BODY;
      },

      decodeData(exchange, data: BodyData) {
        const state = passing.get(exchange);
        if (state === undefined || state.counted !== undefined) return CONTINUE;
        state.bytes += data.bytes.length;
        if (state.bytes > maxBodyBytes) state.chunks = undefined;
        else state.chunks?.push(data.bytes);
        if (data.end) count(state);
        return CONTINUE;
      },

      encodeHeaders(exchange) {
        const headers = exchange.responseHeaders;
        if (headers === undefined) return CONTINUE;
        removeHeader(headers, LOAD_REPORT_HEADER);
        const state = passing.get(exchange);
        const own = ownLoadOf(registry, state?.counted);
        if (own !== undefined) headers.push(LOAD_REPORT_HEADER, formatLoadReport(own.load, performance.now() - own.at));
        if (state?.counted === undefined || !(headerValue(headers, 'content-type') ?? '').startsWith('text/event-stream')) return CONTINUE;
        // Each event with choices is a token generated: what the request still costs goes down as they pass.
        state.tap = new SseUsageTap(false);
        return STREAM_BODY;
      },

      encodeData(exchange, data: BodyData) {
        const state = passing.get(exchange);
        if (state?.tap === undefined || state.counted === undefined) return CONTINUE;
        state.tap.push(data.bytes);
        inFlight.generated(state.counted, state.tap.outputEvents);
        return CONTINUE;
      },

      onEnd(exchange) {
        const counted = passing.get(exchange)?.counted;
        if (counted !== undefined) inFlight.finish(counted);
      },
    };
  },
};
