// What every request from a caller starts with, plain or upgraded alike: who sent it (address,
// verified principal), what it asks for (method, target), the headers to forward (cleaned, with
// request id and XFCC), and the fields filters fill in. Exchange and UpgradeTunnel extend it.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Socket } from 'node:net';
import type { EndUser, Route } from '../filters/http-filter.js';
import { http1Outcome, type ProtocolOutcome } from '../telemetry/metrics.js';
import type { Endpoint } from '../upstream/cluster.js';
import type { ListenerRuntime } from '../runtime/snapshot.js';
import type { Direction } from '../transport-security.js';
import { vouchForPeer } from '../tls/xfcc.js';
import { forwardRequestHeaders, setHeader } from './headers.js';
import { requestTarget } from './request-target.js';

export abstract class DownstreamRequest {
  readonly direction: Direction;
  // A decodeHeaders hook may rewrite method, path and authority (see filters/http-filter.ts).
  method: string;
  /** Request target path with query; empty when the target is not one the sidecar takes. */
  path: string;
  authority: string;
  readonly requestId: string;
  readonly requestHeaders: string[];
  readonly sourcePrincipal: string | undefined;
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly scheme: string;
  endUser: EndUser | undefined = undefined;
  metadata: Record<string, unknown> | undefined = undefined;
  route: Route | undefined = undefined;
  responseStatus = 0;
  responseHeaders: string[] | undefined = undefined;

  protected readonly startTime = Date.now();
  protected readonly startMs = performance.now();
  /** Whether the request target is one the sidecar takes (origin, absolute or authority form). */
  protected readonly validTarget: boolean;
  /** The authority the caller asked for: a filter's rewrite is sent upstream as `host`. */
  private readonly requestedAuthority: string;
  /** Whether the caller's request head says a body follows. */
  protected readonly headSaysBody: boolean;

  constructor(
    protected readonly runtime: ListenerRuntime,
    req: IncomingMessage | Http2ServerRequest,
  ) {
    this.direction = runtime.direction;
    this.method = req.method ?? 'GET';
    // An HTTP/2 request's `socket` is a new proxy per stream; the session's is one per connection,
    // so per-connection work (the peer's certificate) is cached on it.
    const socket: Socket = 'stream' in req ? ((req.stream.session?.socket as Socket | undefined) ?? req.socket) : req.socket;
    this.sourceAddress = socket.remoteAddress ?? '';
    this.sourcePort = socket.remotePort ?? 0;
    this.scheme = runtime.proto;
    const forwarded = forwardRequestHeaders(req.rawHeaders, this.sourceAddress, runtime.proto, randomUUID);
    this.requestHeaders = forwarded.headers;
    this.requestId = forwarded.requestId;
    this.headSaysBody = forwarded.hasBody;
    this.sourcePrincipal = this.direction === 'inbound' ? vouchForPeer(this.requestHeaders, runtime.peer(socket)) : undefined;
    const target = requestTarget(req.url ?? '', forwarded.host);
    this.validTarget = target !== undefined;
    this.path = target?.path ?? '';
    this.authority = target?.authority ?? '';
    this.requestedAuthority = this.authority;
    if (target?.host !== undefined) this.requestHeaders.push('host', target.host);
  }

  /** Once the filters passed: the upstream's `host` says the authority a filter rewrote. */
  protected syncHostHeader(): void {
    if (this.authority !== this.requestedAuthority) setHeader(this.requestHeaders, 'host', this.authority);
  }

  /**
   * The request is over: releases its place on the endpoint and cluster, and records it once in
   * the metrics and the access log.
   */
  protected account(status: number, flag: string, endpoint: Endpoint | undefined, bytesReceived: number, bytesSent: number, outcome: ProtocolOutcome = http1Outcome): void {
    if (endpoint !== undefined) {
      endpoint.active--;
      this.route!.cluster.active--;
    }
    const durationMs = performance.now() - this.startMs;
    (this.route?.stats ?? this.runtime.unrouted).forPrincipal(this.sourcePrincipal).record(status, flag, durationMs, bytesReceived, bytesSent, outcome);
    const log = this.runtime.accessLog;
    if (!log.enabled) return;
    log.write({
      startTime: this.startTime,
      direction: this.direction,
      method: this.method,
      path: this.path,
      authority: this.authority,
      status,
      durationMs,
      bytesReceived,
      bytesSent,
      upstream: endpoint?.label ?? '-',
      responseFlag: flag,
      requestId: this.requestId,
    });
  }
}
