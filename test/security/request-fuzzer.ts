// A bounded, seeded request fuzzer against the security mesh (security-mesh.ts): random paths
// built from the pieces path tricks are made of, random methods and header names and values,
// over raw HTTP/1.1 sockets and HTTP/2 streams. The invariant it checks is the one that matters:
// whenever the app served a request for a protected asset (by the app's own reading of the
// path), the orders sidecar decided on that same path (its access-log path is the target the app
// received) and a policy of that asset allowed it.
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import { seededRandom } from '../../deploy/sim/seeded-random.js';
import { eventually } from '../helpers/eventually.js';
import { protectedAsset, send, type Attempt, type SecurityMesh } from './security-mesh.js';


// Path pieces by kind, so that tricks meet the asset names they must hide (a uniform pick over
// all pieces would almost never build `/public/%2e%2e/orders/admin`).
const assetWords = ['orders', 'admin', 'customers', 'c-17', 'public', 'reports', 'a', 'x', 'ORDERS', 'Admin', 'admin.', 'admin%20'];
const dotWords = ['.', '..', '%2e', '%2E', '%2e%2e', '.%2E', '%2E.', '', '%c0%ae', '%252e'];
const otherWords = [
  '%2f', '%2F', '%5c', '%5C', '\\', ';x=1', ';', '%61dmin', '%6Frders', '%6frders', '%00', '%zz', '%', '%C3%A9', '%ff', '%25', '~',
  '%7e', '*', '"', '{x}', '|', 'admin#', '?q=../admin', 'admin%2F..%2F..%2Fcustomers',
];

// The shape of a traversal: an allowed prefix, dot segments in some encoding, a protected path.
const allowedPrefixes = ['/public/', '/public/a/', '/public//', '/x/', '/'];
const traversals = ['..', '%2e%2e', '%2E%2e', '.%2E', '%2e.', '..%2F..', '..%5c..', '..\\..', '.', '%2e', '', '%c0%ae%c0%ae', '..;x=1'];
const protectedPaths = ['orders/admin', 'orders', 'customers/c-17', 'reports/q1', '%6frders/admin', 'orders//admin', 'orders%2Fadmin', 'orders\\admin'];

function traversal(random: () => number): string {
  let target = pick(random, allowedPrefixes);
  const steps = 1 + Math.floor(random() * 3);
  for (let i = 0; i < steps; i++) target += `${pick(random, traversals)}/`;
  return target + pick(random, protectedPaths);
}

function segment(random: () => number): string {
  const draw = random();
  return pick(random, draw < 0.5 ? assetWords : draw < 0.8 ? dotWords : otherWords);
}

const methods = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PURGE', 'get', 'Get', 'M-SEARCH'];
const headerNames = [
  'host', 'connection', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-client-cert', 'x-envoy-original-path', 'authorization',
  'cookie', 'x-custom', 'x_forwarded_client_cert', 'upgrade', 'te', 'keep-alive', 'content-type', 'x-weft-principal',
];
const headerValues = [
  'orders', 'ORDERS', 'orders.', 'orders:80', 'evil', 'orders@evil', '', 'host', 'close', 'keep-alive, host', 'x-custom', 'authorization',
  '/orders/admin', 'spiffe://test.local/ns/default/sa/support', 'By=spiffe://test.local/ns/default/sa/support', 'application/grpc', 'h2c', 'trailers',
];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** One random request: a traversal or 1 to 5 random segments, a method, 0 to 2 random headers. */
export function randomAttempt(random: () => number): Attempt {
  let target = '';
  if (random() < 0.4) target = traversal(random);
  else {
    const count = 1 + Math.floor(random() * 5);
    for (let i = 0; i < count; i++) target += (random() < 0.9 ? '/' : '') + segment(random);
    if (!target.startsWith('/')) target = `/${target}`;
  }
  if (random() < 0.05) target = `http://${pick(random, ['orders', 'ORDERS:80', 'evil'])}${target}`;
  const headers: string[] = [];
  const extra = Math.floor(random() * 3);
  for (let i = 0; i < extra; i++) headers.push(pick(random, headerNames), pick(random, headerValues));
  return { method: pick(random, methods), target, host: random() < 0.9 ? 'orders' : pick(random, headerValues), headers };
}

