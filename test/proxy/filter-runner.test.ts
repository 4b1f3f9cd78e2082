// The filter-chain runner through a real sidecar: hooks in order both ways, a local reply at each
// hook, rewrites of method, path, authority, headers and body in both directions (buffered and
// streamed), request and response trailers, and upgrade tunnels through the same runner (policy
// overrides on a refusal, response-header hooks on the 101, the cluster's request limit).
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bufferBody,
  CONTINUE,
  STREAM_BODY,
  TRANSFORM_BODY,
  type BodyData,
  type FilterExchange,
  type HttpFilter,
  type HttpFilterFactory,
} from '../../proxy/filters/http-filter.js';
import { registerFilter } from '../../proxy/filters/registry.js';
import { headerValue, setHeader } from '../../proxy/http/headers.js';
import { request } from '../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';

/** What the upstream saw, as it answers for any path but those below. */
interface Seen {
  method: string;
  url: string;
  host: string;
  contentLength: string | undefined;
  body: string;
}

const idle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A probe filter named by its config: it appends its name to `x-order` both ways, and acts as
 * the request's `x-act-<name>` header says (several actions separated by commas).
 */
function probe(name: string): HttpFilter {
  const acts = (x: FilterExchange): string[] => (headerValue(x.requestHeaders, `x-act-${name}`) ?? '').split(',');
  const seenActs = new WeakMap<FilterExchange, string[]>();
  const actsOf = (x: FilterExchange): string[] => seenActs.get(x) ?? [];
  const appendOrder = (headers: string[]): void => setHeader(headers, 'x-order', `${headerValue(headers, 'x-order') ?? ''}${name};`);
  return {
    decodeHeaders(x) {
      const a = acts(x);
      seenActs.set(x, a);
      appendOrder(x.requestHeaders);
      if (a.includes('reply-headers')) return { code: 'AUTHZ_DENIED', detail: `${name} said no`, overrides: { status: 403, headers: ['x-refused-by', name] } };
      if (a.includes('async')) return idle().then(() => CONTINUE);
      if (a.includes('rewrite')) {
        x.method = 'PUT';
        x.path = '/rewritten?by=' + name;
        x.authority = 'elsewhere.test';
        setHeader(x.requestHeaders, 'x-added', name);
      }
      if (a.includes('buffer-upper') || a.includes('buffer-reply') || a.includes('buffer-small')) return bufferBody(a.includes('buffer-small') ? 4 : 1 << 20);
      if (a.includes('buffer-partial')) return bufferBody(4, true);
      if (a.includes('stream-upper') || a.includes('stream-reply')) return STREAM_BODY;
      if (a.includes('stream-append')) return TRANSFORM_BODY;
      return CONTINUE;
    },
    decodeData(x, data: BodyData) {
      const a = actsOf(x);
      if (a.includes('buffer-reply')) return { code: 'AUTHZ_DENIED', detail: `body ${data.bytes.toString()}` };
      if (a.includes('stream-reply') && data.bytes.includes('stop')) return idle().then(() => ({ code: 'AUTHZ_DENIED' as const, detail: 'stop in body' }));
      if (a.includes('buffer-partial')) setHeader(x.requestHeaders, 'x-first-bytes', `${data.bytes.toString()}:${String(data.end)}`);
      if (a.includes('stream-append') && data.end) data.bytes = Buffer.concat([data.bytes, Buffer.from('!')]);
      if (a.includes('buffer-upper') || a.includes('stream-upper')) data.bytes = Buffer.from(data.bytes.toString().toUpperCase());
      return CONTINUE;
    },
    decodeTrailers(x, trailers) {
      if (headerValue(trailers, 'x-signature') === 'bad' && actsOf(x).includes('check-trailers')) return { code: 'AUTHZ_DENIED', detail: 'bad signature' };
      return CONTINUE;
    },
    encodeHeaders(x) {
      const a = actsOf(x);
      appendOrder(x.responseHeaders!);
      if (a.includes('reply-response')) return { code: 'AUTHZ_DENIED', detail: 'response refused' };
      if (a.includes('status')) x.responseStatus = 299;
      if (a.includes('response-async')) return idle().then(() => (setHeader(x.responseHeaders!, 'x-async', name), CONTINUE));
      if (a.includes('response-buffer') || a.includes('response-buffer-reply')) return bufferBody(1 << 20);
      if (a.includes('response-small')) return bufferBody(4);
      if (a.includes('response-stream') || a.includes('response-cut')) return STREAM_BODY;
      return CONTINUE;
    },
    encodeData(x, data) {
      const a = actsOf(x);
      if (a.includes('response-buffer-reply')) return { code: 'AUTHZ_DENIED', detail: `response body of ${data.bytes.length} bytes` };
      if (a.includes('response-buffer')) data.bytes = Buffer.from(`rewritten ${data.bytes.length} bytes by ${name}`);
      if (a.includes('response-stream')) return idle().then(() => ((data.bytes = Buffer.from(data.bytes.toString().toUpperCase())), CONTINUE));
      if (a.includes('response-cut') && data.bytes.length > 0) return { code: 'AUTHZ_DENIED' };
      return CONTINUE;
    },
    encodeTrailers(x, trailers) {
      if (actsOf(x).includes('edit-trailers')) setHeader(trailers, 'x-checksum', `checked by ${name}`);
      return CONTINUE;
    },
  };
}

