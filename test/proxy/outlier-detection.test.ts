// Outlier detection: an endpoint failing in a row gets no traffic for its ejection time, then
// gets it back; never more than maxEjectionPercent of the endpoints are out. Real upstreams on
// loopback, round robin so that the failing endpoint would get every other request.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { closedPort, echoServer, listen, statusServer, type StatusServer, type TestServer } from '../helpers/upstream.js';

// The ejection must outlast the requests a test sends while it holds (a dozen, each one round
// trip through the sidecar), also on a loaded 2-core machine (test/README.md has the figures);
// `until` waits for the return well past it.
const detection = { intervalMs: 50, baseEjectionTimeMs: 5000, maxEjectionPercent: 50 };

async function withSidecar(endpoints: number[], outlierDetection: Record<string, unknown>, run: (proxy: InProcessSidecar) => Promise<void>): Promise<void> {
  const proxy = await startSidecar({
    outbound: {
      port: 0,
      clusters: [{ name: 'svc', hosts: ['svc'], loadBalancer: 'round_robin', outlierDetection, endpoints: endpoints.map((port) => ({ address: '127.0.0.1', port })) }],
    },
  });
  try {
    await run(proxy);
  } finally {
    await proxy.stop();
  }
}

async function statuses(proxy: InProcessSidecar, count: number): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i++) result.push((await request(proxy.outboundPort, { headers: { host: 'svc' } })).status);
  return result;
}

/** Sends requests one by one until one gets `status`; false if none did within the bound. */
async function until(proxy: InProcessSidecar, status: number): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if ((await request(proxy.outboundPort, { headers: { host: 'svc' } })).status === status) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

async function ejections(proxy: InProcessSidecar): Promise<number> {
  const metrics = (await request(proxy.adminPort, { path: '/metrics' })).body;
  return Number(/weft_outlier_ejections_total\{cluster="svc"\} (\d+)/.exec(metrics)?.[1] ?? 0);
}

describe('outlier detection', () => {
  let echo: TestServer;
  let failing: StatusServer;
  let failingToo: StatusServer;

  beforeAll(async () => {
    echo = await echoServer();
    failing = await statusServer(500);
    failingToo = await statusServer(500);
  });

  afterAll(async () => {
    await Promise.all([echo, failing, failingToo].map((s) => s.close()));
  });

  it('ejects an endpoint after consecutive 5xx until its ejection time has passed', async () => {
    await withSidecar([failing.port, echo.port], { ...detection, consecutive5xx: 3 }, async (proxy) => {
      // Round robin: the failing endpoint answers every other request, three in a row.
      expect(await statuses(proxy, 6)).toEqual([500, 200, 500, 200, 500, 200]);
      const hits = failing.hits;
      expect(await statuses(proxy, 6)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(failing.hits).toBe(hits);
      expect(await ejections(proxy)).toBe(1);
      const admin = JSON.parse((await request(proxy.adminPort, { path: '/clusters' })).body) as { name: string; endpoints: { address: string; healthy: boolean }[] }[];
      expect(admin.find((c) => c.name === 'svc')?.endpoints).toEqual([
        expect.objectContaining({ address: `127.0.0.1:${failing.port}`, healthy: false }),
        expect.objectContaining({ address: `127.0.0.1:${echo.port}`, healthy: true }),
      ]);
      expect(await until(proxy, 500)).toBe(true);
    });
  });

  it('ejects an endpoint after consecutive connect failures', async () => {
    await withSidecar([await closedPort(), echo.port], { ...detection, consecutiveConnectFailures: 2 }, async (proxy) => {
      expect(await statuses(proxy, 4)).toEqual([502, 200, 502, 200]);
      expect(await statuses(proxy, 6)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(await until(proxy, 502)).toBe(true);
    });
  });

  it('counts failures in a row: a success in between starts the count again', async () => {
    let calls = 0;
    const alternating = await listen(http.createServer((_req, res) => res.writeHead(calls++ % 2 === 0 ? 500 : 200).end()));
    try {
      await withSidecar([alternating.port, echo.port], { ...detection, consecutive5xx: 2 }, async (proxy) => {
        expect(await statuses(proxy, 8)).toEqual([500, 200, 200, 200, 500, 200, 200, 200]);
        expect(await ejections(proxy)).toBe(0);
      });
    } finally {
      await alternating.close();
    }
  });

  it('ejects no more than maxEjectionPercent of the endpoints', async () => {
    await withSidecar([failing.port, failingToo.port], { ...detection, consecutive5xx: 2, maxEjectionPercent: 50 }, async (proxy) => {
      // One of two may go; the other keeps answering (its 500s), never 503 no healthy upstream.
      expect(await statuses(proxy, 10)).toEqual(Array.from({ length: 10 }, () => 500));
      expect(await ejections(proxy)).toBe(1);
    });
    await withSidecar([failing.port, failingToo.port], { ...detection, consecutive5xx: 2, maxEjectionPercent: 100 }, async (proxy) => {
      expect((await statuses(proxy, 10)).slice(-1)).toEqual([503]);
      expect(await ejections(proxy)).toBe(2);
    });
  });
});
