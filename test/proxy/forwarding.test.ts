// The data path with real sockets: inbound to the app, outbound by Host and as an HTTP proxy,
// keep-alive pooling, chunked bodies, 100-continue, WebSocket upgrades, load balancing.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { eventually } from '../helpers/eventually.js';
import { request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { echoServer, listen, type EchoReply, type EchoServer, type TestServer } from '../helpers/upstream.js';

describe('forwarding', () => {
  let app: TestServer;
  let other: TestServer;
  let wsServer: TestServer;
  let proxy: InProcessSidecar;

  beforeAll(async () => {
    app = await echoServer();
    other = await echoServer();
    const wsHttp = http.createServer();
    new WebSocketServer({ server: wsHttp }).on('connection', (socket) =>
      socket.on('message', (data, binary) => socket.send(data, { binary })),
    );
    wsServer = await listen(wsHttp);
    proxy = await startSidecar({
      inbound: { address: '127.0.0.1', port: 0, appPort: app.port },
      outbound: {
        port: 0,
        clusters: [
          { name: 'other', hosts: ['other.svc', 'other'], endpoints: [{ address: '127.0.0.1', port: other.port }] },
          { name: 'ws', hosts: ['ws.svc'], endpoints: [{ address: '127.0.0.1', port: wsServer.port }] },
        ],
      },
    });
  });

  afterAll(async () => {
    await proxy.stop();
    await Promise.all([app.close(), other.close(), wsServer.close()]);
  });

  it('forwards inbound requests to the app on 127.0.0.1:appPort', async () => {
    const reply = await request(proxy.inboundPort, { path: '/hello?x=1' });
    expect(reply.status).toBe(200);
    const echo = JSON.parse(reply.body) as EchoReply;
    expect(echo.port).toBe(app.port);
    expect(echo.url).toBe('/hello?x=1');
  });

  it('routes outbound requests by Host to the named cluster', async () => {
    const reply = await request(proxy.outboundPort, { path: '/a', headers: { host: 'other.svc:8080' } });
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.body) as EchoReply).port).toBe(other.port);
  });

  it('accepts absolute-form requests as an HTTP proxy', async () => {
    const reply = await request(proxy.outboundPort, { path: 'http://other/b?q=2', headers: { host: 'other' } });
    expect(reply.status).toBe(200);
    const echo = JSON.parse(reply.body) as EchoReply;
    expect(echo.port).toBe(other.port);
    expect(echo.url).toBe('/b?q=2');
    expect(echo.headers).toContainEqual(['host', 'other']);
  });

  it('reuses one upstream connection for sequential requests (keep-alive pool)', async () => {
    const upstream = await echoServer();
    const local = await startSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: upstream.port } });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 20; i++) expect((await request(local.inboundPort, { agent })).status).toBe(200);
      expect(upstream.connections).toBe(1);
    } finally {
      agent.destroy();
      await local.stop();
      await upstream.close();
    }
  });

  it('streams chunked bodies both ways at once (the upstream answers before the request ends)', async () => {
    const duplex = http.createServer((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        if (bytes === 0) res.writeHead(200).write('first;');
        bytes += chunk.length;
      });
      req.on('end', () => res.end(`te=${req.headers['transfer-encoding']};bytes=${bytes}`));
    });
    const upstream = await listen(duplex);
    const local = await startSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: upstream.port } });
    try {
      const reply = await new Promise<{ te: string | undefined; body: string }>((resolve, reject) => {
        const req = http.request({ port: local.inboundPort, host: '127.0.0.1', method: 'POST', path: '/', agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => {
            // The rest of the request goes only once the start of the response came back.
            if (body === '') req.end('b'.repeat(500));
            body += c;
          });
          res.on('end', () => resolve({ te: res.headers['transfer-encoding'], body }));
        });
        req.on('error', reject);
        req.write('a'.repeat(1000));
      });
      expect(reply.te).toBe('chunked');
      expect(reply.body).toBe('first;te=chunked;bytes=1500');
    } finally {
      await local.stop();
      await upstream.close();
    }
  });

  it('carries HEAD, 204 and 304 responses without a body, keeping the connection usable', async () => {
    const bodiless = http.createServer((req, res) => {
      if (req.url === '/empty') res.writeHead(204).end();
      else if (req.url === '/cached') res.writeHead(304, { etag: '"v1"' }).end();
      else res.writeHead(200, { 'content-length': '5' }).end(req.method === 'HEAD' ? undefined : 'hello');
    });
    const upstream = await listen(bodiless);
    const local = await startSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: upstream.port } });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const head = await request(local.inboundPort, { method: 'HEAD', agent });
      expect([head.status, head.headers['content-length'], head.body]).toEqual([200, '5', '']);
      expect((await request(local.inboundPort, { path: '/empty', agent })).status).toBe(204);
      const cached = await request(local.inboundPort, { path: '/cached', agent });
      expect([cached.status, cached.headers.etag]).toEqual([304, '"v1"']);
      expect(await request(local.inboundPort, { agent })).toMatchObject({ status: 200, body: 'hello' });
    } finally {
      agent.destroy();
      await local.stop();
      await upstream.close();
    }
  });

  it('forwards response trailers', async () => {
    const upstream = await listen(
      http.createServer((_req, res) => {
        res.writeHead(200, { trailer: 'x-checksum' });
        res.write('data');
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end();
      }),
    );
    const local = await startSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: upstream.port } });
    try {
      const trailers = await new Promise<NodeJS.Dict<string>>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: local.inboundPort, agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.trailers));
          })
          .on('error', reject);
      });
      expect(trailers['x-checksum']).toBe('abc123');
    } finally {
      await local.stop();
      await upstream.close();
    }
  });

  it('answers Expect: 100-continue, then forwards the body', async () => {
    const result = await new Promise<{ continued: boolean; status: number; body: string }>((resolve, reject) => {
      let continued = false;
      const req = http.request({
        port: proxy.inboundPort,
        host: '127.0.0.1',
        method: 'PUT',
        path: '/upload',
        agent: false,
        headers: { expect: '100-continue', 'content-length': '5' },
      });
      req.on('continue', () => {
        continued = true;
        req.end('hello');
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ continued, status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(result.continued).toBe(true);
    expect(result.status).toBe(200);
    const echo = JSON.parse(result.body) as EchoReply;
    expect(echo.bodyBytes).toBe(5);
    expect(echo.headers.map(([name]) => name)).not.toContain('expect');
  });

  it('does not ask for the body of a request it will refuse (no 100 before a local reply)', async () => {
    const text = await new Promise<string>((resolve) => {
      const socket = net.connect(proxy.outboundPort, '127.0.0.1');
      let received = '';
      socket.setEncoding('utf8').on('data', (c: string) => (received += c));
      socket.on('close', () => resolve(received));
      socket.write('PUT / HTTP/1.1\r\nhost: nowhere\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n');
    });
    expect(text).toMatch(/^HTTP\/1\.1 404 /);
    expect(text).not.toContain('100 Continue');
    expect(text.toLowerCase()).toContain('x-weft-error: no_route');
  });

  it('passes WebSocket upgrades through (echo)', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${proxy.outboundPort}/chat`, { headers: { host: 'ws.svc' } });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('open', () => {
        socket.send('one');
        socket.send('two');
      });
      socket.on('message', (data) => {
        messages.push(String(data));
        if (messages.length === 2) resolve();
      });
      socket.on('error', reject);
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.close();
    await closed;
    expect(messages).toEqual(['one', 'two']);
    // A tunnel is logged once it closes.
    await eventually(async () => proxy.logLines(), (lines) => lines.some((l) => l.path === '/chat' && l.status === 101 && l.authority === 'ws.svc'), 5000);
  });

  it('passes an upstream refusal of an upgrade to the caller', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${proxy.outboundPort}/chat`, { headers: { host: 'other.svc' } });
    const status = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('error', () => resolve(-1));
    });
    expect(status).toBe(200);
  });
});

