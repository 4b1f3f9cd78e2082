// Balancers: registered with their own config schema (validated with the sidecar config, defaults
// filled) and built with it; `pick` sees the request (headers, metadata a filter attached, the
// caller's identity) and the endpoints' metadata; the built-in policies honour weights and
// choiceCount; and the Route's circuit-breaker settings (maxConnections, maxPendingRequests,
// maxRetries) hold on real sockets.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../proxy/config/load-config.js';
import { CONTINUE, type HttpFilterFactory } from '../../proxy/filters/http-filter.js';
import { registerFilter } from '../../proxy/filters/registry.js';
import { headerValue } from '../../proxy/http/headers.js';
import {
  createLoadBalancer,
  registerLoadBalancer,
  type BalancedEndpoint,
  type EndpointMetadata,
  type PickRequest,
} from '../../proxy/upstream/load-balancers.js';
import { request } from '../helpers/http-client.js';
import { startSidecar, testConfig } from '../helpers/sidecar.js';
import { echoServer, type EchoReply, type TestServer } from '../helpers/upstream.js';

const noRequest: PickRequest = { method: 'GET', path: '/', authority: 'x', requestHeaders: [], sourcePrincipal: undefined, endUser: undefined, metadata: undefined };

function endpoint(active: number, metadata: Partial<EndpointMetadata> = {}): BalancedEndpoint & { active: number } {
  return { active, metadata: { labels: {}, weight: 1, ...metadata } };
}

/** Picks the endpoint whose label `label` equals the request's header `header` or, failing that, the metadata a filter set. */
registerLoadBalancer({
  name: 'test-by-label',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['label'],
    properties: { label: { type: 'string' }, header: { type: 'string', default: 'x-pool' } },
  },
  create: (config) => ({
    pick: (healthy, req) => {
      const wanted = headerValue(req.requestHeaders, String(config.header)) ?? (req.metadata?.pool as string | undefined);
      return healthy.find((e) => e.metadata.labels[String(config.label)] === wanted);
    },
  }),
});

