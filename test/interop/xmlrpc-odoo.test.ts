// The XML-RPC codec against Python's standard xmlrpc.server (test/interop/odoo_xmlrpc_stub.py, an
// Odoo-shaped stub: /xmlrpc/2/common and /xmlrpc/2/object): the Odoo profile through the bridge
// filter in a sidecar (login once, search_read, every type both ways, every fault mapping), and
// the generic profile called by the codec directly for what Python's marshaller never sends.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeError, bridgeErrorBody } from '../../proxy/filters/bridge/bridge-errors.js';
import type { JsonObject, JsonValue } from '../../proxy/filters/bridge/codec.js';
import { XmlRpcCodec, xmlRpcCodecFactory, type XmlRpcBridgeSpec } from '../../proxy/filters/bridge/xmlrpc/xmlrpc-codec.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { startPythonService, type SpyneService } from '../helpers/spyne.js';

const PASSWORD = 'odoo <api> & key';
process.env.WEFT_TEST_ODOO_PASSWORD = PASSWORD;
process.env.WEFT_TEST_ODOO_WRONG = 'not the key';
let stub: SpyneService;
let sidecar: InProcessSidecar;

const odooSpec = (passwordEnv = 'WEFT_TEST_ODOO_PASSWORD'): XmlRpcBridgeSpec => ({
  url: stub.url(''),
  profile: 'odoo',
  nil: true,
  odoo: { database: 'weft', username: 'bridge', passwordEnv, models: { 'res.partner': ['search_read', 'echo', 'types', 'warn', 'forbidden', 'crash', 'missing'] } },
});

