// The bridge filter in a real sidecar chain (bridge -> authz -> router) in front of a SOAP stub:
// JSON in, the legacy request out (what the stub received), the legacy answer back as JSON;
// policies deciding on the operation and its JSON arguments before anything reaches the stub;
// the OpenAPI document; one JSON error shape; metrics and log lines.
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseXml } from '../../../proxy/filters/bridge/xml/xml-reader.js';
import { request } from '../../helpers/http-client.js';
import { startSidecar, type InProcessSidecar } from '../../helpers/sidecar.js';
import { closedPort, listen, type TestServer } from '../../helpers/upstream.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const ENV = 'http://schemas.xmlsoap.org/soap/envelope/';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let stub: TestServer;
let sidecar: InProcessSidecar;
const received: Received[] = [];
let nextAnswer: { status: number; contentType: string; body: string } | undefined;

const envelope = (body: string) => `<?xml version="1.0"?><s:Envelope xmlns:s="${ENV}" xmlns:c="urn:crm"><s:Body>${body}</s:Body></s:Envelope>`;
const customer = (id: string) =>
  envelope(`<c:GetCustomerResponse><c:customer><id>${id}</id><name>Ada</name><active>true</active><balance>1.10</balance><account>9007199254740993</account></c:customer></c:GetCustomerResponse>`);

