// A downstream HTTP listener (inbound or outbound): Node's HTTP server with the sidecar's
// protections (header-read and request timeouts, idle timeout, header size limit answered with
// 431, malformed or ambiguous framing answered with 400, a cap on connections), handing each
// request to an Exchange built on the current snapshot. Plaintext, or TLS and plaintext on one
// port (the first byte tells a TLS handshake from plaintext HTTP), each new connection and
// request checked against the mTLS mode of the snapshot in force: when a new snapshot changes
// it (PERMISSIVE -> STRICT), new connections of the kind it refuses are closed at once, and
// existing ones once their requests in flight are answered. HTTP/2 shares the
// port: over TLS when ALPN picks `h2`, in plaintext when the connection opens with the HTTP/2
// preface (h2c, prior knowledge); its streams become the same Exchange through Node's HTTP/2
// stream API (http/http2-downstream.ts).
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { LimitsConfig } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import { errorCatalogue } from '../errors.js';
import { Exchange, type DownstreamRequestMessage, type DownstreamResponse, type DownstreamState } from '../http/exchange.js';
import { Http2Downstream } from '../http/http2-downstream.js';
import { UpgradeTunnel } from '../http/upgrade-tunnel.js';
import { sendLocalReply, writeRawLocalReply } from '../local-reply.js';
import { sniffPlaintext, type PlaintextProtocol } from './protocol-sniff.js';
import type { ListenerRuntime, DataPathHolder } from '../runtime/snapshot.js';
import type { Direction, TransportSecurity } from '../transport-security.js';

export interface HttpListenerOptions {
  readonly direction: Direction;
  readonly address: string;
  readonly port: number;
  readonly limits: LimitsConfig;
  readonly security: TransportSecurity;
  readonly holder: DataPathHolder;
}

/** The first byte of every TLS connection: a handshake record. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** A connection of a listener that takes TLS and plaintext, so that a change of mTLS mode can close it. */
interface Connection {
  readonly socket: Socket;
  readonly encrypted: boolean;
  /** HTTP/1.1 requests being answered. */
  inFlight: number;
  /** The mode in force no longer takes this connection: it closes once no request is in flight. */
  closing: boolean;
  session: http2.ServerHttp2Session | undefined;
  /** An upgraded (tunnelled) connection: no request ends it, so a mode change cuts it. */
  tunnel: boolean;
}

function isEncrypted(socket: Socket): boolean {
  return (socket as TLSSocket).encrypted === true;
}

/** What a client error (raised by Node before a request exists) is answered with. */
function clientErrorCode(error: Error & { code?: string }): ErrorCode | undefined {
  switch (error.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'HPE_HEADER_OVERFLOW':
      return 'REQUEST_HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'DOWNSTREAM_REQUEST_TIMEOUT';
    default:
      return 'DOWNSTREAM_PROTOCOL_ERROR';
  }
}

export class HttpListener implements DownstreamState {
  draining = false;
  private readonly server: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();
  private readonly unfollow: () => void;
  /** Whether the listener takes both TLS and plaintext (a TransportSecurity with server options). */
  private readonly mixed: boolean;
  private readonly connections = new Set<Connection>();
  /** Each Connection by the socket (HTTP/1.1) or the HTTP/2 session its requests come on. */
  private readonly connectionOf = new WeakMap<object, Connection>();
  /** The connection being handed to the HTTP/2 server, whose 'session' event is synchronous. */
  private handingToHttp2: Connection | undefined = undefined;
  private readonly unwatch: () => void = () => undefined;

