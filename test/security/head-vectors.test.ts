// Request-head tricks (issue 11): the authority (case, port, trailing dot, Host against the
// absolute-form target or HTTP/2's :authority), Connection naming headers a decision depends
// on, methods (exact, upper-case; HEAD reaches only what GET may), and x-envoy-original-path
// from a caller. Over HTTP/1.1 (raw socket) and HTTP/2 where the protocol can carry the trick,
// outbound and inbound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLine, decisions, decisionsFor, send, startSecurityMesh, type Attempt, type Direction, type Protocol, type SecurityMesh } from './security-mesh.js';

let mesh: SecurityMesh;
beforeAll(async () => {
  mesh = await startSecurityMesh();
});
afterAll(async () => {
  await mesh.stop();
});

interface Vector {
  readonly name: string;
  readonly attempt: Attempt;
  readonly expected: { status: 403; policy: string; asset: string | null } | { status: 400; parser?: true; h2Reset?: true } | { status: 200; policy: string; served: string };
  readonly only?: Protocol;
}

const vectors: Vector[] = [
  { name: 'Host in capitals with a port and a trailing dot', attempt: { target: '/orders/admin', host: 'ORDERS.:8080' }, expected: { status: 403, policy: 'orders-admin', asset: 'orders-admin' } },
  // Node 24's nghttp2 resets a stream whose :authority carries userinfo (RFC 9113 section 8.3.1)
  // before the sidecar sees it; Node 20 and 22 pass it on and the sidecar answers 400.
  { name: 'Host with user info', attempt: { target: '/public/a', host: 'x@orders' }, expected: { status: 400, h2Reset: true } },
  { name: 'Host with a bad port', attempt: { target: '/public/a', host: 'orders:80x' }, expected: { status: 400 } },
  { name: 'absolute-form whose Host names another host', attempt: { target: 'http://orders/public/a', host: 'evil' }, expected: { status: 400 }, only: 'http/1.1' },
  { name: 'absolute-form in capitals with port, Host agreeing', attempt: { target: 'http://ORDERS:80/public/a', host: 'orders' }, expected: { status: 200, policy: 'public-open', served: '/public/a' }, only: 'http/1.1' },
  { name: 'a second Host that differs', attempt: { target: '/public/a', headers: ['host', 'evil'] }, expected: { status: 400 }, only: 'http/1.1' },
  { name: 'HTTP/2 :authority and host that differ', attempt: { target: '/public/a', headers: ['host', 'evil'] }, expected: { status: 400 }, only: 'h2' },
  { name: 'HTTP/2 :authority and host that agree', attempt: { target: '/public/a', headers: ['host', 'orders'] }, expected: { status: 200, policy: 'public-open', served: '/public/a' }, only: 'h2' },
  { name: 'Connection naming host', attempt: { target: '/public/a', headers: ['connection', 'host'] }, expected: { status: 400 }, only: 'http/1.1' },
  { name: 'Connection naming authorization', attempt: { target: '/public/a', headers: ['connection', 'keep-alive, Authorization'] }, expected: { status: 400 }, only: 'http/1.1' },
  { name: 'Connection naming x-forwarded-client-cert', attempt: { target: '/public/a', headers: ['connection', 'x-forwarded-client-cert'] }, expected: { status: 400 }, only: 'http/1.1' },
  { name: 'Connection naming another header: removed, request goes on', attempt: { target: '/public/a', headers: ['connection', 'x-trace-me', 'x-trace-me', '1'] }, expected: { status: 200, policy: 'public-open', served: '/public/a' }, only: 'http/1.1' },
  { name: 'GET on a GET-only asset is decided by its policy', attempt: { target: '/reports/q1' }, expected: { status: 403, policy: 'reports-closed', asset: 'reports' } },
  { name: 'HEAD on a GET-only asset is decided by the same policy', attempt: { method: 'HEAD', target: '/reports/q1' }, expected: { status: 403, policy: 'reports-closed', asset: 'reports' } },
  { name: 'POST on a GET-only asset matches no asset: default-denied', attempt: { method: 'POST', target: '/reports/q1' }, expected: { status: 403, policy: 'default-deny', asset: null } },
  { name: 'lower-case method', attempt: { method: 'get', target: '/orders/admin' }, expected: { status: 400 }, only: 'h2' },
  { name: 'lower-case method (HTTP/1.1 parser)', attempt: { method: 'get', target: '/orders/admin' }, expected: { status: 400, parser: true }, only: 'http/1.1' },
  { name: 'unknown method', attempt: { method: 'PURGE', target: '/orders/admin' }, expected: { status: 403, policy: 'orders-admin', asset: 'orders-admin' } },
];

const ways: [Protocol, Direction][] = [
  ['http/1.1', 'outbound'],
  ['h2', 'outbound'],
  ['http/1.1', 'inbound'],
  ['h2', 'inbound'],
];

