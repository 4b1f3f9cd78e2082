// An upgraded connection (WebSocket) through the sidecar: the request passes the filter chain
// like any other, goes to an endpoint with `Upgrade`, and once the upstream answers 101 the two
// sockets are piped both ways (backpressure by pipe). A refusal (any other status) is passed to
// the caller and the connection closed. What is tunnelled, and which 101 is taken, is
// upgrade-policy.ts's to say; an open tunnel holds its place on the cluster until it closes.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errorCatalogue } from '../errors.js';
import type { LocalReplyOutcome } from '../filters/http-filter.js';
import { decodeHeaders, encodeHeaders, reshapeLocalReply, responseData, responseEnd, type ChainBodies, type ChainHost, type FilterChain } from '../filters/filter-chain.js';
import { reasonPhrase, writeRawLocalReply } from '../local-reply.js';
import type { ListenerRuntime } from '../runtime/snapshot.js';
import type { Endpoint } from '../upstream/cluster.js';
import { flatHeaders, forwardResponseHeaders, removeHeader, type HeaderObject } from './headers.js';
import { emptyBody, type BufferedBody } from './request-body.js';
import { DownstreamRequest } from './downstream-request.js';
import { upstreamErrorCode } from './upstream-errors.js';
import { acceptUpgrade, tunnelIdleTimeout, upstreamUpgradeProblem } from './upgrade-policy.js';

