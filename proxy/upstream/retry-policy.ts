// Retries, as Envoy's retry policy: a request is tried again, on another endpoint where there is
// one, when its try failed before any of the response went to the caller (an upstream status
// or a failure before response headers) in a way `retryOn` names. A request whose body the try
// has begun to read is never retried (the body streams and is not kept). A request the upstream
// may have processed is retried only for idempotent methods, unless retryNonIdempotent; one it
// never received (connect failure, refused stream) is retried whatever its method. A retry budget
// (Envoy's retry_budget) bounds the retries in flight so that retries cannot multiply an outage.
// Requests of a cluster without retries never reach this file (no allocation on the request path).
import type { Readable } from 'node:stream';
import type { ErrorCode } from '../errors.js';
import type { RetriesConfig, RetryOn } from '../config/types.js';
import type { ClusterCounters } from '../telemetry/resilience-metrics.js';
import type { Dispatcher } from 'undici';
import type { HeaderObject } from '../http/headers.js';
import type { UpstreamHandler } from './http2-endpoint.js';
import type { PickRequest } from './load-balancers.js';

type DispatchController = Dispatcher.DispatchController;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** What a retry needs of the cluster. */
export interface RetryTarget<E> {
  /** Requests in flight to the cluster. */
  readonly active: number;
  /** An endpoint for `request` other than `previous` when one is healthy, else `previous` if healthy, else undefined. */
  pickOther(previous: E, request: PickRequest): E | undefined;
}

/** A try's failure before its response began, as an error code names it (refused streams apart). */
const REFUSED_STREAM = 'UND_ERR_REFUSED_STREAM';

/** One cluster's retry policy and its budget (retries in flight). */
export class RetryPolicy {
  activeRetries = 0;
  private readonly on: ReadonlySet<RetryOn>;

  constructor(
    readonly config: RetriesConfig,
    readonly counters: ClusterCounters | undefined,
    /** Retries in flight to the cluster at once, whatever the budget says (the Route's circuitBreaker.maxRetries). */
    private readonly maxRetries = Number.MAX_SAFE_INTEGER,
  ) {
    this.on = new Set(config.retryOn);
  }

  /** A request's retry state, or undefined when the request is never retried. */
  begin(request: PickRequest, body: Readable | null): RetryState | undefined {
    if (this.config.attempts === 0) return undefined;
    return new RetryState(this, request, body, this.config.retryNonIdempotent || IDEMPOTENT.has(request.method));
  }

  retriesStatus(status: number): boolean {
    if (status >= 500 && this.on.has('5xx')) return true;
    if ((status === 502 || status === 503 || status === 504) && this.on.has('gateway-error')) return true;
    if (status === 429) return this.on.has('rate-limited');
    return status === 409 && this.on.has('retriable-4xx');
  }

  retriesError(code: ErrorCode, error: Error): boolean {
    // The sidecar would answer these 502 or 504 itself: `5xx` and `gateway-error` take them all.
    const gateway = this.on.has('5xx') || this.on.has('gateway-error');
    switch (code) {
      case 'UPSTREAM_CONNECT_FAILURE':
        return gateway || this.on.has('connect-failure');
      case 'UPSTREAM_CONNECTION_TERMINATION':
        return gateway || this.on.has((error as { code?: unknown }).code === REFUSED_STREAM ? 'refused-stream' : 'reset');
      case 'UPSTREAM_REQUEST_TIMEOUT':
        return gateway || this.on.has('reset');
      case 'UPSTREAM_PROTOCOL_ERROR':
        return gateway;
      default:
        return false;
    }
  }

  /** Envoy's budget: retries in flight stay under percent% of the requests in flight, or the floor. */
  budgetAllows(activeRequests: number): boolean {
    const { percent, minRetryConcurrency } = this.config.budget;
    return this.activeRetries < this.maxRetries && this.activeRetries < Math.max(minRetryConcurrency, (percent / 100) * activeRequests);
  }
}

/** One request's tries. */
export class RetryState {
  private retries = 0;
  /** Whether this request's current try is a retry, holding a place in the budget. */
  private inBudget = false;
  private attempt: Attempt | undefined = undefined;
  /** The last try's outcome would have been retried, but no attempt was left (flag URX). */
  exhausted = false;

  constructor(
    private readonly policy: RetryPolicy,
    /** What the balancer sees when it picks the endpoint of a retry. */
    private readonly request: PickRequest,
    /** The request body as the tries read it, or null. */
    private readonly body: Readable | null,
    /** Whether a request the upstream may have processed may be sent again. */
    private readonly repeatable: boolean,
  ) {}

