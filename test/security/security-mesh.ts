// The mesh every security test attacks: an `orders` app behind a STRICT sidecar with assets and
// policies (the demo's, plus a GET-only asset and an open one), a `frontend` sidecar in front of
// it, and clients that send exactly the bytes a test gives them, in HTTP/1.1 (raw sockets, where
// any client library would normalize) and HTTP/2, outbound (plaintext/h2c to the frontend) and
// inbound (mutual TLS straight to the orders sidecar, as the frontend's identity). The app
// records what it served, normalizing as frameworks do (Node's URL).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import { startCaServer, startWorkloadIdentity, type TestCaServer } from '../helpers/ca-server.js';
import { eventually } from '../helpers/eventually.js';
import { startMeshSidecar, type MeshSidecar } from '../helpers/mesh.js';
import { testId } from '../helpers/throwaway-ca.js';
import { listen } from '../helpers/upstream.js';
import type { WorkloadIdentity } from '../../proxy/tls/workload-identity.js';

export const frontendId = testId('frontend');
export const supportId = testId('support');

/** What the app served: the path as the app reads it, and the request id the sidecar sent. */
export interface Served {
  readonly method: string;
  /** The path as the app's framework reads it (here Node's URL). */
  readonly path: string;
  /** The path part of the request target exactly as the app received it. */
  readonly received: string;
  readonly requestId: string;
  readonly host: string;
  /** `x-envoy-original-path` as the app received it. */
  readonly originalPath: string | undefined;
}

export interface RecordingApp {
  readonly port: number;
  readonly served: Served[];
  close(): Promise<void>;
}

/** An app that answers 200 to anything and records it, as a framework would see the path. */
export async function recordingApp(): Promise<RecordingApp> {
  const served: Served[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    const originalPath = req.headers['x-envoy-original-path'];
    served.push({
      method: req.method ?? '',
      path,
      received: (req.url ?? '').split('?')[0]!,
      requestId: String(req.headers['x-request-id'] ?? ''),
      host: req.headers.host ?? '',
      originalPath: typeof originalPath === 'string' ? originalPath : undefined,
    });
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path }));
  });
  const { port, close } = await listen(server);
  return { port, served, close };
}

const rego = (pkg: string, body: string) => [{ name: `${pkg}.rego`, rego: `package ${pkg}\nimport rego.v1\n${body}\n` }];

export const assets = [
  { name: 'orders-list', match: { paths: [{ exact: '/orders' }] } },
  { name: 'orders-admin', match: { paths: [{ prefix: '/orders/admin' }] } },
  { name: 'customers', labels: { classification: 'pii' }, match: { paths: [{ prefix: '/customers/' }] } },
  { name: 'reports', match: { paths: [{ prefix: '/reports' }], methods: ['GET'] } },
  { name: 'public', match: { paths: [{ prefix: '/public/' }] } },
];

export const policies = [
  {
    name: 'orders-read',
    targets: { assets: ['orders-list'] },
    entrypoint: 'data.ordersread.allow',
    data: { callers: [frontendId] },
    modules: rego('ordersread', 'default allow := false\nallow if input.attributes.source.principal in data.callers'),
  },
  { name: 'orders-admin', targets: { assets: ['orders-admin'] }, entrypoint: 'data.admin.allow', modules: rego('admin', 'default allow := false') },
  {
    name: 'pii-allow-list',
    targets: { assetSelector: { matchLabels: { classification: 'pii' } } },
    entrypoint: 'data.pii.allow',
    data: { allowed: [supportId] },
    modules: rego('pii', 'default allow := false\nallow if input.attributes.source.principal in data.allowed'),
  },
  { name: 'reports-closed', targets: { assets: ['reports'] }, entrypoint: 'data.reports.allow', modules: rego('reports', 'default allow := false') },
  { name: 'public-open', targets: { assets: ['public'] }, entrypoint: 'data.open.allow', modules: rego('open', 'allow := true') },
];

/** The assets' paths a request must be allowed for when the app serves it (the fuzzer's invariant). */
export function protectedAsset(path: string): string | undefined {
  if (path === '/orders') return 'orders-list';
  if (path.startsWith('/orders/admin')) return 'orders-admin';
  if (path.startsWith('/customers/')) return 'customers';
  if (path.startsWith('/reports')) return 'reports';
  if (path.startsWith('/public/')) return 'public';
  return undefined;
}

export interface SecurityMesh {
  readonly app: RecordingApp;
  readonly orders: MeshSidecar;
  readonly frontend: MeshSidecar;
  /** mTLS client settings with the frontend's identity, for inbound requests. */
  readonly inboundTls: ConnectionOptions;
  stop(): Promise<void>;
}

