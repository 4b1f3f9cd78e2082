// Request smuggling through a real sidecar, with raw sockets on both sides: framings that two
// HTTP/1.1 parsers could read differently are refused before anything reaches the upstream, and
// an upstream response with such framing never reaches the caller as a response. Each case
// pipelines a `GET /smuggled` behind the ambiguous request and a last `Connection: close`
// request, so the test ends when the sidecar closes the connection, never on a timer.
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange, request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { listen, type TestServer } from '../helpers/upstream.js';

const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: app\r\n\r\n';
const last = 'GET /last HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n';

/** Ambiguous request framings, each followed by a smuggled request in what one parser may read as the body. */
const ambiguousRequests: Record<string, string> = {
  'Content-Length and Transfer-Encoding': `POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
  'Transfer-Encoding before Content-Length': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  'two different Content-Lengths': `POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
  'a Content-Length list': `POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: 0, ${smuggled.length}\r\n\r\n${smuggled}`,
  'a signed Content-Length': `POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: +${smuggled.length}\r\n\r\n${smuggled}`,
  'Transfer-Encoding: chunked, identity': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked, identity\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  'Transfer-Encoding not ending in chunked': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n${smuggled}`,
  'whitespace before the colon of Transfer-Encoding': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  'Transfer-Encoding folded onto a second line': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  'a vertical tab in Transfer-Encoding': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: \x0bchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  'xchunked': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  'a bare LF ending a header line': `POST /a HTTP/1.1\r\nHost: app\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
  'a bare LF ending the request line': `POST /a HTTP/1.1\nHost: app\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
  'a bare CR inside a header value': `POST /a HTTP/1.1\r\nHost: app\r\nX-A: 1\rContent-Length: ${smuggled.length}\r\nContent-Length: 0\r\n\r\n${smuggled}`,
  'a chunk size with a bare LF': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled.length.toString(16)}\n${smuggled}\r\n0\r\n\r\n`,
  'an overflowing chunk size': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\n${smuggled}\r\n0\r\n\r\n`,
  'a chunk size that is not hex': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n${smuggled}\r\n0\r\n\r\n`,
  'a chunk without its CRLF': `POST /a HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nAB\r\n0\r\n\r\n${smuggled}`,
  'a space inside the method token': `PO ST /a HTTP/1.1\r\nHost: app\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
  'an HTTP/1.0 request with Transfer-Encoding': `POST /a HTTP/1.0\r\nHost: app\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
};

/** Upstream responses with ambiguous framing, each followed by a second response a desynced proxy would hand to the next caller. */
const ambiguousResponses: Record<string, string> = {
  'Content-Length and Transfer-Encoding': 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'two different Content-Lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nokok',
  'a bare LF ending a header line': 'HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\nok',
  'an overflowing chunk size': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\nok\r\n0\r\n\r\n',
  'whitespace before the colon of Content-Length': 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok',
};
const desyncedResponse = 'HTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Smuggled: yes\r\n\r\nsmuggled!';

/**
 * An upstream that records every request it received whole. A body whose framing breaks midway
 * reaches it as an aborted request, which it never records: what matters is that no complete
 * request other than the caller's meaning is delivered.
 */
async function recordingUpstream(): Promise<TestServer & { readonly seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-length': '2' }).end('ok');
    });
  });
  return Object.assign(await listen(server), { seen });
}

