// The XML-RPC codec, with profiles. `generic`: the declared methods of each declared endpoint,
// called as `POST /xmlrpc/{endpoint}/{method}` with `{"params": [...]}`. `odoo`: Odoo's external
// API; the bridge logs in once at load (`authenticate` on /xmlrpc/2/common with the credentials
// of its config), keeps the uid, and exposes `execute_kw(db, uid, password, model, method, args,
// kwargs)` of the declared models and methods as `POST /odoo/{model}/{method}` with
// `{"args": [...], "kwargs": {...}}`. Faults (always parsed from the body, whatever the HTTP
// status) get their status from the profile's table; a fault mapped to a 5xx (or not mapped)
// keeps its text (often a traceback) for the log only.
import { request } from 'undici';
import { BridgeError } from '../bridge-errors.js';
import type { BridgeOperation, CodecLoadContext, JsonObject, JsonValue, LegacyCodec, LegacyCodecFactory, LegacyRequest, LegacyResponse } from '../codec.js';
import type { JsonSchema } from '../json-schema.js';
import { DEFAULT_XML_LIMITS, parseXml, XmlRejected, type XmlElement, type XmlLimits } from '../xml/xml-reader.js';
import { readValue, XmlRpcBuilder, XmlRpcValueError, type XmlRpcOptions } from './xmlrpc-values.js';

export interface XmlRpcBridgeSpec {
  /** Base address of the XML-RPC server (`http://127.0.0.1:8069`). */
  readonly url: string;
  readonly profile?: 'generic' | 'odoo';
  readonly i8?: boolean;
  readonly nil?: boolean;
  /** faultCode -> HTTP status, over the profile's table. */
  readonly faultStatus?: Readonly<Record<string, number>>;
  /** generic: endpoint name -> its path and methods. */
  readonly endpoints?: Readonly<Record<string, { readonly path: string; readonly methods: readonly string[] }>>;
  readonly odoo?: {
    readonly database: string;
    readonly username: string;
    /** Environment variable of the sidecar holding the password (or API key). */
    readonly passwordEnv: string;
    /** model -> the methods callers may run on it. */
    readonly models: Readonly<Record<string, readonly string[]>>;
  };
  readonly maxResponseBytes?: number;
}

/** Odoo's fault codes (odoo/service/wsgi_server.py): access denied, access error, warning, application error. */
const ODOO_FAULT_STATUS: Readonly<Record<string, number>> = { '3': 401, '4': 403, '2': 422, '1': 502 };
const ODOO_COMMON = '/xmlrpc/2/common';
const ODOO_OBJECT = '/xmlrpc/2/object';

interface XmlRpcOperation extends BridgeOperation {
  readonly path: string;
  readonly method: string;
  /** The JSON arguments as the XML-RPC params. */
  params(args: JsonObject): JsonValue[];
}

const anyValue: JsonSchema = { description: 'an XML-RPC value: $dateTime, $base64, $double and $i8 objects for the types JSON lacks' };
// Arguments may be left out: a GET route then calls the method with none (e.g. search_read of all).
const genericInput: JsonSchema = { type: 'object', additionalProperties: false, required: [], properties: { params: { type: 'array', items: anyValue } } };
const odooInput: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: [],
  properties: { args: { type: 'array', items: anyValue }, kwargs: { type: 'object', additionalProperties: anyValue } },
};

export class XmlRpcCodec implements LegacyCodec {
  readonly protocol = 'xmlrpc';
  readonly address: URL;
  readonly operations: ReadonlyMap<string, XmlRpcOperation>;
  readonly schemas: ReadonlyMap<string, JsonSchema> = new Map();
  private readonly options: XmlRpcOptions;
  private readonly faultTable: Readonly<Record<string, number>>;
  private readonly xmlLimits: XmlLimits;

