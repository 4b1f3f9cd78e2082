// The authz filter in a real mesh: a frontend sidecar calls a backend sidecar over mutual TLS,
// and the backend's policies decide with the caller's SPIFFE ID, per asset.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../../helpers/http-client.js';
import { startCaServer, type TestCaServer } from '../../helpers/ca-server.js';
import { startMeshSidecar, type MeshSidecar } from '../../helpers/mesh.js';
import { echoServer, headerValues, type EchoReply, type TestServer } from '../../helpers/upstream.js';
import { testId } from '../../helpers/throwaway-ca.js';

let ca: TestCaServer;
let app: TestServer;
let backend: MeshSidecar;
let frontend: MeshSidecar;
const frontendId = testId('frontend');
const backendId = testId('backend');

const rego = (pkg: string, body: string) => [{ name: `${pkg}.rego`, rego: `package ${pkg}\nimport rego.v1\n${body}\n` }];

const policies = [
  {
    name: 'echo-input',
    targets: { assets: ['echo'] },
    entrypoint: 'data.echo.decision',
    modules: rego('echo', 'decision := {"allowed": false, "http_status": 418, "body": json.marshal(input), "headers": {"x-policy": "echo"}}'),
  },
  {
    name: 'orders-callers',
    targets: { assets: ['orders'] },
    entrypoint: 'data.orders.decision',
    data: { callers: [frontendId] },
    modules: rego(
      'orders',
      `default decision := {"allowed": false, "reason": "caller not allowed", "rule": "orders.decision"}
decision := {
  "allowed": true,
  "headers": {"x-authz-caller": input.attributes.source.principal},
  "request_headers_to_remove": ["x-secret"],
  "response_headers_to_add": {"x-authz-checked": "yes"},
} if input.attributes.source.principal in data.callers`,
    ),
  },
  {
    name: 'orders-admin',
    targets: { assets: ['order-admin'] },
    entrypoint: 'data.admin.allow',
    modules: rego('admin', 'default allow := false'),
  },
  {
    name: 'cart-get-only',
    targets: { assetSelector: { matchLabels: { kind: 'grpc' } } },
    entrypoint: 'data.cart.decision',
    modules: rego('cart', 'decision := {"allowed": input.weft.grpc.method == "Get", "http_status": 401}'),
  },
  {
    name: 'would-deny',
    mode: 'dry-run',
    targets: { assets: ['dry'] },
    entrypoint: 'data.dry.decision',
    modules: rego('dry', 'decision := {"allowed": false, "reason": "not yet"}'),
  },
  {
    // A dry-run policy never allows: without an enforcing one the asset falls to default-deny.
    name: 'dry-enforced',
    targets: { assets: ['dry'] },
    entrypoint: 'data.dryenforced.allow',
    modules: rego('dryenforced', 'allow := true'),
  },
  {
    name: 'divides-by-zero',
    targets: { assets: ['broken'] },
    entrypoint: 'data.broken.allow',
    modules: rego('broken', 'allow if 1 / 0'),
  },
  {
    name: 'bad-shape',
    targets: { assets: ['shape'] },
    entrypoint: 'data.shape.decision',
    modules: rego('shape', 'decision := {"allow": true}'),
  },
];

const assets = [
  { name: 'echo', match: { paths: [{ prefix: '/echo' }] } },
  { name: 'orders', labels: { pii: 'false' }, match: { paths: [{ prefix: '/orders' }] } },
  { name: 'order-admin', match: { paths: [{ exact: '/orders/admin' }], methods: ['DELETE'] } },
  { name: 'cart', labels: { kind: 'grpc' }, match: { grpc: { service: 'shop.Cart' } } },
  { name: 'dry', match: { paths: [{ glob: '/dry/*/x' }] } },
  { name: 'broken', match: { paths: [{ prefix: '/broken' }] } },
  { name: 'shape', match: { paths: [{ prefix: '/shape' }] } },
  { name: 'unguarded', match: { paths: [{ prefix: '/unguarded' }] } },
];

