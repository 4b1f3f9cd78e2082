// Replies the sidecar makes itself: status, x-weft-error code and response flag, for each failure.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange, request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { closedPort, echoServer, listen, type EchoServer, type TestServer } from '../helpers/upstream.js';

describe('local replies', () => {
  let silent: TestServer;
  let resetting: net.Server;
  let resettingPort: number;
  let echo: EchoServer;
  let proxy: InProcessSidecar;

  beforeAll(async () => {
    // Accepts requests and never answers.
    silent = await listen(http.createServer(() => undefined));
    // Accepts connections and drops them as soon as a request arrives.
    resetting = net.createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    resettingPort = (resetting.address() as net.AddressInfo).port;
    echo = await echoServer();
    const endpoint = (port: number) => [{ address: '127.0.0.1', port }];
    proxy = await startSidecar({
      outbound: {
        port: 0,
        clusters: [
          { name: 'refused', hosts: ['refused'], endpoints: endpoint(await closedPort()) },
          { name: 'empty', hosts: ['empty'], endpoints: [] },
          { name: 'silent', hosts: ['silent'], timeoutMs: 200, endpoints: endpoint(silent.port) },
          { name: 'resetting', hosts: ['resetting'], endpoints: endpoint(resettingPort) },
          { name: 'small', hosts: ['small'], maxRequests: 1, endpoints: endpoint(echo.port) },
        ],
      },
    });
  });

  afterAll(async () => {
    await proxy.stop();
    await Promise.all([silent.close(), echo.close(), new Promise((resolve) => resetting.close(resolve))]);
  });

  const cases = [
    { host: 'nowhere', status: 404, code: 'NO_ROUTE', flag: 'NR' },
    { host: 'refused', status: 502, code: 'UPSTREAM_CONNECT_FAILURE', flag: 'UF' },
    { host: 'empty', status: 503, code: 'NO_HEALTHY_UPSTREAM', flag: 'UH' },
    { host: 'silent', status: 504, code: 'UPSTREAM_REQUEST_TIMEOUT', flag: 'UT' },
    { host: 'resetting', status: 502, code: 'UPSTREAM_CONNECTION_TERMINATION', flag: 'UC' },
  ];

  for (const { host, status, code, flag } of cases) {
    it(`answers ${status} ${code} (${flag}) for host '${host}'`, async () => {
      const reply = await request(proxy.outboundPort, { headers: { host } });
      expect(reply.status).toBe(status);
      expect(reply.headers['x-weft-error']).toBe(code);
      expect(reply.body).toContain(code);
      const line = proxy.logLines().find((entry) => entry.authority === host);
      expect(line).toMatchObject({ status, response_flags: flag });
    });
  }

  it('answers 503 UPSTREAM_OVERFLOW (UO) past the cluster request limit', async () => {
    const arrived = once(echo.server, 'request');
    const held = request(proxy.outboundPort, { path: '/?hold', headers: { host: 'small' } });
    await arrived;
    const reply = await request(proxy.outboundPort, { headers: { host: 'small' } });
    echo.releaseHeld();
    expect(reply.status).toBe(503);
    expect(reply.headers['x-weft-error']).toBe('UPSTREAM_OVERFLOW');
    expect(proxy.logLines().find((entry) => entry.authority === 'small' && entry.status === 503)).toMatchObject({ response_flags: 'UO' });
    expect((await held).status).toBe(200);
    expect((await request(proxy.outboundPort, { headers: { host: 'small' } })).status).toBe(200);
  });

  it('answers 400 DOWNSTREAM_PROTOCOL_ERROR for a target it does not forward', async () => {
    const reply = await request(proxy.outboundPort, { path: 'ftp://files/x' });
    expect(reply.status).toBe(400);
    expect(reply.headers['x-weft-error']).toBe('DOWNSTREAM_PROTOCOL_ERROR');
  });

  it('answers an upgrade (WebSocket) to such a target 400 too, forwarding nothing', async () => {
    const text = await rawExchange(proxy.outboundPort, 'GET ftp://files/x HTTP/1.1\r\nHost: files\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', 3000);
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('x-weft-error: DOWNSTREAM_PROTOCOL_ERROR');
  });
});

describe('a caller that goes away', () => {
  it('cancels the upstream request and logs DC', async () => {
    // Never answers; resolves `upstreamClosed` when the sidecar drops its request.
    let upstreamClosed!: Promise<unknown>;
    const slow = await listen(
      http.createServer((req) => {
        upstreamClosed = once(req.socket, 'close');
      }),
    );
    const local = await startSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: slow.port } });
    try {
      const arrived = once(slow.server, 'request');
      const socket = net.connect(local.inboundPort, '127.0.0.1');
      socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
      await arrived;
      socket.destroy();
      await upstreamClosed;
      expect(local.logLines()).toEqual([expect.objectContaining({ path: '/slow', status: 499, response_flags: 'DC' })]);
    } finally {
      await local.stop();
      await slow.close();
    }
  });
});