  constructor(
    spec: XmlRpcBridgeSpec,
    private readonly odooSession?: { readonly uid: number; readonly password: string },
  ) {
    this.address = new URL(spec.url);
    this.options = { i8: spec.i8 ?? false, nil: spec.nil ?? false };
    this.faultTable = { ...(spec.profile === 'odoo' ? ODOO_FAULT_STATUS : {}), ...spec.faultStatus };
    this.xmlLimits = { ...DEFAULT_XML_LIMITS, maxBytes: spec.maxResponseBytes ?? DEFAULT_XML_LIMITS.maxBytes };
    this.operations = new Map((spec.profile === 'odoo' ? this.odooOperations(spec) : genericOperations(spec)).map((operation) => [operation.name, operation]));
  }

  private odooOperations(spec: XmlRpcBridgeSpec): XmlRpcOperation[] {
    const odoo = spec.odoo!;
    const session = this.odooSession!;
    return Object.entries(odoo.models).flatMap(([model, methods]) =>
      methods.map((method) => ({
        name: `${model}/${method}`,
        summary: `execute_kw ${model}.${method} on Odoo database ${odoo.database}`,
        input: odooInput,
        output: anyValue,
        defaultRoute: { method: 'POST' as const, path: `/odoo/${encodeURIComponent(model)}/${encodeURIComponent(method)}` },
        path: ODOO_OBJECT,
        method: 'execute_kw',
        params: (args: JsonObject) => [odoo.database, session.uid, session.password, model, method, args.args ?? [], args.kwargs ?? {}],
      })),
    );
  }

  encodeRequest(operationName: string, args: JsonObject): LegacyRequest {
    const operation = this.operations.get(operationName);
    if (operation === undefined) throw new BridgeError('UNKNOWN_ROUTE', `XML-RPC operation ${operationName} is not bridged`);
    checkShape(operation, args);
    const body = this.call(operation.method, operation.params(args));
    return { method: 'POST', path: joinPath(this.address, operation.path), headers: { 'content-type': 'text/xml; charset=utf-8' }, body };
  }

  /** A `methodCall` body; a JSON value XML-RPC cannot carry is a 400. */
  call(method: string, params: readonly JsonValue[]): Buffer {
    try {
      return Buffer.from(XmlRpcBuilder.call(method, params, this.options), 'utf8');
    } catch (error) {
      if (error instanceof XmlRpcValueError) throw new BridgeError('SCHEMA_VIOLATION', error.message);
      throw error;
    }
  }