beforeAll(async () => {
  ca = await startCaServer();
  app = await echoServer();
  backend = await startMeshSidecar(ca, {
    workload: 'backend',
    inbound: {
      port: 0,
      appPort: app.port,
      filters: [{ name: 'authz', config: { assets, policies, deniedByHeader: true, decisionLogSampleRate: 1 } }, { name: 'router' }],
    },
  });
  frontend = await startMeshSidecar(ca, {
    workload: 'frontend',
    outbound: { port: 0, clusters: [{ name: 'backend', hosts: ['backend'], endpoints: [{ address: '127.0.0.1', port: backend.inboundPort }], spiffeId: backendId }] },
  });
});
afterAll(async () => {
  await frontend.stop();
  await backend.stop();
  await app.close();
  await ca.close();
});

interface InputDocument {
  attributes: {
    source: { principal: string; address: { socketAddress: { address: string; portValue: number } } };
    destination: { principal: string };
    request: { http: { id: string; method: string; path: string; host: string; scheme: string; protocol: string; size: number; headers: Record<string, string> } };
  };
  parsed_path: string[];
  parsed_query: Record<string, string[]>;
  version: unknown;
  weft: { asset: unknown; workload: unknown; grpc: unknown; jwt: unknown };
}

const call = (path: string, options: { method?: string; headers?: Record<string, string> } = {}) =>
  request(frontend.outboundPort, { path, method: options.method ?? 'GET', headers: { host: 'backend', ...options.headers } });

