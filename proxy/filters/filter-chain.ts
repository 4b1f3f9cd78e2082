// The one filter-chain runner, for ordinary requests and upgrade tunnels alike: runs the hooks of
// http-filter.ts in order, waits on those that return promises, holds a body for a filter that
// buffers it, streams it through those that watch it, and turns a throw, a rejection or a local
// reply into the host's local reply. The host (Exchange, UpgradeTunnel) does the I/O; the runner
// keeps no state of its own, and a request no filter asks the body of allocates nothing here.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { replayBody, type BufferedBody } from '../http/request-body.js';
import { headerValue, removeHeader, setHeader } from '../http/headers.js';
import type { BodyData, FilterExchange, FilterOutcome, HeadersOutcome, HttpFilter, LocalReplyOutcome } from './http-filter.js';

/** A listener's filters, in config order, and what the runner precomputes of them. */
export class FilterChain {
  /** Whether any filter sees request trailers (the body is then read through the runner). */
  readonly decodesTrailers: boolean;
  readonly encodesTrailers: boolean;
  readonly reshapesLocalReplies: boolean;
  /** The filters told when a request is over (`onEnd`). */
  readonly endWatchers: readonly HttpFilter[];

  constructor(readonly filters: readonly HttpFilter[]) {
    this.decodesTrailers = filters.some((f) => f.decodeTrailers !== undefined);
    this.encodesTrailers = filters.some((f) => f.encodeTrailers !== undefined);
    this.reshapesLocalReplies = filters.some((f) => f.onLocalReply !== undefined);
    this.endWatchers = filters.filter((f) => f.onEnd !== undefined);
  }
}

/** Tells the filters that asked that `host`'s request is over; one that throws does not stop the others. */
export function requestEnded(host: ChainHost): void {
  for (const filter of host.chain.endWatchers) {
    try {
      filter.onEnd!(host);
    } catch {
      // The request is over either way: nothing left to refuse.
    }
  }
}

/** The local reply as the filters' onLocalReply hooks reshape it, the one nearest the upstream first. */
export function reshapeLocalReply(host: FilterExchange & { readonly chain: FilterChain }, outcome: LocalReplyOutcome): LocalReplyOutcome {
  if (!host.chain.reshapesLocalReplies) return outcome;
  let reshaped = outcome;
  for (let i = host.chain.filters.length - 1; i >= 0; i--) {
    const filter = host.chain.filters[i]!;
    try {
      reshaped = filter.onLocalReply?.(host, reshaped) ?? reshaped;
    } catch {
      return filterFailure;
    }
  }
  return reshaped;
}

/** A request's body state, allocated when a filter first watches a body. */
export class ChainBodies {
  /** Filters whose decodeData sees the request body stream, in chain order. */
  readonly requestWatchers: HttpFilter[] = [];
  /** The request body held for buffering filters (replayed upstream in its place). */
  requestHeld: BufferedBody | undefined = undefined;
  /** Filters whose encodeData sees the response body stream, in the order they run. */
  readonly responseWatchers: HttpFilter[] = [];
  /** While a filter waits for the whole response body: which one, its cap, and what came. */
  responseWaiting: { readonly index: number; readonly maxBytes: number } | undefined = undefined;
  responseHeld: Buffer[] = [];
  responseHeldSize = 0;
  /** The whole response body once a buffering filter had it, written after the head. */
  responseBody: Buffer | undefined = undefined;
  responseTrailers: string[] | undefined = undefined;
}

/** What the runner drives: a request from a caller, and its I/O. */
export interface ChainHost extends FilterExchange {
  readonly chain: FilterChain;
  bodies: ChainBodies | undefined;
  /** The request is over (answered, failed or gone): a hook settling late changes nothing. */
  readonly ended: boolean;
  /** The upstream's response is its head alone (gRPC trailers-only): no body or trailers follow. */
  readonly responseHeadersOnly: boolean;
  replyLocally(outcome: LocalReplyOutcome): void;
  /** Reads the request body ahead: all of it, or more than `maxBytes` with `complete` false. */
  readRequestBody(maxBytes: number): Promise<BufferedBody>;
  /** Every decodeHeaders hook passed: send the request upstream. */
  forward(): void;
  /** The upstream must not deliver more of the response until resumeUpstream (which does nothing unless paused so). */
  pauseUpstream(): void;
  resumeUpstream(): void;
  /** Every encodeHeaders hook passed: send the response head (and a held body) to the caller. */
  respond(): void;
  /** Response body bytes to the caller; false when the caller is slow (the host resumes the upstream on drain). */
  writeResponse(bytes: Buffer): boolean;
  /** The response is complete: its trailers (after the encodeTrailers hooks), then its end. */
  endResponse(trailers: string[] | undefined): void;
}

