// One request through the sidecar, HTTP/1.1 or an HTTP/2 stream alike: its filter chain, the
// forwarding to an upstream endpoint (this object is also the dispatch handler, on undici's
// handler API, so a request costs one object, not a set of closures), streaming with
// backpressure both ways (the upstream's through its dispatch controller), gRPC's deadline and
// message counts, and the accounting when it ends.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as http2Constants } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errorCatalogue, type ErrorCode } from '../errors.js';
import type { LocalReplyOutcome } from '../filters/http-filter.js';
import { decodeHeaders, encodeHeaders, requestBodyReplayable, requestEnded, reshapeLocalReply, responseData, responseEnd, upstreamRequestBody, type ChainBodies, type ChainHost, type FilterChain } from '../filters/filter-chain.js';
import { GrpcMessageCounter, isGrpcContentType, parseGrpcTimeout } from '../grpc/grpc-wire.js';
import { sendLocalReply } from '../local-reply.js';
import { http1Outcome, type ProtocolOutcome } from '../telemetry/metrics.js';
import type { UpstreamHandler } from '../upstream/http2-endpoint.js';
import type { ListenerRuntime } from '../runtime/snapshot.js';
import type { Endpoint } from '../upstream/cluster.js';
import type { RetryState } from '../upstream/retry-policy.js';
import { DownstreamRequest } from './downstream-request.js';
import type { Http2Downstream } from './http2-downstream.js';
import { flatHeaders, forwardResponseHeaders, headerValue, lowerCaseNames, type HeaderObject } from './headers.js';
import { BodyTimeoutError, emptyBody, readBodyPrefix, type BufferedBody } from './request-body.js';
import { upstreamErrorCode } from './upstream-errors.js';

/** An HTTP/1.1 request, or an HTTP/2 stream (which is its own response too). */
export type DownstreamRequestMessage = IncomingMessage | Http2Downstream;
export type DownstreamResponse = ServerResponse | Http2Downstream;

/** Listener state that outlives snapshots. */
export interface DownstreamState {
  draining: boolean;
}

const kExchange = Symbol('weft.exchange');

const http2Outcome: ProtocolOutcome = { protocol: 'http/2', grpcStatus: '', requestMessages: 0, responseMessages: 0 };

function onResponseClose(this: DownstreamResponse): void {
  (this as DownstreamResponse & { [kExchange]: Exchange })[kExchange].responseClosed();
}

function onResponseDrain(this: DownstreamResponse): void {
  (this as DownstreamResponse & { [kExchange]: Exchange })[kExchange].callerDrained();
}

function onRequestBodyChunk(this: Readable, chunk: Buffer): void {
  (this as Readable & { [kExchange]: Exchange })[kExchange].requestBodySent(chunk);
}

/** Carries gRPC's own accounting: messages each way (counted, never decoded) and the deadline. */
class GrpcCall {
  readonly requestMessages = new GrpcMessageCounter();
  readonly responseMessages = new GrpcMessageCounter();
  status = '';
  deadline: NodeJS.Timeout | undefined = undefined;
}

export class Exchange extends DownstreamRequest implements ChainHost, UpstreamHandler {
  readonly protocol: string;
  readonly hasBody: boolean;
  private endpoint: Endpoint | undefined = undefined;
  /** Set when the cluster retries this request (see upstream/retry-policy.ts). */
  private retry: RetryState | undefined = undefined;
  /** What goes upstream as the body (see filter-chain.ts upstreamRequestBody). */
  private body: Readable | null = null;
  /** A filter held the whole body: each try sends it again. */
  private bodyReplayable = false;
  bodies: ChainBodies | undefined = undefined;
  /** The current try's dispatch controller, once a connection took it. */
  private upstream: Dispatcher.DispatchController | undefined = undefined;
  /** The upstream's body waits for the caller to drain. */
  private waitingDrain = false;
  /** The request body's chunks are counted as they go upstream. */
  private countingBody = false;
  /** An encodeHeaders hook is pending: the upstream's body waits. */
  private upstreamPaused = false;
  /** The response was one HEADERS frame (gRPC trailers-only): its head ends it. */
  responseHeadersOnly = false;
  private connected = false;
  /** Counted in the cluster's pending requests. */
  private waiting = false;
  private done = false;
  private responseFlag = '-';
  private bytesReceived = 0;
  private bytesSent = 0;
  /** Set for gRPC calls. */
  private readonly grpc: GrpcCall | undefined;
  private readonly http2: boolean;