/** The mesh with `pathNormalization` for both sidecars (absent: the default) and an app (default: recordingApp). */
export async function startSecurityMesh(pathNormalization?: Record<string, unknown>, startApp: () => Promise<RecordingApp> = recordingApp): Promise<SecurityMesh> {
  const ca: TestCaServer = await startCaServer();
  const app = await startApp();
  const common = { accessLog: { mode: 'on' }, ...(pathNormalization === undefined ? {} : { pathNormalization }) };
  const orders = await startMeshSidecar(ca, {
    ...common,
    workload: 'orders',
    inbound: {
      port: 0,
      appPort: app.port,
      filters: [{ name: 'authz', config: { assets, policies, decisionLogSampleRate: 1 } }, { name: 'router' }],
    },
  });
  const frontend = await startMeshSidecar(ca, {
    ...common,
    workload: 'frontend',
    outbound: { port: 0, clusters: [{ name: 'orders', hosts: ['orders'], endpoints: [{ address: '127.0.0.1', port: orders.inboundPort }], spiffeId: testId('orders') }] },
  });
  const identity: WorkloadIdentity = await startWorkloadIdentity(ca, frontendId);
  const inboundTls: ConnectionOptions = { ...identity.secureContextOptions(), checkServerIdentity: () => undefined };
  return {
    app,
    orders,
    frontend,
    inboundTls,
    async stop() {
      identity.stop();
      await frontend.stop();
      await orders.stop();
      await app.close();
      await ca.close();
    },
  };
}

export type Protocol = 'http/1.1' | 'h2';
export type Direction = 'outbound' | 'inbound';

export interface Attempt {
  readonly method?: string;
  /** The request target exactly as sent (`:path` on HTTP/2). */
  readonly target: string;
  /** Host header (`:authority` on HTTP/2); default `orders`. */
  readonly host?: string;
  /** Extra header lines (HTTP/1.1) or fields (HTTP/2), flat [name, value, ...]. */
  readonly headers?: readonly string[];
}

export interface Outcome {
  readonly status: number;
  readonly requestId: string;
}

/** Sends one request with a fresh `x-request-id` and resolves with the status. */
export function send(mesh: SecurityMesh, protocol: Protocol, direction: Direction, attempt: Attempt): Promise<Outcome> {
  const requestId = randomUUID();
  const port = direction === 'outbound' ? mesh.frontend.outboundPort : mesh.orders.inboundPort;
  const tlsOptions = direction === 'inbound' ? mesh.inboundTls : undefined;
  const result = protocol === 'h2' ? sendH2(port, tlsOptions, attempt, requestId) : sendH1(port, tlsOptions, attempt, requestId);
  return result.then((status) => ({ status, requestId }));
}

function sendH1(port: number, tlsOptions: ConnectionOptions | undefined, attempt: Attempt, requestId: string): Promise<number> {
  const extra = attempt.headers ?? [];
  let head = `${attempt.method ?? 'GET'} ${attempt.target} HTTP/1.1\r\n`;
  if (attempt.host !== '') head += `host: ${attempt.host ?? 'orders'}\r\n`;
  for (let i = 0; i < extra.length; i += 2) head += `${extra[i]}: ${extra[i + 1]}\r\n`;
  head += `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = tlsOptions === undefined ? net.connect(port, '127.0.0.1') : tls.connect({ ...tlsOptions, port, host: '127.0.0.1', ALPNProtocols: ['http/1.1'] });
    let received = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no reply to ${attempt.target}: ${received}`)), 10_000);
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      received += chunk;
      // A HEAD reply has no body to wait for: the status line is enough.
      if (/^HTTP\/1\.1 \d{3}/.test(received)) socket.end();
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (status === null) reject(new Error(`no status line for ${attempt.target}: ${JSON.stringify(received)}`));
      else resolve(Number(status[1]));
    });
    socket.write(Buffer.from(head, 'latin1'));
  });
}

function sendH2(port: number, tlsOptions: ConnectionOptions | undefined, attempt: Attempt, requestId: string): Promise<number> {
  const session =
    tlsOptions === undefined ? http2.connect(`http://127.0.0.1:${port}`) : http2.connect(`https://127.0.0.1:${port}`, { ...tlsOptions, servername: '' } as http2.SecureClientSessionOptions);
  const headers: http2.OutgoingHttpHeaders = { ':method': attempt.method ?? 'GET', ':path': attempt.target, ':authority': attempt.host ?? 'orders', 'x-request-id': requestId };
  const extra = attempt.headers ?? [];
  for (let i = 0; i < extra.length; i += 2) headers[extra[i]!] = extra[i + 1]!;
  return new Promise<number>((resolve, reject) => {
    session.on('error', reject);
    const stream = session.request(headers, { endStream: true });
    stream.on('response', (h) => resolve(Number(h[':status'])));
    stream.on('error', reject);
    stream.resume();
  }).finally(() => session.close());
}

/** The decision-log lines the orders sidecar wrote for one request. */
export function decisions(mesh: SecurityMesh, requestId: string): Record<string, unknown>[] {
  return mesh.orders.logLines().filter((l) => l.type === 'authz_decision' && l.request_id === requestId);
}

/** Waits for the request's decision-log lines (written after the reply) and returns them. */
export function decisionsFor(mesh: SecurityMesh, requestId: string): Promise<Record<string, unknown>[]> {
  return eventually(
    () => Promise.resolve(decisions(mesh, requestId)),
    (lines) => lines.length > 0,
    5000,
  );
}

/** The access-log line of a request at a sidecar. */
export function accessLine(sidecar: MeshSidecar, requestId: string): Record<string, unknown> | undefined {
  return sidecar.logLines().find((l) => l.type === undefined && l.request_id === requestId);
}
