// The filter chain's one interface, with filters registered by the test: continue, edit headers,
// stop with a local reply, wait on a promise, fail closed, see the response; and a snapshot
// replaced at run time taking effect on the next request.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../proxy/config/load-config.js';
import { CONTINUE, type FilterExchange, type HttpFilterFactory } from '../../proxy/filters/http-filter.js';
import { registerFilter } from '../../proxy/filters/registry.js';
import { setHeader } from '../../proxy/http/headers.js';
import { buildDataPath } from '../../proxy/runtime/snapshot.js';
import { AccessLog } from '../../proxy/telemetry/access-log.js';
import { LogLines } from '../../proxy/telemetry/log-lines.js';
import { plaintext } from '../../proxy/transport-security.js';
import { request } from '../helpers/http-client.js';
import { startSidecar, testConfig, type InProcessSidecar } from '../helpers/sidecar.js';
import { echoServer, headerValues, type EchoReply, type TestServer } from '../helpers/upstream.js';

const tagFilter: HttpFilterFactory = {
  name: 'test-tag',
  configSchema: { type: 'object', additionalProperties: false, required: ['value'], properties: { value: { type: 'string' } } },
  terminal: false,
  create: (config) => ({
    decodeHeaders(exchange: FilterExchange) {
      setHeader(exchange.requestHeaders, 'x-tag', String(config.value));
      return CONTINUE;
    },
    encodeHeaders(exchange: FilterExchange) {
      exchange.responseHeaders!.push('x-tagged-response', String(exchange.responseStatus));
      return CONTINUE;
    },
  }),
};

const gateFilter: HttpFilterFactory = {
  name: 'test-gate',
  configSchema: { type: 'object' },
  terminal: false,
  create: () => ({
    decodeHeaders(exchange: FilterExchange) {
      if (exchange.path.startsWith('/deny')) return { code: 'NO_ROUTE', detail: 'denied by test-gate' };
      if (exchange.path.startsWith('/later')) return new Promise((resolve) => setTimeout(() => resolve(CONTINUE), 20));
      if (exchange.path.startsWith('/broken')) return Promise.reject(new Error('filter bug'));
      if (exchange.path.startsWith('/throws')) throw new Error('secret internals');
      return CONTINUE;
    },
  }),
};

describe('filter chain', () => {
  let app: TestServer;
  let proxy: InProcessSidecar;

  beforeAll(async () => {
    registerFilter(tagFilter);
    registerFilter(gateFilter);
    app = await echoServer();
    proxy = await startSidecar({
      inbound: {
        address: '127.0.0.1',
        port: 0,
        appPort: app.port,
        filters: [{ name: 'test-gate' }, { name: 'test-tag', config: { value: 'seen' } }, { name: 'router' }],
      },
    });
  });

  afterAll(async () => {
    await proxy.stop();
    await app.close();
  });

  it('runs filters in order: they may edit request headers and see the response', async () => {
    const reply = await request(proxy.inboundPort, { path: '/ok', headers: { 'x-tag': 'forged' } });
    expect(reply.status).toBe(200);
    expect(headerValues(JSON.parse(reply.body) as EchoReply, 'x-tag')).toEqual(['seen']);
    expect(reply.headers['x-tagged-response']).toBe('200');
  });

  it('stops the chain with a local reply', async () => {
    const reply = await request(proxy.inboundPort, { path: '/deny' });
    expect(reply.status).toBe(404);
    expect(reply.body).toBe('NO_ROUTE: denied by test-gate\n');
  });

  it('waits for a filter that returns a promise', async () => {
    const reply = await request(proxy.inboundPort, { path: '/later' });
    expect(reply.status).toBe(200);
  });

  it('fails closed when a filter rejects or throws, without showing its error', async () => {
    for (const path of ['/broken', '/throws']) {
      const reply = await request(proxy.inboundPort, { path });
      expect(reply.status).toBe(500);
      expect(reply.headers['x-weft-error']).toBe('FILTER_FAILURE');
      expect(reply.body).not.toContain('secret');
    }
    expect((await request(proxy.inboundPort, { path: '/ok' })).status).toBe(200);
  });

  it("validates each filter's config with the filter's own schema", () => {
    expect(() =>
      validateConfig(testConfig({ inbound: { port: 0, appPort: 1, filters: [{ name: 'test-tag', config: { value: 3 } }, { name: 'router' }] } })),
    ).toThrow(/inbound\.filters\[0\]\.config\.value: expected string/);
  });

  it('routes the next request by a snapshot that replaced the running one', async () => {
    const other = await echoServer();
    const local = await startSidecar({ outbound: { port: 0, clusters: [] } });
    try {
      expect((await request(local.outboundPort, { headers: { host: 'late' } })).status).toBe(404);
      const next = validateConfig(
        testConfig({ outbound: { port: 0, clusters: [{ name: 'late', hosts: ['late'], endpoints: [{ address: '127.0.0.1', port: other.port }] }] } }),
      );
      local.sidecar.holder.replace(buildDataPath(next, { metrics: local.sidecar.metrics, accessLog: new AccessLog('off', 0, new LogLines(process.stdout)), security: plaintext }));
      const reply = await request(local.outboundPort, { headers: { host: 'late' } });
      expect(reply.status).toBe(200);
      expect((JSON.parse(reply.body) as EchoReply).port).toBe(other.port);
      // Metrics series outlive the snapshot: the second 404 counts into the first one's series.
      expect((await request(local.outboundPort, { headers: { host: 'gone' } })).status).toBe(404);
      const families = parsePrometheusTextFormat((await request(local.adminPort, { path: '/metrics' })).body);
      const notFound = families.find((f) => f.name === 'istio_requests_total')!.metrics.filter((m) => m.labels?.response_code === '404');
      expect(notFound.map((m) => m.value)).toEqual(['2']);
    } finally {
      await local.stop();
      await other.close();
    }
  });
});