describe('load balancing', () => {
  let upstreams: EchoServer[];

  beforeAll(async () => {
    upstreams = await Promise.all([echoServer(), echoServer(), echoServer()]);
  });

  afterAll(async () => {
    await Promise.all(upstreams.map((u) => u.close()));
  });

  function cluster(loadBalancer: string) {
    return {
      port: 0,
      clusters: [{ name: 'pool', hosts: ['pool'], loadBalancer, endpoints: upstreams.map((u) => ({ address: '127.0.0.1', port: u.port })) }],
    };
  }

  it('round robin takes every endpoint in turn', async () => {
    const local = await startSidecar({ outbound: cluster('round_robin') });
    try {
      const ports: number[] = [];
      for (let i = 0; i < 6; i++) {
        const reply = await request(local.outboundPort, { headers: { host: 'pool' } });
        ports.push((JSON.parse(reply.body) as EchoReply).port);
      }
      const expected = upstreams.map((u) => u.port);
      expect(ports).toEqual([...expected, ...expected]);
    } finally {
      await local.stop();
    }
  });

  it('least request (two choices) sends new requests to the idle endpoint, not the busy one', async () => {
    const pair = { port: 0, clusters: [{ name: 'pair', hosts: ['pair'], loadBalancer: 'least_request', endpoints: upstreams.slice(0, 2).map((u) => ({ address: '127.0.0.1', port: u.port })) }] };
    const local = await startSidecar({ outbound: pair });
    try {
      // One held request keeps one endpoint busy; with two endpoints both are always compared.
      const pairServers = upstreams.slice(0, 2);
      const arrived = Promise.race(pairServers.map((u) => once(u.server, 'request')));
      const slow = request(local.outboundPort, { path: '/?hold', headers: { host: 'pair' } });
      await arrived;
      const quick: number[] = [];
      for (let i = 0; i < 10; i++) {
        const reply = await request(local.outboundPort, { headers: { host: 'pair' } });
        quick.push((JSON.parse(reply.body) as EchoReply).port);
      }
      for (const u of pairServers) u.releaseHeld();
      const busy = (JSON.parse((await slow).body) as EchoReply).port;
      const idle = upstreams.slice(0, 2).map((u) => u.port).find((port) => port !== busy);
      expect(quick).toEqual(Array.from({ length: 10 }, () => idle));
    } finally {
      await local.stop();
    }
  });
});
