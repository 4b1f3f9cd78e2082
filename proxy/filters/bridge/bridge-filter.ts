// The `bridge` filter: a JSON facade in front of a legacy system, on the filter contract's body
// hooks. Request side: the route gives the operation, the JSON body (held whole, up to the cap)
// and the path give its arguments, and the request is rewritten into the legacy request (method,
// path, headers, body) before the filters after it (authz sees `input.weft.bridge`: protocol,
// operation and the JSON arguments) and the router. Response side: the legacy body, held whole,
// becomes the JSON result or the bridge's JSON error. Each bridge's codec is loaded (e.g. its WSDL
// fetched) when the filter is built; requests that come before it is ready wait for it.
import { BridgeError, bridgeErrorBody, type BridgeErrorCode } from './bridge-errors.js';
import { openApiDocument, OPENAPI_PATH } from './bridge-openapi.js';
import { compileRoutes, matchRoute, routeArguments, routeResult, type CompiledRoute, type RouteDeclaration, type RouteMatch } from './bridge-routes.js';
import { bridgeMetrics, type BridgeMetrics } from './bridge-metrics.js';
import { codecFactory, type JsonObject, type JsonValue, type LegacyCodec } from './codec.js';
import { bridgeConfigSchema, type BridgeConfig } from './bridge-filter-config.js';
import {
  bufferBody,
  CONTINUE,
  type BodyData,
  type FilterBuildContext,
  type FilterExchange,
  type FilterOutcome,
  type HeadersOutcome,
  type HttpFilter,
  type HttpFilterFactory,
  type LocalReplyOutcome,
} from '../http-filter.js';

/** What `input.weft.bridge` holds for the policies after the bridge. */
export interface BridgeCall {
  readonly bridge: string;
  readonly protocol: string;
  readonly operation: string;
  /** The arguments; for a streaming-request operation, the array of them. */
  readonly args: JsonObject | JsonObject[];
}

interface Loaded {
  readonly codec: LegacyCodec;
  readonly routes: readonly CompiledRoute[];
  readonly openApi: string;
}

interface InFlight {
  readonly bridge: Bridge;
  readonly loaded: Loaded;
  readonly operation: string;
  readonly match: RouteMatch;
  readonly query: URLSearchParams | undefined;
  sentAt: bigint;
}

class Bridge {
  readonly hosts: ReadonlySet<string> | undefined;
  readonly ready: Promise<Loaded | Error>;
  loaded: Loaded | Error | undefined;

  constructor(readonly config: BridgeConfig) {
    this.hosts = config.hosts === undefined ? undefined : new Set(config.hosts.map((host) => host.toLowerCase()));
    this.ready = this.load().then(
      (loaded) => (this.loaded = loaded),
      (error: unknown) => (this.loaded = error instanceof Error ? error : new Error(String(error))),
    );
  }

  private async load(): Promise<Loaded> {
    const factory = codecFactory(this.config.protocol);
    if (factory === undefined) throw new Error(`no legacy codec for protocol ${this.config.protocol}`);
    const codec = await factory.load(this.protocolSpec() as Readonly<Record<string, unknown>>, { baseDirectory: process.cwd(), timeoutMs: 10_000 });
    const routes = compileRoutes(codec, this.config.routes as readonly RouteDeclaration[]);
    return { codec, routes, openApi: JSON.stringify(openApiDocument(this.config.name, codec, routes)) };
  }

  /** The spec's section of its protocol (`soap`, `xmlrpc`, `grpc`). */
  protocolSpec(): { readonly maxResponseBytes?: number } | undefined {
    return this.config[this.config.protocol];
  }
}

/** The sidecar's local replies about the legacy upstream, as the bridge's errors. */
const upstreamFailures: Partial<Record<LocalReplyOutcome['code'], BridgeErrorCode>> = {
  UPSTREAM_CONNECT_FAILURE: 'UPSTREAM_UNAVAILABLE',
  NO_HEALTHY_UPSTREAM: 'UPSTREAM_UNAVAILABLE',
  UPSTREAM_OVERFLOW: 'UPSTREAM_UNAVAILABLE',
  UPSTREAM_CONNECTION_TERMINATION: 'UPSTREAM_INVALID_RESPONSE',
  UPSTREAM_PROTOCOL_ERROR: 'UPSTREAM_INVALID_RESPONSE',
  UPSTREAM_REQUEST_TIMEOUT: 'UPSTREAM_TIMEOUT',
  RESPONSE_BODY_TOO_LARGE: 'UPSTREAM_INVALID_RESPONSE',
};

function jsonReply(status: number, body: string, code?: BridgeErrorCode): LocalReplyOutcome {
  return {
    code: 'LEGACY_BRIDGE_REPLY',
    ...(code === undefined ? {} : { detail: code }),
    overrides: { status, headers: ['content-type', 'application/json'], body },
  };
}

