// Upgrades through the sidecar: only the configured protocols (websocket by default) are
// tunnelled, h2c never; the upstream's 101 must be the switch that was asked for, and a 101 is
// never passed on for a request that did not ask; an open tunnel counts against its cluster's
// maxRequests and is cut when idle.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { validateConfig } from '../../proxy/config/load-config.js';
import { rawExchange, request } from '../helpers/http-client.js';
import { startSidecar, testConfig, type InProcessSidecar } from '../helpers/sidecar.js';
import { eventually } from '../helpers/eventually.js';
import { listen, type TestServer } from '../helpers/upstream.js';

interface RawUpstream {
  readonly port: number;
  /** Request heads received so far. */
  readonly heads: string[];
  close(): Promise<void>;
}

/** Answers every request head with `response` and keeps the connection open. */
async function rawUpstream(response: string): Promise<RawUpstream> {
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      head += chunk;
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      heads.push(head.slice(0, end));
      head = head.slice(end + 4);
      socket.write(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    heads,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const upgradeHead = (protocol: string, extra = '') => `GET /tunnel HTTP/1.1\r\nHost: up\r\nConnection: Upgrade${extra}\r\nUpgrade: ${protocol}\r\n\r\n`;
const switched = (protocol: string) => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`;

/** Writes `head` and resolves with what came back once a full response head arrived. */
function responseHead(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(head);
  });
}

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

async function sidecarTo(port: number, overrides: Record<string, unknown> = {}, cluster: Record<string, unknown> = {}): Promise<InProcessSidecar> {
  const s = await startSidecar({
    ...overrides,
    outbound: { port: 0, clusters: [{ name: 'up', hosts: ['up'], endpoints: [{ address: '127.0.0.1', port }], ...cluster }] },
  });
  stops.push(() => s.stop());
  return s;
}

async function upstream(response: string): Promise<RawUpstream> {
  const u = await rawUpstream(response);
  stops.push(() => u.close());
  return u;
}

describe('which upgrades are tunnelled', () => {
  it('refuses h2c upgrades with 403 UPGRADE_REFUSED, forwarding nothing', async () => {
    const u = await upstream(switched('h2c'));
    const s = await sidecarTo(u.port);
    const text = await rawExchange(s.outboundPort, upgradeHead('h2c', ', HTTP2-Settings').replace('\r\n\r\n', '\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n'), 3000);
    expect(text).toMatch(/^HTTP\/1\.1 403 /);
    expect(text.toLowerCase()).toContain('x-weft-error: upgrade_refused');
    expect(u.heads).toEqual([]);
  });

  it('refuses a protocol not in the list, and more than one protocol', async () => {
    const u = await upstream(switched('foo'));
    const s = await sidecarTo(u.port);
    for (const protocol of ['foo', 'websocket, foo', 'H2C']) {
      const text = await rawExchange(s.outboundPort, upgradeHead(protocol), 3000);
      expect(text, protocol).toMatch(/^HTTP\/1\.1 403 /);
    }
    expect(u.heads).toEqual([]);
  });

  it('tunnels a protocol the config lists', async () => {
    const u = await upstream(switched('foo'));
    const s = await sidecarTo(u.port, { upgrades: { protocols: ['websocket', 'foo'] } });
    expect(await responseHead(s.outboundPort, upgradeHead('Foo'))).toMatch(/^HTTP\/1\.1 101 [^]*upgrade: foo/i);
    expect(u.heads).toHaveLength(1);
  });

  it('refuses a config that lists h2c or a bad token', () => {
    for (const protocols of [['h2c'], ['web socket'], ['WebSocket']]) {
      expect(() => validateConfig(testConfig({ upgrades: { protocols }, outbound: { port: 0, clusters: [] } })), String(protocols)).toThrow(/upgrades\.protocols/);
    }
  });
});

describe('the upstream 101', () => {
  it('is refused (502) when it switches to another protocol than asked', async () => {
    const u = await upstream(switched('h2c'));
    const s = await sidecarTo(u.port);
    const text = await rawExchange(s.outboundPort, upgradeHead('websocket'), 3000);
    expect(text).toMatch(/^HTTP\/1\.1 502 /);
    expect(text).toContain('UPSTREAM_PROTOCOL_ERROR');
    expect(text).not.toContain('101');
  });

  it('is never passed on for a request that did not ask for an upgrade', async () => {
    const u = await upstream(switched('websocket'));
    const s = await sidecarTo(u.port);
    const reply = await request(s.outboundPort, { headers: { host: 'up' } });
    expect(reply.status).toBe(502);
    const text = await responseHead(s.outboundPort, 'GET / HTTP/1.1\r\nHost: up\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 502 /);
  });
});

describe('open tunnels', () => {
  let ws: TestServer;
  beforeAll(async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    new WebSocketServer({ server }).on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
    ws = await listen(server);
    stops.push(() => ws.close());
  });

  function open(port: number): Promise<WebSocket> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/chat`, { headers: { host: 'up' } });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    });
  }

  it("count against the cluster's maxRequests until they close", async () => {
    const s = await sidecarTo(ws.port, {}, { maxRequests: 1 });
    const tunnel = await open(s.outboundPort);
    await expect(open(s.outboundPort)).rejects.toThrow('status 503');
    const meanwhile = await request(s.outboundPort, { headers: { host: 'up' } });
    expect(meanwhile.status).toBe(503);
    expect(meanwhile.headers['x-weft-error']).toBe('UPSTREAM_OVERFLOW');
    tunnel.close();
    await eventually(() => request(s.outboundPort, { headers: { host: 'up' } }), (reply) => reply.status === 200, 5000);
  });

  it('are cut after upgrades.idleTimeoutMs with no bytes either way, logged with flag SI', async () => {
    const s = await sidecarTo(ws.port, { upgrades: { idleTimeoutMs: 300 } });
    const tunnel = await open(s.outboundPort);
    const echoed = new Promise<string>((resolve) => tunnel.once('message', (data) => resolve(String(data))));
    tunnel.send('still here');
    expect(await echoed).toBe('still here');
    const closed = await new Promise<number>((resolve) => tunnel.once('close', (code) => resolve(code)));
    expect(closed).toBe(1006);
    await eventually(async () => s.logLines(), (lines) => lines.some((l) => l.status === 101 && l.response_flags === 'SI'), 5000);
  });
});
