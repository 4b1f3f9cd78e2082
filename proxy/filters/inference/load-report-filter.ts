// The `inference-load-report` filter, in a model server's inbound chain: its sidecar scrapes
// the engine's /metrics over loopback (one scrape per server, whatever the number of callers)
// and adds the reading, with its age, to every response as an endpoint-load-metrics header,
// which the caller's sidecar strips into its load table. No reading yet: no header (callers then count the
// endpoint's load as unknown). A report the engine itself sent is replaced, never passed on. The
// same reading goes to the control plane (proxy/xds/load-stream-client.ts), for callers that
// have not called this server yet.
import type { InferenceEngineName } from '../../../control-plane/api/resource-types.js';
import { loadFiguresOf } from '../../../control-plane/api/load-reporting-contract.js';
import { removeHeader } from '../../http/headers.js';
import type { HttpFilterFactory } from '../http-filter.js';
import { CONTINUE } from '../http-filter.js';
import { exportEngineLoad } from './engine-load-gauges.js';
import { EngineLoadScraper } from '../../../control-plane/api/engine-load-scraper.js';
import { LOAD_REPORT_HEADER, formatLoadReport } from './load-report-header.js';

export const loadReportConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['metricsUrl'],
  properties: {
    /** The engine's metrics on loopback, e.g. http://127.0.0.1:8000/metrics. */
    metricsUrl: { type: 'string', pattern: '^http://(127\\.[0-9.]+|localhost|\\[::1\\])(:[0-9]+)?/' },
    engine: { enum: ['vllm', 'sglang', 'triton-trtllm'], default: 'vllm' },
    intervalMs: { type: 'integer', minimum: 10, maximum: 60_000, default: 50 },
  },
} as const;

export const loadReportFilter: HttpFilterFactory = {
  name: 'inference-load-report',
  configSchema: loadReportConfigSchema,
  terminal: false,
  create: (config, context) => {
    const scraper = new EngineLoadScraper({
      url: config.metricsUrl as string,
      engine: config.engine as InferenceEngineName,
      intervalMs: config.intervalMs as number,
      onError: (error) => context.logOut.write(`${JSON.stringify({ filter: 'inference-load-report', error: error.message })}\n`),
    });
    scraper.start();
    exportEngineLoad(context.metrics.registry, scraper);
    return {
      encodeHeaders(exchange) {
        const headers = exchange.responseHeaders;
        if (headers === undefined) return CONTINUE;
        removeHeader(headers, LOAD_REPORT_HEADER);
        const reading = scraper.latest;
        if (reading !== undefined) {
          headers.push(LOAD_REPORT_HEADER, formatLoadReport(loadFiguresOf(reading.load), performance.now() - reading.at));
        }
        return CONTINUE;
      },
    };
  },
};
