// The SOAP codec against a SOAP service weft did not write (python3-spyne, SOAP 1.1 and 1.2, its
// input validated against its own schema by lxml), and its envelopes cross-checked against those
// python3-zeep builds for the same WSDL. Each call: the codec encodes, undici sends, the codec
// decodes.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeError, bridgeErrorBody } from '../../proxy/filters/bridge/bridge-errors.js';
import type { JsonObject, JsonValue } from '../../proxy/filters/bridge/codec.js';
import { SoapCodec, soapCodecFactory, type SoapBridgeSpec } from '../../proxy/filters/bridge/soap/soap-codec.js';
import { parseXml, type XmlElement } from '../../proxy/filters/bridge/xml/xml-reader.js';
import { startSidecar, type InProcessSidecar } from '../helpers/sidecar.js';
import { startSpyne, zeepEnvelopes, type SpyneService } from '../helpers/spyne.js';

const WSSE_PASSWORD = 'correct horse <battery> & staple';
let spyne: SpyneService;

beforeAll(async () => {
  spyne = await startSpyne(WSSE_PASSWORD);
});
afterAll(() => spyne?.stop());

const load = async (path: string, spec: Partial<SoapBridgeSpec> = {}): Promise<SoapCodec> =>
  (await soapCodecFactory.load({ wsdl: spyne.url(`${path}?wsdl`), ...spec }, { baseDirectory: '.', timeoutMs: 5000 })) as SoapCodec;

interface Outcome {
  readonly upstreamStatus: number;
  readonly result?: JsonValue;
  readonly error?: ReturnType<typeof bridgeErrorBody>['error'];
}

async function call(codec: SoapCodec, operation: string, args: JsonObject, path?: string): Promise<Outcome> {
  const legacy = codec.encodeRequest(operation, args);
  const response = await request(new URL(path ?? legacy.path, codec.address), { method: legacy.method, headers: legacy.headers, body: legacy.body });
  const body = Buffer.from(await response.body.arrayBuffer());
  const headers = { 'content-type': response.headers['content-type'] as string | undefined };
  try {
    return { upstreamStatus: response.statusCode, result: codec.decodeResponse(operation, { status: response.statusCode, headers, body }) };
  } catch (error) {
    if (!(error instanceof BridgeError)) throw error;
    return { upstreamStatus: response.statusCode, error: bridgeErrorBody(error).error };
  }
}

