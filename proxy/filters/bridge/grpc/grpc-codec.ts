// The `grpc` codec: JSON <-> gRPC transcoding, as Envoy's grpc_json_transcoder and grpc-gateway
// do it. Loaded once from a descriptor set file (protobufjs); every method of the chosen services
// is an operation `package.Service.Method`, reachable by its google.api.http rules (and their
// additional_bindings) and by the default route `POST /grpc/{service}/{method}` with the whole
// request message as the body. A call is length-prefixed messages in an HTTP/2
// `application/grpc` request sent by the sidecar's router: one, or for a client or bidirectional
// stream the JSON body's array of them, as Envoy takes streams. The answer is read from the
// message (a server stream's messages: their JSON array, as Envoy answers) and the grpc-status /
// grpc-message / grpc-status-details-bin trailers (or the headers of a trailers-only response).
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type * as Protobuf from 'protobufjs';
import { BridgeError } from '../bridge-errors.js';
import type { RouteDeclaration } from '../bridge-routes.js';
import type { BridgeOperation, CodecLoadContext, JsonObject, LegacyCallContext, LegacyCodec, LegacyCodecFactory, LegacyRequest, LegacyResponse } from '../codec.js';
import type { JsonSchema } from '../json-schema.js';
import { readDescriptorSet, type HttpRule } from './descriptor-set.js';
import { grpcStatusError } from './grpc-status.js';
import { jsonName, ProtoJson } from './proto-json.js';
import { ProtoSchemas } from './proto-schema.js';

export interface GrpcSpec {
  /** File path of the descriptor set (`protoc --include_imports --descriptor_set_out`). */
  readonly descriptorSet: string;
  /** Full service names to bridge; every service in the set when absent. */
  readonly services?: readonly string[];
  readonly maxResponseBytes?: number;
}

interface GrpcMethod {
  readonly path: string;
  readonly requestType: Protobuf.Type;
  readonly responseType: Protobuf.Type;
  /** A server-streaming method: zero or more response messages. */
  readonly responseStream: boolean;
}

const HTTP_VERBS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** A rule's bindings as routes; field paths in the rule are proto names, the routes' are JSON names. */
function ruleRoutes(operation: string, rule: HttpRule, problems: string[]): RouteDeclaration[] {
  const jsonPath = (fieldPath: string): string => fieldPath.split('.').map(jsonName).join('.');
  const routes: RouteDeclaration[] = [];
  for (const binding of [rule, ...(rule.additional_bindings ?? [])]) {
    const verb = HTTP_VERBS.find((name) => binding[name] !== undefined && binding[name] !== '');
    const method = verb?.toUpperCase() ?? binding.custom?.kind;
    const path = verb === undefined ? binding.custom?.path : binding[verb];
    if (method === undefined || path === undefined) {
      problems.push(`${operation}: a google.api.http binding without a method and path`);
      continue;
    }
    const params = Object.fromEntries([...path.matchAll(/\{([A-Za-z0-9_.]+)/g)].map(([, name]) => [name!, jsonPath(name!)]));
    routes.push({
      method,
      path,
      operation,
      params,
      body: binding.body === undefined || binding.body === '' ? '' : binding.body === '*' ? '*' : jsonPath(binding.body),
      ...(binding.response_body === undefined || binding.response_body === '' ? {} : { responseBody: jsonPath(binding.response_body) }),
      query: true,
    });
  }
  return routes;
}

/**
 * Throws the call's error: an answer that is not gRPC, or a status other than OK. `ended`: the
 * trailers are in (else a status in the head is a trailers-only response, which ends a stream
 * of no messages OK but never a unary call).
 */
function checkStatus(response: Omit<LegacyResponse, 'body'>, ended: boolean, method: GrpcMethod, json: ProtoJson): void {
  if (response.status !== 200) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `the gRPC server answered HTTP ${response.status}`);
  const contentType = header(response, 'content-type');
  if (contentType === undefined || !/^application\/grpc(\+proto)?\s*(;|$)/.test(contentType)) {
    throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `the gRPC server answered content-type ${contentType ?? '(none)'}`);
  }
  const status = header(response, 'grpc-status');
  if (status === undefined) {
    if (ended) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', 'the gRPC call ended without grpc-status');
    return;
  }
  if (!/^\d+$/.test(status)) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `grpc-status ${status} is not a status code`);
  if (status !== '0') throw grpcStatusError(Number(status), header(response, 'grpc-message'), header(response, 'grpc-status-details-bin'), json);
  if (!ended && !method.responseStream) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', 'the gRPC call ended OK without a response message');
}

