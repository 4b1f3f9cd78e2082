// Protections on the sidecar's listeners, driven with raw sockets: slowloris, request and idle
// timeouts, header size (431), request smuggling framings (400), the connection cap.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { rawExchange, request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { echoServer, type TestServer } from '../helpers/upstream.js';

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Writes `first`, then `next` every `everyMs` until the server closes; resolves with what it sent. */
function trickle(port: number, first: string, next: string, everyMs: number, limitMs: number): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    const timer = setInterval(() => {
      if (Date.now() - started > limitMs) {
        clearInterval(timer);
        socket.destroy();
        reject(new Error('the sidecar kept the connection open'));
      } else if (socket.writable) socket.write(next);
    }, everyMs);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ text, ms: Date.now() - started });
    });
    socket.write(first);
  });
}

describe('listener protections', () => {
  let app: TestServer;
  let proxy: InProcessSidecar;

  beforeAll(async () => {
    app = await echoServer();
    proxy = await startSidecar({
      inbound: { address: '127.0.0.1', port: 0, appPort: app.port },
      limits: { headersTimeoutMs: 300, requestTimeoutMs: 800, idleTimeoutMs: 600, maxHeaderBytes: 2048, maxConnections: 3 },
    });
  });

  afterAll(async () => {
    await proxy.stop();
    await app.close();
  });

  it('cuts a caller that sends headers too slowly (slowloris) with 408', async () => {
    const { text } = await trickle(proxy.inboundPort, 'GET / HTTP/1.1\r\nHost: a\r\n', 'X-Slow: 1\r\n', 50, 5000);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('x-weft-error: DOWNSTREAM_REQUEST_TIMEOUT');
  });

  it('cuts a request whose body does not arrive within the request timeout', async () => {
    // Each byte resets the idle timer; only the request timeout ends this (trickle fails at 5 s).
    const { ms } = await trickle(proxy.inboundPort, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n', 'x', 50, 5000);
    expect(ms).toBeGreaterThanOrEqual(700);
  });

  it('closes an idle keep-alive connection after the idle timeout', async () => {
    // Well under Node's own 5 s keep-alive default, so only the configured 600 ms can pass this.
    const text = await rawExchange(proxy.inboundPort, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 3000);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('answers 431 to headers larger than the limit', async () => {
    const text = await rawExchange(proxy.inboundPort, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(4096)}\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 431 /);
    expect(text).toContain('x-weft-error: REQUEST_HEADERS_TOO_LARGE');
  });

  // Node's parser (llhttp) refuses both framings; these tests pin that the refusal reaches the
  // caller as our 400 and that nothing is forwarded.
  it('refuses Content-Length together with Transfer-Encoding (400)', async () => {
    const before = app.connections;
    const text = await rawExchange(
      proxy.inboundPort,
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('x-weft-error: DOWNSTREAM_PROTOCOL_ERROR');
    expect(text).not.toContain('smuggled');
    expect(app.connections).toBe(before);
  });

  it('refuses two differing Content-Length headers (400)', async () => {
    const before = app.connections;
    const text = await rawExchange(proxy.inboundPort, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 10\r\n\r\nabcd');
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('x-weft-error: DOWNSTREAM_PROTOCOL_ERROR');
    expect(app.connections).toBe(before);
  });

  it('caps concurrent connections', async () => {
    const held = await Promise.all([connect(proxy.inboundPort), connect(proxy.inboundPort), connect(proxy.inboundPort)]);
    try {
      const refused = await rawExchange(proxy.inboundPort, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 3000);
      expect(refused).toBe('');
    } finally {
      for (const socket of held) socket.destroy();
    }
    // The sidecar counts a connection closed once it sees the close.
    expect(await eventually(() => request(proxy.inboundPort).then((reply) => reply.status), (status) => status === 200, 10_000)).toBe(200);
  });
});