function headText(status: number, headers: readonly string[]): string {
  let text = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${text}\r\n`;
}

export class UpgradeTunnel extends DownstreamRequest implements ChainHost, Dispatcher.DispatchHandler {
  readonly protocol = 'HTTP/1.1';
  /** An upgrade's bytes are a tunnel, not a request body. */
  readonly hasBody = false;
  bodies: ChainBodies | undefined = undefined;

  /** The protocol asked for, when the sidecar tunnels it; else why not. */
  private readonly upgradeProtocol: string;
  private readonly upgradeRefusal: LocalReplyOutcome | undefined;
  private endpoint: Endpoint | undefined = undefined;
  private connected = false;
  private recorded = false;
  private headWritten = false;
  /** Answered by the sidecar or failed: a hook settling late changes nothing. */
  private done = false;
  /** The dispatch's controller, once a connection took it. */
  private controller: Dispatcher.DispatchController | undefined = undefined;
  /** `SI` once the tunnel was cut for idleness. */
  private tunnelFlag = '-';
  /** The upstream's socket once it answered 101; paused until the encodeHeaders hooks passed. */
  private upstream: Duplex | undefined = undefined;
  readonly responseHeadersOnly = false;

  constructor(
    runtime: ListenerRuntime,
    req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
  ) {
    super(runtime, req);
    const acceptance = acceptUpgrade(req.headers.upgrade, runtime.upgrades);
    this.upgradeProtocol = 'protocol' in acceptance ? acceptance.protocol : '';
    this.upgradeRefusal = 'refusal' in acceptance ? acceptance.refusal : undefined;
    socket.on('error', () => socket.destroy());
  }

  get chain(): FilterChain {
    return this.runtime.filters;
  }

  get ended(): boolean {
    return this.done;
  }

  /** An upgrade request has no body to read: what follows its head is the tunnel's. */
  readRequestBody(): Promise<BufferedBody> {
    return Promise.resolve(emptyBody);
  }

  start(): void {
    if (this.headRefusal !== undefined) return this.replyLocally(this.headRefusal);
    if (this.upgradeRefusal !== undefined) return this.replyLocally(this.upgradeRefusal);
    decodeHeaders(this);
  }

  forward(): void {
    const cluster = this.route!.cluster;
    if (!cluster.admits()) return this.replyLocally({ code: 'UPSTREAM_OVERFLOW' });
    const endpoint = cluster.pick(this);
    if (endpoint === undefined) return this.replyLocally({ code: 'NO_HEALTHY_UPSTREAM' });
    this.endpoint = endpoint;
    endpoint.active++;
    cluster.active++;
    this.syncHostHeader();
    endpoint.pool.dispatch(
      { path: this.path, method: this.method as Dispatcher.HttpMethod, headers: this.requestHeaders, upgrade: this.upgradeProtocol },
      this,
    );
  }

  replyLocally(reply: LocalReplyOutcome): void {
    if (this.done) return;
    const outcome = reshapeLocalReply(this, reply);
    this.done = true;
    this.upstream?.destroy();
    if (this.headWritten) {
      this.socket.destroy();
      return this.record(this.responseStatus, errorCatalogue[outcome.code].responseFlag);
    }
    writeRawLocalReply(this.socket, outcome.code, outcome.detail, outcome.overrides);
    this.record(outcome.overrides?.status ?? errorCatalogue[outcome.code].httpStatus, errorCatalogue[outcome.code].responseFlag);
  }

  // undici dispatch handler (its handler API)

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.connected = true;
    this.controller = controller;
    if (this.socket.destroyed) controller.abort(new Error('downstream closed'));
  }

  onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: HeaderObject, upstream: Duplex): void {
    const problem = upstreamUpgradeProblem(this.upgradeProtocol, flatHeaders(headers));
    if (problem !== undefined) {
      upstream.destroy();
      return this.replyLocally({ code: 'UPSTREAM_PROTOCOL_ERROR', detail: problem });
    }
    this.upstream = upstream;
    upstream.pause();
    upstream.on('error', () => this.socket.destroy());
    this.socket.on('close', () => upstream.destroy());
    // The tunnel holds its place on the endpoint and cluster until it closes.
    upstream.on('close', () => {
      this.socket.destroy();
      this.record(this.responseStatus, this.tunnelFlag);
    });
    this.responseStatus = statusCode;
    this.responseHeaders = forwardResponseHeaders(headers);
    encodeHeaders(this);
  }

  /** A refusal: the upstream answered the upgrade with a response, not 101. */
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: HeaderObject): void {
    if (statusCode < 200) return;
    this.responseStatus = statusCode;
    this.responseHeaders = forwardResponseHeaders(headers);
    encodeHeaders(this);
    if (this.done) controller.pause();
  }

  /** Before the 101's head went out, its socket; before a refusal's head, its body. */
  pauseUpstream(): void {
    if (this.upstream !== undefined) this.upstream.pause();
    else this.controller?.pause();
  }

  resumeUpstream(): void {
    if (this.upstream === undefined) this.controller?.resume();
  }

  /** The encodeHeaders hooks passed: the 101 and the tunnel, or the refusal's head. */
  respond(): void {
    const headers = this.responseHeaders!;
    this.headWritten = true;
    const upstream = this.upstream;
    if (upstream !== undefined) {
      headers.push('connection', 'upgrade', 'upgrade', this.upgradeProtocol);
      this.socket.write(headText(this.responseStatus, headers));
      if (this.head.length > 0) upstream.write(this.head);
      tunnelIdleTimeout(this.socket, upstream, this.runtime.upgrades.idleTimeoutMs, () => (this.tunnelFlag = 'SI'));
      upstream.pipe(this.socket);
      this.socket.pipe(upstream);
      upstream.resume();
      return;
    }
    // The body is sent close-delimited, so the upstream's framing headers do not apply.
    removeHeader(headers, 'content-length');
    headers.push('connection', 'close');
    this.socket.write(headText(this.responseStatus, headers));
    this.record(this.responseStatus, '-');
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!responseData(this, chunk)) controller.pause();
  }

  writeResponse(chunk: Buffer): boolean {
    if (this.socket.write(chunk)) return true;
    this.socket.once('drain', () => this.controller?.resume());
    return false;
  }

  onResponseEnd(): void {
    responseEnd(this, undefined);
  }

  endResponse(): void {
    this.socket.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (this.headWritten) {
      this.done = true;
      this.socket.destroy();
      return;
    }
    this.replyLocally({ code: upstreamErrorCode(error, this.connected) });
  }

  private record(status: number, flag: string): void {
    if (this.recorded) return;
    this.recorded = true;
    this.account(status, flag, this.endpoint, 0, 0);
  }
}
