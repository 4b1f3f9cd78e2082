// An upgraded connection (WebSocket) through the sidecar: the request passes the filter chain
// like any other, goes to an endpoint with `Upgrade`, and once the upstream answers 101 the two
// sockets are piped both ways (backpressure by pipe). A refusal (any other status) is passed to
// the caller and the connection closed. What is tunnelled, and which 101 is taken, is
// upgrade-policy.ts's to say; an open tunnel holds its place on the cluster until it closes.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errorCatalogue } from '../errors.js';
import type { FilterExchange, LocalReplyOutcome } from '../filters/http-filter.js';
import { reasonPhrase, writeRawLocalReply } from '../local-reply.js';
import type { ListenerRuntime } from '../runtime/snapshot.js';
import type { Endpoint } from '../upstream/cluster.js';
import { forwardResponseHeaders, removeHeader } from './headers.js';
import { emptyBody, type BufferedBody } from './request-body.js';
import { DownstreamRequest } from './downstream-request.js';
import { upstreamErrorCode } from './upstream-errors.js';
import { acceptUpgrade, tunnelIdleTimeout, upstreamUpgradeProblem, type UpgradeAcceptance } from './upgrade-policy.js';

function headText(status: number, headers: readonly string[]): string {
  let text = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${text}\r\n`;
}

export class UpgradeTunnel extends DownstreamRequest implements FilterExchange, Dispatcher.DispatchHandler {
  readonly protocol = 'HTTP/1.1';
  /** An upgrade's bytes are a tunnel, not a request body. */
  readonly hasBody = false;

  private readonly upgrade: UpgradeAcceptance;
  /** The accepted protocol, once `start` has checked the request. */
  private upgradeProtocol = '';
  private endpoint: Endpoint | undefined = undefined;
  private connected = false;
  private recorded = false;
  private resume: (() => void) | undefined = undefined;

  constructor(
    runtime: ListenerRuntime,
    req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
  ) {
    super(runtime, req);
    this.upgrade = acceptUpgrade(req.headers.upgrade, runtime.upgrades);
    socket.on('error', () => socket.destroy());
  }

  /** An upgrade request has no body to read: what follows its head is the tunnel's. */
  readBody(): Promise<BufferedBody> {
    return Promise.resolve(emptyBody);
  }

  async start(): Promise<void> {
    if (this.refusal !== undefined) return this.refuse(this.refusal);
    if ('refusal' in this.upgrade) return this.refuse(this.upgrade.refusal);
    this.upgradeProtocol = this.upgrade.protocol;
    for (const filter of this.runtime.filters) {
      const outcome = await filter.onRequestHeaders(this);
      if (outcome !== undefined) return this.refuse(outcome);
    }
    const cluster = this.route!.cluster;
    if (cluster.active >= cluster.maxRequests) return this.refuse({ code: 'UPSTREAM_OVERFLOW' });
    const endpoint = cluster.pick();
    if (endpoint === undefined) return this.refuse({ code: 'NO_HEALTHY_UPSTREAM' });
    this.endpoint = endpoint;
    endpoint.active++;
    cluster.active++;
    endpoint.pool.dispatch(
      { path: this.path, method: this.method as Dispatcher.HttpMethod, headers: this.requestHeaders, upgrade: this.upgradeProtocol },
      this,
    );
  }

  private refuse(outcome: LocalReplyOutcome): void {
    writeRawLocalReply(this.socket, outcome.code, outcome.detail);
    this.record(errorCatalogue[outcome.code].httpStatus, errorCatalogue[outcome.code].responseFlag);
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.connected = true;
    if (this.socket.destroyed) abort();
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[], upstream: Duplex): void {
    const problem = upstreamUpgradeProblem(this.upgradeProtocol, rawHeaders);
    if (problem !== undefined) {
      upstream.destroy();
      return this.refuse({ code: 'UPSTREAM_PROTOCOL_ERROR', detail: problem });
    }
    const headers = forwardResponseHeaders(rawHeaders);
    headers.push('connection', 'upgrade', 'upgrade', this.upgradeProtocol);
    this.socket.write(headText(statusCode, headers));
    if (this.head.length > 0) upstream.write(this.head);
    let flag = '-';
    tunnelIdleTimeout(this.socket, upstream, this.runtime.upgrades.idleTimeoutMs, () => (flag = 'SI'));
    upstream.on('error', () => this.socket.destroy());
    this.socket.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      this.socket.destroy();
      this.record(statusCode, flag);
    });
    upstream.pipe(this.socket);
    this.socket.pipe(upstream);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    // The body is sent close-delimited, so the upstream's framing headers do not apply.
    const headers = forwardResponseHeaders(rawHeaders);
    removeHeader(headers, 'content-length');
    headers.push('connection', 'close');
    this.socket.write(headText(statusCode, headers));
    this.resume = resume;
    this.record(statusCode, '-');
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.socket.write(chunk)) return true;
    this.socket.once('drain', this.resume!);
    return false;
  }

  onComplete(): void {
    this.socket.end();
  }

  onError(error: Error): void {
    if (this.recorded) {
      this.socket.destroy();
      return;
    }
    this.refuse({ code: upstreamErrorCode(error, this.connected) });
  }

  private record(status: number, flag: string): void {
    if (this.recorded) return;
    this.recorded = true;
    this.account(status, flag, this.endpoint, 0, 0);
  }
}
