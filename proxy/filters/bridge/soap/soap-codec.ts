// The SOAP codec: a WSDL 1.1 (document/literal, SOAP 1.1 or 1.2 port) loaded and compiled once,
// then JSON calls to envelopes and envelopes to JSON. An operation whose input or output is one
// element of complex type (wrapped, or bare with one part) takes and answers that element's
// fields as a JSON object; other bare operations take an object keyed by part name.
import type { Element } from '@xmldom/xmldom';
import { BridgeError } from '../bridge-errors.js';
import type { BridgeOperation, CodecLoadContext, JsonObject, JsonValue, LegacyCodec, LegacyCodecFactory, LegacyRequest, LegacyResponse } from '../codec.js';
import type { JsonSchema } from '../json-schema.js';
import { DEFAULT_XML_LIMITS, type XmlElement, type XmlLimits } from '../xml/xml-reader.js';
import { EnvelopeBuilder, readEnvelope, type SoapFault } from './soap-envelope.js';
import { compileWsdl, type BodyPart, type CompiledPort, type SoapOperation } from './wsdl-compiler.js';
import { DEFAULT_WSDL_LOAD_LIMITS, loadWsdl } from './wsdl-loader.js';
import { appendFields, elementToJson, fieldsToJson, fillElement, SchemaDefinitions, SchemaViolation } from './xsd-json.js';
import { ValueMismatch } from './xsd-values.js';
import { usernameTokenHeader, type UsernameTokenConfig } from './ws-security.js';

export interface SoapBridgeSpec {
  /** URL or file of the WSDL 1.1. */
  readonly wsdl: string;
  readonly service?: string;
  readonly port?: string;
  /** Fault code patterns (`Client.NotFound`, `*.NotFound`) to the HTTP status callers get. */
  readonly faultStatus?: Readonly<Record<string, number>>;
  /** WS-Security UsernameToken; the password is read from the sidecar's environment at load. */
  readonly usernameToken?: { readonly username: string; readonly passwordEnv: string; readonly passwordType: UsernameTokenConfig['passwordType'] };
  readonly maxResponseBytes?: number;
}

/** Where JSON Schemas of complex types live in the OpenAPI document. */
export const SCHEMA_REF_PREFIX = '#/components/schemas/';

export class SoapCodec implements LegacyCodec {
  readonly protocol = 'soap';
  readonly address: URL | undefined;
  readonly operations: ReadonlyMap<string, BridgeOperation>;
  /** Complex types the operation schemas refer to (`$ref` into `SCHEMA_REF_PREFIX`). */
  readonly schemas: ReadonlyMap<string, JsonSchema>;
  private readonly faultPatterns: readonly { readonly pattern: RegExp; readonly status: number }[];
  private readonly xmlLimits: XmlLimits;

  constructor(
    private readonly port: CompiledPort,
    spec: SoapBridgeSpec,
    private readonly usernameToken: UsernameTokenConfig | undefined,
  ) {
    this.address = port.address;
    const definitions = new SchemaDefinitions(SCHEMA_REF_PREFIX);
    this.operations = new Map(
      [...port.operations.values()].map((operation) => [
        operation.name,
        {
          name: operation.name,
          input: partsSchema(operation.input, definitions),
          output: operation.output === undefined ? { type: 'null' } : partsSchema(operation.output, definitions),
          ...(operation.documentation === undefined ? {} : { summary: operation.documentation }),
          defaultRoute: { method: 'POST' as const, path: `/soap/${encodeURIComponent(port.service)}/${encodeURIComponent(operation.name)}` },
        },
      ]),
    );
    this.schemas = definitions.schemas;
    this.faultPatterns = Object.entries(spec.faultStatus ?? {}).map(([pattern, status]) => ({ pattern: globPattern(pattern), status }));
    this.xmlLimits = { ...DEFAULT_XML_LIMITS, maxBytes: spec.maxResponseBytes ?? DEFAULT_XML_LIMITS.maxBytes };
  }

  get version(): CompiledPort['version'] {
    return this.port.version;
  }

  encodeRequest(operationName: string, args: JsonObject): LegacyRequest {
    const operation = this.operation(operationName);
    const envelope = new EnvelopeBuilder(this.port.version);
    if (this.usernameToken !== undefined) envelope.headerElement().appendChild(usernameTokenHeader(envelope, this.usernameToken));
    try {
      appendParts(envelope, envelope.body, operation.input, args);
    } catch (error) {
      if (error instanceof SchemaViolation) throw new BridgeError('SCHEMA_VIOLATION', error.message);
      throw error;
    }
    const action = operation.soapAction;
    const headers: Record<string, string> =
      this.port.version === '1.1'
        ? { 'content-type': 'text/xml; charset=utf-8', soapaction: JSON.stringify(action) }
        : { 'content-type': `application/soap+xml; charset=utf-8${action === '' ? '' : `; action=${JSON.stringify(action)}`}` };
    const path = this.address === undefined ? '/' : `${this.address.pathname}${this.address.search}`;
    return { method: 'POST', path, headers, body: Buffer.from(envelope.serialize(), 'utf8') };
  }