beforeAll(async () => {
  stub = await listen(
    http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        const answer = nextAnswer ?? { status: 200, contentType: 'text/xml; charset=utf-8', body: customer(/customer_id>(\d+)</.exec(body)?.[1] ?? '0') };
        nextAnswer = undefined;
        res.writeHead(answer.status, { 'content-type': answer.contentType, 'set-cookie': 'legacy=1' });
        res.end(answer.body);
      });
    }),
  );
  const policy = `package bridge
import rego.v1
default allow := false
allow if {
  input.weft.bridge.operation == "GetCustomer"
  input.weft.bridge.args.customer_id < 1000
}
allow if input.weft.bridge.operation == "SetNote"
allow if input.weft.bridge == null`;
  sidecar = await startSidecar({
    inbound: {
      port: 0,
      appPort: stub.port,
      filters: [
        {
          name: 'bridge',
          config: {
            bridges: [
              {
                name: 'crm',
                protocol: 'soap',
                soap: { wsdl: join(FIXTURES, 'crm.wsdl'), faultStatus: { '*.NotFound': 404 } },
                routes: [{ method: 'GET', path: '/v1/customers/{id}', operation: 'GetCustomer', params: { id: 'customer_id' } }],
                maxRequestBytes: 512,
              },
            ],
          },
        },
        {
          name: 'authz',
          config: {
            assets: [{ name: 'crm', match: { paths: [{ prefix: '/' }] } }],
            policies: [{ name: 'crm-bridge', targets: { assets: ['crm'] }, entrypoint: 'data.bridge.allow', modules: [{ name: 'bridge.rego', rego: policy }] }],
          },
        },
        { name: 'router' },
      ],
    },
  });
});
afterAll(async () => {
  await sidecar?.stop();
  await stub?.close();
});

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const response = await fetch(`http://127.0.0.1:${sidecar.inboundPort}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body }),
  });
  // The JSON is walked by the paths the bridge documents; a wrong path fails the test.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, contentType: response.headers.get('content-type'), cookie: response.headers.get('set-cookie'), json: (await response.json()) as Record<string, any> };
}

describe('the bridge filter in a sidecar', () => {
  it('turns GET /v1/customers/{id} into the SOAP call and its envelope into JSON', async () => {
    received.length = 0;
    const response = await call('GET', '/v1/customers/42');
    expect(response).toMatchObject({ status: 200, contentType: 'application/json', cookie: null });
    expect(response.json).toEqual({ customer: { id: 42, name: 'Ada', active: true, balance: '1.10', account: '9007199254740993', phone: [] } });
    expect(received).toHaveLength(1);
    const [legacy] = received;
    expect([legacy!.method, legacy!.url, legacy!.headers.soapaction, legacy!.headers['content-type']]).toEqual([
      'POST',
      '/services/crm?v=1',
      '"urn:crm#GetCustomer"',
      'text/xml; charset=utf-8',
    ]);
    expect(Number(legacy!.headers['content-length'])).toBe(Buffer.byteLength(legacy!.body));
    const wrapper = parseXml(legacy!.body).children.find((child) => child.local === 'Body')!.children[0]!;
    expect(wrapper.children.map((child) => [child.local, child.text])).toEqual([['customer_id', '42']]);
  });

  it('takes a JSON body on the default route POST /soap/{service}/{operation}', async () => {
    nextAnswer = { status: 200, contentType: 'text/xml', body: envelope('<c:Ack>true</c:Ack>') };
    const response = await call('POST', '/soap/CrmService/SetNote', JSON.stringify({ ref: '9223372036854775807', note: 'visit' }));
    expect(response).toMatchObject({ status: 200, json: { ack: true } });
    expect(received.at(-1)!.body).toContain('9223372036854775807</ns0:CustomerRef>');
  });

  it('lets policies decide on the operation and JSON arguments before anything reaches the legacy system', async () => {
    const before = received.length;
    const response = await fetch(`http://127.0.0.1:${sidecar.inboundPort}/v1/customers/4242`);
    expect(response.status).toBe(403);
    expect(received).toHaveLength(before);
  });

  it('answers every refusal in the one JSON error shape, without calling the legacy system', async () => {
    const before = received.length;
    const cases = [
      [await call('GET', '/v1/orders/1'), 404, 'UNKNOWN_ROUTE'],
      [await call('GET', '/v1/customers/abc'), 400, 'SCHEMA_VIOLATION'],
      [await call('POST', '/soap/CrmService/GetCustomer', '{"customer_id": '), 400, 'INVALID_JSON'],
      [await call('POST', '/soap/CrmService/GetCustomer', '{"customer_id": 1, "drop": true}'), 400, 'SCHEMA_VIOLATION'],
      [await call('POST', '/soap/CrmService/GetCustomer', '<x/>', { 'content-type': 'text/xml' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [await call('POST', '/soap/CrmService/GetCustomer', JSON.stringify({ customer_id: 1, include: ['x'.repeat(600)] })), 413, 'BODY_TOO_LARGE'],
    ] as const;
    for (const [response, status, code] of cases) {
      expect(response.contentType).toBe('application/json');
      expect([response.status, response.json.error.code, response.json.error.status]).toEqual([status, code, status]);
    }
    expect(received).toHaveLength(before);
  });

  it('maps legacy faults and unreadable answers, logging what callers do not see', async () => {
    nextAnswer = {
      status: 500,
      contentType: 'text/xml',
      body: envelope('<s:Fault><faultcode>s:Client.NotFound</faultcode><faultstring>no customer 9</faultstring><detail>Traceback: crm.py:12</detail></s:Fault>'),
    };
    const notFound = await call('GET', '/v1/customers/9');
    expect([notFound.status, notFound.json]).toEqual([
      404,
      { error: { code: 'LEGACY_CLIENT_FAULT', status: 404, message: 'no customer 9', fault: { code: 'Client.NotFound', subcodes: ['NotFound'], message: 'no customer 9' } } },
    ]);
    expect(JSON.stringify(notFound.json)).not.toContain('Traceback');
    const logged = sidecar.logLines().find((line) => line.bridge === 'crm' && line.fault === 'Client.NotFound');
    expect(logged).toMatchObject({ operation: 'GetCustomer', status: 404, upstream_status: 500, cause: 'fault detail: Traceback: crm.py:12' });
    nextAnswer = { status: 502, contentType: 'text/html', body: '<html>bad gateway</html>' };
    const html = await call('GET', '/v1/customers/9');
    expect([html.status, html.json.error.code]).toEqual([502, 'UPSTREAM_INVALID_RESPONSE']);
  });

  it('publishes the OpenAPI 3.1 document of the facade', async () => {
    const response = await call('GET', '/.well-known/openapi.json');
    expect(response.status).toBe(200);
    expect(response.json.openapi).toBe('3.1.0');
    expect(Object.keys(response.json.paths)).toContain('/v1/customers/{id}');
  });

  it('counts calls by outcome and faults by code', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/weft_bridge_calls_total\{bridge="crm",operation="GetCustomer",code="ok"\} [1-9]/);
    expect(metrics).toMatch(/weft_bridge_faults_total\{bridge="crm",operation="GetCustomer",fault="Client.NotFound"\} 1/);
    expect(metrics).toMatch(/weft_bridge_upstream_seconds_count\{bridge="crm",operation="GetCustomer"\} [1-9]/);
  });
});

