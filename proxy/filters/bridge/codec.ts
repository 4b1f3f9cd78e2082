// The one interface every legacy protocol implements, and the registry of codecs (registered
// explicitly at the bottom of this file). A codec is loaded once from a bridge's spec (e.g. a
// WSDL fetched and compiled into operations), then on the request path turns a JSON call into
// the legacy request and the legacy response into JSON, synchronously, throwing `BridgeError`
// for everything that is not a result.
import type { RouteDeclaration } from './bridge-routes.js';
import { grpcCodecFactory } from './grpc/grpc-codec.js';
import type { JsonSchema } from './json-schema.js';
import { soapCodecFactory } from './soap/soap-codec.js';
import { xmlRpcCodecFactory } from './xmlrpc/xmlrpc-codec.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One callable operation of a legacy system, with the schemas of its JSON facade. */
export interface BridgeOperation {
  readonly name: string;
  /** The JSON arguments the operation takes (an object schema). */
  readonly input: JsonSchema;
  /** The JSON result it answers (with `resultStream`, each element's). */
  readonly output: JsonSchema;
  /** The legacy call answers a stream of results (a gRPC server stream): the JSON answer is their array. */
  readonly resultStream?: true;
  /**
   * The legacy call takes a stream of arguments (a gRPC client or bidirectional stream): the JSON
   * body is their array, each shaped by `input`, sent with `encodeStreamRequest`.
   */
  readonly argumentStream?: true;
  /** Free text for the OpenAPI document (e.g. the WSDL documentation). */
  readonly summary?: string;
  /** The route every operation has, e.g. `POST /soap/{service}/{operation}`. */
  readonly defaultRoute: { readonly method: 'POST'; readonly path: string };
}

/** A request to the legacy system. `path` is relative to the legacy base address. */
export interface LegacyRequest {
  readonly method: 'POST' | 'GET';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /**
   * The arguments as the request carries them, when the codec normalizes them (gRPC: the message
   * sent, as proto3 JSON): what policies see, so that they decide on what the legacy system gets.
   */
  readonly args?: JsonObject | JsonObject[];
}

/** What a codec may use of the call beyond its arguments. */
export interface LegacyCallContext {
  /** The route's timeout (e.g. sent as gRPC's deadline). */
  readonly timeoutMs?: number;
}

export interface LegacyResponse {
  readonly status: number;
  /** Lower-case names: the response headers, and its trailers over them (gRPC's status). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

export interface LegacyCodec {
  readonly protocol: string;
  /** Where requests go unless the bridge overrides it (e.g. the WSDL port's address). */
  readonly address: URL | undefined;
  readonly operations: ReadonlyMap<string, BridgeOperation>;
  /** Named schemas the operation schemas refer to (`#/components/schemas/NAME`). */
  readonly schemas: ReadonlyMap<string, JsonSchema>;
  /** Routes the service description declares (gRPC's google.api.http rules). */
  readonly routes?: readonly RouteDeclaration[];
  /**
   * A field name as the service description spells it, as the schemas' JSON name (gRPC: the
   * proto name `page_size` -> `pageSize`), for query parameters given either way.
   */
  jsonFieldName?(name: string): string;
  encodeRequest(operation: string, args: JsonObject, context?: LegacyCallContext): LegacyRequest;
  /** For protocols with `argumentStream` operations: one request carrying every argument object in order. */
  encodeStreamRequest?(operation: string, args: readonly JsonObject[], context?: LegacyCallContext): LegacyRequest;
  /** The JSON result, or a thrown `BridgeError` (faults mapped to their status). */
  decodeResponse(operation: string, response: LegacyResponse): JsonValue;
  /**
   * For protocols whose response head can end a call (a gRPC trailers-only response): throws the
   * call's `BridgeError` when it does; returns when the body is to be read.
   */
  decodeHead?(operation: string, response: Omit<LegacyResponse, 'body'>): void;
}

/** Loads whatever a spec names (documents by URL or file), bounded. */
export interface CodecLoadContext {
  /** Directory relative file names are read from. */
  readonly baseDirectory: string;
  readonly timeoutMs: number;
}

export interface LegacyCodecFactory {
  readonly protocol: string;
  /** Reads and compiles a spec; rejects with every problem found (refusing e.g. RPC/encoded). */
  load(spec: Readonly<Record<string, unknown>>, context: CodecLoadContext): Promise<LegacyCodec>;
}

const codecs = new Map<string, LegacyCodecFactory>();

export function registerCodec(factory: LegacyCodecFactory): void {
  if (codecs.has(factory.protocol)) throw new Error(`legacy codec '${factory.protocol}' is registered twice`);
  codecs.set(factory.protocol, factory);
}

export function codecFactory(protocol: string): LegacyCodecFactory | undefined {
  return codecs.get(protocol);
}

export function codecProtocols(): string[] {
  return [...codecs.keys()];
}

registerCodec(soapCodecFactory);
registerCodec(xmlRpcCodecFactory);
registerCodec(grpcCodecFactory);