const probeFactory: HttpFilterFactory = {
  name: 'runner-probe',
  configSchema: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
  terminal: false,
  create: (config) => probe(String(config.name)),
};

/** Echoes what it received as JSON; `/trailers` ends with a trailer; `/hold` answers when released; upgrades answer 101 and echo. */
async function upstream(): Promise<{ port: number; held: http.ServerResponse[]; close(): Promise<void> }> {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/hold') return void held.push(res);
      if (req.url === '/trailers') {
        res.writeHead(200, { trailer: 'x-checksum' });
        res.write('part one, ');
        res.addTrailers({ 'x-checksum': 'abc' });
        return void res.end('part two');
      }
      const seen: Seen = {
        method: req.method!,
        url: req.url!,
        host: req.headers.host!,
        contentLength: req.headers['content-length'],
        body: Buffer.concat(chunks).toString(),
      };
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-order', '');
      res.end(JSON.stringify({ ...seen, added: req.headers['x-added'], order: req.headers['x-order'], firstBytes: req.headers['x-first-bytes'] }));
    });
  });
  server.on('upgrade', (_req, socket: net.Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    held,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends an upgrade on a raw socket; resolves with the response head, and the echo of `ping` when it was upgraded. */
function upgrade(port: number, headers: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk;
      if (received.startsWith('HTTP/1.1 101') && received.includes('\r\n\r\n') && !received.includes('ping')) socket.write('ping');
      if (received.endsWith('ping')) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(`GET /chat HTTP/1.1\r\nhost: app.test\r\nconnection: upgrade\r\nupgrade: echo\r\n${headers}\r\n`);
  });
}