/** Status codes of the responses in a raw HTTP/1.1 byte stream, in order. */
function statuses(raw: string): number[] {
  return [...raw.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((match) => Number(match[1]));
}

describe('request smuggling through the sidecar', () => {
  let app: TestServer & { readonly seen: string[] };
  let inbound: InProcessSidecar;
  let outbound: InProcessSidecar;

  beforeAll(async () => {
    app = await recordingUpstream();
    inbound = await startSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: app.port } });
    outbound = await startSidecar({
      outbound: { port: 0, clusters: [{ name: 'app', hosts: ['app'], endpoints: [{ address: '127.0.0.1', port: app.port }] }] },
    });
  });

  afterAll(async () => {
    await inbound.stop();
    await outbound.stop();
    await app.close();
  });

  it('forwards a well-framed pipelined stream request by request (the control case)', async () => {
    app.seen.length = 0;
    const body = 'hello';
    const raw = await rawExchange(inbound.inboundPort, `POST /a HTTP/1.1\r\nHost: app\r\nContent-Length: ${body.length}\r\n\r\n${body}${smuggled}${last}`);
    expect(statuses(raw)).toEqual([200, 200, 200]);
    // Pipelined requests may reach the upstream on different pooled connections, in any order.
    expect([...app.seen].sort()).toEqual(['GET /last', 'GET /smuggled', 'POST /a']);
  });

  for (const [port, name] of [
    [() => inbound.inboundPort, 'inbound'],
    [() => outbound.outboundPort, 'outbound'],
  ] as const) {
    describe(`${name} listener`, () => {
      for (const [framing, text] of Object.entries(ambiguousRequests)) {
        it(`refuses ${framing} with 400 and forwards nothing`, async () => {
          app.seen.length = 0;
          const raw = await rawExchange(port(), text + last);
          expect(statuses(raw)).toEqual([400]);
          expect(app.seen).toEqual([]);
        });
      }
    });
  }

  it('refuses an HTTP/2 request whose DATA exceeds its content-length, and forwards nothing', async () => {
    app.seen.length = 0;
    const session = http2.connect(`http://127.0.0.1:${outbound.outboundPort}`);
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', ':path': '/a', ':authority': 'app', 'content-length': '4' });
    const closed = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode)));
    stream.on('error', () => undefined);
    stream.on('response', () => undefined);
    stream.end(`0\r\n\r\n${smuggled}`);
    const code = await closed;
    session.close();
    // Node 20 and 22 reset the stream (PROTOCOL_ERROR); Node 24's nghttp2 closes the whole
    // connection (GOAWAY, INTERNAL_ERROR on the stream): refused either way.
    expect([http2.constants.NGHTTP2_PROTOCOL_ERROR, http2.constants.NGHTTP2_INTERNAL_ERROR]).toContain(code);
    expect(app.seen).not.toContain('GET /smuggled');
    // The sidecar and its upstream connections still carry requests.
    expect((await request(outbound.outboundPort, { headers: { host: 'app' } })).status).toBe(200);
  });

  describe('upstream responses', () => {
    let bad: net.Server;
    let badPort = 0;
    let reply = '';
    let proxy: InProcessSidecar;

    beforeAll(async () => {
      bad = net.createServer((socket) => {
        socket.once('data', () => socket.write(reply + desyncedResponse));
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => bad.listen(0, '127.0.0.1', resolve));
      badPort = (bad.address() as AddressInfo).port;
      proxy = await startSidecar({ inbound: { address: '127.0.0.1', port: 0, appPort: badPort } });
    });

    afterAll(async () => {
      await proxy.stop();
      await new Promise((resolve) => bad.close(resolve));
    });

    for (const [framing, text] of Object.entries(ambiguousResponses)) {
      it(`never passes on a response with ${framing} whole, nor the response behind it`, async () => {
        reply = text;
        // A framing error in the head is a 502; one in a body the caller already started getting
        // resets the caller's connection, so the response never looks complete. The next request
        // (the upstream answers it the same way) must not get the response queued behind.
        for (let i = 0; i < 2; i++) {
          const outcome = await request(proxy.inboundPort, { headers: { host: 'app' } }).then(
            (reply) => (reply.headers['x-smuggled'] === undefined ? reply.status : 'smuggled response'),
            (error: Error) => error.message,
          );
          expect([502, 'socket hang up', 'aborted']).toContain(outcome);
        }
      });
    }
  });
});
