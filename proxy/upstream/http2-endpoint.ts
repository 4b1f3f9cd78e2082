// HTTP/2 to one upstream endpoint: a keep-alive node:http2 client session (h2c by prior
// knowledge in plaintext, ALPN `h2` over TLS), streams driven through undici's handler API
// (onRequestStart... with a controller), as undici's pools drive it, so the exchange forwards to
// either the same way. A GOAWAY from the
// endpoint retires the session: its streams in flight finish on it, new ones go to a new session.
// A TLS peer that picks `http/1.1` in ALPN is remembered and served by the HTTP/1.1 pool.
import http2 from 'node:http2';
import net from 'node:net';
import type { Readable } from 'node:stream';
import tls, { type ConnectionOptions } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { HeaderObject } from '../http/headers.js';

type DispatchController = Dispatcher.DispatchController;

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;
const END_STREAM = http2.constants.NGHTTP2_FLAG_END_STREAM;

/** What an exchange hands to a dispatcher (the subset of undici's options the sidecar uses). */
export interface UpstreamRequest {
  readonly path: string;
  readonly method: string;
  /** Flat [name, value, ...], lower-case names, `host` among them. */
  readonly headers: string[];
  readonly body: Readable | null;
}

/**
 * undici's handler API (the deprecated callbacks are not used: lint refuses them), plus the one
 * HTTP/2 case HTTP/1.1 does not have: a response of headers only.
 */
export interface UpstreamHandler {
  onRequestStart(controller: DispatchController, context: unknown): void;
  onResponseStart(controller: DispatchController, statusCode: number, headers: HeaderObject, statusMessage?: string): void;
  onResponseData(controller: DispatchController, chunk: Buffer): void;
  onResponseEnd(controller: DispatchController, trailers: HeaderObject): void;
  /** `controller` is undefined when the request failed before a connection took it. */
  onResponseError(controller: DispatchController | undefined, error: Error): void;
  /** The response was one HEADERS frame ending the stream (gRPC trailers-only). */
  onResponseHeadersOnly(controller: DispatchController, statusCode: number, headers: HeaderObject): void;
}

export interface UpstreamDispatcher {
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void;
}

interface Http2EndpointOptions {
  readonly address: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  /** Until response headers. */
  readonly timeoutMs: number;
  /** Longest silence inside a response. */
  readonly bodyTimeoutMs: number;
  /** Idle time after which a session without streams is closed. */
  readonly idleTimeoutMs: number;
  readonly tls: (() => ConnectionOptions) | undefined;
  /** Where requests go when a TLS peer only speaks HTTP/1.1. */
  readonly http1: UpstreamDispatcher;
}

class UpstreamError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** One stream as undici's controller: pause and resume its reading, abort it. */
class StreamController implements DispatchController {
  private abortReason: Error | null = null;
  private streamPaused = false;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    private readonly fail: (error: Error) => void,
  ) {}

  get aborted(): boolean {
    return this.abortReason !== null;
  }

  get paused(): boolean {
    return this.streamPaused;
  }

  get reason(): Error | null {
    return this.abortReason;
  }

  abort(reason?: Error): void {
    if (this.abortReason !== null) return;
    this.abortReason = reason ?? new UpstreamError('request aborted', 'UND_ERR_ABORTED');
    // The handler hears of it as undici's pools tell it: an aborted request.
    this.fail(new UpstreamError('request aborted', 'UND_ERR_ABORTED'));
  }

  pause(): void {
    this.streamPaused = true;
    this.stream.pause();
  }

  resume(): void {
    if (!this.streamPaused) return;
    this.streamPaused = false;
    this.stream.resume();
  }
}

export class Http2Endpoint implements UpstreamDispatcher {
  private session: http2.ClientHttp2Session | undefined = undefined;
  /** The TLS context the session was opened with: a rotated certificate retires the session. */
  private sessionContext: unknown = undefined;
  private connecting: Promise<http2.ClientHttp2Session | undefined> | undefined = undefined;
  private http1Only = false;
  private closed = false;
  private readonly authority: string;

  constructor(private readonly options: Http2EndpointOptions) {
    this.authority = `${options.address.includes(':') ? `[${options.address}]` : options.address}:${options.port}`;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    this.dispatchOnSession(request, handler, true);
  }

  /**
   * `mayResend`: a stream the upstream refused unprocessed (a session closing under GOAWAY or
   * after a certificate rotation) is sent once more on a fresh session, as Envoy does.
   */
  private dispatchOnSession(request: UpstreamRequest, handler: UpstreamHandler, mayResend: boolean): void {
    if (this.http1Only) return this.options.http1.dispatch(request, handler);
    if (this.session !== undefined && this.options.tls !== undefined && this.options.tls().secureContext !== this.sessionContext) {
      // New streams go out with the new certificate; those in flight finish on the old session.
      this.retire(this.session);
    }
    const session = this.session;
    if (session !== undefined && !session.closed && !session.destroyed) return this.stream(session, request, handler, mayResend);
    this.retire(session);
    (this.connecting ??= this.connect()).then(
      (ready) => (ready === undefined ? this.options.http1.dispatch(request, handler) : this.stream(ready, request, handler, mayResend)),
      (error: Error) => handler.onResponseError(undefined, error),
    );
  }