function errorReply(error: BridgeError): LocalReplyOutcome {
  return jsonReply(error.status, JSON.stringify(bridgeErrorBody(error)), error.code);
}

function header(headers: readonly string[] | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) return headers[i + 1];
  return undefined;
}

/** Flat headers (and trailers) as one record, lower-case names, later values over earlier ones. */
function headerRecord(...lists: (readonly string[] | undefined)[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const list of lists) for (let i = 0; i < (list?.length ?? 0); i += 2) record[list![i]!.toLowerCase()] = list![i + 1]!;
  return record;
}

function setHeaders(headers: string[], values: Readonly<Record<string, string>>, drop: readonly string[]): void {
  const remove = new Set([...drop, ...Object.keys(values)]);
  for (let i = headers.length - 2; i >= 0; i -= 2) if (remove.has(headers[i]!.toLowerCase())) headers.splice(i, 2);
  for (const [name, value] of Object.entries(values)) headers.push(name, value);
}

class BridgeFilter implements HttpFilter {
  private readonly inFlight = new WeakMap<FilterExchange, InFlight>();
  private readonly metrics: BridgeMetrics;

  constructor(
    private readonly bridges: readonly Bridge[],
    private readonly context: FilterBuildContext,
  ) {
    this.metrics = bridgeMetrics(context.metrics);
  }

  decodeHeaders(exchange: FilterExchange): HeadersOutcome | Promise<HeadersOutcome> {
    const bridge = this.bridges.find((candidate) => candidate.hosts === undefined || candidate.hosts.has(exchange.authority));
    if (bridge === undefined) return CONTINUE;
    const loaded = bridge.loaded;
    if (loaded === undefined) return bridge.ready.then(() => this.decodeHeaders(exchange));
    if (loaded instanceof Error) {
      return errorReply(new BridgeError('UPSTREAM_UNAVAILABLE', `bridge ${bridge.config.name} could not load its service description: ${loaded.message}`));
    }
    const queryAt = exchange.path.indexOf('?');
    const path = queryAt === -1 ? exchange.path : exchange.path.slice(0, queryAt);
    if (exchange.method === 'GET' && path === OPENAPI_PATH) return jsonReply(200, loaded.openApi);
    try {
      const match = matchRoute(loaded.routes, exchange.method, path);
      const contentType = header(exchange.requestHeaders, 'content-type');
      if (exchange.hasBody && contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) throw new BridgeError('UNSUPPORTED_MEDIA_TYPE');
      const query = queryAt === -1 ? undefined : new URLSearchParams(exchange.path.slice(queryAt + 1));
      this.inFlight.set(exchange, { bridge, loaded, operation: match.route.operation.name, match, query, sentAt: 0n });
    } catch (error) {
      return this.refuse(exchange, bridge, undefined, error);
    }
    // Partial: a body past the cap comes to decodeData unfinished, which answers 413 in the bridge's shape.
    return bufferBody(bridge.config.maxRequestBytes, true);
  }

  decodeData(exchange: FilterExchange, data: BodyData): FilterOutcome {
    const call = this.inFlight.get(exchange);
    if (call === undefined) return CONTINUE;
    try {
      if (!data.end) throw new BridgeError('BODY_TOO_LARGE', `request body is over ${call.bridge.config.maxRequestBytes} bytes`);
      const args = routeArguments(call.match, call.query, parseJson(data.bytes));
      // The route the router will take: its timeout is the legacy call's deadline (gRPC's grpc-timeout).
      const route = this.context.routesByHost.get(exchange.authority) ?? this.context.defaultRoute;
      const context = { timeoutMs: route?.cluster.config.timeoutMs };
      const { codec } = call.loaded;
      const legacy = Array.isArray(args) ? codec.encodeStreamRequest!(call.operation, args, context) : codec.encodeRequest(call.operation, args, context);
      const bridged: BridgeCall = { bridge: call.bridge.config.name, protocol: call.loaded.codec.protocol, operation: call.operation, args: legacy.args ?? args };
      exchange.metadata = { ...exchange.metadata, bridge: bridged };
      exchange.method = legacy.method;
      exchange.path = legacy.path;
      // The legacy answer must come back uncompressed: the bridge reads it.
      setHeaders(exchange.requestHeaders, legacy.headers, ['content-length', 'transfer-encoding', 'accept-encoding', 'accept']);
      data.bytes = legacy.body;
      call.sentAt = process.hrtime.bigint();
      return CONTINUE;
    } catch (error) {
      this.inFlight.delete(exchange);
      return this.refuse(exchange, call.bridge, call.operation, error);
    }
  }

