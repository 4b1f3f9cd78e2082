// The one place a catalogue code becomes a response from the sidecar itself: status from the
// catalogue, `x-weft-error: <CODE>`, and the message as a short text body. Replies go either on
// a ServerResponse or, before Node has one (parse errors, refused upgrades), raw on the socket.
// Callers speak HTTP/1.1 here; a gRPC caller's trailers-only rendering belongs beside
// `localReplyHead`, chosen from the caller's content-type.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorCatalogue, type ErrorCode } from './errors.js';

export const errorHeader = 'x-weft-error';

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

/** Sends the local reply for `code`; returns the status and body size sent. */
export function sendLocalReply(
  res: ServerResponse,
  code: ErrorCode,
  detail?: string,
  overrides?: LocalReplyOverrides,
): { status: number; bytes: number } {
  const status = overrides?.status ?? errorCatalogue[code].httpStatus;
  const body = overrides?.body ?? bodyOf(code, detail);
  const bytes = Buffer.byteLength(body);
  const head = localReplyHead(code, bytes);
  if (overrides?.headers !== undefined) head.push(...overrides.headers);
  res.writeHead(status, head);
  res.end(body);
  return { status, bytes };
}

/** The same reply written straight on a socket, which is then closed. */
export function writeRawLocalReply(socket: Duplex, code: ErrorCode, detail?: string): void {
  const { httpStatus } = errorCatalogue[code];
  const body = bodyOf(code, detail);
  const head = localReplyHead(code, Buffer.byteLength(body));
  let text = `HTTP/1.1 ${httpStatus} ${reasonPhrase(httpStatus)}\r\n`;
  for (let i = 0; i < head.length; i += 2) text += `${head[i]}: ${head[i + 1]}\r\n`;
  socket.end(`${text}connection: close\r\n\r\n${body}`);
}

function localReplyHead(code: ErrorCode, bytes: number): string[] {
  return ['content-type', 'text/plain; charset=utf-8', 'content-length', String(bytes), errorHeader, code];
}

const reasons: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  499: 'Client Closed Request',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function reasonPhrase(status: number): string {
  return reasons[status] ?? 'Error';
}