describe.each(ways)('request-head vectors over %s, %s', (protocol, direction) => {
  const applicable = vectors.filter((v) => v.only === undefined || v.only === protocol);
  it.each(applicable.map((v) => [v.name, v] as const))('%s', async (_name, vector) => {
    const expected = vector.expected;
    const servedBefore = mesh.app.served.length;
    const outcome = await send(mesh, protocol, direction, vector.attempt).catch((error: Error) => error);
    if (outcome instanceof Error) {
      expect(protocol === 'h2' && 'h2Reset' in expected && expected.h2Reset).toBe(true);
      expect(outcome.message).toContain('NGHTTP2_PROTOCOL_ERROR');
      expect(mesh.app.served.length).toBe(servedBefore);
      return;
    }
    const { status, requestId } = outcome;
    expect(status).toBe(expected.status);
    const served = mesh.app.served.filter((s) => s.requestId === requestId);
    if (expected.status === 400) {
      const entry = direction === 'outbound' ? mesh.frontend : mesh.orders;
      if (expected.parser !== true) expect(accessLine(entry, requestId)).toMatchObject({ status: 400, response_flags: 'DPE' });
      expect(decisions(mesh, requestId)).toEqual([]);
      expect(served).toEqual([]);
      return;
    }
    const lines = await decisionsFor(mesh, requestId);
    if (expected.status === 403) {
      expect(lines).toContainEqual(expect.objectContaining({ decision: 'deny', policy: expected.policy, asset: expected.asset }));
      expect(served).toEqual([]);
    } else {
      expect(lines).toContainEqual(expect.objectContaining({ decision: 'allow', policy: expected.policy }));
      expect(served.map((s) => s.path)).toEqual([expected.served]);
    }
  });
});

describe('x-envoy-original-path', () => {
  it('from a caller never reaches the app; the sidecar sends none unless configured', async () => {
    const { status, requestId } = await send(mesh, 'http/1.1', 'outbound', { target: '/x/../public/a', headers: ['x-envoy-original-path', '/orders/admin'] });
    expect(status).toBe(200);
    expect(mesh.app.served.find((s) => s.requestId === requestId)).toMatchObject({ path: '/public/a', originalPath: undefined });
  });

  it('carries the caller path upstream when forwardOriginalPath is set', async () => {
    const own = await startSecurityMesh({ forwardOriginalPath: true });
    try {
      const { status, requestId } = await send(own, 'http/1.1', 'inbound', { target: '/x/../public/%61' });
      expect(status).toBe(200);
      expect(own.app.served.find((s) => s.requestId === requestId)).toMatchObject({ path: '/public/a', originalPath: '/x/../public/%61' });
      const normal = await send(own, 'http/1.1', 'inbound', { target: '/public/b' });
      expect(own.app.served.find((s) => s.requestId === normal.requestId)).toMatchObject({ path: '/public/b', originalPath: undefined });
    } finally {
      await own.stop();
    }
  });
});

describe('escaped slashes by action', () => {
  it('REJECT_REQUEST refuses %2F and %5C with 400', async () => {
    const own = await startSecurityMesh({ escapedSlashesAction: 'REJECT_REQUEST' });
    try {
      for (const target of ['/orders%2Fadmin', '/public/a%5cb']) {
        const { status, requestId } = await send(own, 'http/1.1', 'inbound', { target });
        expect(status).toBe(400);
        expect(accessLine(own.orders, requestId)).toMatchObject({ status: 400, response_flags: 'DPE' });
      }
    } finally {
      await own.stop();
    }
  });

  it('DECODE_AND_MERGE_SLASHES unescapes them before the decision, so the asset policy decides', async () => {
    const own = await startSecurityMesh({ normalization: 'DECODE_AND_MERGE_SLASHES' });
    try {
      const { status, requestId } = await send(own, 'h2', 'inbound', { target: '/orders%2Fadmin' });
      expect(status).toBe(403);
      expect(await decisionsFor(own, requestId)).toContainEqual(expect.objectContaining({ policy: 'orders-admin', asset: 'orders-admin' }));
    } finally {
      await own.stop();
    }
  });

  it('UNESCAPE_AND_REDIRECT sends the caller to the unescaped path with 307', async () => {
    const own = await startSecurityMesh({ escapedSlashesAction: 'UNESCAPE_AND_REDIRECT' });
    try {
      const { status, requestId } = await send(own, 'http/1.1', 'outbound', { target: '/public%2Fa?x=1' });
      expect(status).toBe(307);
      expect(accessLine(own.frontend, requestId)).toMatchObject({ status: 307 });
      expect(own.app.served).toEqual([]);
    } finally {
      await own.stop();
    }
  });

  it('NONE forwards the path as the caller sent it (the explicit opt-out)', async () => {
    const own = await startSecurityMesh({ normalization: 'NONE' });
    try {
      const { status, requestId } = await send(own, 'http/1.1', 'inbound', { target: '/public/x/../a' });
      expect(status).toBe(200);
      expect(accessLine(own.orders, requestId)).toMatchObject({ path: '/public/x/../a' });
    } finally {
      await own.stop();
    }
  });
});