  encodeHeaders(exchange: FilterExchange): HeadersOutcome {
    const call = this.inFlight.get(exchange);
    if (call === undefined) return CONTINUE;
    try {
      call.loaded.codec.decodeHead?.(call.operation, { status: exchange.responseStatus, headers: headerRecord(exchange.responseHeaders) });
    } catch (error) {
      // The head ended the call (a gRPC trailers-only status): answered from here.
      this.inFlight.delete(exchange);
      this.observeUpstream(call);
      if (error instanceof BridgeError && error.fault !== undefined) this.metrics.faults.inc({ bridge: call.bridge.config.name, operation: call.operation, fault: error.fault.code });
      return this.refuse(exchange, call.bridge, call.operation, error, { upstream_status: exchange.responseStatus });
    }
    return bufferBody(call.bridge.protocolSpec()?.maxResponseBytes ?? 4 * 1024 * 1024);
  }

  encodeData(exchange: FilterExchange, data: BodyData): FilterOutcome {
    const call = this.inFlight.get(exchange);
    if (call === undefined) return CONTINUE;
    this.inFlight.delete(exchange);
    const labels = this.observeUpstream(call);
    const upstreamStatus = exchange.responseStatus;
    let status = 200;
    let body: string;
    let outcome: string = 'ok';
    try {
      const result: JsonValue = call.loaded.codec.decodeResponse(call.operation, {
        status: upstreamStatus,
        headers: headerRecord(exchange.responseHeaders, data.trailers),
        body: data.bytes,
      });
      body = JSON.stringify(routeResult(call.match.route, result));
    } catch (error) {
      if (!(error instanceof BridgeError)) throw error;
      status = error.status;
      outcome = error.code;
      body = JSON.stringify(bridgeErrorBody(error));
      if (error.fault !== undefined) this.metrics.faults.inc({ ...labels, fault: error.fault.code });
      this.log(exchange, call.bridge, call.operation, error, { upstream_status: upstreamStatus });
    }
    this.metrics.calls.inc({ ...labels, code: outcome });
    exchange.responseStatus = status;
    exchange.responseHeaders = ['content-type', 'application/json'];
    data.bytes = Buffer.from(body, 'utf8');
    // The legacy trailers (grpc-status...) were read; the JSON answer has none.
    data.trailers?.splice(0);
    return CONTINUE;
  }

  private observeUpstream(call: InFlight): { bridge: string; operation: string } {
    const labels = { bridge: call.bridge.config.name, operation: call.operation };
    this.metrics.upstreamSeconds.observe(labels, Number(process.hrtime.bigint() - call.sentAt) / 1e9);
    return labels;
  }

  /**
   * The router's replies for a bridged call (connect failure, timeout, no endpoint) in the
   * bridge's JSON error shape; the sidecar's code stays, so response flags and metrics are true.
   */
  onLocalReply(exchange: FilterExchange, outcome: LocalReplyOutcome): LocalReplyOutcome | undefined {
    const call = this.inFlight.get(exchange);
    const code = call === undefined ? undefined : upstreamFailures[outcome.code];
    if (call === undefined || code === undefined) return undefined;
    this.inFlight.delete(exchange);
    const error = new BridgeError(code, undefined, { cause: new Error(`${outcome.code}${outcome.detail === undefined ? '' : `: ${outcome.detail}`}`) });
    this.refuse(exchange, call.bridge, call.operation, error);
    return { code: outcome.code, overrides: errorReply(error).overrides };
  }

  private refuse(exchange: FilterExchange, bridge: Bridge, operation: string | undefined, error: unknown, extra: Record<string, unknown> = {}): LocalReplyOutcome {
    if (!(error instanceof BridgeError)) throw error;
    this.metrics.calls.inc({ bridge: bridge.config.name, operation: operation ?? '', code: error.code });
    this.log(exchange, bridge, operation, error, extra);
    return errorReply(error);
  }

  /** One JSON line per refused or failed call; the cause (a fault's detail, a traceback) only here. */
  private log(exchange: FilterExchange, bridge: Bridge, operation: string | undefined, error: BridgeError, extra: Record<string, unknown>): void {
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    this.context.logOut.write(
      `${JSON.stringify({
        bridge: bridge.config.name,
        request_id: exchange.requestId,
        operation: operation ?? null,
        code: error.code,
        status: error.status,
        message: error.message,
        ...(error.fault === undefined ? {} : { fault: error.fault.code }),
        ...(cause === undefined ? {} : { cause }),
        ...extra,
      })}\n`,
    );
  }
}

function parseJson(bytes: Buffer): JsonValue | undefined {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as JsonValue;
  } catch (error) {
    throw new BridgeError('INVALID_JSON', `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Bridges by config entry, each loaded once however often the filter is rebuilt for a snapshot. */
const bridgesByConfig = new WeakMap<object, Bridge[]>();

export const bridgeFilter: HttpFilterFactory = {
  name: 'bridge',
  configSchema: bridgeConfigSchema,
  terminal: false,
  create(config, context) {
    let bridges = bridgesByConfig.get(config);
    if (bridges === undefined) {
      bridges = (config.bridges as readonly BridgeConfig[]).map((bridge) => new Bridge(bridge));
      bridgesByConfig.set(config, bridges);
    }
    return new BridgeFilter(bridges, context);
  },
};
