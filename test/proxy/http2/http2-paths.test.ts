// HTTP/2 on the sidecar's ports beside HTTP/1.1: h2c by prior knowledge and HTTP/1.1 on one
// plaintext port (the preface decides), requests carried between mesh sidecars the way their
// callers spoke, HTTP/2 callers reaching an HTTP/1.1 app, and GOAWAY from an upstream letting the
// stream in flight finish.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaServer, type TestCaServer } from '../../helpers/ca-server.js';
import { request } from '../../helpers/http-client.js';
import { startMeshSidecar } from '../../helpers/mesh.js';
import { startSidecar, type InProcessSidecar } from '../../helpers/sidecar.js';
import { testId } from '../../helpers/throwaway-ca.js';
import { echoServer, type EchoReply, type TestServer } from '../../helpers/upstream.js';

const stops: (() => Promise<void>)[] = [];
let app: TestServer;

beforeAll(async () => {
  app = await echoServer();
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await app.close();
});

async function sidecar(overrides: Record<string, unknown>): Promise<InProcessSidecar> {
  const started = await startSidecar(overrides);
  stops.push(() => started.stop());
  return started;
}

interface H2Reply {
  headers: http2.IncomingHttpHeaders;
  body: string;
}

function h2Request(port: number, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<H2Reply> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  return new Promise<H2Reply>((resolve, reject) => {
    session.on('error', reject);
    const stream = session.request({ ':method': body === undefined ? 'GET' : 'POST', ':path': '/h2', ...headers }, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    let text = '';
    let responseHeaders: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (responseHeaders = h));
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ headers: responseHeaders, body: text }));
    stream.on('error', reject);
  }).finally(() => session.close());
}