// A filter that throws or rejects refuses the request (fail closed); its error is not shown.
export const filterFailure: LocalReplyOutcome = Object.freeze({ code: 'FILTER_FAILURE' });
const requestTooLarge: LocalReplyOutcome = Object.freeze({ code: 'REQUEST_BODY_TOO_LARGE' });
const responseTooLarge: LocalReplyOutcome = Object.freeze({ code: 'RESPONSE_BODY_TOO_LARGE' });
const noBytes = Buffer.alloc(0);

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

function isLocalReply(outcome: HeadersOutcome): outcome is LocalReplyOutcome {
  return (outcome as LocalReplyOutcome).code !== undefined;
}

function bodiesOf(host: ChainHost): ChainBodies {
  return (host.bodies ??= new ChainBodies());
}

/** Calls `then` with the hook's outcome, now or once it settles; a throw or rejection fails the request. */
function settle<T>(host: ChainHost, call: () => T | Promise<T>, then: (outcome: T) => void): void {
  let outcome: T | Promise<T>;
  try {
    outcome = call();
  } catch {
    return host.replyLocally(filterFailure);
  }
  if (!isPromise(outcome)) return then(outcome);
  outcome.then(
    (settled) => {
      if (!host.ended) then(settled);
    },
    () => {
      if (!host.ended) host.replyLocally(filterFailure);
    },
  );
}

// Request side

/**
 * Runs the headers hooks of one side from filter `from` on: decodeHeaders in chain order, then
 * the request is forwarded; encodeHeaders in reverse order, then the head goes to the caller.
 */
function runHeaders(host: ChainHost, side: 'decode' | 'encode', from: number): void {
  const filters = host.chain.filters;
  const step = side === 'decode' ? 1 : -1;
  for (let i = from; i >= 0 && i < filters.length; i += step) {
    const filter = filters[i]!;
    const hook = side === 'decode' ? filter.decodeHeaders : filter.encodeHeaders;
    if (hook === undefined) continue;
    let outcome: HeadersOutcome | Promise<HeadersOutcome>;
    try {
      outcome = hook.call(filter, host);
    } catch {
      return host.replyLocally(filterFailure);
    }
    if (outcome === undefined) continue;
    if (isPromise(outcome)) {
      // The upstream's response body waits for the head.
      if (side === 'encode') host.pauseUpstream();
      outcome.then(
        (settled) => {
          if (!host.ended) (side === 'decode' ? afterDecodeHeaders : afterEncodeHeaders)(host, i, settled);
        },
        () => {
          if (!host.ended) host.replyLocally(filterFailure);
        },
      );
      return;
    }
    return (side === 'decode' ? afterDecodeHeaders : afterEncodeHeaders)(host, i, outcome);
  }
  if (side === 'decode') host.forward();
  else responseHeadPassed(host);
}

/** Runs decodeHeaders from filter `from` on; forwards the request once all passed. */
export function decodeHeaders(host: ChainHost, from = 0): void {
  runHeaders(host, 'decode', from);
}

function afterDecodeHeaders(host: ChainHost, index: number, outcome: HeadersOutcome): void {
  if (outcome === undefined) return decodeHeaders(host, index + 1);
  if (isLocalReply(outcome)) return host.replyLocally(outcome);
  const filter = host.chain.filters[index]!;
  const bodies = bodiesOf(host);
  // A body held whole (or none at all) is passed whole, whatever the filter asked; the bytes of
  // one held in part stream through the filter ahead of the rest.
  if (outcome.watch === 'stream' && host.hasBody && bodies.requestHeld?.complete !== true) {
    bodies.requestWatchers.push(filter);
    if (outcome.changesLength === true) removeHeader(host.requestHeaders, 'content-length');
    return decodeHeaders(host, index + 1);
  }
  const maxBytes = outcome.maxBytes ?? Number.MAX_SAFE_INTEGER;
  const partial = outcome.partial === true || outcome.watch === 'stream';
  const declared = headerValue(host.requestHeaders, 'content-length');
  if (!partial && declared !== undefined && Number(declared) > maxBytes) return host.replyLocally(requestTooLarge);
  holdRequestBody(host, bodies, maxBytes).then(
    (held) => {
      if (host.ended) return;
      if (!held.complete && !partial) return host.replyLocally(requestTooLarge);
      const data: BodyData = { bytes: held.bytes, end: held.complete };
      settle(
        host,
        () => filter.decodeData?.(host, data),
        (result: FilterOutcome) => {
          if (result !== undefined) return host.replyLocally(result);
          if (data.bytes !== held.bytes) rewriteHeldRequest(host, bodies, { bytes: data.bytes, complete: held.complete });
          decodeHeaders(host, index + 1);
        },
      );
    },
    // The host has answered (408) or the caller went away.
    () => undefined,
  );
}