  decodeResponse(operationName: string, response: LegacyResponse): JsonValue {
    const operation = this.operation(operationName);
    if (response.body.length === 0) {
      if (response.status >= 500) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `the legacy system answered HTTP ${response.status} with no body`);
      if (operation.output === undefined && response.status < 300) return null;
      throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `the legacy system answered HTTP ${response.status} with no envelope`);
    }
    const contentType = response.headers['content-type'] ?? '';
    if (!/\bxml\b/i.test(contentType)) {
      throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `the legacy system answered HTTP ${response.status} with ${contentType || 'no content type'}, not XML`);
    }
    const bodyElements = readEnvelope(this.port.version, response.body, this.xmlLimits, (fault) => this.faultStatus(fault));
    if (response.status >= 300) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `the legacy system answered HTTP ${response.status} without a fault`);
    if (operation.output === undefined) return null;
    try {
      return readParts(operation.output, bodyElements);
    } catch (error) {
      if (error instanceof ValueMismatch) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `legacy response: ${error.message}`, { cause: error });
      throw error;
    }
  }

  private operation(name: string): SoapOperation {
    const operation = this.port.operations.get(name);
    if (operation === undefined) throw new BridgeError('UNKNOWN_ROUTE', `operation ${name} is not in the WSDL port ${this.port.port}`);
    return operation;
  }

  private faultStatus(fault: SoapFault): number | undefined {
    return this.faultPatterns.find(({ pattern }) => pattern.test(fault.code))?.status;
  }
}

/** One element of complex type: its fields are the JSON object. */
function singleComplex(parts: readonly BodyPart[]): BodyPart | undefined {
  return parts.length === 1 && parts[0]!.element.type.kind === 'complex' ? parts[0] : undefined;
}

function appendParts(envelope: EnvelopeBuilder, body: Element, parts: readonly BodyPart[], args: JsonObject): void {
  const single = singleComplex(parts);
  if (single !== undefined && single.element.type.kind === 'complex') {
    const element = envelope.element(single.element.ns, single.element.name);
    appendFields(envelope, element, single.element.type, args, '');
    body.appendChild(element);
    return;
  }
  const unknown = Object.keys(args).filter((key) => !parts.some((part) => part.name === key));
  if (unknown.length > 0) throw new SchemaViolation('', `unknown field(s) ${unknown.join(', ')}`);
  for (const part of parts) {
    const value = args[part.name];
    if (value === undefined) throw new SchemaViolation(`/${part.name}`, 'is required');
    const element = envelope.element(part.element.ns, part.element.name);
    fillElement(envelope, element, part.element.type, value, `/${part.name}`);
    body.appendChild(element);
  }
}

function readParts(parts: readonly BodyPart[], bodyElements: readonly XmlElement[]): JsonValue {
  const find = (part: BodyPart): XmlElement => {
    const element = bodyElements.find((candidate) => candidate.local === part.element.name && candidate.ns === part.element.ns);
    if (element === undefined) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `legacy response has no {${part.element.ns}}${part.element.name} element`);
    return element;
  };
  const single = singleComplex(parts);
  if (single !== undefined && single.element.type.kind === 'complex') return fieldsToJson(find(single), single.element.type);
  return Object.fromEntries(parts.map((part) => [part.name, elementToJson(find(part), part.element.type)]));
}

function partsSchema(parts: readonly BodyPart[], definitions: SchemaDefinitions): JsonSchema {
  const single = singleComplex(parts);
  if (single !== undefined && single.element.type.kind === 'complex') return definitions.fieldsSchema(single.element.type);
  return {
    type: 'object',
    additionalProperties: false,
    required: parts.map((part) => part.name),
    properties: Object.fromEntries(parts.map((part) => [part.name, definitions.typeSchema(part.element.type)])),
  };
}

function globPattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function resolveUsernameToken(token: SoapBridgeSpec['usernameToken']): UsernameTokenConfig | undefined {
  if (token === undefined) return undefined;
  const password = process.env[token.passwordEnv];
  if (password === undefined) throw new Error(`usernameToken: the environment variable ${token.passwordEnv} is not set`);
  return { username: token.username, password, passwordType: token.passwordType };
}

export const soapCodecFactory: LegacyCodecFactory = {
  protocol: 'soap',
  async load(spec, context: CodecLoadContext): Promise<SoapCodec> {
    const soap = spec as unknown as SoapBridgeSpec;
    const wsdl = await loadWsdl(soap.wsdl, context.baseDirectory, { ...DEFAULT_WSDL_LOAD_LIMITS, timeoutMs: context.timeoutMs });
    return new SoapCodec(compileWsdl(wsdl, soap), soap, resolveUsernameToken(soap.usernameToken));
  },
};