  constructor(
    runtime: ListenerRuntime,
    private readonly downstream: DownstreamState,
    private readonly req: DownstreamRequestMessage,
    private readonly res: DownstreamResponse,
    private expectsContinue: boolean,
  ) {
    super(runtime, req);
    // As Envoy names them for ext_authz: HTTP/1.0, HTTP/1.1, HTTP/2.
    this.protocol = req.httpVersion === '2.0' ? 'HTTP/2' : `HTTP/${req.httpVersion}`;
    this.http2 = 'stream' in req;
    // HTTP/2 says whether a body follows by the END_STREAM flag of the request's HEADERS.
    this.hasBody = this.headSaysBody || ('stream' in req && !req.stream.endAfterHeaders);
    this.grpc = isGrpcContentType(headerValue(this.requestHeaders, 'content-type')) ? new GrpcCall() : undefined;
    (res as DownstreamResponse & { [kExchange]: Exchange })[kExchange] = this;
    res.on('close', onResponseClose);
  }

  get chain(): FilterChain {
    return this.runtime.filters;
  }

  get ended(): boolean {
    return this.done;
  }

  start(): void {
    if (this.headRefusal !== undefined) return this.replyLocally(this.headRefusal);
    if (this.grpc !== undefined) this.startDeadline(this.grpc);
    decodeHeaders(this);
  }

  /** `grpc-timeout` is the caller's deadline: past it the call ends DEADLINE_EXCEEDED, upstream cancelled. */
  private startDeadline(grpc: GrpcCall): void {
    const timeout = headerValue(this.requestHeaders, 'grpc-timeout');
    const ms = timeout === undefined ? undefined : parseGrpcTimeout(timeout);
    if (ms === undefined) return;
    grpc.deadline = setTimeout(() => {
      if (this.done) return;
      this.replyLocally({ code: 'UPSTREAM_REQUEST_TIMEOUT', detail: 'grpc-timeout deadline exceeded' });
      this.abortUpstream(new Error('deadline exceeded'));
    }, ms);
  }

  forward(): void {
    // The router is the last filter; it has set a route or replied.
    const cluster = this.route!.cluster;
    if (!cluster.admits()) return this.replyLocally({ code: 'UPSTREAM_OVERFLOW' });
    const endpoint = cluster.pick(this);
    if (endpoint === undefined) return this.replyLocally({ code: 'NO_HEALTHY_UPSTREAM' });
    cluster.active++;
    if (this.expectsContinue) this.res.writeContinue();
    this.syncHostHeader();
    this.body = upstreamRequestBody(this, this.requestBody, () => this.requestTrailers());
    this.bodyReplayable = requestBodyReplayable(this);
    this.retry = cluster.retries?.begin(this, this.bodyReplayable ? null : this.body);
    this.dispatchTo(endpoint);
  }

  /** The caller's request body: the HTTP/1.1 message, or the HTTP/2 stream itself. */
  private get requestBody(): Readable {
    return 'stream' in this.req ? this.req.stream : this.req;
  }

  private requestTrailers(): string[] | undefined {
    const raw = this.req.rawTrailers;
    return raw.length === 0 ? undefined : lowerCaseNames(raw);
  }

  private dispatchTo(endpoint: Endpoint): void {
    endpoint.active++;
    // Pending (maxPendingRequests) until a connection takes it: onConnect.
    this.route!.cluster.pending++;
    this.waiting = true;
    this.endpoint = endpoint;
    (this.req.httpVersionMajor === 1 ? endpoint.forHttp1Callers : endpoint.forHttp2Callers).dispatch(
      {
        path: this.path,
        method: this.method as Dispatcher.HttpMethod,
        headers: this.requestHeaders,
        body: this.body,
      },
      this.retry?.handler(this) ?? this,
    );
  }

  /** The try failed before its response began: the next try goes to `endpoint`. */
  private redispatch(endpoint: Endpoint): void {
    this.endpoint!.active--;
    this.leavePending();
    this.connected = false;
    this.upstream = undefined;
    if (this.bodyReplayable) this.body = upstreamRequestBody(this, this.requestBody, () => this.requestTrailers());
    this.dispatchTo(endpoint);
  }

  readRequestBody(maxBytes: number): Promise<BufferedBody> {
    if (!this.hasBody) return Promise.resolve(emptyBody);
    // A caller waiting for `100 Continue` sends the body only then.
    if (this.expectsContinue) {
      this.res.writeContinue();
      this.expectsContinue = false;
    }
    const remainingMs = this.runtime.requestTimeoutMs - (performance.now() - this.startMs);
    return readBodyPrefix(this.requestBody, maxBytes, remainingMs).catch((error: unknown) => {
      if (error instanceof BodyTimeoutError) this.replyLocally({ code: 'DOWNSTREAM_REQUEST_TIMEOUT' });
      throw error;
    });
  }