function header(response: Omit<LegacyResponse, 'body'>, name: string): string | undefined {
  return response.headers[name];
}

export class GrpcCodec implements LegacyCodec {
  readonly protocol = 'grpc';
  readonly address = undefined;
  readonly operations = new Map<string, BridgeOperation>();
  readonly schemas: ReadonlyMap<string, JsonSchema>;
  readonly routes: readonly RouteDeclaration[];
  private readonly methods = new Map<string, GrpcMethod>();
  private readonly json: ProtoJson;

  constructor(bytes: Uint8Array, spec: GrpcSpec) {
    const { root, httpRules, mapEntries } = readDescriptorSet(bytes);
    this.json = new ProtoJson(root, mapEntries);
    const schemas = new ProtoSchemas(this.json);
    const problems: string[] = [];
    const routes: RouteDeclaration[] = [];
    const services = root.nestedArray.length === 0 ? [] : collectServices(root);
    const wanted = spec.services ?? services.map((service) => service.fullName.slice(1));
    for (const name of wanted) {
      const service = services.find((candidate) => candidate.fullName.slice(1) === name);
      if (service === undefined) {
        problems.push(`service ${name} is not in the descriptor set (it has ${services.map((one) => one.fullName.slice(1)).join(', ') || 'none'})`);
        continue;
      }
      for (const method of service.methodsArray) {
        const responseStream = method.responseStream === true;
        const requestStream = method.requestStream === true;
        const operation = `${name}.${method.name}`;
        const requestType = method.resolvedRequestType!;
        const responseType = method.resolvedResponseType!;
        const input = schemas.messageSchema(requestType);
        const inputName = requestType.fullName.slice(1);
        this.operations.set(operation, {
          name: operation,
          // The input inline: routes read its properties.
          input: schemas.schemas.get(inputName) ?? input,
          output: schemas.messageSchema(responseType),
          ...(responseStream ? { resultStream: true } : {}),
          ...(requestStream ? { argumentStream: true } : {}),
          ...(method.comment === null || method.comment === undefined ? {} : { summary: method.comment }),
          defaultRoute: { method: 'POST', path: `/grpc/${name}/${method.name}` },
        });
        this.methods.set(operation, { path: `/${name}/${method.name}`, requestType, responseType, responseStream });
        const rule = httpRules.get(operation);
        if (rule !== undefined) routes.push(...ruleRoutes(operation, rule, problems));
      }
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
    this.schemas = schemas.schemas;
    this.routes = routes;
  }

  jsonFieldName(name: string): string {
    return jsonName(name);
  }

  private method(operation: string): GrpcMethod {
    const method = this.methods.get(operation);
    if (method === undefined) throw new BridgeError('UNKNOWN_ROUTE', `no gRPC method ${operation}`);
    return method;
  }

  encodeRequest(operation: string, args: JsonObject, context: LegacyCallContext = {}): LegacyRequest {
    const { requestType } = this.method(operation);
    const message = requestType.fromObject(this.json.toObject(requestType, args));
    return this.request(operation, [message], context, this.json.toJson(requestType, message as unknown as Record<string, unknown>) as JsonObject);
  }

  encodeStreamRequest(operation: string, args: readonly JsonObject[], context: LegacyCallContext = {}): LegacyRequest {
    const { requestType } = this.method(operation);
    const messages = args.map((one, index) => {
      try {
        return requestType.fromObject(this.json.toObject(requestType, one));
      } catch (error) {
        // The message's position first: `/1/book/colour: ...`, `/1: ...`.
        if (error instanceof BridgeError && error.code === 'SCHEMA_VIOLATION') throw new BridgeError('SCHEMA_VIOLATION', `/${index}${error.message.startsWith('/: ') ? error.message.slice(1) : error.message}`);
        throw error;
      }
    });
    return this.request(operation, messages, context, messages.map((message) => this.json.toJson(requestType, message as unknown as Record<string, unknown>) as JsonObject));
  }

  /** The HTTP/2 request of a call: its messages length-prefixed, one after another. */
  private request(operation: string, messages: readonly Protobuf.Message[], context: LegacyCallContext, args: JsonObject | JsonObject[]): LegacyRequest {
    const { path, requestType } = this.method(operation);
    const payloads = messages.map((message) => requestType.encode(message).finish());
    const body = Buffer.allocUnsafe(payloads.reduce((total, payload) => total + 5 + payload.length, 0));
    let offset = 0;
    for (const payload of payloads) {
      body[offset] = 0;
      body.writeUInt32BE(payload.length, offset + 1);
      body.set(payload, offset + 5);
      offset += 5 + payload.length;
    }
    return {
      method: 'POST',
      path,
      headers: {
        'content-type': 'application/grpc',
        // The message is not compressed, whatever the caller's headers said; nor may the answer be.
        'grpc-encoding': 'identity',
        'grpc-accept-encoding': 'identity',
        ...(context.timeoutMs === undefined ? {} : { 'grpc-timeout': `${Math.max(1, Math.ceil(context.timeoutMs))}m` }),
      },
      body,
      args,
    };
  }

  decodeHead(operation: string, response: Omit<LegacyResponse, 'body'>): void {
    checkStatus(response, false, this.method(operation), this.json);
  }

  decodeResponse(operation: string, response: LegacyResponse): JsonObject | JsonObject[] {
    const method = this.method(operation);
    checkStatus(response, true, method, this.json);
    const messages = this.messages(method, response.body);
    if (method.responseStream) return messages;
    if (messages.length !== 1) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', messages.length === 0 ? 'the gRPC call ended OK without a response message' : 'the gRPC response is not exactly one message');
    return messages[0]!;
  }

  /** The length-prefixed messages of a response body, as proto3 JSON. */
  private messages({ responseType }: GrpcMethod, body: Buffer): JsonObject[] {
    const messages: JsonObject[] = [];
    for (let offset = 0; offset < body.length; ) {
      if (body.length - offset < 5) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', 'the gRPC response ends inside a message header');
      if (body[offset] !== 0) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', 'the gRPC response message is compressed (the bridge asked for identity)');
      const end = offset + 5 + body.readUInt32BE(offset + 1);
      if (end > body.length) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', 'the gRPC response ends inside a message');
      try {
        const message = responseType.decode(body.subarray(offset + 5, end));
        messages.push(this.json.toJson(responseType, message as unknown as Record<string, unknown>) as JsonObject);
      } catch (error) {
        if (error instanceof BridgeError) throw error;
        throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `the gRPC response is not a ${responseType.fullName.slice(1)}`, { cause: error });
      }
      offset = end;
    }
    return messages;
  }
}

function collectServices(namespace: Protobuf.NamespaceBase): Protobuf.Service[] {
  const found: Protobuf.Service[] = [];
  for (const nested of namespace.nestedArray) {
    if ('methodsArray' in nested) found.push(nested as Protobuf.Service);
    if ('nestedArray' in nested) found.push(...collectServices(nested as Protobuf.NamespaceBase));
  }
  return found;
}

export const grpcCodecFactory: LegacyCodecFactory = {
  protocol: 'grpc',
  async load(spec: Readonly<Record<string, unknown>>, context: CodecLoadContext): Promise<LegacyCodec> {
    const grpc = spec as unknown as GrpcSpec;
    const file = isAbsolute(grpc.descriptorSet) ? grpc.descriptorSet : resolve(context.baseDirectory, grpc.descriptorSet);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new Error(`descriptor set ${file} cannot be read: ${(error as Error).message}`);
    }
    try {
      return new GrpcCodec(bytes, grpc);
    } catch (error) {
      throw new Error(`descriptor set ${file}: ${(error as Error).message}`);
    }
  },
};