describe.each([
  ['1.1', 'soap11'],
  ['1.2', 'soap12'],
])('SOAP %s against python3-spyne', (version, path) => {
  let codec: SoapCodec;
  beforeAll(async () => {
    codec = await load(path, { faultStatus: { '*.NotFound': 404 } });
  });

  it('discovers the operations and the address from the WSDL at ?wsdl', () => {
    expect(codec.version).toBe(version);
    expect(codec.address?.href).toBe(spyne.url(path));
    expect([...codec.operations.keys()].sort()).toEqual(['Crash', 'Echo', 'GetCustomer', 'PlaceOrder', 'Reprice', 'Slow', 'WhoAmI']);
  });

  it('calls an operation and reads typed values: decimal and long as exact strings, dateTime, boolean, double, arrays', async () => {
    expect(await call(codec, 'GetCustomer', { customer_id: 7 })).toEqual({
      upstreamStatus: 200,
      result: {
        GetCustomerResult: {
          id: 7,
          name: 'Ada <Lovelace> & Co',
          balance: '12345678901234567.89',
          active: true,
          created: '2024-02-29T13:45:07',
          score: 0.1,
          account_number: '9007199254740993',
          tags: { string: ['vip', 'early'] },
        },
      },
    });
  });

  it('sends nested objects and arrays the service validates against its schema', async () => {
    const order = {
      customer_id: 3,
      lines: { OrderLine: [{ sku: 'a-1', quantity: 2, price: '10000000000000000.10' }, { sku: 'b', quantity: 1, price: '0.05' }] },
      note: 'leave at the door',
    };
    expect(await call(codec, 'PlaceOrder', { order })).toEqual({
      upstreamStatus: 200,
      result: { PlaceOrderResult: { lines: 2, total: '20000000000000000.25', note: 'leave at the door' } },
    });
  });

  it("sends and reads attributes and simple content as spyne's XmlAttribute and XmlData declare them", async () => {
    const item = { id: '9007199254740993', sku: 'bolt', price: { $value: '0.15', currency: 'E"U<R' } };
    expect(await call(codec, 'Reprice', { item })).toEqual({
      upstreamStatus: 200,
      result: { RepriceResult: { id: '9007199254740994', sku: 'bolt', price: { $value: '0.30', currency: 'E"U<R' } } },
    });
  });

  it('carries XML-injection values as literal text', async () => {
    const hostile = '</tns:text><tns:text>2</tns:text><!-- x --><![CDATA[y]]>&amp;&lt;"\'';
    expect(await call(codec, 'Echo', { text: hostile })).toEqual({ upstreamStatus: 200, result: { EchoResult: hostile } });
  });

  it('maps a Client/Sender fault (spyne answers 500) by the fault table, and a Server/Receiver fault to 502 without its traceback', async () => {
    const notFound = await call(codec, 'GetCustomer', { customer_id: 404 });
    expect(notFound.upstreamStatus).toBe(500);
    expect(notFound.error).toMatchObject({ code: 'LEGACY_CLIENT_FAULT', status: 404, message: 'no customer 404', fault: { subcodes: ['NotFound'] } });
    const crash = await call(codec, 'Crash', {});
    expect(crash.upstreamStatus).toBe(500);
    expect(crash.error).toMatchObject({ code: 'LEGACY_SERVER_FAULT', status: 502 });
    expect(JSON.stringify(crash)).not.toContain('db.py');
  });

  it('matches the envelopes python3-zeep builds for the same WSDL (same body, same action)', async () => {
    // zeep takes a long as an int and names simple content `_value_1`; the bridge `"..."` and `$value`.
    const calls: { operation: string; args: JsonObject; zeepArgs?: JsonObject }[] = [
      { operation: 'GetCustomer', args: { customer_id: 7 } },
      { operation: 'Echo', args: { text: '<a & "b">' } },
      { operation: 'PlaceOrder', args: { order: { customer_id: 1, lines: { OrderLine: [{ sku: 's', quantity: 1, price: '1.5' }] } } } },
      {
        operation: 'Reprice',
        args: { item: { id: '42', sku: 's', price: { $value: '1.5', currency: 'E"UR' } } },
        zeepArgs: { item: { id: 42, sku: 's', price: { _value_1: '1.5', currency: 'E"UR' } } },
      },
    ];
    const zeep = await zeepEnvelopes(calls.map((c) => ({ wsdl: spyne.url(`${path}?wsdl`), operation: c.operation, args: c.zeepArgs ?? c.args })));
    for (const [index, { operation, args }] of calls.entries()) {
      const ours = codec.encodeRequest(operation, args);
      expect(bodyTree(parseXml(ours.body)), operation).toEqual(bodyTree(parseXml(zeep[index]!.envelope)));
      const action = version === '1.1' ? ours.headers.soapaction : /action="([^"]*)"/.exec(ours.headers['content-type']!)?.[1];
      expect(action === undefined ? undefined : action.replace(/^"|"$/g, '')).toBe(zeep[index]!.soapAction);
    }
  });
});

/** The Body's elements as namespace-resolved names, attributes and texts (prefixes differ between clients). */
function bodyTree(envelope: XmlElement): unknown {
  const walk = (element: XmlElement): unknown => ({
    name: `{${element.ns}}${element.local}`,
    ...(element.attributes.size === 0 ? {} : { attributes: Object.fromEntries(element.attributes) }),
    ...(element.children.length === 0 ? { text: element.text } : { children: element.children.map(walk) }),
  });
  return envelope.children.filter((child) => child.local === 'Body').map(walk);
}

