// What every request from a caller starts with, plain or upgraded alike: who sent it (address,
// verified principal), what it asks for (method, target), the headers to forward (cleaned, with
// request id and XFCC), and the fields filters fill in. Exchange and UpgradeTunnel extend it.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { EndUser, LocalReplyOutcome, Route } from '../filters/http-filter.js';
import { isGrpcContentType } from '../grpc/grpc-wire.js';
import { http1Outcome, type ProtocolOutcome } from '../telemetry/metrics.js';
import type { Endpoint } from '../upstream/cluster.js';
import type { ListenerRuntime } from '../runtime/snapshot.js';
import type { Direction } from '../transport-security.js';
import { vouchForPeer } from '../tls/xfcc.js';
import { forwardRequestHeaders, setHeader, type ForwardedRequestHeaders } from './headers.js';
import type { Http2Downstream } from './http2-downstream.js';
import { escapedSlashAction, type PathNormalizationOptions } from './path-normalization.js';
import { isValidMethod, requestTarget, type RequestTarget } from './request-target.js';

/** Method, target and authority read once, for every filter and the upstream alike; or the refusal. */
function readHead(
  req: IncomingMessage | Http2Downstream,
  method: string,
  forwarded: ForwardedRequestHeaders,
  normalization: PathNormalizationOptions,
): RequestTarget | LocalReplyOutcome {
  if (forwarded.malformed !== undefined) return { code: 'DOWNSTREAM_PROTOCOL_ERROR', detail: forwarded.malformed };
  if (!isValidMethod(method)) return { code: 'DOWNSTREAM_PROTOCOL_ERROR', detail: 'invalid method' };
  let options = normalization;
  // gRPC callers and upgrades do not follow redirects: as Envoy, they are forwarded unescaped.
  if (escapedSlashAction(options) === 'UNESCAPE_AND_REDIRECT' && (req.headers.upgrade !== undefined || isGrpcContentType(req.headers['content-type']))) {
    options = { ...options, escapedSlashesAction: 'UNESCAPE_AND_FORWARD' };
  }
  const target = requestTarget(req.url ?? '', forwarded.host, options);
  if (!('reason' in target)) return target;
  if (target.location === undefined) return { code: 'DOWNSTREAM_PROTOCOL_ERROR', detail: target.reason };
  return { code: 'ESCAPED_SLASHES_REDIRECT', overrides: { headers: ['location', target.location] } };
}

export abstract class DownstreamRequest {
  readonly direction: Direction;
  // A decodeHeaders hook may rewrite method, path and authority (see filters/http-filter.ts).
  method: string;
  /** Normalized request path with query (path-normalization.ts); empty when the request is refused. */
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
  /** Set when the request head is refused before any filter (400, or UNESCAPE_AND_REDIRECT's 307). */
  protected readonly headRefusal: LocalReplyOutcome | undefined;
  /** The authority the caller asked for: a filter's rewrite is sent upstream as `host`. */
  private readonly requestedAuthority: string;
  /** Whether the caller's request head says a body follows. */
  protected readonly headSaysBody: boolean;

  constructor(
    protected readonly runtime: ListenerRuntime,
    req: IncomingMessage | Http2Downstream,
  ) {
    this.direction = runtime.direction;
    this.method = req.method ?? 'GET';
    // An HTTP/2 request's `socket` is a new proxy per stream; the session's is one per connection,
    // so per-connection work (the peer's certificate) is cached on it.
    const socket: Socket = 'stream' in req ? ((req.stream.session?.socket as Socket | undefined) ?? req.socket) : req.socket;
    this.sourceAddress = socket.remoteAddress ?? '';
    this.sourcePort = socket.remotePort ?? 0;
    this.scheme = runtime.proto;
    const forwarded = forwardRequestHeaders(req.rawHeaders, this.sourceAddress, runtime.proto, randomUUID, runtime.headersWithUnderscoresAction);
    this.requestHeaders = forwarded.headers;
    this.requestId = forwarded.requestId;
    this.headSaysBody = forwarded.hasBody;
    this.sourcePrincipal = this.direction === 'inbound' ? vouchForPeer(this.requestHeaders, runtime.peer(socket)) : undefined;
    const head = readHead(req, this.method, forwarded, runtime.pathNormalization);
    this.headRefusal = 'code' in head ? head : undefined;
    const target = 'code' in head ? undefined : head;
    this.path = target?.path ?? '';
    this.authority = target?.authority ?? '';
    this.requestedAuthority = this.authority;
    if (target?.host !== undefined) this.requestHeaders.push('host', target.host);
    if (target?.originalPath !== undefined && runtime.pathNormalization.forwardOriginalPath) {
      this.requestHeaders.push('x-envoy-original-path', target.originalPath);
    }
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