  replyLocally(reply: LocalReplyOutcome): void {
    if (this.done) return;
    const outcome = reshapeLocalReply(this, reply);
    // Mid-response (a filter's reply to the response body, an upstream failure): the caller sees
    // the connection cut, or the response ended the way a filter said (an event stream's error
    // event); the log and metrics say why. A gRPC call still ends with a status.
    if (this.res.headersSent && this.grpc === undefined) {
      this.responseFlag = errorCatalogue[outcome.code].responseFlag;
      if (outcome.streamEnd === undefined) {
        this.res.destroy();
      } else {
        this.bytesSent += outcome.streamEnd.length;
        this.res.end(outcome.streamEnd);
      }
      this.finish(this.responseStatus);
      this.abortUpstream(new Error('answered by the sidecar'));
      return;
    }
    // The caller may still be waiting to send a body it was told to hold back.
    if (!this.http2 && (this.expectsContinue || (this.hasBody && !this.req.complete))) (this.res as ServerResponse).shouldKeepAlive = false;
    const { status, bytes, grpcStatus } = sendLocalReply(this.res, outcome.code, outcome.detail, outcome.overrides);
    // HTTP/2: a caller still sending is told to stop after the complete reply (RST_STREAM
    // NO_ERROR, RFC 9113 section 8.1); a stalled stream left paused would hold its session open.
    if (this.http2 && this.hasBody && !this.req.complete) (this.req as Http2Downstream).stream.close();
    this.responseFlag = errorCatalogue[outcome.code].responseFlag;
    this.bytesSent += bytes;
    if (this.grpc !== undefined && grpcStatus !== undefined) this.grpc.status = String(grpcStatus);
    this.finish(status);
    this.abortUpstream(new Error('answered by the sidecar'));
  }

  /** An HTTP/2 stream saw no frames either way for the idle timeout: 408, or reset once answering. */
  streamIdle(): void {
    if (this.done) return;
    if (!this.res.headersSent) {
      this.replyLocally({ code: 'STREAM_IDLE_TIMEOUT' });
    } else {
      this.responseFlag = errorCatalogue.STREAM_IDLE_TIMEOUT.responseFlag;
      this.finish(this.responseStatus);
      (this.req as Http2Downstream).stream.close(http2Constants.NGHTTP2_CANCEL);
    }
    this.abortUpstream(new Error('stream idle timeout'));
  }

  private abortUpstream(reason: Error): void {
    this.upstream?.abort(reason);
  }