/** The request body held so far, read further when a filter asks for more than was read. */
async function holdRequestBody(host: ChainHost, bodies: ChainBodies, maxBytes: number): Promise<BufferedBody> {
  const held = bodies.requestHeld;
  if (held !== undefined && (held.complete || held.bytes.length > maxBytes)) return held;
  const more = await host.readRequestBody(maxBytes - (held?.bytes.length ?? 0));
  bodies.requestHeld = held === undefined ? more : { bytes: Buffer.concat([held.bytes, more.bytes]), complete: more.complete };
  return bodies.requestHeld;
}

function rewriteHeldRequest(host: ChainHost, bodies: ChainBodies, body: BufferedBody): void {
  bodies.requestHeld = body;
  if (body.complete) setHeader(host.requestHeaders, 'content-length', String(body.bytes.length));
  else removeHeader(host.requestHeaders, 'content-length');
}

/**
 * The request body as it goes upstream: the bytes held for buffering filters, then the rest of
 * the caller's stream (`rest`), through the streaming filters' decodeData and the decodeTrailers
 * hooks. Null when there is none.
 */
export function upstreamRequestBody(host: ChainHost, rest: Readable, trailers: () => string[] | undefined): Readable | null {
  const bodies = host.bodies;
  const held = bodies?.requestHeld;
  const source = held === undefined ? (host.hasBody ? rest : null) : held.bytes.length === 0 && held.complete ? null : replayBody(held, rest);
  if (source === null || ((bodies?.requestWatchers.length ?? 0) === 0 && !host.chain.decodesTrailers)) return source;
  return source.pipe(new RequestBodyTransform(host, bodies?.requestWatchers ?? [], trailers));
}

/** Whether the upstream body can be made again for another try: a filter held all of it and none streams it. */
export function requestBodyReplayable(host: ChainHost): boolean {
  const bodies = host.bodies;
  return bodies?.requestHeld?.complete === true && bodies.requestWatchers.length === 0 && !host.chain.decodesTrailers;
}

/** Runs `data` through the data hooks of `watchers` from `from` on, then calls `done`. */
function runData(
  host: ChainHost,
  watchers: readonly HttpFilter[],
  hook: 'decodeData' | 'encodeData',
  data: BodyData,
  from: number,
  done: () => void,
): void {
  for (let i = from; i < watchers.length; i++) {
    let outcome: FilterOutcome | Promise<FilterOutcome>;
    try {
      outcome = watchers[i]![hook]?.(host, data);
    } catch {
      return host.replyLocally(filterFailure);
    }
    if (outcome === undefined) continue;
    if (isPromise(outcome)) {
      outcome.then(
        (settled) => {
          if (host.ended) return;
          if (settled !== undefined) return host.replyLocally(settled);
          runData(host, watchers, hook, data, i + 1, done);
        },
        () => {
          if (!host.ended) host.replyLocally(filterFailure);
        },
      );
      return;
    }
    return host.replyLocally(outcome);
  }
  done();
}

/** Runs every hook of `kind` on `trailers`, in chain order, then calls `done`. */
function runTrailers(host: ChainHost, filters: readonly HttpFilter[], kind: 'decodeTrailers' | 'encodeTrailers', trailers: string[], from: number, done: () => void): void {
  for (let i = from; i < filters.length; i++) {
    if (filters[i]![kind] === undefined) continue;
    return settle(
      host,
      () => filters[i]![kind]!(host, trailers),
      (outcome: FilterOutcome) => (outcome === undefined ? runTrailers(host, filters, kind, trailers, i + 1, done) : host.replyLocally(outcome)),
    );
  }
  done();
}

const answered = new Error('request answered by a filter');

/** The request body through the decode hooks: the next chunk is read once the hooks passed this one (backpressure). */
class RequestBodyTransform extends Transform {
  constructor(
    private readonly host: ChainHost,
    private readonly watchers: readonly HttpFilter[],
    private readonly trailers: () => string[] | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pass({ bytes: chunk, end: false }, callback);
  }

  override _flush(callback: TransformCallback): void {
    const trailers = this.trailers();
    const end = (): void => this.pass({ bytes: noBytes, end: true }, callback);
    if (trailers === undefined || !this.host.chain.decodesTrailers) return end();
    let passed = false;
    runTrailers(this.host, this.host.chain.filters, 'decodeTrailers', trailers, 0, () => {
      passed = true;
      end();
    });
    if (!passed && this.host.ended) callback(answered);
  }

  private pass(data: BodyData, callback: TransformCallback): void {
    let passed = false;
    runData(this.host, this.watchers, 'decodeData', data, 0, () => {
      passed = true;
      callback(null, data.bytes.length === 0 ? undefined : data.bytes);
    });
    // A local reply: nothing more goes upstream.
    if (!passed && this.host.ended) callback(answered);
  }
}

// Response side

