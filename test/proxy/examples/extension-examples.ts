// The proxy README's extension-point examples, run by extension-examples.test.ts: a filter that
// reads and rewrites a JSON request body, and a balancer that picks by what the filter found.
import { bufferBody, CONTINUE, type HttpFilterFactory } from '../../../proxy/filters/http-filter.js';
import type { LoadBalancerFactory } from '../../../proxy/upstream/load-balancers.js';

/** Resolves `model` aliases in a JSON body and attaches the model for the balancer. */
export const modelAliasFilter: HttpFilterFactory = {
  name: 'model-alias',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { aliases: { type: 'object', additionalProperties: { type: 'string' }, default: {} } },
  },
  terminal: false,
  create: (config) => {
    const aliases = config.aliases as Record<string, string>;
    return {
      // Hold the request until decodeData saw the whole body (413 past 64 KiB).
      decodeHeaders: (exchange) => (exchange.method === 'POST' ? bufferBody(64 * 1024) : CONTINUE),
      decodeData: (exchange, data) => {
        let body: { model?: unknown };
        try {
          body = JSON.parse(data.bytes.toString('utf8')) as { model?: unknown };
        } catch {
          return { code: 'DOWNSTREAM_PROTOCOL_ERROR', detail: 'body is not JSON' };
        }
        if (typeof body.model !== 'string') return CONTINUE;
        const model = aliases[body.model] ?? body.model;
        // The upstream gets the body the balancer chose by; the runner sets content-length.
        data.bytes = Buffer.from(JSON.stringify({ ...body, model }));
        exchange.metadata = { ...exchange.metadata, model };
        return CONTINUE;
      },
    };
  },
};

/** The least busy endpoint serving the request's model; none: 503 NO_HEALTHY_UPSTREAM. */
export const modelAwareBalancer: LoadBalancerFactory = {
  name: 'model-aware',
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  create: () => ({
    pick: (healthy, request) => {
      const model = request.metadata?.model;
      let best: (typeof healthy)[number] | undefined;
      for (const endpoint of healthy) {
        if (model !== undefined && endpoint.metadata.models?.includes(model as string) !== true) continue;
        if (best === undefined || endpoint.active < best.active) best = endpoint;
      }
      return best;
    },
  }),
};