  decodeResponse(_operation: string, response: LegacyResponse): JsonValue {
    if (response.body.length === 0) throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `the legacy system answered HTTP ${response.status} with no body`);
    const contentType = response.headers['content-type'] ?? '';
    if (!/\bxml\b/i.test(contentType)) {
      throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `the legacy system answered HTTP ${response.status} with ${contentType || 'no content type'}, not XML`);
    }
    try {
      return this.readResponse(parseXml(response.body, this.xmlLimits), response.status);
    } catch (error) {
      if (error instanceof XmlRejected || error instanceof XmlRpcValueError) {
        throw new BridgeError('UPSTREAM_INVALID_RESPONSE', `legacy response: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  private readResponse(root: XmlElement, status: number): JsonValue {
    if (root.local !== 'methodResponse' || root.ns !== '') throw new XmlRpcValueError('', `expected <methodResponse>, found <${root.local}>`);
    const [outcome] = root.children;
    if (root.children.length !== 1) throw new XmlRpcValueError('', '<methodResponse> must hold one <params> or <fault>');
    if (outcome!.local === 'fault' && outcome!.children.length === 1) throw this.fault(readValue(outcome!.children[0]!, this.options));
    if (status >= 300) throw new XmlRpcValueError('', `HTTP ${status} without a fault`);
    const param = outcome!.local === 'params' && outcome!.children.length === 1 ? outcome!.children[0]! : undefined;
    if (param?.local !== 'param' || param.children.length !== 1) throw new XmlRpcValueError('', '<params> must hold one <param> with one <value>');
    return readValue(param.children[0]!, this.options);
  }

  private fault(value: JsonValue): BridgeError {
    const struct = typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
    const code = struct.faultCode;
    const text = struct.faultString;
    if ((typeof code !== 'number' && typeof code !== 'string') || typeof text !== 'string') {
      return new BridgeError('UPSTREAM_INVALID_RESPONSE', 'legacy response: a <fault> without faultCode and faultString');
    }
    const status = this.faultTable[String(code)] ?? 502;
    if (status >= 500) {
      // The text of a server fault is often a traceback: the caller gets the code only.
      return new BridgeError('LEGACY_SERVER_FAULT', undefined, { status, fault: { code: String(code), message: 'the legacy system failed' }, cause: new Error(text) });
    }
    return new BridgeError('LEGACY_CLIENT_FAULT', text, { status, fault: { code: String(code), message: text } });
  }
}

function genericOperations(spec: XmlRpcBridgeSpec): XmlRpcOperation[] {
  return Object.entries(spec.endpoints ?? {}).flatMap(([endpoint, { path, methods }]) =>
    methods.map((method) => ({
      name: `${endpoint}/${method}`,
      summary: `XML-RPC ${method} at ${path}`,
      input: genericInput,
      output: anyValue,
      defaultRoute: { method: 'POST' as const, path: `/xmlrpc/${encodeURIComponent(endpoint)}/${encodeURIComponent(method)}` },
      path,
      method,
      params: (args: JsonObject) => (args.params ?? []) as JsonValue[],
    })),
  );
}

/** The argument object against the operation's input schema (types of values are checked when built). */
function checkShape(operation: XmlRpcOperation, args: JsonObject): void {
  const properties = operation.input.properties as Record<string, { type: string }>;
  for (const key of Object.keys(args)) if (!Object.hasOwn(properties, key)) throw new BridgeError('SCHEMA_VIOLATION', `/${key}: unknown field`);
  for (const key of operation.input.required as string[]) if (args[key] === undefined) throw new BridgeError('SCHEMA_VIOLATION', `/${key}: is required`);
  for (const [key, value] of Object.entries(args)) {
    const expected = properties[key]!.type;
    const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
    if (actual !== expected) throw new BridgeError('SCHEMA_VIOLATION', `/${key}: expected an ${expected}`);
  }
}

function joinPath(base: URL, path: string): string {
  return `${base.pathname.replace(/\/$/, '')}${path}`;
}

async function odooLogin(spec: XmlRpcBridgeSpec, context: CodecLoadContext): Promise<{ uid: number; password: string }> {
  const odoo = spec.odoo;
  if (odoo === undefined) throw new Error('xmlrpc profile odoo needs its odoo section (database, username, passwordEnv, models)');
  const password = process.env[odoo.passwordEnv];
  if (password === undefined) throw new Error(`odoo: the environment variable ${odoo.passwordEnv} is not set`);
  const login = new XmlRpcCodec({ ...spec, profile: 'generic', endpoints: {} });
  const response = await request(new URL(joinPath(login.address, ODOO_COMMON), login.address), {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body: login.call('authenticate', [odoo.database, odoo.username, password, {}]),
    headersTimeout: context.timeoutMs,
    bodyTimeout: context.timeoutMs,
  });
  const body = Buffer.from(await response.body.arrayBuffer());
  let uid: JsonValue;
  try {
    uid = login.decodeResponse('authenticate', { status: response.statusCode, headers: { 'content-type': response.headers['content-type'] as string | undefined }, body });
  } catch (error) {
    throw new Error(`odoo: authenticate of ${odoo.username} on ${odoo.database} failed: ${(error as Error).message}`, { cause: error });
  }
  if (typeof uid !== 'number' || uid <= 0) throw new Error(`odoo: authenticate refused ${odoo.username} on database ${odoo.database}`);
  return { uid, password };
}

export const xmlRpcCodecFactory: LegacyCodecFactory = {
  protocol: 'xmlrpc',
  async load(spec, context: CodecLoadContext): Promise<XmlRpcCodec> {
    const xmlrpc = spec as unknown as XmlRpcBridgeSpec;
    if (xmlrpc.profile === 'odoo') return new XmlRpcCodec(xmlrpc, await odooLogin(xmlrpc, context));
    if (xmlrpc.endpoints === undefined) throw new Error('xmlrpc profile generic needs endpoints (name -> path and methods)');
    return new XmlRpcCodec(xmlrpc);
  },
};