describe('filter-chain runner', () => {
  let app: Awaited<ReturnType<typeof upstream>>;
  let proxy: InProcessSidecar;

  beforeAll(async () => {
    registerFilter(probeFactory);
    app = await upstream();
    const probes = ['a', 'b', 'c'].map((name) => ({ name: 'runner-probe', config: { name } }));
    proxy = await startSidecar({
      inbound: { address: '127.0.0.1', port: 0, appPort: app.port, filters: [...probes, { name: 'router' }] },
      outbound: {
        port: 0,
        filters: [...probes, { name: 'router' }],
        clusters: [{ name: 'app', hosts: ['app.test'], maxRequests: 1, endpoints: [{ address: '127.0.0.1', port: app.port }] }],
      },
    });
  });

  afterAll(async () => {
    await proxy.stop();
    await app.close();
  });

  const send = (headers: Record<string, string>, body?: string, path = '/x') =>
    request(proxy.inboundPort, { method: body === undefined ? 'GET' : 'POST', path, headers, ...(body === undefined ? {} : { body }) });

  it('runs request hooks in config order and response hooks in reverse, waiting on promises', async () => {
    const reply = await send({ 'x-act-b': 'async' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).order).toBe('a;b;c;');
    expect(reply.headers['x-order']).toBe('c;b;a;');
  });

  it('answers locally from request headers, with the filter overrides, and runs no later filter', async () => {
    const reply = await send({ 'x-act-b': 'reply-headers' });
    expect(reply.status).toBe(403);
    expect(reply.headers['x-refused-by']).toBe('b');
    expect(reply.body).toBe('AUTHZ_DENIED: b said no\n');
  });

  it('rewrites method, path, authority and headers before the upstream sees them', async () => {
    const seen = JSON.parse((await send({ 'x-act-a': 'rewrite' })).body);
    expect(seen).toMatchObject({ method: 'PUT', url: '/rewritten?by=a', host: 'elsewhere.test', added: 'a' });
  });

  it('holds the request for a buffering filter, which may rewrite the body (length set) or answer locally', async () => {
    const rewritten = JSON.parse((await send({ 'x-act-b': 'buffer-upper' }, 'hello body')).body);
    expect(rewritten).toMatchObject({ body: 'HELLO BODY', contentLength: '10', order: 'a;b;c;' });
    const refused = await send({ 'x-act-b': 'buffer-reply' }, 'secret');
    expect(refused.status).toBe(403);
    expect(refused.body).toBe('AUTHZ_DENIED: body secret\n');
  });

  it('answers 413 past a buffering cap, or passes the first bytes when partial bodies are allowed', async () => {
    const tooLarge = await send({ 'x-act-a': 'buffer-small' }, 'longer than four');
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers['x-weft-error']).toBe('REQUEST_BODY_TOO_LARGE');
    const partial = JSON.parse((await send({ 'x-act-a': 'buffer-partial' }, 'abcdefghij')).body);
    expect(partial.body).toBe('abcdefghij');
    expect(partial.firstBytes).toMatch(/^abcde.*:false$/);
  });

  it('streams the request body through data hooks in order, and a hook may change its length', async () => {
    const upper = JSON.parse((await send({ 'x-act-a': 'stream-upper' }, 'streamed')).body);
    expect(upper).toMatchObject({ body: 'STREAMED', contentLength: '8' });
    // c appends after a upper-cased: the '!' is c's, unchanged by a. The caller's length (3) is dropped.
    const appended = JSON.parse((await send({ 'x-act-a': 'stream-upper', 'x-act-c': 'stream-append' }, 'abc')).body);
    expect(appended.body).toBe('ABC!');
    expect(appended.contentLength).not.toBe('3');
  });

  it('answers locally from a streamed body chunk and cancels the upstream request', async () => {
    const reply = await send({ 'x-act-c': 'stream-reply' }, 'please stop now');
    expect(reply.status).toBe(403);
    expect(reply.body).toBe('AUTHZ_DENIED: stop in body\n');
  });

  it('passes request trailers to the trailers hooks, which may refuse the request', async () => {
    const withTrailer = (value: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: proxy.inboundPort, method: 'POST', path: '/t', agent: false, headers: { trailer: 'x-signature', 'x-act-a': 'check-trailers' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.write('signed body');
        req.addTrailers({ 'x-signature': value });
        req.end();
      });
    expect(await withTrailer('bad')).toBe(403);
    expect(await withTrailer('good')).toBe(200);
  });

  it('lets response hooks rewrite the status and headers, after an async hook, or answer instead', async () => {
    const rewritten = await send({ 'x-act-c': 'status', 'x-act-b': 'response-async' });
    expect(rewritten.status).toBe(299);
    expect(rewritten.headers['x-async']).toBe('b');
    const refused = await send({ 'x-act-a': 'reply-response' });
    expect(refused.status).toBe(403);
    expect(refused.body).toBe('AUTHZ_DENIED: response refused\n');
  });

  it('holds the response for a buffering filter, which may rewrite it (length set) or answer instead', async () => {
    const rewritten = await send({ 'x-act-b': 'response-buffer' });
    expect(rewritten.body).toMatch(/^rewritten \d+ bytes by b$/);
    expect(rewritten.headers['content-length']).toBe(String(rewritten.body.length));
    // The filters before b (a) saw the head after b had the body.
    expect(rewritten.headers['x-order']).toBe('c;b;a;');
    const refused = await send({ 'x-act-b': 'response-buffer-reply' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/^AUTHZ_DENIED: response body of \d+ bytes\n$/);
    const tooLarge = await send({ 'x-act-b': 'response-small' });
    expect(tooLarge.status).toBe(502);
    expect(tooLarge.headers['x-weft-error']).toBe('RESPONSE_BODY_TOO_LARGE');
  });

  it('streams the response body through async data hooks, and cuts a response a hook refuses mid-body', async () => {
    const upper = await send({ 'x-act-a': 'response-stream' }, undefined, '/trailers');
    expect(upper.body).toBe('PART ONE, PART TWO');
    await expect(send({ 'x-act-a': 'response-cut' }, undefined, '/trailers')).rejects.toThrow();
  });

  it('passes response trailers through the trailers hooks, which may edit them', async () => {
    const trailers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: proxy.inboundPort, path: '/trailers', agent: false, headers: { 'x-act-b': 'edit-trailers' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.trailers));
        })
        .on('error', reject);
    });
    expect(trailers['x-checksum']).toBe('checked by b');
  });

  describe('upgrades through the same runner', () => {
    it('refuses an upgrade with the filter overrides', async () => {
      const text = await upgrade(proxy.outboundPort, 'x-act-a: reply-headers\r\n');
      expect(text).toMatch(/^HTTP\/1\.1 403 /);
      expect(text).toContain('x-refused-by: a');
    });

    it('runs response-header hooks on the 101 and tunnels after an async hook', async () => {
      const text = await upgrade(proxy.outboundPort, 'x-act-b: response-async\r\n');
      expect(text).toMatch(/^HTTP\/1\.1 101 /);
      expect(text).toContain('x-async: b');
      expect(text).toContain('x-order: c;b;a;');
      expect(text.endsWith('ping')).toBe(true);
    });

    it("applies the cluster's request limit to upgrades", async () => {
      const holding = request(proxy.outboundPort, { path: '/hold', headers: { host: 'app.test' } });
      while (app.held.length === 0) await idle();
      const text = await upgrade(proxy.outboundPort, '');
      expect(text).toMatch(/^HTTP\/1\.1 503 /);
      expect(text).toContain('x-weft-error: UPSTREAM_OVERFLOW');
      app.held[0]!.end('released');
      expect((await holding).body).toBe('released');
    });
  });
});