beforeAll(async () => {
  stub = await startPythonService('odoo_xmlrpc_stub.py', PASSWORD);
  sidecar = await startSidecar({
    inbound: {
      port: 0,
      appPort: stub.port,
      filters: [
        {
          name: 'bridge',
          config: { bridges: [{ name: 'erp', protocol: 'xmlrpc', xmlrpc: odooSpec(), routes: [{ method: 'GET', path: '/v1/partners', operation: 'res.partner/search_read' }] }] },
        },
        { name: 'router' },
      ],
    },
  });
});
afterAll(async () => {
  await sidecar?.stop();
  stub?.stop();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`http://127.0.0.1:${sidecar.inboundPort}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as unknown };
}

describe('the Odoo profile through the bridge filter', () => {
  it('logs in once and answers search_read with the domain, fields and limit as Odoo takes them (and a GET route without arguments)', async () => {
    const companies = await post('/odoo/res.partner/search_read', { args: [[['is_company', '=', true]]], kwargs: { fields: ['name', 'email'], limit: 5 } });
    expect(companies).toEqual({
      status: 200,
      json: [
        { name: 'Ada <Lovelace> & Co', email: false, id: 1 },
        { name: 'Odoo S.A.', email: 'info@odoo.com', id: 3 },
      ],
    });
    const all = await fetch(`http://127.0.0.1:${sidecar.inboundPort}/v1/partners`);
    expect(((await all.json()) as unknown[]).length).toBe(3);
  });

  it('sends every XML-RPC type as the type Python receives', async () => {
    const args = [7, -2147483648, 2.5, { $double: 2 }, true, 'a <b> & c', { $dateTime: '20261203T15:30:00' }, { $base64: Buffer.from([0, 1, 254, 255]).toString('base64') }, null, [1, 'x'], { k: 1 }];
    expect(await post('/odoo/res.partner/types', { args })).toEqual({
      status: 200,
      json: ['int:7', 'int:-2147483648', 'float:2.5', 'float:2.0', 'bool:True', "str:'a <b> & c'", 'datetime:2026-12-03T15:30:00', 'bytes:0001feff', 'NoneType:None', "list:[1, 'x']", "dict:{'k': 1}"],
    });
  });

  it('reads every type back (echo): nested structs and arrays, dateTime and base64 as tagged objects, nil as null', async () => {
    const value = { n: 2147483647, d: -0.125, b: false, s: 'ü\n<x/>', t: { $dateTime: '20260102T03:04:05' }, bin: { $base64: 'AAEC' }, none: null, list: [[], [{ a: 'b' }]], empty: {} };
    expect(await post('/odoo/res.partner/echo', { args: [value] })).toEqual({ status: 200, json: value });
  });

  it('refuses ints past 32 bits (i8 not enabled), malformed tagged values, unknown fields and undeclared methods before anything is sent', async () => {
    for (const [args, message] of [
      [[2147483648], /\/params\/5\/0: 2147483648 is out of the range of an XML-RPC int/],
      [[{ $i8: '1' }], /i8 is not enabled/],
      [[{ $dateTime: 'yesterday' }], /ISO 8601/],
      [[{ $base64: 'not base64!' }], /base64/],
    ] as const) {
      expect(await post('/odoo/res.partner/echo', { args })).toMatchObject({ status: 400, json: { error: { code: 'SCHEMA_VIOLATION', message: expect.stringMatching(message) } } });
    }
    expect(await post('/odoo/res.partner/echo', { args: [], context: {} })).toMatchObject({ status: 400, json: { error: { code: 'SCHEMA_VIOLATION', message: '/context: unknown field' } } });
    expect(await post('/odoo/res.partner/echo', { args: [], kwargs: [] })).toMatchObject({ status: 400, json: { error: { message: '/kwargs: expected an object' } } });
    expect(await post('/odoo/res.partner/unlink', { args: [[1]] })).toMatchObject({ status: 404, json: { error: { code: 'UNKNOWN_ROUTE' } } });
  });

  it('maps Odoo faults by its table: 2 -> 422, 4 -> 403, 1 -> 502 without the traceback (logged instead)', async () => {
    expect(await post('/odoo/res.partner/warn', { args: [] })).toEqual({
      status: 422,
      json: { error: { code: 'LEGACY_CLIENT_FAULT', status: 422, message: 'The partner needs a name', fault: { code: '2', message: 'The partner needs a name' } } },
    });
    expect(await post('/odoo/res.partner/forbidden', { args: [] })).toMatchObject({ status: 403, json: { error: { code: 'LEGACY_CLIENT_FAULT', fault: { code: '4' } } } });
    const crash = await post('/odoo/res.partner/crash', { args: [] });
    expect(crash).toEqual({
      status: 502,
      json: { error: { code: 'LEGACY_SERVER_FAULT', status: 502, message: 'the legacy system failed', fault: { code: '1', message: 'the legacy system failed' } } },
    });
    expect(JSON.stringify(crash)).not.toMatch(/Traceback|ZeroDivisionError/);
    expect(sidecar.logLines().some((line) => line.code === 'LEGACY_SERVER_FAULT' && /ZeroDivisionError/.test(String(line.cause)))).toBe(true);
  });

  it('publishes the OpenAPI document of the profile: one POST /odoo/{model}/{method} per declared method', async () => {
    const document = (await (await fetch(`http://127.0.0.1:${sidecar.inboundPort}/.well-known/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/odoo/res.partner/search_read', '/odoo/res.partner/crash', '/v1/partners']));
  });

  it('logged in once for all the calls above', async () => {
    expect(await call(generic(false), 'common/logins', {})).toEqual({ result: 1 });
  });
});

describe('the Odoo login', () => {
  it('maps fault 3 (access denied) to 401 when the session no longer holds', async () => {
    const codec = (await xmlRpcCodecFactory.load(odooSpec() as unknown as Record<string, unknown>, { baseDirectory: '.', timeoutMs: 5000 })) as XmlRpcCodec;
    const stale = new XmlRpcCodec(odooSpec(), { uid: 7, password: 'expired' });
    expect(await call(stale, 'res.partner/search_read', { args: [[]] })).toMatchObject({ status: 401, fault: { code: '3', message: 'Access Denied' } });
    expect(await call(codec, 'res.partner/search_read', { args: [[]], kwargs: { limit: 1 } })).toMatchObject({ result: [{ id: 1 }] });
  });

  it('refuses to load when authenticate answers False, naming the user and database', async () => {
    await expect(xmlRpcCodecFactory.load(odooSpec('WEFT_TEST_ODOO_WRONG') as unknown as Record<string, unknown>, { baseDirectory: '.', timeoutMs: 5000 })).rejects.toThrow(
      'odoo: authenticate refused bridge on database weft',
    );
  });
});

async function call(codec: XmlRpcCodec, operation: string, args: JsonObject): Promise<{ result?: JsonValue; status?: number; code?: string; fault?: unknown; message?: string }> {
  const legacy = codec.encodeRequest(operation, args);
  const response = await request(new URL(legacy.path, codec.address), { method: legacy.method, headers: legacy.headers, body: legacy.body });
  const body = Buffer.from(await response.body.arrayBuffer());
  try {
    return { result: codec.decodeResponse(operation, { status: response.statusCode, headers: { 'content-type': response.headers['content-type'] as string | undefined }, body }) };
  } catch (error) {
    if (!(error instanceof BridgeError)) throw error;
    return bridgeErrorBody(error).error;
  }
}

const generic = (i8: boolean) =>
  new XmlRpcCodec({ url: stub.url(''), i8, endpoints: { raw: { path: '/raw', methods: ['int_overflow', 'i8', 'doctype'] }, common: { path: '/xmlrpc/2/common', methods: ['version', 'logins'] } } });

describe('the generic profile against answers Python would never marshal', () => {
  it('calls POST /xmlrpc/{endpoint}/{method} operations with JSON params', async () => {
    expect(generic(false).operations.get('common/version')?.defaultRoute).toEqual({ method: 'POST', path: '/xmlrpc/common/version' });
    expect(await call(generic(false), 'common/version', { params: [] })).toMatchObject({ result: { server_version: '17.0', server_version_info: [17, 0, 0, 'final', 0, ''] } });
  });

  it('refuses an int past 32 bits in an answer, and an i8 unless enabled (then a JSON string, exact)', async () => {
    expect(await call(generic(false), 'raw/int_overflow', { params: [] })).toMatchObject({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE', message: "legacy response: /: '2147483648' is not a 32-bit int" });
    expect(await call(generic(false), 'raw/i8', { params: [] })).toMatchObject({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE' });
    expect(await call(generic(true), 'raw/i8', { params: [] })).toEqual({ result: '9007199254740993' });
  });

  it('sends opt-in i8 (a safe integer or an exact string) and refuses past 64 bits', async () => {
    const codec = generic(true);
    expect(codec.encodeRequest('raw/i8', { params: [4294967296, { $i8: '-9223372036854775808' }] }).body.toString()).toContain('<i8>4294967296</i8></value></param><param><value><i8>-9223372036854775808</i8>');
    expect(() => codec.encodeRequest('raw/i8', { params: [{ $i8: '9223372036854775808' }] })).toThrow(/out of the range of an i8/);
    expect(() => codec.encodeRequest('raw/i8', { params: [null] })).toThrow(/nil is not enabled/);
  });

  it('refuses a DOCTYPE in an answer', async () => {
    expect(await call(generic(false), 'raw/doctype', { params: [] })).toMatchObject({ status: 502, code: 'UPSTREAM_INVALID_RESPONSE', message: expect.stringMatching(/DOCTYPE/) });
  });
});
