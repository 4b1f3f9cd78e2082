// A downstream HTTP listener (inbound or outbound): Node's HTTP server with the sidecar's
// protections (header-read and request timeouts, idle timeout, header size limit answered with
// 431, malformed or ambiguous framing answered with 400, a cap on connections), handing each
// request to an Exchange built on the current snapshot. Plaintext, TLS, or both on one port
// (PERMISSIVE mTLS: the first byte tells a TLS handshake from plaintext HTTP). HTTP/2 shares the
// port: over TLS when ALPN picks `h2`, in plaintext when the connection opens with the HTTP/2
// preface (h2c, prior knowledge); its streams become the same Exchange through Node's
// compatibility API.
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
import { UpgradeTunnel } from '../http/upgrade-tunnel.js';
import { sendLocalReply, writeRawLocalReply } from '../local-reply.js';
import { sniffPlaintext, type PlaintextProtocol } from './protocol-sniff.js';
import type { ListenerRuntime, SnapshotHolder } from '../runtime/snapshot.js';
import type { Direction, TransportSecurity } from '../transport-security.js';

export interface HttpListenerOptions {
  readonly direction: Direction;
  readonly address: string;
  readonly port: number;
  readonly limits: LimitsConfig;
  readonly security: TransportSecurity;
  readonly holder: SnapshotHolder;
}

/** The first byte of every TLS connection: a handshake record. */
const TLS_HANDSHAKE_RECORD = 0x16;

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
      if (this.draining) session.close();
    });
    this.h2.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => this.exchange(req, res, false));
    this.h2.on('checkContinue', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => this.exchange(req, res, true));
    const tls = options.security.serverOptions(options.direction);
    if (tls === undefined) {
      this.server = http.createServer(serverOptions);
      this.unfollow = () => undefined;
      this.routePlaintext(this.server, 'connection', limits.headersTimeoutMs);
    } else {
      const server = https.createServer({ ...tls, ...serverOptions });
      this.server = server;
      this.unfollow = options.security.follow(server);
      const serve = this.routePlaintext(server, 'secureConnection', limits.headersTimeoutMs);
      if (options.security.acceptsPlaintext(options.direction)) this.sniffTls(server, limits.headersTimeoutMs, serve);
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
      if (protocol === 'http/1.1') return serveHttp1!.call(server, socket);
      // Node's HTTP/1.1 handling sets this from the server's `noDelay`; HTTP/2 bypasses it.
      socket.setNoDelay(true);
      this.h2.emit('connection', socket);
    };
    const servePlaintext = (socket: Socket): void => sniffPlaintext(socket, timeoutMs, (protocol) => serve(socket, protocol));
    if (event === 'connection') server.on('connection', servePlaintext);
    else server.on('secureConnection', (socket: TLSSocket) => serve(socket, socket.alpnProtocol === 'h2' ? 'h2' : 'http/1.1'));
    return servePlaintext;
  }

  /** Lets plaintext connections skip the TLS layer (PERMISSIVE): the first byte decides. */
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
        socket.unshift(first);
        if (first[0] === TLS_HANDSHAKE_RECORD) startTls?.call(server, socket);
        else servePlaintext(socket);
      });
    });
  }

  private runtime(socket?: Socket): ListenerRuntime | undefined {
    const snapshot = this.options.holder.current;
    if (this.options.direction === 'outbound') return snapshot.outbound;
    const encrypted = (socket as TLSSocket | undefined)?.encrypted === true;
    return encrypted ? snapshot.inbound : (snapshot.inboundPlaintext ?? snapshot.inbound);
  }

  private exchange(req: DownstreamRequestMessage, res: DownstreamResponse, expectsContinue: boolean): void {
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

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
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
