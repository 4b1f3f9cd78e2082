// A caller's HTTP/2 stream as the sidecar's downstream request and response, on Node's HTTP/2
// stream API: the request's head, its body (the stream itself is the body's Readable) and
// trailers; the response's head, body and trailers. It offers the members of Node's
// compatibility objects (Http2ServerRequest/Response) the exchange uses, with their behaviour,
// so one Exchange serves HTTP/1.1 and HTTP/2 alike, without the two compatibility objects,
// their listeners and their copy of the request body per stream (issue 15: the gRPC path).
import type { OutgoingHttpHeaders } from 'node:http';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

function onWantTrailers(this: ServerHttp2Stream & { [kDownstream]: Http2Downstream }): void {
  this.sendTrailers(this[kDownstream].trailers ?? {});
}

function onRequestTrailers(this: ServerHttp2Stream & { [kDownstream]: Http2Downstream }, _trailers: IncomingHttpHeaders, _flags: number, raw: string[]): void {
  this[kDownstream].rawTrailers = raw;
}

const kDownstream = Symbol('weft.http2Downstream');

function ignoreStreamError(): void {}
const noTrailers: readonly string[] = Object.freeze([]);

/** Adds `name: value` to a response head, repeated names as lists (lower-cased and checked, as Node's compatibility layer does). */
function addHeader(head: OutgoingHttpHeaders, rawName: string, value: string | number | readonly string[]): void {
  const name = rawName.trim().toLowerCase();
  validateHeaderName(name);
  validateHeaderValue(name, value as string);
  const previous = head[name];
  if (previous === undefined) head[name] = value as string | number | string[];
  else head[name] = [...(Array.isArray(previous) ? previous : [String(previous)]), ...(Array.isArray(value) ? value : [String(value)])];
}

/**
 * The body to hand undici: it destroys a request's body stream once done with it, and a caller's
 * HTTP/2 stream is also the response, so undici gets an iterator over it that leaves it open.
 */
export function bodyForUndici(body: Readable | null): Readable | AsyncIterable<Buffer> | null {
  if (body === null || !(kDownstream in body)) return body;
  return body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
}

export class Http2Downstream {
  readonly httpVersion = '2.0';
  readonly httpVersionMajor = 2;
  statusCode = 200;
  /** Set by addTrailers; sent once the body is written. */
  trailers: OutgoingHttpHeaders | undefined = undefined;
  /** The caller's trailers, flat, once they came. */
  rawTrailers: readonly string[] = noTrailers;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    readonly rawHeaders: string[],
  ) {
    (stream as ServerHttp2Stream & { [kDownstream]: Http2Downstream })[kDownstream] = this;
    // A reset or a failed write emits 'error'; 'close' follows and ends the exchange, which the
    // stream's rstCode and state tell all it needs (the compatibility layer ignores it too).
    stream.on('error', ignoreStreamError);
    stream.on('wantTrailers', onWantTrailers);
    if (!stream.endAfterHeaders) stream.once('trailers', onRequestTrailers);
  }

  get method(): string {
    return this.headers[':method'] ?? '';
  }

  get url(): string | undefined {
    return this.headers[':path'];
  }

  /** The connection's socket (the session's: one per connection). */
  get socket(): Socket {
    return this.stream.session?.socket as Socket;
  }

  /** The request body was read to its end, or the stream is over. */
  get complete(): boolean {
    const stream = this.stream;
    return stream.readableEnded || stream.closed || stream.destroyed;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  /** Whether the response can still be written to (the stream is open). */
  private get open(): boolean {
    const stream = this.stream;
    return !stream.closed && !stream.destroyed;
  }

  writeHead(statusCode: number, headers?: readonly string[] | OutgoingHttpHeaders): this {
    // Trailers or not, the stream ends with them (an empty DATA frame when there are none).
    this.respond(statusCode, headers, false);
    return this;
  }

  /** A response of one HEADERS frame that ends the stream (gRPC trailers-only). */
  writeHeadersOnly(statusCode: number, headers: readonly string[]): void {
    this.respond(statusCode, headers, true);
  }

  private respond(statusCode: number, headers: readonly string[] | OutgoingHttpHeaders | undefined, headersOnly: boolean): void {
    if (!this.open) return;
    this.statusCode = statusCode;
    const head: OutgoingHttpHeaders = {};
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) addHeader(head, headers[i]!, headers[i + 1]!);
    } else if (headers !== undefined) {
      for (const name of Object.keys(headers)) {
        const value = (headers as OutgoingHttpHeaders)[name];
        if (value !== undefined) addHeader(head, name, value);
      }
    }
    head[':status'] = statusCode;
    this.stream.respond(head, headersOnly ? { endStream: true } : { waitForTrailers: true });
  }

  write(chunk: Buffer | string): boolean {
    if (!this.open) return false;
    if (!this.stream.headersSent) this.writeHead(this.statusCode);
    return this.stream.write(chunk);
  }

  end(chunk?: Buffer | string): void {
    if (!this.open || this.stream.writableEnded) return;
    if (!this.stream.headersSent) this.writeHead(this.statusCode);
    if (chunk === undefined) this.stream.end();
    else this.stream.end(chunk);
  }

  /** As the compatibility layer's: each name given replaces one set before. */
  addTrailers(trailers: OutgoingHttpHeaders): void {
    const own = (this.trailers ??= {});
    for (const rawName of Object.keys(trailers)) {
      const name = rawName.trim().toLowerCase();
      delete own[name];
      addHeader(own, name, trailers[rawName] as string);
    }
  }

  /** `100 Continue`, before the response head. */
  writeContinue(): void {
    if (this.stream.headersSent || !this.open) return;
    this.stream.additionalHeaders({ ':status': 100 });
  }

  destroy(): void {
    this.stream.destroy();
  }

  /** 'close' (the stream is over, either way) and 'drain' (the response body may go on), with `this` the downstream. */
  on(event: 'close' | 'drain', listener: (this: Http2Downstream) => void): this {
    this.stream.on(event, listener.bind(this));
    return this;
  }

  once(event: 'close' | 'drain', listener: (this: Http2Downstream) => void): this {
    this.stream.once(event, listener.bind(this));
    return this;
  }
}