  private connect(): Promise<http2.ClientHttp2Session | undefined> {
    const { address, port, connectTimeoutMs } = this.options;
    const tlsOptions = this.options.tls?.();
    return new Promise<http2.ClientHttp2Session | undefined>((resolve, reject) => {
      const context = tlsOptions?.secureContext;
      const socket =
        tlsOptions === undefined
          ? net.connect({ host: address, port, noDelay: true })
          : tls.connect({ ...tlsOptions, host: address, port, ALPNProtocols: ['h2', 'http/1.1'] });
      const timer = setTimeout(() => socket.destroy(new UpstreamError('connect timeout', 'UND_ERR_CONNECT_TIMEOUT')), connectTimeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once(tlsOptions === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        if (tlsOptions !== undefined && (socket as tls.TLSSocket).alpnProtocol !== 'h2') {
          this.http1Only = true;
          socket.destroy();
          return resolve(undefined);
        }
        this.sessionContext = context;
        resolve(this.adopt(socket));
      });
    }).finally(() => {
      this.connecting = undefined;
    });
  }

  private adopt(socket: net.Socket): http2.ClientHttp2Session {
    const scheme = this.options.tls === undefined ? 'http' : 'https';
    const session = http2.connect(`${scheme}://${this.authority}`, { createConnection: () => socket });
    const retire = (): void => this.retire(session);
    session.on('goaway', retire);
    session.on('close', retire);
    session.on('error', retire);
    session.setTimeout(this.options.idleTimeoutMs, retire);
    if (this.closed) session.close();
    else this.session = session;
    return session;
  }

  /** A retired session takes no new streams and closes once those in flight are done. */
  private retire(session: http2.ClientHttp2Session | undefined): void {
    if (session === undefined) return;
    if (this.session === session) this.session = undefined;
    if (!session.closed && !session.destroyed) session.close();
  }

  private stream(session: http2.ClientHttp2Session, request: UpstreamRequest, handler: UpstreamHandler, mayResend: boolean): void {
    const headers: http2.OutgoingHttpHeaders = {
      ':method': request.method,
      ':path': request.path,
      ':scheme': this.options.tls === undefined ? 'http' : 'https',
      ':authority': this.authority,
    };
    const raw = request.headers;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      if (name === 'host') headers[':authority'] = value;
      else {
        const previous = headers[name];
        headers[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [String(previous)]), value];
      }
    }
    // The one TE value HTTP/2 allows, which gRPC servers expect.
    if (typeof headers['content-type'] === 'string' && headers['content-type'].startsWith('application/grpc')) headers.te = 'trailers';
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: request.body === null });
    } catch (error) {
      this.retire(session);
      if (mayResend) return this.dispatchOnSession(request, handler, false);
      return handler.onResponseError(undefined, error as Error);
    }
    let finished = false;
    let responded = false;
    let failure: Error | undefined;
    let trailers: http2.IncomingHttpHeaders = {};
    const fail = (error: Error): void => {
      failure ??= error;
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
    };
    const headersTimer = setTimeout(() => fail(new UpstreamError('response headers timeout', 'UND_ERR_HEADERS_TIMEOUT')), this.options.timeoutMs);
    const controller = new StreamController(stream, fail);
    handler.onRequestStart(controller, undefined);
    const body = request.body;
    if (body !== null) body.pipe(stream);
    // 'response' is emitted a tick after the HEADERS frame, so DATA read with it would be
    // emitted first: the body is read only once the headers went to the caller.
    stream.on('response', (responseHeaders, flags) => {
      responded = true;
      clearTimeout(headersTimer);
      if (failure !== undefined) return;
      stream.setTimeout(this.options.bodyTimeoutMs, () => fail(new UpstreamError('response body timeout', 'UND_ERR_BODY_TIMEOUT')));
      const status = Number(responseHeaders[':status']);
      if ((flags & END_STREAM) !== 0) {
        finished = true;
        stream.resume();
        return handler.onResponseHeadersOnly(controller, status, responseHeaders);
      }
      // The exchange may pause the controller (a filter's hook pending, or a retry) before taking the body.
      handler.onResponseStart(controller, status, responseHeaders, '');
      stream.on('data', (chunk: Buffer) => handler.onResponseData(controller, chunk));
    });
    stream.on('trailers', (responseTrailers) => {
      trailers = responseTrailers;
    });
    stream.on('end', () => {
      if (finished || failure !== undefined) return;
      finished = true;
      handler.onResponseEnd(controller, trailers);
    });
    stream.on('error', (error) => {
      failure ??= error;
    });
    stream.on('close', () => {
      clearTimeout(headersTimer);
      if (body !== null) body.unpipe(stream);
      if (finished) return;
      finished = true;
      if (mayResend && body === null && !responded && stream.rstCode === NGHTTP2_REFUSED_STREAM) {
        this.retire(session);
        return this.dispatchOnSession(request, handler, false);
      }
      // A refused stream was not processed: retry policies may name it (`refused-stream`).
      const code = stream.rstCode === NGHTTP2_REFUSED_STREAM ? 'UND_ERR_REFUSED_STREAM' : 'UND_ERR_SOCKET';
      handler.onResponseError(controller, failure ?? new UpstreamError(`stream reset by the upstream (code ${stream.rstCode})`, code));
    });
  }

  /** Closes the session once its streams are done. */
  close(): void {
    this.closed = true;
    this.session?.close();
  }

  destroy(): void {
    this.closed = true;
    this.session?.destroy();
  }
}