  /** The handler of a new try: it passes the try's callbacks to `exchange` until the try is retired. */
  handler(exchange: UpstreamHandler): UpstreamHandler {
    this.attempt = new Attempt(exchange, this.policy.config.perTryTimeoutMs);
    return this.attempt;
  }

  /** The endpoint to retry on after an upstream status, or undefined to pass the response on. */
  afterStatus<E>(status: number, cluster: RetryTarget<E>, previous: E): E | undefined {
    return this.repeatable && this.policy.retriesStatus(status) ? this.next(cluster, previous) : undefined;
  }

  /** The endpoint to retry on after a failure before response headers, or undefined to reply. */
  afterError<E>(code: ErrorCode, error: Error, cluster: RetryTarget<E>, previous: E): E | undefined {
    const unprocessed = code === 'UPSTREAM_CONNECT_FAILURE' || (error as { code?: unknown }).code === REFUSED_STREAM;
    return (this.repeatable || unprocessed) && this.policy.retriesError(code, error) ? this.next(cluster, previous) : undefined;
  }

  private next<E>(cluster: RetryTarget<E>, previous: E): E | undefined {
    if (this.body?.readableDidRead === true) return undefined;
    const policy = this.policy;
    if (this.retries >= policy.config.attempts) {
      this.exhausted = true;
      return undefined;
    }
    // The try that just failed no longer counts as a retry in flight.
    this.leaveBudget();
    if (!policy.budgetAllows(cluster.active)) {
      policy.counters?.retryOverflow.inc();
      return undefined;
    }
    const endpoint = cluster.pickOther(previous, this.request);
    if (endpoint === undefined) return undefined;
    this.retries++;
    this.inBudget = true;
    policy.activeRetries++;
    policy.counters?.retries.inc();
    this.attempt?.retire();
    return endpoint;
  }

  /** The request is over. */
  end(): void {
    this.leaveBudget();
    this.attempt?.clearTimer();
  }

  private leaveBudget(): void {
    if (!this.inBudget) return;
    this.inBudget = false;
    this.policy.activeRetries--;
  }
}

class PerTryTimeout extends Error {
  // Read by upstreamErrorCode: a timeout before response headers.
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';

  constructor() {
    super('per-try timeout');
  }
}

/** One try: passes the dispatcher's calls on while current; a retired try is aborted and ignored. */
class Attempt implements UpstreamHandler {
  private retired = false;
  private controller: DispatchController | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly exchange: UpstreamHandler,
    perTryTimeoutMs: number | undefined,
  ) {
    if (perTryTimeoutMs !== undefined) this.timer = setTimeout(() => this.timedOut(), perTryTimeoutMs);
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.clearTimer();
    this.controller?.abort(new Error('superseded by a retry'));
  }

  clearTimer(): void {
    clearTimeout(this.timer);
  }

  private timedOut(): void {
    if (this.retired) return;
    // The exchange retries (retiring this try) or replies 504; either way this try is over.
    this.exchange.onResponseError(this.controller, new PerTryTimeout());
    this.retire();
  }

  onRequestStart(controller: DispatchController, context: unknown): void {
    this.controller = controller;
    if (this.retired) controller.abort(new Error('superseded by a retry'));
    else this.exchange.onRequestStart(controller, context);
  }

  onResponseStart(controller: DispatchController, statusCode: number, headers: HeaderObject, statusMessage?: string): void {
    if (this.retired) return controller.pause();
    if (statusCode >= 200) this.clearTimer();
    this.exchange.onResponseStart(controller, statusCode, headers, statusMessage);
  }

  onResponseHeadersOnly(controller: DispatchController, statusCode: number, headers: HeaderObject): void {
    this.clearTimer();
    if (!this.retired) this.exchange.onResponseHeadersOnly(controller, statusCode, headers);
  }

  onResponseData(controller: DispatchController, chunk: Buffer): void {
    if (this.retired) controller.pause();
    else this.exchange.onResponseData(controller, chunk);
  }

  onResponseEnd(controller: DispatchController, trailers: HeaderObject): void {
    if (!this.retired) this.exchange.onResponseEnd(controller, trailers);
  }

  onResponseError(controller: DispatchController | undefined, error: Error): void {
    this.clearTimer();
    if (!this.retired) this.exchange.onResponseError(controller, error);
  }
}