describe('HTTP/2 at the sidecar', () => {
  it('serves h2c (prior knowledge) and HTTP/1.1 on the same port, to an HTTP/1.1 app', async () => {
    const proxy = await sidecar({ inbound: { port: 0, appPort: app.port } });
    const overH2 = await h2Request(proxy.inboundPort, { ':authority': 'app.local', 'x-probe': 'h2' }, Buffer.from('body over h2'));
    expect(overH2.headers[':status']).toBe(200);
    const seen = JSON.parse(overH2.body) as EchoReply;
    expect(seen.method).toBe('POST');
    expect(seen.bodyBytes).toBe('body over h2'.length);
    // The app got HTTP/1.1 with the authority as its Host and no pseudo-headers.
    expect(seen.headers.find(([name]) => name === 'host')?.[1]).toBe('app.local');
    expect(seen.headers.some(([name]) => name.startsWith(':'))).toBe(false);
    expect(seen.headers.find(([name]) => name === 'x-probe')?.[1]).toBe('h2');
    const overH1 = await request(proxy.inboundPort, { path: '/h1' });
    expect(overH1.status).toBe(200);
    const metrics = (await request(proxy.adminPort, { path: '/metrics' })).body;
    expect(metrics).toMatch(/istio_requests_total\{[^}]*request_protocol="http\/2"[^}]*response_code="200"[^}]*\} 1/);
    expect(metrics).toMatch(/istio_requests_total\{[^}]*request_protocol="http"[^}]*response_code="200"[^}]*\} 1/);
  });

  it("refuses CONNECT (405) and an unknown expectation (417) over HTTP/2 (as Node's compatibility layer did), and takes 100-continue", async () => {
    const proxy = await sidecar({ inbound: { port: 0, appPort: app.port } });
    const session = http2.connect(`http://127.0.0.1:${proxy.inboundPort}`);
    stops.push(async () => void session.close());
    const status = (stream: http2.ClientHttp2Stream): Promise<unknown> =>
      new Promise((resolve, reject) => {
        stream.on('response', (headers) => resolve(headers[':status']));
        stream.on('error', reject);
        stream.resume();
      });
    expect(await status(session.request({ ':method': 'CONNECT', ':authority': 'app.local:443' }, { endStream: false }))).toBe(405);
    expect(await status(session.request({ ':method': 'GET', ':path': '/x', ':authority': 'app.local', expect: 'something-else' }))).toBe(417);
    const continued = session.request({ ':method': 'POST', ':path': '/continue', ':authority': 'app.local', expect: '100-continue' }, { endStream: false });
    // The body goes only once the sidecar said 100 Continue.
    continued.on('continue', () => continued.end('after continue'));
    let body = '';
    continued.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    const [headers] = await Promise.all([new Promise<http2.IncomingHttpHeaders>((resolve) => continued.on('response', resolve)), new Promise((resolve) => continued.on('end', resolve))]);
    expect(headers[':status']).toBe(200);
    expect((JSON.parse(body) as EchoReply).bodyBytes).toBe('after continue'.length);
  });

  it('carries a request between mesh sidecars the way its caller spoke: HTTP/1.1 over pooled mTLS connections, HTTP/2 as HTTP/2 (ALPN h2)', async () => {
    const ca: TestCaServer = await startCaServer();
    stops.push(() => ca.close());
    const backend = await startMeshSidecar(ca, { workload: 'backend', inbound: { port: 0, appPort: app.port } });
    stops.push(() => backend.stop());
    const frontend = await startMeshSidecar(ca, {
      workload: 'frontend',
      outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inboundPort }], spiffeId: testId('backend') }] },
    });
    stops.push(() => frontend.stop());
    const replies = await Promise.all([1, 2].map(() => request(frontend.outboundPort, { method: 'POST', headers: { host: 'backend' }, body: 'hello' })));
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect((JSON.parse(reply.body) as EchoReply).bodyBytes).toBe(5);
    }
    const overH2 = await h2Request(frontend.outboundPort, { ':authority': 'backend' }, Buffer.from('hello'));
    expect(overH2.headers[':status']).toBe(200);
    // The backend sidecar took the HTTP/1.1 requests as HTTP/1.1 and the HTTP/2 one as HTTP/2, all over mTLS.
    const metrics = (await request(backend.adminPort, { path: '/metrics' })).body;
    expect(metrics).toMatch(/istio_requests_total\{[^}]*request_protocol="http"[^}]*connection_security_policy="mutual_tls"[^}]*\} 2/);
    expect(metrics).toMatch(/istio_requests_total\{[^}]*request_protocol="http\/2"[^}]*connection_security_policy="mutual_tls"[^}]*\} 1/);
  });

  it('lets the stream in flight finish when the upstream sends GOAWAY, then opens a new session', async () => {
    const sessions = new Set<http2.ServerHttp2Session>();
    const upstream = http2.createServer();
    upstream.on('session', (session) => sessions.add(session));
    upstream.on('stream', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(Buffer.from([0, 0, 0, 0, 1, 0x61]));
      // Graceful shutdown of this session while the stream is still open; the stream ends once
      // the sidecar acknowledged a PING sent after the GOAWAY, so it has taken the GOAWAY in.
      stream.session!.goaway(0, stream.id);
      stream.session!.ping(() => stream.end(Buffer.from([0, 0, 0, 0, 1, 0x62])));
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => upstream.close(() => resolve())));
    const port = (upstream.address() as { port: number }).port;
    const proxy = await sidecar({ outbound: { port: 0, clusters: [{ name: 'up', hosts: ['up'], protocol: 'grpc', endpoints: [{ address: '127.0.0.1', port }] }] } });
    const call = (): Promise<H2Reply> => h2Request(proxy.outboundPort, { ':authority': 'up', ':method': 'POST', 'content-type': 'application/grpc' }, Buffer.from([0, 0, 0, 0, 0]));
    const first = await call();
    expect(first.headers[':status']).toBe(200);
    expect(first.body).toContain('a');
    expect(first.body).toContain('b');
    const second = await call();
    expect(second.headers[':status']).toBe(200);
    expect(sessions.size).toBe(2);
  });

  it('sends a stream the upstream refused unprocessed (REFUSED_STREAM) once more on a new session', async () => {
    const sessions: http2.ServerHttp2Session[] = [];
    let refused = 0;
    const upstream = http2.createServer();
    upstream.on('session', (session) => sessions.push(session));
    upstream.on('stream', (stream) => {
      // The first session refuses everything, as one shutting down does.
      if (stream.session === sessions[0]) {
        refused++;
        stream.on('error', () => undefined);
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 1, 0x63]));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => upstream.close(() => resolve())));
    const port = (upstream.address() as { port: number }).port;
    const proxy = await sidecar({ outbound: { port: 0, clusters: [{ name: 'up', hosts: ['up'], protocol: 'grpc', endpoints: [{ address: '127.0.0.1', port }] }] } });
    const reply = await h2Request(proxy.outboundPort, { ':authority': 'up', 'content-type': 'application/grpc' });
    expect(reply.headers[':status']).toBe(200);
    expect(reply.body).toContain('c');
    expect(refused).toBe(1);
    expect(sessions).toHaveLength(2);
    // The refusing session is not kept open beside the new one.
    await new Promise<void>((resolve) => (sessions[0]!.closed ? resolve() : sessions[0]!.once('close', () => resolve())));
  });

  it("speaks the cluster's protocol to a plaintext upstream, whatever the caller's content type", async () => {
    const h2 = http2.createServer((req, res) => res.end(`h2 ${req.httpVersion}`));
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => h2.close(() => resolve())));
    const app = await echoServer();
    stops.push(() => app.close());
    const h2Port = (h2.address() as { port: number }).port;
    const proxy = await sidecar({
      outbound: {
        port: 0,
        clusters: [
          { name: 'h2', hosts: ['h2'], protocol: 'http2', endpoints: [{ address: '127.0.0.1', port: h2Port }] },
          { name: 'h1', hosts: ['h1'], endpoints: [{ address: '127.0.0.1', port: app.port }] },
        ],
      },
    });
    // An HTTP/1.1 caller of a plain request reaches the h2c-only upstream over HTTP/2.
    expect((await request(proxy.outboundPort, { headers: { host: 'h2' } })).body).toBe('h2 2.0');
    // A gRPC content type does not make an http1 cluster's request HTTP/2.
    const reply = await request(proxy.outboundPort, { method: 'POST', headers: { host: 'h1', 'content-type': 'application/grpc' }, body: 'x' });
    expect((JSON.parse(reply.body) as EchoReply).bodyBytes).toBe(1);
  });
});