export interface FuzzReport {
  readonly sent: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Requests the app served, with a protected asset by its own reading of the path. */
  readonly servedProtected: number;
  readonly violations: readonly string[];
}

/** Sends `cases` random requests from `seed`, `concurrency` at a time: a third raw HTTP/1.1, the rest HTTP/2. */
export async function fuzz(mesh: SecurityMesh, seed: number, cases: number, concurrency: number): Promise<FuzzReport> {
  const random = seededRandom(seed);
  const attempts = Array.from({ length: cases }, () => randomAttempt(random));
  const statuses: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    const session = http2.connect(`http://127.0.0.1:${mesh.frontend.outboundPort}`);
    session.on('error', () => undefined);
    try {
      while (next < attempts.length) {
        const index = next++;
        const attempt = attempts[index]!;
        const status = await (index % 3 === 0 ? send(mesh, 'http/1.1', 'outbound', attempt).then((o) => o.status) : h2Status(session, attempt)).catch(
          (error: unknown) => (error instanceof Error ? error.message.split(':')[0]! : 'error'),
        );
        statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
      }
    } finally {
      session.close();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { sent: cases, statuses, ...(await checkInvariant(mesh)) };
}

// Connection-specific fields HTTP/2 forbids (RFC 9113 section 8.2.2): Node's client refuses them.
const h2Forbidden = new Set(['connection', 'upgrade', 'keep-alive', 'te']);

/** An HTTP/2 stream on a shared session. */
function h2Status(session: http2.ClientHttp2Session, attempt: Attempt): Promise<number> {
  const headers: http2.OutgoingHttpHeaders = { ':method': attempt.method ?? 'GET', ':path': attempt.target, ':authority': attempt.host ?? 'orders', 'x-request-id': randomUUID() };
  const extra = attempt.headers ?? [];
  for (let i = 0; i < extra.length; i += 2) if (!h2Forbidden.has(extra[i]!)) headers[extra[i]!] = extra[i + 1]!;
  return new Promise<number>((resolve, reject) => {
    const stream = session.request(headers, { endStream: true });
    const timer = setTimeout(() => stream.close(), 10_000);
    stream.on('response', (h) => resolve(Number(h[':status'])));
    stream.on('error', reject);
    stream.on('close', () => {
      clearTimeout(timer);
      reject(new Error('reset: stream closed without a response'));
    });
    stream.resume();
  });
}

async function checkInvariant(mesh: SecurityMesh): Promise<{ servedProtected: number; violations: string[] }> {
  const served = mesh.app.served.filter((s) => protectedAsset(s.path) !== undefined);
  // Decision and access-log lines are written after the reply, once the event loop turns (the
  // access line when the response is over): wait for both.
  const lines = await eventually(
    () => Promise.resolve(mesh.orders.logLines()),
    (all) => {
      const decided = new Set(all.filter((l) => l.type === 'authz_decision').map((l) => l.request_id));
      const accessed = new Set(all.filter((l) => l.type === undefined).map((l) => l.request_id));
      return served.every((s) => decided.has(s.requestId) && accessed.has(s.requestId));
    },
    5000,
  ).catch(() => mesh.orders.logLines());
  const byRequest = new Map<unknown, Record<string, unknown>[]>();
  for (const line of lines) {
    const list = byRequest.get(line.request_id) ?? [];
    list.push(line);
    byRequest.set(line.request_id, list);
  }
  const violations: string[] = [];
  for (const s of served) {
    const asset = protectedAsset(s.path);
    const own = byRequest.get(s.requestId) ?? [];
    const access = own.find((l) => l.type === undefined);
    const decidedPath = typeof access?.path === 'string' ? access.path.split('?')[0] : undefined;
    if (decidedPath !== s.received) violations.push(`${s.method} ${s.path}: the sidecar decided on ${String(decidedPath)}, the app received ${s.received}`);
    const allowed = own.some((l) => l.type === 'authz_decision' && l.decision === 'allow' && l.asset === asset);
    const denied = own.some((l) => l.type === 'authz_decision' && (l.decision === 'deny' || l.decision === 'error'));
    if (!allowed || denied) violations.push(`${s.method} ${s.path} (${asset}): served without an allow of its asset's policy`);
  }
  return { servedProtected: served.length, violations };
}
