// What an HTTP/2 caller may hold open: a bounded number of concurrent streams per connection, and
// no stream silent for longer than the idle timeout (on a connection other streams keep busy).
import http from 'node:http';
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/eventually.js';
import { startSidecar, type InProcessSidecar } from '../../helpers/sidecar.js';

let upstream: http.Server;
let upstreamClosed = 0;
let proxy: InProcessSidecar;

beforeAll(async () => {
  // /stall answers its headers and then nothing; /slow never answers.
  upstream = http.createServer((req, res) => {
    req.on('close', () => upstreamClosed++);
    if (req.url === '/stall') res.writeHead(200).flushHeaders();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as { port: number }).port;
  proxy = await startSidecar({
    limits: { idleTimeoutMs: 300, maxConcurrentStreams: 7 },
    outbound: { port: 0, clusters: [{ name: 'up', hosts: ['up'], timeoutMs: 60_000, endpoints: [{ address: '127.0.0.1', port }] }] },
  });
});
afterAll(async () => {
  await proxy.stop();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

function connect(): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${proxy.outboundPort}`);
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

describe('HTTP/2 limits', () => {
  it('announces maxConcurrentStreams in its SETTINGS', async () => {
    const session = await connect();
    expect(session.remoteSettings.maxConcurrentStreams).toBe(7);
    session.close();
  });

  it('answers 408 (flag SI) on a stream whose body stalls, while the connection is kept busy by PINGs', async () => {
    const session = await connect();
    const keepBusy = setInterval(() => session.ping(() => undefined), 50);
    const stream = session.request({ ':method': 'POST', ':path': '/slow', ':authority': 'up' }, { endStream: false });
    stream.write('partial');
    stream.resume();
    const status = await new Promise<number>((resolve) => stream.once('response', (headers) => resolve(Number(headers[':status']))));
    clearInterval(keepBusy);
    expect(status).toBe(408);
    await new Promise((resolve) => stream.once('close', resolve));
    session.close();
    const entry = proxy.logLines().find((line) => line.path === '/slow');
    expect(entry).toMatchObject({ status: 408, response_flags: 'SI' });
  });

  it('resets a stream whose response stalls and cancels its upstream request', async () => {
    const before = upstreamClosed;
    const session = await connect();
    const stream = session.request({ ':method': 'GET', ':path': '/stall', ':authority': 'up' });
    const status = await new Promise<number>((resolve) => stream.once('response', (headers) => resolve(Number(headers[':status']))));
    expect(status).toBe(200);
    stream.resume();
    stream.on('error', () => undefined);
    await new Promise((resolve) => stream.once('close', resolve));
    expect(stream.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    session.close();
    await eventually(async () => upstreamClosed, (closedNow) => closedNow > before);
    expect(proxy.logLines().find((line) => line.path === '/stall')).toMatchObject({ response_flags: 'SI' });
  });
});