describe('a bridge whose WSDL cannot be loaded', () => {
  let broken: InProcessSidecar;
  beforeAll(async () => {
    broken = await startSidecar({
      inbound: {
        port: 0,
        appPort: stub.port,
        filters: [
          { name: 'bridge', config: { bridges: [{ name: 'gone', hosts: ['gone.internal'], protocol: 'soap', soap: { wsdl: join(FIXTURES, 'missing.wsdl') } }] } },
          { name: 'router' },
        ],
      },
    });
  });
  afterAll(() => broken?.stop());

  it('answers 503 in the JSON error shape for its hosts, and leaves other hosts alone', async () => {
    const before = received.length;
    const response = await request(broken.inboundPort, { method: 'POST', path: '/soap/CrmService/GetCustomer', headers: { host: 'gone.internal' }, body: '{}' });
    const body = JSON.parse(response.body) as { error: { code: string; message: string } };
    expect([response.status, body.error.code]).toEqual([503, 'UPSTREAM_UNAVAILABLE']);
    expect(body.error.message).toMatch(/bridge gone could not load its service description: .*missing\.wsdl/);
    expect(received).toHaveLength(before);
    const other = await request(broken.inboundPort, { path: '/plain', headers: { host: 'other.internal' } });
    expect(other.status).toBe(200);
    expect(received.at(-1)!.url).toBe('/plain');
  });
});

describe('a bridge whose legacy system cannot be reached or does not answer', () => {
  const held: http.ServerResponse[] = [];
  let silent: TestServer;
  const sidecars: InProcessSidecar[] = [];
  const bridgeIn = async (appPort: number): Promise<InProcessSidecar> => {
    const started = await startSidecar({
      inbound: {
        port: 0,
        appPort,
        timeoutMs: 200,
        filters: [{ name: 'bridge', config: { bridges: [{ name: 'crm', protocol: 'soap', soap: { wsdl: join(FIXTURES, 'crm.wsdl') } }] } }, { name: 'router' }],
      },
    });
    sidecars.push(started);
    return started;
  };
  beforeAll(async () => {
    silent = await listen(http.createServer((_req, res) => void held.push(res)));
  });
  afterAll(async () => {
    await Promise.all(sidecars.map((started) => started.stop()));
    for (const res of held) res.destroy();
    await silent?.close();
  });

  it.each([
    ['a connect failure', () => closedPort(), 503, 'UPSTREAM_UNAVAILABLE', 'UPSTREAM_CONNECT_FAILURE', 'UF'],
    ['a timeout', async () => silent.port, 504, 'UPSTREAM_TIMEOUT', 'UPSTREAM_REQUEST_TIMEOUT', 'UT'],
  ] as const)('answers %s in the JSON error shape, the sidecar code and response flag kept in the logs', async (_name, appPort, status, code, sidecarCode, flag) => {
    const bridged = await bridgeIn(await appPort());
    const response = await request(bridged.inboundPort, { method: 'POST', path: '/soap/CrmService/GetCustomer', headers: { 'content-type': 'application/json' }, body: '{"customer_id": 1}' });
    expect([response.status, response.headers['content-type']]).toEqual([status, 'application/json']);
    expect(JSON.parse(response.body)).toEqual({ error: { code, status, message: expect.any(String) } });
    const lines = bridged.logLines();
    expect(lines).toContainEqual(expect.objectContaining({ bridge: 'crm', operation: 'GetCustomer', code, status, cause: expect.stringContaining(sidecarCode) }));
    expect(lines).toContainEqual(expect.objectContaining({ request_id: expect.any(String), response_flags: flag, status }));
  });
});