  constructor(private readonly options: HttpListenerOptions) {
    const { limits } = options;
    const serverOptions: http.ServerOptions = {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      // How often Node checks the header and request timers: often enough to cut slowloris.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
      noDelay: true,
    };
    this.h2 = http2.createServer({ settings: { maxHeaderListSize: limits.maxHeaderBytes, maxConcurrentStreams: limits.maxConcurrentStreams } });
    this.h2.setTimeout(limits.idleTimeoutMs);
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      this.h2Sessions.add(session);
      session.once('close', () => this.h2Sessions.delete(session));
      const connection = this.handingToHttp2;
      if (connection !== undefined) {
        connection.session = session;
        this.connectionOf.set(session, connection);
      }
      if (this.draining || connection?.closing === true) session.close();
    });
    this.h2.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => this.stream(stream, headers, rawHeaders));
    const tls = options.security.serverOptions(options.direction);
    this.mixed = tls !== undefined;
    if (tls === undefined) {
      this.server = http.createServer(serverOptions);
      this.unfollow = () => undefined;
      this.routePlaintext(this.server, 'connection', limits.headersTimeoutMs);
    } else {
      const server = https.createServer({ ...tls, ...serverOptions });
      this.server = server;
      this.unfollow = options.security.follow(server);
      const serve = this.routePlaintext(server, 'secureConnection', limits.headersTimeoutMs);
      this.sniffTls(server, limits.headersTimeoutMs, serve);
      this.unwatch = options.holder.onReplace(() => this.closeRefusedConnections());
    }
    this.server.maxConnections = limits.maxConnections;
    this.server.setTimeout(limits.idleTimeoutMs);
    this.server.on('request', (req, res) => this.exchange(req, res, false));
    this.server.on('checkContinue', (req, res) => this.exchange(req, res, true));
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.server.on('clientError', (error: Error, socket: Duplex) => this.clientError(error, socket));
  }

  /**
   * Puts the protocol choice in front of the server's HTTP/1.1 handling (on `event`: 'connection'
   * for plaintext servers, 'secureConnection' for TLS ones): TLS connections go by ALPN, plaintext
   * ones by their first bytes. Returns the handler for plaintext sockets.
   */
  private routePlaintext(server: http.Server, event: 'connection' | 'secureConnection', timeoutMs: number): (socket: Socket) => void {
    const [serveHttp1] = server.listeners(event) as ((socket: Socket) => void)[];
    server.removeAllListeners(event);
    const serve = (socket: Socket, protocol: PlaintextProtocol | 'h2'): void => {
      const connection = this.mixed ? this.track(socket) : undefined;
      if (protocol === 'http/1.1') return serveHttp1!.call(server, socket);
      // Node's HTTP/1.1 handling sets this from the server's `noDelay`; HTTP/2 bypasses it.
      socket.setNoDelay(true);
      this.handingToHttp2 = connection;
      try {
        this.h2.emit('connection', socket);
      } finally {
        this.handingToHttp2 = undefined;
      }
    };
    const servePlaintext = (socket: Socket): void => sniffPlaintext(socket, timeoutMs, (protocol) => serve(socket, protocol));
    if (event === 'connection') server.on('connection', servePlaintext);
    else server.on('secureConnection', (socket: TLSSocket) => serve(socket, socket.alpnProtocol === 'h2' ? 'h2' : 'http/1.1'));
    return servePlaintext;
  }

  /**
   * Lets plaintext connections skip the TLS layer: the first byte decides, and a connection of a
   * kind the mode in force refuses (plaintext under STRICT, TLS under DISABLE) is closed.
   */
  private sniffTls(server: https.Server, timeoutMs: number, servePlaintext: (socket: Socket) => void): void {
    const [startTls] = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      const timer = setTimeout(() => socket.destroy(), timeoutMs);
      socket.once('close', () => clearTimeout(timer));
      socket.once('readable', () => {
        clearTimeout(timer);
        const first = socket.read(1) as Buffer | null;
        if (first === null) return;
        const encrypted = first[0] === TLS_HANDSHAKE_RECORD;
        if (!this.takes(encrypted)) {
          socket.destroy();
          return;
        }
        socket.unshift(first);
        if (encrypted) startTls?.call(server, socket);
        else servePlaintext(socket);
      });
    });
  }

  /** Whether the mTLS mode of the snapshot in force takes a TLS (or plaintext) connection. */
  private takes(encrypted: boolean): boolean {
    return this.options.security.accepts(this.options.direction, this.options.holder.current.config, encrypted);
  }

  private track(socket: Socket): Connection {
    const connection: Connection = { socket, encrypted: isEncrypted(socket), inFlight: 0, closing: false, session: undefined, tunnel: false };
    this.connections.add(connection);
    this.connectionOf.set(socket, connection);
    socket.once('close', () => this.connections.delete(connection));
    return connection;
  }

  /**
   * After a snapshot change: connections the new mode refuses close, HTTP/2 ones by GOAWAY (their
   * streams in flight finish), HTTP/1.1 ones now when idle or else after the response in flight,
   * tunnels at once.
   */
  private closeRefusedConnections(): void {
    for (const connection of this.connections) {
      if (connection.closing || this.takes(connection.encrypted)) continue;
      connection.closing = true;
      if (connection.session !== undefined) connection.session.close();
      else if (connection.inFlight === 0 || connection.tunnel) connection.socket.destroy();
    }
  }

  /**
   * Whether a request may start on its connection; one the mode in force refuses is not
   * answered (HTTP/2: its stream is refused, HTTP/1.1: the connection is closed). Counts the
   * requests in flight of an HTTP/1.1 connection.
   */
  private admit(req: DownstreamRequestMessage, res: DownstreamResponse): boolean {
    const http2Stream = 'stream' in req ? req.stream : undefined;
    const connection = this.connectionOf.get(http2Stream?.session ?? req.socket);
    if (connection === undefined) return true;
    if (connection.closing || !this.takes(connection.encrypted)) {
      if (http2Stream !== undefined) http2Stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else connection.socket.destroy();
      return false;
    }
    if (http2Stream !== undefined) return true;
    connection.inFlight++;
    res.once('close', () => {
      connection.inFlight--;
      if (connection.closing && connection.inFlight === 0) connection.socket.end();
    });
    return true;
  }

  private runtime(socket: Socket): ListenerRuntime | undefined {
    const snapshot = this.options.holder.current;
    if (this.options.direction === 'outbound') return snapshot.outbound;
    if (!this.mixed || isEncrypted(socket)) return snapshot.inbound;
    return snapshot.inboundPlaintext;
  }

  private exchange(req: DownstreamRequestMessage, res: DownstreamResponse, expectsContinue: boolean): void {
    if (!this.admit(req, res)) return;
    const runtime = this.runtime(req.socket as Socket);
    if (runtime === undefined) {
      sendLocalReply(res, 'NO_ROUTE');
      return;
    }
    const exchange = new Exchange(runtime, this, req, res, expectsContinue);
    // HTTP/2 multiplexes streams on a connection that stays busy: each stream has its own idle timer.
    if ('stream' in req) req.stream.setTimeout(this.options.limits.idleTimeoutMs, () => exchange.streamIdle());
    exchange.start();
  }

  /**
   * An HTTP/2 request, refused as Node's compatibility layer refuses it: CONNECT (no tunnels over
   * HTTP/2 here) with 405, an expectation other than `100-continue` with 417.
   */
  private stream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    // Taken first, so the stream has its error listener whatever happens next.
    const downstream = new Http2Downstream(stream, headers, rawHeaders);
    // Node emits 'stream' a tick after the HEADERS frame: a protocol error in between (this
    // stream's DATA past its content-length) has already reset it, or its connection.
    if (stream.destroyed || stream.session === undefined) return;
    const expect = headers.expect;
    let refusal: number | undefined;
    if (headers[':method'] === 'CONNECT') refusal = 405;
    else if (expect !== undefined && expect !== '100-continue') refusal = 417;
    if (refusal === undefined) return this.exchange(downstream, downstream, expect !== undefined);
    downstream.statusCode = refusal;
    downstream.end();
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const connection = this.connectionOf.get(req.socket);
    if (connection !== undefined) {
      if (connection.closing || !this.takes(connection.encrypted)) return void socket.destroy();
      connection.tunnel = true;
    }
    const runtime = this.runtime(req.socket);
    if (runtime === undefined) return writeRawLocalReply(socket, 'NO_ROUTE');
    new UpgradeTunnel(runtime, req, socket, head).start();
  }

  private clientError(error: Error & { code?: string }, socket: Duplex): void {
    const code = clientErrorCode(error);
    const response = (socket as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
    if (code === undefined || !socket.writable || response?.headersSent === true) {
      socket.destroy();
      return;
    }
    writeRawLocalReply(socket, code);
    const entry = errorCatalogue[code];
    this.runtime(socket as Socket)?.unrouted.record(entry.httpStatus, entry.responseFlag, 0, 0, 0);
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.address, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting, lets requests in flight finish (their responses close the connection), and
   * cuts what is left at the deadline.
   */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    this.unfollow();
    this.unwatch();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // HTTP/2: GOAWAY, so streams in flight finish and the caller opens no new ones here.
    for (const session of this.h2Sessions) session.close();
    // Keep-alive connections become idle as their last response ends.
    const sweep = setInterval(() => this.server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => {
      this.server.closeAllConnections();
      for (const session of this.h2Sessions) session.destroy();
    }, deadlineMs);
    try {
      await closed;
    } finally {
      clearInterval(sweep);
      clearTimeout(deadline);
    }
  }
}