describe('authz filter behind mutual TLS', () => {
  it('gives the policy the OPA-Envoy input document, with the mTLS principal whatever the caller sends', async () => {
    const reply = await call('/echo/a%20b/c?x=1&x=2&y=', {
      headers: { 'x-forwarded-client-cert': `URI=${testId('admin')}`, 'x-weft-principal': testId('admin'), 'x-custom': 'v' },
    });
    expect(reply.status).toBe(418);
    expect(reply.headers['x-policy']).toBe('echo');
    expect(reply.headers['x-weft-denied-by']).toBe('echo-input');
    expect(reply.headers['x-weft-error']).toBe('AUTHZ_DENIED');
    const input = JSON.parse(reply.body) as InputDocument;
    expect(input.attributes.source.principal).toBe(frontendId);
    expect(input.attributes.destination.principal).toBe(backendId);
    expect(input.attributes.source.address.socketAddress.address).toBe('127.0.0.1');
    expect(input.attributes.source.address.socketAddress.portValue).toBeGreaterThan(0);
    const http = input.attributes.request.http;
    expect(http.method).toBe('GET');
    expect(http.path).toBe('/echo/a%20b/c?x=1&x=2&y=');
    expect(http.host).toBe('backend');
    expect(http.scheme).toBe('https');
    // Sidecars carry a request the way its caller spoke to its own sidecar: HTTP/1.1 here.
    expect(http.protocol).toBe('HTTP/1.1');
    expect(http.size).toBe(0);
    expect(http.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(http.headers['x-custom']).toBe('v');
    expect(http.headers[':method']).toBe('GET');
    expect(http.headers[':path']).toBe('/echo/a%20b/c?x=1&x=2&y=');
    expect(http.headers[':authority']).toBe('backend');
    expect(http.headers['x-request-id']).toBe(http.id);
    expect(http.headers['x-forwarded-client-cert']).toContain(`URI=${frontendId}`);
    expect(http.headers['x-forwarded-client-cert']).not.toContain('admin');
    expect(input.parsed_path).toEqual(['echo', 'a b', 'c']);
    expect(input.parsed_query).toEqual({ x: ['1', '2'], y: [''] });
    expect(input.version).toEqual({ encoding: 'protojson', ext_authz: 'v3' });
    expect(input.weft.asset).toEqual({ name: 'echo', labels: {} });
    expect(input.weft.workload).toEqual({ name: 'backend', namespace: 'default', labels: {} });
    expect(input.weft.grpc).toBeNull();
    expect(input.weft.jwt).toBeNull();
  });

  it('gives size as Envoy does: the declared length, -1 for a body of no declared length', async () => {
    const reply = await request(frontend.outboundPort, { path: '/echo', method: 'POST', headers: { host: 'backend', 'content-length': '3' }, body: 'abc' });
    expect((JSON.parse(reply.body) as InputDocument).attributes.request.http.size).toBe(3);
    // An HTTP/2 caller's body with no content-length crosses as HTTP/2 streams, undeclared to the end.
    // (An HTTP/1.1 chunked body may reach the next sidecar with a Content-Length: undici declares
    // the length of a body that has all arrived by the time a connection takes it.)
    const session = http2.connect(`http://127.0.0.1:${frontend.outboundPort}`);
    const body = await new Promise<string>((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': '/echo', ':authority': 'backend' });
      stream.end('abc');
      let text = '';
      stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      stream.on('end', () => resolve(text));
      stream.on('error', reject);
    }).finally(() => session.close());
    const input = JSON.parse(body) as InputDocument;
    expect(input.attributes.request.http.protocol).toBe('HTTP/2');
    expect(input.attributes.request.http.size).toBe(-1);
  });

  it('allows by principal and applies the allow object: headers upstream, removals, response headers', async () => {
    const reply = await call('/orders/7', { headers: { 'x-secret': 's', 'x-authz-caller': 'forged' } });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-authz-checked']).toBe('yes');
    const seen = JSON.parse(reply.body) as EchoReply;
    expect(headerValues(seen, 'x-authz-caller')).toEqual([frontendId]);
    expect(headerValues(seen, 'x-secret')).toEqual([]);
  });

  it('picks the most specific asset: exact path and method beat the prefix', async () => {
    expect((await call('/orders/admin', { method: 'DELETE' })).status).toBe(403);
    expect((await call('/orders/admin', { method: 'GET' })).status).toBe(200);
  });

  it('matches gRPC methods; a 401 decision is UNAUTHENTICATED', async () => {
    const grpc = { 'content-type': 'application/grpc' };
    expect((await call('/shop.Cart/Get', { method: 'POST', headers: grpc })).status).toBe(200);
    const denied = await call('/shop.Cart/Put', { method: 'POST', headers: grpc });
    // A gRPC caller gets a gRPC answer: HTTP 200, trailers-only, grpc-status 16 (UNAUTHENTICATED).
    expect(denied.status, denied.body).toBe(200);
    expect(denied.headers['grpc-status']).toBe('16');
    expect(denied.headers['x-weft-error']).toBe('AUTHZ_UNAUTHENTICATED');
  });

  it('default-denies a matched asset that no policy targets', async () => {
    const reply = await call('/unguarded');
    expect(reply.status).toBe(403);
    expect(reply.headers['x-weft-denied-by']).toBe('default-deny');
  });

  it('fails closed on an evaluation error and on a decision of the wrong shape', async () => {
    for (const path of ['/broken', '/shape']) {
      const reply = await call(path);
      expect(reply.status).toBe(403);
      expect(reply.headers['x-weft-error']).toBe('AUTHZ_ERROR');
    }
  });

  it('lets a dry-run denial through, and counts and logs every decision', async () => {
    expect((await call('/dry/1/x')).status).toBe(200);
    const metrics = (await request(backend.adminPort, { path: '/metrics' })).body;
    expect(metrics).toMatch(/weft_authz_decisions_total\{decision="dry_run_deny",policy="would-deny",asset="dry"\} 1/);
    expect(metrics).toMatch(/weft_authz_decisions_total\{decision="error",policy="divides-by-zero",asset="broken"\} 1/);
    expect(metrics).toMatch(/weft_authz_decisions_total\{decision="deny",policy="default-deny",asset="unguarded"\} 1/);
    expect(metrics).toMatch(/weft_authz_decisions_total\{decision="allow",policy="orders-callers",asset="orders"\} [1-9]/);
    const lines = backend.logLines().filter((l) => l.type === 'authz_decision');
    const dry = lines.find((l) => l.policy === 'would-deny');
    expect(dry).toMatchObject({ decision: 'dry_run_deny', reason: 'not yet', principal: frontendId, asset: 'dry', rules: ['data.dry.decision'] });
    expect(dry?.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(dry?.request_id).toMatch(/^[0-9a-f-]{36}$/);
    const ordersAllow = lines.find((l) => l.policy === 'orders-callers');
    expect(ordersAllow?.rules).toEqual(['data.orders.decision']);
    // Which Rego rules decided, `file:line rule`: the deciding rule of the denial (here a decision
    // object), the default rule of an allow that no rule gave, the rule of a (sampled) allow.
    expect(dry?.decided_by).toEqual(['dry.rego:3 data.dry.decision']);
    expect(lines.find((l) => l.policy === 'orders-admin')?.decided_by).toEqual(['admin.rego:3 default data.admin.allow']);
    expect(ordersAllow?.decided_by).toEqual(['orders.rego:4 data.orders.decision']);
    expect(lines.find((l) => l.policy === 'divides-by-zero')?.decided_by).toEqual([]);
  });
});
