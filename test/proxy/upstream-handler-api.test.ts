// The upstream side speaks undici's handler API only (onRequestStart, onResponseStart... with a
// controller), not its deprecated callbacks: the handlers have none of them (undici would never
// call one, since it prefers the handler API), and dispatchers that call only the handler API (an
// undici Pool, the sidecar's own HTTP/2 endpoint) carry repeated headers, trailers and
// backpressure through them. Lint refuses the deprecated names in proxy/ as well.
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeaderObject } from '../../proxy/http/headers.js';
import { Exchange } from '../../proxy/http/exchange.js';
import { UpgradeTunnel } from '../../proxy/http/upgrade-tunnel.js';
import { Http2Endpoint, type UpstreamDispatcher, type UpstreamHandler } from '../../proxy/upstream/http2-endpoint.js';
import { RetryPolicy } from '../../proxy/upstream/retry-policy.js';

const DEPRECATED = ['onConnect', 'onHeaders', 'onData', 'onComplete', 'onError', 'onUpgrade', 'onBodySent', 'onResponseStarted'];
const BODY = Buffer.alloc(64 * 1024, 'b');

/** Records what a dispatcher calls; pauses in onResponseStart and resumes once asked. */
class RecordingHandler implements UpstreamHandler {
  readonly calls: string[] = [];
  status = 0;
  headers: HeaderObject = {};
  trailers: HeaderObject = {};
  received = 0;
  private controller: Dispatcher.DispatchController | undefined;
  readonly settled: Promise<Error | undefined>;
  private settle!: (error: Error | undefined) => void;

  constructor(private readonly pauseAtStart: boolean) {
    this.settled = new Promise((resolve) => (this.settle = resolve));
  }

  resumeLater(): void {
    setImmediate(() => {
      this.calls.push('resume');
      this.controller!.resume();
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.calls.push('requestStart');
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: HeaderObject): void {
    this.calls.push('responseStart');
    this.status = statusCode;
    this.headers = headers;
    if (this.pauseAtStart) {
      controller.pause();
      this.resumeLater();
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.calls.at(-1) !== 'data') this.calls.push('data');
    this.received += chunk.length;
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: HeaderObject): void {
    this.calls.push('end');
    this.trailers = trailers;
    this.settle(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.calls.push('error');
    this.settle(error);
  }

  onResponseHeadersOnly(): void {
    this.calls.push('headersOnly');
    this.settle(undefined);
  }
}

/** A try of a request with retries: what the exchange's dispatch goes through then. */
function attemptOf(handler: UpstreamHandler): UpstreamHandler {
  const policy = new RetryPolicy({ attempts: 1, retryOn: ['5xx'], retryNonIdempotent: false, budget: { percent: 100, minRetryConcurrency: 1 } }, undefined);
  const request = { method: 'GET', path: '/', authority: 'a', requestHeaders: [], sourcePrincipal: undefined, endUser: undefined, metadata: undefined };
  return policy.begin(request, null)!.handler(handler);
}

function respond(response: http.ServerResponse | http2.Http2ServerResponse): void {
  // The two response classes share these methods, not their overloads' types.
  const res = response as http.ServerResponse;
  res.setHeader('set-cookie', ['a=1', 'b=2']);
  res.setHeader('x-repeated', ['one', 'two']);
  res.setHeader('trailer', 'x-checksum');
  res.write(BODY);
  res.addTrailers({ 'x-checksum': 'ok' });
  res.end();
}

describe('the upstream handlers', () => {
  it('have none of undici deprecated callbacks, and the handler API', () => {
    const handlers = [Exchange.prototype, UpgradeTunnel.prototype, attemptOf(new RecordingHandler(false))];
    for (const handler of handlers) {
      for (const name of DEPRECATED) expect(name in handler, name).toBe(false);
      for (const name of ['onRequestStart', 'onResponseStart', 'onResponseData', 'onResponseEnd', 'onResponseError']) expect(typeof (handler as unknown as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(typeof UpgradeTunnel.prototype.onRequestUpgrade).toBe('function');
  });
});

describe.each([
  ['an undici Pool (HTTP/1.1)', 'http1'],
  ['the HTTP/2 endpoint (h2c)', 'h2c'],
] as const)('dispatched through %s', (_name, kind) => {
  let server: http.Server | http2.Http2Server;
  let dispatcher: UpstreamDispatcher & { close(): unknown };

  beforeAll(async () => {
    server = kind === 'http1' ? http.createServer((_req, res) => respond(res)) : http2.createServer((_req, res) => respond(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const pool = new Pool(`http://127.0.0.1:${port}`);
    dispatcher =
      kind === 'http1'
        ? (pool as unknown as UpstreamDispatcher & { close(): unknown })
        : new Http2Endpoint({ address: '127.0.0.1', port, connectTimeoutMs: 5000, timeoutMs: 5000, bodyTimeoutMs: 5000, idleTimeoutMs: 5000, tls: undefined, http1: pool as unknown as UpstreamDispatcher });
  });

  afterAll(async () => {
    dispatcher.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ['the handler', false],
    ['a retry try', true],
  ])('gives %s repeated headers, the body after a pause, and the trailers as objects', async (_via, retried) => {
    const recorder = new RecordingHandler(true);
    dispatcher.dispatch({ path: '/', method: 'GET', headers: ['host', 'upstream'], body: null }, retried ? attemptOf(recorder) : recorder);
    expect(await recorder.settled).toBeUndefined();
    expect(recorder.status).toBe(200);
    expect(recorder.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(recorder.headers['x-repeated']).toEqual(kind === 'http1' ? ['one', 'two'] : 'one, two');
    expect(recorder.received).toBe(BODY.length);
    expect(Object.keys(recorder.trailers)).toEqual(['x-checksum']);
    expect(recorder.trailers['x-checksum']).toBe('ok');
    // Paused at the head: no data came before the resume.
    expect(recorder.calls).toEqual(['requestStart', 'responseStart', 'resume', 'data', 'end']);
  });
});