/** Runs encodeHeaders from filter `from` down to the first; the head goes to the caller once all passed. */
export function encodeHeaders(host: ChainHost, from = host.chain.filters.length - 1): void {
  runHeaders(host, 'encode', from);
}

function responseHeadPassed(host: ChainHost): void {
  host.respond();
  // Only now may the body come (a hook that waited paused the upstream).
  host.resumeUpstream();
  const held = host.bodies?.responseBody;
  if (held === undefined) return;
  if (held.length > 0) host.writeResponse(held);
  endResponse(host, host.bodies!.responseTrailers);
}

function afterEncodeHeaders(host: ChainHost, index: number, outcome: HeadersOutcome): void {
  if (outcome === undefined) return encodeHeaders(host, index - 1);
  if (isLocalReply(outcome)) return host.replyLocally(outcome);
  const bodies = bodiesOf(host);
  if (outcome.watch === 'stream' && bodies.responseBody === undefined) {
    bodies.responseWatchers.push(host.chain.filters[index]!);
    if (outcome.changesLength === true) removeHeader(host.responseHeaders!, 'content-length');
    return encodeHeaders(host, index - 1);
  }
  // The upstream's body is collected (responseData) until it ends (responseEnd).
  bodies.responseWaiting = { index, maxBytes: outcome.maxBytes ?? Number.MAX_SAFE_INTEGER };
  if (bodies.responseBody !== undefined) passHeldResponse(host, bodies);
  // Nothing more will come: the filter holding the body gets an empty one (e.g. the bridge answers a gRPC stream of no messages).
  else if (host.responseHeadersOnly) responseEnd(host, undefined);
  else host.resumeUpstream();
}

/** A response body chunk from the upstream; false when the upstream should pause. */
export function responseData(host: ChainHost, chunk: Buffer): boolean {
  const bodies = host.bodies;
  if (bodies === undefined || (bodies.responseWaiting === undefined && bodies.responseWatchers.length === 0)) return host.writeResponse(chunk);
  if (bodies.responseWaiting !== undefined) {
    bodies.responseHeld.push(chunk);
    bodies.responseHeldSize += chunk.length;
    if (bodies.responseHeldSize <= bodies.responseWaiting.maxBytes) return true;
    host.replyLocally(responseTooLarge);
    return false;
  }
  const data: BodyData = { bytes: chunk, end: false };
  let sync = true;
  let passed = false;
  let flowing = false;
  runData(host, bodies.responseWatchers, 'encodeData', data, 0, () => {
    passed = true;
    flowing = data.bytes.length === 0 || host.writeResponse(data.bytes);
    // After a hook that waited: the upstream was paused for it (a slow caller resumes it on drain).
    if (!sync && flowing) host.resumeUpstream();
  });
  sync = false;
  if (host.ended) return false;
  if (!passed) host.pauseUpstream();
  return passed && flowing;
}

/** The upstream's response ended, with its trailers (flat, lower-case names) if any. */
export function responseEnd(host: ChainHost, trailers: string[] | undefined): void {
  const bodies = host.bodies;
  if (bodies === undefined) return endResponse(host, trailers);
  if (bodies.responseWaiting !== undefined) {
    bodies.responseTrailers = trailers;
    bodies.responseBody = bodies.responseHeld.length === 1 ? bodies.responseHeld[0]! : Buffer.concat(bodies.responseHeld, bodies.responseHeldSize);
    bodies.responseHeld = [];
    return passHeldResponse(host, bodies);
  }
  if (bodies.responseWatchers.length === 0) return endResponse(host, trailers);
  const data: BodyData = { bytes: noBytes, end: true };
  runData(host, bodies.responseWatchers, 'encodeData', data, 0, () => {
    if (data.bytes.length > 0) host.writeResponse(data.bytes);
    endResponse(host, trailers);
  });
}

/** Gives the buffering filter the whole response body, then runs the encodeHeaders hooks before it. */
function passHeldResponse(host: ChainHost, bodies: ChainBodies): void {
  const index = bodies.responseWaiting!.index;
  bodies.responseWaiting = undefined;
  const data: BodyData = { bytes: bodies.responseBody!, end: true, trailers: bodies.responseTrailers ?? [] };
  settle(
    host,
    () => host.chain.filters[index]!.encodeData?.(host, data),
    (outcome: FilterOutcome) => {
      if (outcome !== undefined) return host.replyLocally(outcome);
      bodies.responseBody = data.bytes;
      setHeader(host.responseHeaders!, 'content-length', String(data.bytes.length));
      encodeHeaders(host, index - 1);
    },
  );
}

function endResponse(host: ChainHost, trailers: string[] | undefined): void {
  if (trailers === undefined || trailers.length === 0 || !host.chain.encodesTrailers) return host.endResponse(trailers);
  runTrailers(host, host.chain.filters, 'encodeTrailers', trailers, 0, () => host.endResponse(trailers));
}