  // undici dispatch handler (its handler API)

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.leavePending();
    this.connected = true;
    this.upstream = controller;
    if (this.done) return controller.abort(new Error('answered by the sidecar'));
    // Counted as the dispatcher reads it (the handler API has no per-chunk callback), once: a
    // later try either sends no body (retry-policy.ts) or the same held bytes again.
    const body = this.body;
    if (body === null || this.countingBody) return;
    this.countingBody = true;
    (body as Readable & { [kExchange]: Exchange })[kExchange] = this;
    body.on('data', onRequestBodyChunk);
  }

  /** The request no longer waits for a connection (taken by one, failed, retried or over). */
  private leavePending(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.route!.cluster.pending--;
  }

  requestBodySent(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    this.grpc?.requestMessages.feed(chunk);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: HeaderObject): void {
    if (statusCode < 200) return;
    const cluster = this.route!.cluster;
    cluster.outliers?.onResponse(this.endpoint!, statusCode);
    const retryTo = this.retry?.afterStatus(statusCode, cluster, this.endpoint!);
    if (retryTo !== undefined) {
      controller.pause();
      return this.redispatch(retryTo);
    }
    this.responseStatus = statusCode;
    this.responseHeaders = forwardResponseHeaders(headers);
    encodeHeaders(this);
    if (this.done) controller.pause();
  }

  pauseUpstream(): void {
    this.upstreamPaused = true;
    this.upstream?.pause();
  }

  resumeUpstream(): void {
    if (!this.upstreamPaused) return;
    this.upstreamPaused = false;
    if (!this.waitingDrain) this.upstream?.resume();
  }

  callerDrained(): void {
    this.waitingDrain = false;
    if (!this.upstreamPaused) this.upstream?.resume();
  }

  /** The encodeHeaders hooks passed: the head goes to the caller. */
  respond(): void {
    // Unless a filter that held the (empty) body gave it one.
    if (this.responseHeadersOnly && !(this.bodies?.responseBody !== undefined && this.bodies.responseBody.length > 0)) return this.respondHeadersOnly();
    if (this.downstream.draining && !this.http2) (this.res as ServerResponse).shouldKeepAlive = false;
    (this.res as ServerResponse).writeHead(this.responseStatus, this.responseHeaders);
  }

  /** A response of headers only (gRPC trailers-only): passed on as one, ending the stream. */
  onResponseHeadersOnly(_controller: Dispatcher.DispatchController, statusCode: number, headers: HeaderObject): void {
    this.route!.cluster.outliers?.onResponse(this.endpoint!, statusCode);
    this.responseStatus = statusCode;
    this.responseHeaders = forwardResponseHeaders(headers);
    this.responseHeadersOnly = true;
    encodeHeaders(this);
  }

  private respondHeadersOnly(): void {
    const statusCode = this.responseStatus;
    if (this.grpc !== undefined) this.grpc.status = headerValue(this.responseHeaders!, 'grpc-status') ?? '';
    if ('stream' in this.res) {
      this.res.writeHeadersOnly(statusCode, this.responseHeaders!);
    } else {
      this.res.writeHead(statusCode, this.responseHeaders);
      this.res.end();
    }
    this.finish(statusCode);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!responseData(this, chunk)) controller.pause();
  }

  writeResponse(chunk: Buffer): boolean {
    if (this.done) return false;
    this.bytesSent += chunk.length;
    this.grpc?.responseMessages.feed(chunk);
    if ((this.res as ServerResponse).write(chunk)) return true;
    if (!this.waitingDrain) {
      this.waitingDrain = true;
      this.res.once('drain', onResponseDrain);
    }
    return false;
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: HeaderObject): void {
    const flat = flatHeaders(trailers);
    responseEnd(this, flat.length === 0 ? undefined : flat);
  }

  endResponse(trailers: string[] | undefined): void {
    if (this.done) return;
    if (trailers !== undefined) {
      const forwarded: Record<string, string> = {};
      for (let i = 0; i < trailers.length; i += 2) {
        const name = trailers[i]!;
        const value = trailers[i + 1]!;
        forwarded[name] = forwarded[name] === undefined ? value : `${forwarded[name]}, ${value}`;
      }
      if (this.grpc !== undefined) this.grpc.status = forwarded['grpc-status'] ?? '';
      this.res.addTrailers(forwarded);
    }
    this.res.end();
    this.finish(this.responseStatus);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (this.done) return;
    const code: ErrorCode = upstreamErrorCode(error, this.connected);
    if (this.responseStatus === 0) {
      const cluster = this.route!.cluster;
      if (code === 'UPSTREAM_CONNECT_FAILURE') cluster.outliers?.onConnectFailure(this.endpoint!);
      const retryTo = this.retry?.afterError(code, error, cluster, this.endpoint!);
      if (retryTo !== undefined) return this.redispatch(retryTo);
    }
    this.replyLocally({ code });
  }

  /** The caller's response closed: normally after it finished, else the caller went away. */
  responseClosed(): void {
    if (this.done) return;
    this.responseFlag = errorCatalogue.DOWNSTREAM_CONNECTION_TERMINATION.responseFlag;
    // Finished first, so the abort's error callback finds the exchange done.
    this.finish(this.res.headersSent ? this.responseStatus : errorCatalogue.DOWNSTREAM_CONNECTION_TERMINATION.httpStatus);
    this.abortUpstream(new Error('downstream closed'));
  }

  private protocolOutcome(): ProtocolOutcome {
    const grpc = this.grpc;
    if (grpc !== undefined) {
      return {
        protocol: 'grpc',
        grpcStatus: grpc.status,
        requestMessages: grpc.requestMessages.messages,
        responseMessages: grpc.responseMessages.messages,
      };
    }
    return this.http2 ? http2Outcome : http1Outcome;
  }

  private finish(status: number): void {
    this.done = true;
    this.leavePending();
    const grpc = this.grpc;
    if (grpc !== undefined) clearTimeout(grpc.deadline);
    const retry = this.retry;
    if (retry !== undefined) {
      retry.end();
      if (retry.exhausted) this.responseFlag = this.responseFlag === '-' ? 'URX' : `${this.responseFlag},URX`;
    }
    this.account(status, this.responseFlag, this.endpoint, this.bytesReceived, this.bytesSent, this.protocolOutcome());
    if (this.chain.endWatchers.length > 0) requestEnded(this);
  }
}
