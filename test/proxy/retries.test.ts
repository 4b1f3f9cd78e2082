// Retries: which failures are retried, on which endpoint, how many times, for which requests,
// and the retry budget that bounds them under an outage. Real upstreams on loopback; each test
// starts its own sidecar so round robin starts at the first endpoint.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { echoClient, startEchoServer, unary } from '../helpers/grpc-echo.js';
import { request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { closedPort, echoServer, listen, resettingServer, statusServer, type EchoReply, type EchoServer, type StatusServer, type TestServer } from '../helpers/upstream.js';

const at = (port: number) => ({ address: '127.0.0.1', port });

async function withSidecar(
  endpoints: number[],
  retries: Record<string, unknown>,
  run: (proxy: InProcessSidecar) => Promise<void>,
  loadBalancer = 'round_robin',
  protocol = 'http1',
): Promise<void> {
  const proxy = await startSidecar({
    outbound: { port: 0, clusters: [{ name: 'svc', hosts: ['svc'], loadBalancer, protocol, retries, endpoints: endpoints.map(at) }] },
  });
  try {
    await run(proxy);
  } finally {
    await proxy.stop();
  }
}

const get = (proxy: InProcessSidecar, path = '/') => request(proxy.outboundPort, { path, headers: { host: 'svc' } });
const post = (proxy: InProcessSidecar, body = '') => request(proxy.outboundPort, { method: 'POST', headers: { host: 'svc', 'content-length': String(Buffer.byteLength(body)) }, body });

describe('retries', () => {
  let echo: EchoServer;
  let unavailable: StatusServer;
  let unavailableToo: StatusServer;
  let resetting: StatusServer;
  let silent: TestServer;

  beforeAll(async () => {
    echo = await echoServer();
    unavailable = await statusServer(503);
    unavailableToo = await statusServer(503);
    resetting = await resettingServer();
    silent = await listen(http.createServer(() => undefined));
  });

  afterAll(async () => {
    await Promise.all([echo, unavailable, unavailableToo, resetting, silent].map((s) => s.close()));
  });

  it('retries a GET answered 503 on the other endpoint', async () => {
    const before = unavailable.hits;
    await withSidecar([unavailable.port, echo.port], { attempts: 2 }, async (proxy) => {
      const reply = await get(proxy);
      expect(reply.status).toBe(200);
      expect((JSON.parse(reply.body) as EchoReply).port).toBe(echo.port);
      expect(unavailable.hits - before).toBe(1);
      // The access log names the try that answered.
      expect(proxy.logLines()[0]).toMatchObject({ status: 200, upstream: `127.0.0.1:${echo.port}`, response_flags: '-' });
    });
  });

  it('retries on an endpoint other than the one just tried, even when that one is the least busy', async () => {
    await withSidecar(
      [unavailable.port, echo.port],
      { attempts: 1 },
      async (proxy) => {
        // Two held requests end up on the echo (directly or by a retry) and keep it busy.
        let arrived = 0;
        const bothArrived = new Promise<void>((resolve) => {
          const onRequest = (): void => {
            if (++arrived < 2) return;
            echo.server.off('request', onRequest);
            resolve();
          };
          echo.server.on('request', onRequest);
        });
        const slow = [get(proxy, '/?hold'), get(proxy, '/?hold')];
        await bothArrived;
        // Least request picks the idle failing endpoint, then must not pick it again for the retry.
        const reply = await get(proxy);
        echo.releaseHeld();
        expect(reply.status).toBe(200);
        expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
      },
      'least_request',
    );
  });

  it('retries a GET whose connection was refused, or reset before the response', async () => {
    await withSidecar([await closedPort(), echo.port], { attempts: 1 }, async (proxy) => {
      expect((await get(proxy)).status).toBe(200);
    });
    const before = resetting.hits;
    await withSidecar([resetting.port, echo.port], { attempts: 1 }, async (proxy) => {
      expect((await get(proxy)).status).toBe(200);
      expect(resetting.hits - before).toBe(1);
    });
  });

  it('does not retry a POST the upstream answered unless retryNonIdempotent, and never one whose body was read', async () => {
    const before = unavailable.hits;
    await withSidecar([unavailable.port, echo.port], { attempts: 2 }, async (proxy) => {
      expect((await post(proxy)).status).toBe(503);
    });
    expect(unavailable.hits - before).toBe(1);
    await withSidecar([unavailable.port, echo.port], { attempts: 2, retryNonIdempotent: true }, async (proxy) => {
      expect((await post(proxy)).status).toBe(200);
      // A streamed body is read by the first try: it cannot be sent again.
      expect((await post(proxy, 'order=1')).status).toBe(503);
    });
    expect(unavailable.hits - before).toBe(3);
  });

  it('retries any request the upstream never received, body and all', async () => {
    await withSidecar([await closedPort(), echo.port], { attempts: 1 }, async (proxy) => {
      const reply = await post(proxy, 'order=1');
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body) as EchoReply).toMatchObject({ method: 'POST', bodyBytes: 7 });
    });
  });

  it('retries a gRPC call whose endpoint refused the connection', async () => {
    const grpcEcho = await startEchoServer();
    try {
      await withSidecar(
        [await closedPort(), grpcEcho.port],
        { attempts: 1 },
        async (proxy) => {
          const through = echoClient(proxy.outboundPort, 'svc');
          try {
            const { error, reply } = await unary(through, Buffer.from('ping'));
            expect(error).toBeNull();
            expect(reply?.toString()).toBe('ping');
          } finally {
            through.close();
          }
        },
        'round_robin',
        'grpc',
      );
    } finally {
      await grpcEcho.close();
    }
  });

  it('stops after the attempts and flags the reply URX', async () => {
    const before = unavailable.hits + unavailableToo.hits;
    await withSidecar([unavailable.port, unavailableToo.port], { attempts: 3 }, async (proxy) => {
      const reply = await get(proxy);
      expect(reply.status).toBe(503);
      expect(reply.headers['x-weft-error']).toBeUndefined();
      expect(unavailable.hits + unavailableToo.hits - before).toBe(4);
      expect(proxy.logLines()[0]).toMatchObject({ status: 503, response_flags: 'URX' });
    });
    await withSidecar([await closedPort()], { attempts: 2 }, async (proxy) => {
      const reply = await get(proxy);
      expect(reply.headers['x-weft-error']).toBe('UPSTREAM_CONNECT_FAILURE');
      expect(proxy.logLines()[0]).toMatchObject({ status: 502, response_flags: 'UF,URX' });
    });
  });

  it('retries only what retryOn names', async () => {
    const before = unavailable.hits;
    await withSidecar([unavailable.port, echo.port], { attempts: 2, retryOn: ['connect-failure'] }, async (proxy) => {
      expect((await get(proxy)).status).toBe(503);
    });
    expect(unavailable.hits - before).toBe(1);
  });

  it('gives up on a try past perTryTimeoutMs and retries', async () => {
    await withSidecar([silent.port, echo.port], { attempts: 1, perTryTimeoutMs: 200 }, async (proxy) => {
      const reply = await get(proxy);
      expect(reply.status).toBe(200);
      expect((JSON.parse(reply.body) as EchoReply).port).toBe(echo.port);
    });
    await withSidecar([silent.port], { attempts: 1, perTryTimeoutMs: 100 }, async (proxy) => {
      const reply = await get(proxy);
      expect(reply.status).toBe(504);
      expect(proxy.logLines()[0]).toMatchObject({ response_flags: 'UT,URX' });
    });
  });

  it('keeps retries within the budget when every request fails', async () => {
    const failing = await statusServer(503, true);
    const requests = 20;
    const attempts = 5;
    try {
      await withSidecar([failing.port], { attempts, budget: { percent: 0, minRetryConcurrency: 2 } }, async (proxy) => {
        let answered = 0;
        const replies = Array.from({ length: requests }, () => get(proxy).then((reply) => (answered++, reply)));
        // Every first try is in flight before any fails.
        await eventually(async () => failing.held, (held) => held === requests);
        failing.releaseHeld();
        // The budget lets two retries be in flight (held in turn); the other requests are
        // answered at once. Their replies are the barrier: each one's retry decision is made.
        await eventually(async () => [answered, failing.held], ([replied, held]) => replied === requests - 2 && held === 2);
        expect(failing.hits).toBe(requests + 2);
        failing.holding = false;
        failing.releaseHeld();
        expect((await Promise.all(replies)).every((r) => r.status === 503)).toBe(true);
        // The two requests in the budget used every attempt, one retry in flight each.
        expect(failing.hits).toBe(requests + 2 * attempts);
        const metrics = (await request(proxy.adminPort, { path: '/metrics' })).body;
        expect(Number(/weft_retry_overflow_total\{cluster="svc"\} (\d+)/.exec(metrics)?.[1])).toBe(requests - 2);
        expect(Number(/weft_retries_total\{cluster="svc"\} (\d+)/.exec(metrics)?.[1])).toBe(2 * attempts);
      });
    } finally {
      await failing.close();
    }
  });
});
