// The one place a catalogue code becomes a response from the sidecar itself: status from the
// catalogue, `x-weft-error: <CODE>`, and the message as a short text body. Replies go either on
// a ServerResponse (HTTP/1.1 or HTTP/2) or, before Node has one (parse errors, refused upgrades),
// raw on the socket. A gRPC caller (its request's content-type says so) gets a gRPC response
// instead: HTTP 200, `content-type: application/grpc`, and `grpc-status`/`grpc-message` from the
// catalogue, trailers-only (one HEADERS frame that ends the stream) when nothing was sent yet,
// else as the trailers of the response already under way.
import type { ServerResponse } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http2';
import type { Duplex } from 'node:stream';
import { errorCatalogue, type ErrorCode } from './errors.js';
import { isGrpcContentType } from './grpc/grpc-wire.js';
import type { Http2Downstream } from './http/http2-downstream.js';

export const errorHeader = 'x-weft-error';

export type LocalReplyResponse = ServerResponse | Http2Downstream;

export interface LocalReplySent {
  /** HTTP status sent (200 for gRPC callers). */
  readonly status: number;
  readonly bytes: number;
  /** The gRPC status sent, for gRPC callers. */
  readonly grpcStatus: number | undefined;
}

function bodyOf(code: ErrorCode, detail: string | undefined): string {
  return `${code}: ${detail ?? errorCatalogue[code].message}\n`;
}

/** What a filter's decision may set on its local reply (an authorization policy's denial). */
export interface LocalReplyOverrides {
  readonly status?: number;
  /** Extra headers, flat [name, value, ...]. */
  readonly headers?: readonly string[];
  readonly body?: string;
}

/** `grpc-message` is percent-encoded: bytes outside printable ASCII, and `%` itself. */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Whether the request this response answers is a gRPC call. */
export function answersGrpc(res: LocalReplyResponse): boolean {
  const contentType = ('stream' in res ? res.headers : res.req.headers)['content-type'];
  return isGrpcContentType(typeof contentType === 'string' ? contentType : undefined);
}

/**
 * Sends the local reply for `code`; returns what was sent. For a gRPC caller whose response
 * headers already went out, the reply is the trailers that end it.
 */
export function sendLocalReply(
  res: LocalReplyResponse,
  code: ErrorCode,
  detail?: string,
  overrides?: LocalReplyOverrides,
): LocalReplySent {
  if (answersGrpc(res)) return sendGrpcLocalReply(res, code, detail);
  const status = overrides?.status ?? errorCatalogue[code].httpStatus;
  const body = overrides?.body ?? bodyOf(code, detail);
  const bytes = Buffer.byteLength(body);
  const head = withOverrides(localReplyHead(code, bytes), overrides);
  (res as ServerResponse).writeHead(status, head);
  res.end(body);
  return { status, bytes, grpcStatus: undefined };
}

function sendGrpcLocalReply(res: LocalReplyResponse, code: ErrorCode, detail: string | undefined): LocalReplySent {
  const grpcStatus = errorCatalogue[code].grpcStatus;
  const status = {
    'grpc-status': String(grpcStatus),
    'grpc-message': encodeGrpcMessage(`${code}: ${detail ?? errorCatalogue[code].message}`),
  };
  if (res.headersSent) {
    res.addTrailers(status);
    res.end();
    return { status: res.statusCode, bytes: 0, grpcStatus };
  }
  const head: OutgoingHttpHeaders = { 'content-type': 'application/grpc', [errorHeader]: code, ...status };
  if ('stream' in res) {
    res.stream.respond({ ':status': 200, ...head }, { endStream: true });
  } else {
    res.writeHead(200, { ...head, 'content-length': '0' });
    res.end();
  }
  return { status: 200, bytes: 0, grpcStatus };
}

/** The same reply written straight on a socket, which is then closed. */
export function writeRawLocalReply(socket: Duplex, code: ErrorCode, detail?: string, overrides?: LocalReplyOverrides): void {
  const httpStatus = overrides?.status ?? errorCatalogue[code].httpStatus;
  const body = overrides?.body ?? bodyOf(code, detail);
  const head = withOverrides(localReplyHead(code, Buffer.byteLength(body)), overrides);
  let text = `HTTP/1.1 ${httpStatus} ${reasonPhrase(httpStatus)}\r\n`;
  for (let i = 0; i < head.length; i += 2) text += `${head[i]}: ${head[i + 1]}\r\n`;
  socket.end(`${text}connection: close\r\n\r\n${body}`);
}

/** The filter's headers after the reply's own; a filter's content-type replaces the text/plain one. */
function withOverrides(head: string[], overrides: LocalReplyOverrides | undefined): string[] {
  if (overrides?.headers === undefined) return head;
  const ownType = overrides.headers.some((name, index) => index % 2 === 0 && name.toLowerCase() === 'content-type');
  return [...(ownType ? head.slice(2) : head), ...overrides.headers];
}

function localReplyHead(code: ErrorCode, bytes: number): string[] {
  return ['content-type', 'text/plain; charset=utf-8', 'content-length', String(bytes), errorHeader, code];
}

const reasons: Readonly<Record<number, string>> = {
  307: 'Temporary Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  413: 'Content Too Large',
  404: 'Not Found',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  499: 'Client Closed Request',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function reasonPhrase(status: number): string {
  return reasons[status] ?? 'Error';
}