describe('SOAP responses no real service gives on purpose', () => {
  let codec: SoapCodec;
  beforeAll(async () => {
    codec = await load('soap11', { faultStatus: { 'Client.NotFound': 410 } });
  });

  it.each([
    ['a fault with HTTP 200 is still a fault', 'fault200', 200, { code: 'LEGACY_CLIENT_FAULT', status: 410, message: 'gone (with HTTP 200)' }],
    ['an HTML 500 is a 502', 'html500', 500, { code: 'UPSTREAM_INVALID_RESPONSE', status: 502 }],
    ['an empty 503 is a 502', 'empty500', 503, { code: 'UPSTREAM_INVALID_RESPONSE', status: 502 }],
    ['an XXE response is refused', 'xxe', 200, { code: 'UPSTREAM_INVALID_RESPONSE', status: 502, message: expect.stringMatching(/DOCTYPE is refused/) }],
    ['an entity bomb is refused', 'bomb', 200, { code: 'UPSTREAM_INVALID_RESPONSE', status: 502, message: expect.stringMatching(/DOCTYPE is refused/) }],
  ])('%s', async (_name, stub, upstreamStatus, error) => {
    const outcome = await call(codec, 'Echo', { text: 'x' }, `/stub/${stub}`);
    expect(outcome.upstreamStatus).toBe(upstreamStatus);
    expect(outcome.error).toMatchObject(error);
    expect(JSON.stringify(outcome)).not.toContain('root:');
  });
});

describe('WS-Security UsernameToken checked by the spyne service itself', () => {
  it.each(['PasswordText', 'PasswordDigest'] as const)('authenticates with %s', async (passwordType) => {
    process.env.WEFT_TEST_WSSE_PASSWORD = WSSE_PASSWORD;
    const codec = await load('secure11', { usernameToken: { username: 'bridge', passwordEnv: 'WEFT_TEST_WSSE_PASSWORD', passwordType } });
    expect(await call(codec, 'WhoAmI', {})).toEqual({ upstreamStatus: 200, result: { WhoAmIResult: `bridge/${passwordType}` } });
  });

  it('is refused by the service with a wrong password, and without a token', async () => {
    process.env.WEFT_TEST_WSSE_WRONG = 'wrong';
    const wrong = await load('secure11', { usernameToken: { username: 'bridge', passwordEnv: 'WEFT_TEST_WSSE_WRONG', passwordType: 'PasswordDigest' } });
    expect((await call(wrong, 'WhoAmI', {})).error).toMatchObject({ code: 'LEGACY_CLIENT_FAULT', status: 400, fault: { code: 'Client.Authentication' } });
    const none = await load('secure11');
    expect((await call(none, 'WhoAmI', {})).error).toMatchObject({ code: 'LEGACY_CLIENT_FAULT', message: 'no UsernameToken' });
  });

  it('refuses to load when the password variable is not set', async () => {
    await expect(load('secure11', { usernameToken: { username: 'bridge', passwordEnv: 'WEFT_TEST_UNSET_VARIABLE', passwordType: 'PasswordText' } })).rejects.toThrow(
      /WEFT_TEST_UNSET_VARIABLE is not set/,
    );
  });
});

describe('the bridge filter in a sidecar in front of python3-spyne', () => {
  let sidecar: InProcessSidecar;
  beforeAll(async () => {
    sidecar = await startSidecar({
      inbound: {
        port: 0,
        appPort: spyne.port,
        filters: [
          {
            name: 'bridge',
            config: {
              bridges: [
                {
                  name: 'crm',
                  protocol: 'soap',
                  soap: { wsdl: spyne.url('soap12?wsdl'), faultStatus: { '*.NotFound': 404 } },
                  routes: [{ method: 'GET', path: '/v1/customers/{id}', operation: 'GetCustomer', params: { id: 'customer_id' } }],
                },
              ],
            },
          },
          { name: 'router' },
        ],
      },
    });
  });
  afterAll(() => sidecar?.stop());

  const get = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`http://127.0.0.1:${sidecar.inboundPort}${path}`, init);
    return { status: response.status, json: (await response.json()) as unknown };
  };

  it('answers GET /v1/customers/{id} from the SOAP 1.2 service, and its faults in the JSON error shape', async () => {
    expect(await get('/v1/customers/7')).toMatchObject({ status: 200, json: { GetCustomerResult: { id: 7, account_number: '9007199254740993' } } });
    expect(await get('/v1/customers/404')).toMatchObject({ status: 404, json: { error: { code: 'LEGACY_CLIENT_FAULT', fault: { code: 'Sender.NotFound' } } } });
    const order = { order: { customer_id: 1, lines: { OrderLine: [{ sku: 'a', quantity: 3, price: '0.10' }] } } };
    const placed = await get('/soap/CrmService/PlaceOrder', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
    expect(placed).toEqual({ status: 200, json: { PlaceOrderResult: { lines: 1, total: '0.30' } } });
  });
});
