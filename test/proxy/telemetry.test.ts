// Metrics (scraped from the admin listener and parsed as Prometheus text), the access log, and
// the admin endpoints.
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { echoServer, type TestServer } from '../helpers/upstream.js';

async function scrapeText(adminPort: number): Promise<string> {
  const reply = await request(adminPort, { path: '/metrics' });
  expect(reply.status).toBe(200);
  return reply.body;
}

async function scrape(adminPort: number): Promise<PromFamily[]> {
  return parsePrometheusTextFormat(await scrapeText(adminPort));
}

/**
 * The parser folds every series of a labelled histogram into one and drops their labels; without
 * the TYPE lines it reads `_sum`, `_count` and `_bucket` as plain labelled series instead.
 */
async function scrapeHistogramSeries(adminPort: number): Promise<PromFamily[]> {
  const text = (await scrapeText(adminPort)).replace(/^# TYPE \S+ histogram$/gm, '');
  return parsePrometheusTextFormat(text);
}

function family(families: PromFamily[], name: string): PromFamily {
  const found = families.find((f) => f.name === name);
  if (found === undefined) throw new Error(`no metric family ${name}`);
  return found;
}

describe('telemetry', () => {
  let app: TestServer;
  let proxy: InProcessSidecar;

  beforeAll(async () => {
    app = await echoServer();
    proxy = await startSidecar({
      workload: 'productpage',
      inbound: { address: '127.0.0.1', port: 0, appPort: app.port },
      outbound: { port: 0, clusters: [{ name: 'reviews', hosts: ['reviews.default.svc'], endpoints: [{ address: '127.0.0.1', port: app.port }] }] },
    });
    await request(proxy.inboundPort, { method: 'POST', body: 'x'.repeat(100), headers: { 'x-request-id': 'req-1' } });
    await request(proxy.outboundPort, { headers: { host: 'reviews.default.svc' } });
    await request(proxy.outboundPort, { headers: { host: 'ratings' } });
  });

  afterAll(async () => {
    await proxy.stop();
    await app.close();
  });

  it('exports Istio request metrics with Istio labels', async () => {
    const families = await scrape(proxy.adminPort);
    const requests = family(families, 'istio_requests_total');
    expect(requests.type).toBe('COUNTER');
    const labels = requests.metrics.map((m) => m.labels);
    expect(labels).toContainEqual({
      reporter: 'destination',
      source_workload: 'unknown',
      destination_workload: 'productpage',
      destination_service: 'productpage',
      request_protocol: 'http',
      response_code: '200',
      response_flags: '-',
      connection_security_policy: 'none',
      source_principal: 'unknown',
      destination_principal: 'unknown',
      grpc_response_status: '',
    });
    expect(labels).toContainEqual({
      reporter: 'source',
      source_workload: 'productpage',
      destination_workload: 'reviews',
      destination_service: 'reviews.default.svc',
      request_protocol: 'http',
      response_code: '200',
      response_flags: '-',
      connection_security_policy: 'none',
      source_principal: 'unknown',
      destination_principal: 'unknown',
      grpc_response_status: '',
    });
    expect(labels).toContainEqual(expect.objectContaining({ reporter: 'source', response_code: '404', response_flags: 'NR' }));
  });

  it('exports duration and size histograms', async () => {
    const families = await scrape(proxy.adminPort);
    for (const name of ['istio_request_duration_milliseconds', 'istio_request_bytes', 'istio_response_bytes']) {
      expect(family(families, name).type).toBe('HISTOGRAM');
    }
    const series = await scrapeHistogramSeries(proxy.adminPort);
    const destination = (name: string) => family(series, name).metrics.find((m) => m.labels?.reporter === 'destination')?.value;
    expect(destination('istio_request_bytes_count')).toBe('1');
    expect(destination('istio_request_bytes_sum')).toBe('100');
    expect(Number(destination('istio_response_bytes_sum'))).toBeGreaterThan(0);
    expect(Number(destination('istio_request_duration_milliseconds_sum'))).toBeGreaterThan(0);
    const bucket = family(series, 'istio_request_bytes_bucket').metrics.find((m) => m.labels?.reporter === 'destination' && m.labels.le === '100');
    expect(bucket?.value).toBe('1');
  });

  it('writes one JSON access-log line per request', async () => {
    const inbound = proxy.logLines().find((line) => line.request_id === 'req-1');
    expect(inbound).toMatchObject({
      direction: 'inbound',
      method: 'POST',
      path: '/',
      status: 200,
      bytes_received: 100,
      upstream: `127.0.0.1:${app.port}`,
      response_flags: '-',
    });
    expect(typeof inbound?.time).toBe('string');
    expect(typeof inbound?.duration_ms).toBe('number');
    expect(Number(inbound?.bytes_sent)).toBeGreaterThan(0);
    expect(proxy.logLines()).toHaveLength(3);
  });

  it('logs nothing when the access log is off, and a sample when sampled', async () => {
    for (const [accessLog, expected] of [
      [{ mode: 'off' }, 0],
      [{ mode: 'sampled', sampleRate: 0 }, 0],
      [{ mode: 'sampled', sampleRate: 1 }, 5],
    ] as const) {
      const local = await startSidecar({ accessLog, inbound: { address: '127.0.0.1', port: 0, appPort: app.port } });
      try {
        for (let i = 0; i < 5; i++) await request(local.inboundPort);
        expect(local.logLines()).toHaveLength(expected);
      } finally {
        await local.stop();
      }
    }
  });

  it('serves /live, /ready and /config_dump on the admin listener', async () => {
    expect((await request(proxy.adminPort, { path: '/live' })).status).toBe(200);
    expect((await request(proxy.adminPort, { path: '/ready' })).status).toBe(200);
    const dump = JSON.parse((await request(proxy.adminPort, { path: '/config_dump' })).body) as Record<string, unknown>;
    expect(dump.workload).toBe('productpage');
    expect(dump).toHaveProperty('limits.maxConnections', 10000);
    expect((await request(proxy.adminPort, { path: '/nope' })).status).toBe(404);
  });
});