const poolFromPath: HttpFilterFactory = {
  name: 'test-pool-from-path',
  configSchema: { type: 'object' },
  terminal: false,
  create: () => ({
    decodeHeaders(exchange) {
      if (exchange.path.startsWith('/pool/')) exchange.metadata = { pool: exchange.path.slice('/pool/'.length) };
      return CONTINUE;
    },
  }),
};

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('balancer registry and config', () => {
  const withBalancer = (loadBalancer: string, loadBalancerConfig?: object) =>
    testConfig({
      outbound: { port: 0, clusters: [{ name: 'c', hosts: ['c'], loadBalancer, ...(loadBalancerConfig === undefined ? {} : { loadBalancerConfig }), endpoints: [{ address: '127.0.0.1', port: 1 }] }] },
    });

  it("checks a balancer's config with its own schema, and names unknown balancers", () => {
    expect(problemsOf(() => validateConfig(withBalancer('test-by-label', { header: 3 })))).toEqual([
      'outbound.clusters[0].loadBalancerConfig.label: required',
      'outbound.clusters[0].loadBalancerConfig.header: expected string',
    ]);
    expect(problemsOf(() => validateConfig(withBalancer('dice')))[0]).toMatch(/^outbound\.clusters\[0\]\.loadBalancer: unknown load balancer 'dice' \(known: round_robin, random, least_request, /);
  });

  it("fills a balancer's config defaults and the endpoints' metadata defaults", () => {
    const config = validateConfig(withBalancer('least_request'));
    expect(config.outbound!.clusters[0]!.loadBalancerConfig).toEqual({ choiceCount: 2 });
    expect(config.outbound!.clusters[0]!.endpoints[0]).toEqual({ address: '127.0.0.1', port: 1, weight: 1, labels: {} });
    expect(() => registerLoadBalancer({ name: 'round_robin', configSchema: {}, create: () => ({ pick: () => undefined }) })).toThrow(/registered twice/);
  });
});

describe('built-in balancers', () => {
  it('round_robin shares requests in proportion to weight', () => {
    const balancer = createLoadBalancer('round_robin', {});
    const endpoints = [endpoint(0, { weight: 3 }), endpoint(0, { weight: 1 })];
    const counts = new Map(endpoints.map((e) => [e, 0]));
    for (let i = 0; i < 400; i++) {
      const chosen = balancer.pick(endpoints, noRequest)!;
      counts.set(chosen, counts.get(chosen)! + 1);
    }
    expect([...counts.values()]).toEqual([300, 100]);
  });

  it('least_request compares choiceCount endpoints: with all of them, the least busy always wins', () => {
    const endpoints = [endpoint(5), endpoint(4), endpoint(1), endpoint(3)];
    const all = createLoadBalancer('least_request', { choiceCount: 4 });
    for (let i = 0; i < 50; i++) expect(all.pick(endpoints, noRequest)).toBe(endpoints[2]);
    // With two choices the least busy of four loses whenever it is not drawn.
    const two = createLoadBalancer('least_request', { choiceCount: 2 });
    const picks = new Set(Array.from({ length: 200 }, () => two.pick(endpoints, noRequest)));
    expect(picks.size).toBeGreaterThan(1);
  });

  it('random spreads requests over every endpoint whatever their load', () => {
    const endpoints = [endpoint(50), endpoint(0), endpoint(0)];
    const balancer = createLoadBalancer('random', {});
    const picks = Array.from({ length: 300 }, () => balancer.pick(endpoints, noRequest));
    for (const e of endpoints) expect(picks.filter((p) => p === e).length).toBeGreaterThan(50);
  });

  it('least_request weighs requests in flight by endpoint weight', () => {
    const heavy = endpoint(3, { weight: 4 });
    const light = endpoint(1, { weight: 1 });
    const balancer = createLoadBalancer('least_request', { choiceCount: 2 });
    for (let i = 0; i < 20; i++) expect(balancer.pick([light, heavy], noRequest)).toBe(heavy);
  });
});

describe('request-aware picking through a sidecar', () => {
  let upstreams: TestServer[];
  let proxy: Awaited<ReturnType<typeof startSidecar>>;

  beforeAll(async () => {
    registerFilter(poolFromPath);
    upstreams = await Promise.all([echoServer(), echoServer()]);
    proxy = await startSidecar({
      outbound: {
        port: 0,
        filters: [{ name: 'test-pool-from-path' }, { name: 'router' }],
        clusters: [
          {
            name: 'pools',
            hosts: ['pools'],
            loadBalancer: 'test-by-label',
            loadBalancerConfig: { label: 'pool' },
            endpoints: upstreams.map((u, i) => ({ address: '127.0.0.1', port: u.port, labels: { pool: `p${i}` } })),
          },
        ],
      },
    });
  });

  afterAll(async () => {
    await proxy.stop();
    await Promise.all(upstreams.map((u) => u.close()));
  });

  it('passes the request headers and the endpoints metadata to pick', async () => {
    for (const [pool, upstream] of [['p1', upstreams[1]!], ['p0', upstreams[0]!]] as const) {
      const reply = await request(proxy.outboundPort, { headers: { host: 'pools', 'x-pool': pool } });
      expect((JSON.parse(reply.body) as EchoReply).port).toBe(upstream.port);
    }
  });

  it('passes what a filter attached to the request', async () => {
    const reply = await request(proxy.outboundPort, { path: '/pool/p1', headers: { host: 'pools' } });
    expect((JSON.parse(reply.body) as EchoReply).port).toBe(upstreams[1]!.port);
  });

  it('answers 503 NO_HEALTHY_UPSTREAM when the balancer finds no endpoint for the request', async () => {
    const reply = await request(proxy.outboundPort, { headers: { host: 'pools', 'x-pool': 'p9' } });
    expect(reply.status).toBe(503);
    expect(reply.headers['x-weft-error']).toBe('NO_HEALTHY_UPSTREAM');
  });
});

/** Holds every request until `release`; counts connections and requests. */
async function holdingServer(): Promise<{ port: number; connections: number; held: http.ServerResponse[]; hits: number; close(): Promise<void> }> {
  const state = { connections: 0, held: [] as http.ServerResponse[], hits: 0 };
  const server = http.createServer((req, res) => {
    state.hits++;
    req.resume();
    if (req.url === '/fail') return void res.writeHead(503, { 'content-length': '0' }).end();
    state.held.push(res);
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("the Route's circuit-breaker settings", () => {
  it('maxConnections bounds the connections and maxPendingRequests the requests waiting for one', async () => {
    const upstream = await holdingServer();
    const proxy = await startSidecar({
      outbound: { port: 0, clusters: [{ name: 'cb', hosts: ['cb'], maxConnections: 1, maxPendingRequests: 1, endpoints: [{ address: '127.0.0.1', port: upstream.port }] }] },
    });
    try {
      const first = request(proxy.outboundPort, { headers: { host: 'cb' } });
      while (upstream.held.length < 1) await turn();
      // The second waits for the one connection; the third finds the pending queue full.
      const second = request(proxy.outboundPort, { headers: { host: 'cb' } });
      const cluster = proxy.sidecar.holder.current.clusters.find((c) => c.name === 'cb')!;
      while (cluster.pending < 1) await turn();
      const third = await request(proxy.outboundPort, { headers: { host: 'cb' } });
      expect(third.status).toBe(503);
      expect(third.headers['x-weft-error']).toBe('UPSTREAM_OVERFLOW');
      expect(upstream.connections).toBe(1);
      upstream.held.shift()!.end('one');
      expect((await first).body).toBe('one');
      while (upstream.held.length < 1) await turn();
      upstream.held.shift()!.end('two');
      expect((await second).body).toBe('two');
      expect(upstream.connections).toBe(1);
    } finally {
      for (const res of upstream.held) res.end();
      await proxy.stop();
      await upstream.close();
    }
  });

  it('maxRetries bounds the retries in flight whatever the retry budget allows', async () => {
    const upstream = await holdingServer();
    const retries = { attempts: 3, retryOn: ['5xx'], budget: { percent: 100, minRetryConcurrency: 10 } };
    const cluster = (maxRetries: number) => ({ name: `r${maxRetries}`, hosts: [`r${maxRetries}`], maxRetries, retries, endpoints: [{ address: '127.0.0.1', port: upstream.port }] });
    const proxy = await startSidecar({ outbound: { port: 0, clusters: [cluster(0), cluster(5)] } });
    try {
      expect((await request(proxy.outboundPort, { path: '/fail', headers: { host: 'r0' } })).status).toBe(503);
      expect(upstream.hits).toBe(1);
      expect((await request(proxy.outboundPort, { path: '/fail', headers: { host: 'r5' } })).status).toBe(503);
      expect(upstream.hits).toBe(1 + 4);
    } finally {
      await proxy.stop();
      await upstream.close();
    }
  });
});
