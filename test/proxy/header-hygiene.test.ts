// Header hygiene across the sidecar, seen by a real upstream and a real client.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { echoServer, headerValues, listen, type EchoReply, type TestServer } from '../helpers/upstream.js';

describe('header hygiene', () => {
  let app: TestServer;
  let proxy: InProcessSidecar;

  beforeAll(async () => {
    app = await echoServer();
    proxy = await startSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: app.port } });
  });

  afterAll(async () => {
    await proxy.stop();
    await app.close();
  });

  async function echoed(headers: string[] | http.OutgoingHttpHeaders): Promise<EchoReply> {
    const reply = await request(proxy.inboundPort, { headers });
    expect(reply.status).toBe(200);
    return JSON.parse(reply.body) as EchoReply;
  }

  it('strips hop-by-hop headers and the headers Connection names', async () => {
    const echo = await echoed([
      'Host', 'app',
      'Connection', 'keep-alive, X-Secret-Hop',
      'Keep-Alive', 'timeout=5',
      'Proxy-Authorization', 'Basic Zm9vOmJhcg==',
      'TE', 'trailers',
      'X-Secret-Hop', 'drop me',
      'X-Kept', 'keep me',
    ]);
    const names = echo.headers.map(([name]) => name);
    for (const name of ['keep-alive', 'proxy-authorization', 'te', 'x-secret-hop']) expect(names).not.toContain(name);
    expect(headerValues(echo, 'x-kept')).toEqual(['keep me']);
  });

  it('appends the caller to x-forwarded-for and sets x-forwarded-proto to the caller hop', async () => {
    const fresh = await echoed({});
    expect(headerValues(fresh, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(headerValues(fresh, 'x-forwarded-proto')).toEqual(['http']);
    const chained = await echoed({ 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' });
    expect(headerValues(chained, 'x-forwarded-for')).toEqual(['203.0.113.7, 127.0.0.1']);
    expect(headerValues(chained, 'x-forwarded-proto')).toEqual(['http']);
  });

  it('creates x-request-id when absent and keeps it when present', async () => {
    const created = headerValues(await echoed({}), 'x-request-id');
    expect(created).toHaveLength(1);
    expect(created[0]).toMatch(/^[0-9a-f-]{36}$/);
    const other = headerValues(await echoed({}), 'x-request-id');
    expect(other[0]).not.toBe(created[0]);
    expect(headerValues(await echoed({ 'x-request-id': 'abc-123' }), 'x-request-id')).toEqual(['abc-123']);
  });

  it('passes traceparent and tracestate through untouched', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const echo = await echoed({ traceparent, tracestate: 'congo=t61rcWkgMzE' });
    expect(headerValues(echo, 'traceparent')).toEqual([traceparent]);
    expect(headerValues(echo, 'tracestate')).toEqual(['congo=t61rcWkgMzE']);
  });

  it('strips hop-by-hop headers from responses', async () => {
    const upstream = await listen(
      http.createServer((_req, res) => {
        res.writeHead(200, { connection: 'X-Internal', 'x-internal': 'secret', 'x-public': 'ok', 'proxy-authenticate': 'Basic' });
        res.end('body');
      }),
    );
    const local = await startSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: upstream.port } });
    try {
      const reply = await request(local.inboundPort);
      expect(reply.body).toBe('body');
      expect(reply.headers['x-public']).toBe('ok');
      expect(reply.headers['x-internal']).toBeUndefined();
      expect(reply.headers['proxy-authenticate']).toBeUndefined();
    } finally {
      await local.stop();
      await upstream.close();
    }
  });
});
