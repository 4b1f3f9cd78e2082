// Path tricks against the policies (issue 11): each vector is sent as is, over HTTP/1.1 (raw
// socket) and HTTP/2, outbound through the frontend sidecar and inbound over mutual TLS to the
// orders sidecar. Each must be denied by the policy of the asset the app would serve, or refused
// 400 before any decision; the app never serves a protected path its policy did not allow.
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
  /** 403 with the policy that denied (and the asset it matched), or 400 with no decision. */
  readonly expected: { status: 403; policy: string; asset: string | null } | { status: 400 } | { status: 200; policy: string; served: string };
  /** HTTP/2 clients cannot send it (Node's client refuses the header), or it is HTTP/1.1 framing. */
  readonly h1Only?: boolean;
  /** Node's HTTP/1.1 parser refuses it (400) before the sidecar sees a request: no access line. */
  readonly parserRefuses?: boolean;
}

const adminDenied = { status: 403, policy: 'orders-admin', asset: 'orders-admin' } as const;
const piiDenied = { status: 403, policy: 'pii-allow-list', asset: 'customers' } as const;
const unmatchedDenied = { status: 403, policy: 'default-deny', asset: null } as const;
const refused = { status: 400 } as const;

const vectors: Vector[] = [
  { name: 'the protected path itself', attempt: { target: '/orders/admin' }, expected: adminDenied },
  { name: 'single-dot segment (CVE-2019-9901)', attempt: { target: '/./orders/admin' }, expected: adminDenied },
  { name: 'dot-dot segment', attempt: { target: '/x/../orders/admin' }, expected: adminDenied },
  { name: 'encoded dot-dot %2e%2e', attempt: { target: '/x/%2e%2e/orders/admin' }, expected: adminDenied },
  { name: 'upper-case encoded dot-dot %2E%2E', attempt: { target: '/x/%2E%2E/orders/admin' }, expected: adminDenied },
  { name: 'mixed .%2e', attempt: { target: '/public/.%2e/orders/admin' }, expected: adminDenied },
  { name: 'dot inside the asset', attempt: { target: '/orders/./admin' }, expected: adminDenied },
  { name: 'merged slashes (CVE-2021-31920)', attempt: { target: '/orders//admin' }, expected: adminDenied },
  { name: 'leading double slash', attempt: { target: '//orders/admin' }, expected: adminDenied },
  { name: 'literal backslash', attempt: { target: '/orders\\admin' }, expected: adminDenied, h1Only: true },
  { name: 'encoded unreserved letters', attempt: { target: '/orders/%61%64%6d%69%6e' }, expected: adminDenied },
  { name: 'path parameter after the asset', attempt: { target: '/orders/admin;x=1' }, expected: adminDenied },
  { name: 'PII behind a dot segment', attempt: { target: '/./customers/c-17' }, expected: piiDenied },
  { name: 'PII behind an encoded dot-dot', attempt: { target: '/public/%2e%2e/customers/c-17' }, expected: piiDenied },
  { name: 'escaped slash kept: matches no asset, default-denied', attempt: { target: '/orders%2Fadmin' }, expected: unmatchedDenied },
  { name: 'escaped backslash kept: default-denied', attempt: { target: '/orders%5cadmin' }, expected: unmatchedDenied },
  { name: 'path parameter on an exact asset: default-denied', attempt: { target: '/orders;jsessionid=1' }, expected: unmatchedDenied },
  { name: 'a path no asset covers: default-denied', attempt: { target: '/orders/other' }, expected: unmatchedDenied },
  { name: 'fragment', attempt: { target: '/orders/admin#x' }, expected: refused },
  { name: 'invalid percent-encoding', attempt: { target: '/orders/adm%zzin' }, expected: refused },
  { name: 'escaped NUL', attempt: { target: '/orders/admin%00' }, expected: refused },
  { name: 'overlong UTF-8 dot-dot %c0%ae', attempt: { target: '/x/%c0%ae%c0%ae/orders/admin' }, expected: refused },
  { name: 'invalid UTF-8 byte', attempt: { target: '/orders/admin%ff' }, expected: refused },
  { name: 'non-ASCII byte in the path', attempt: { target: '/orders/adm\u00e9n' }, expected: refused, h1Only: true, parserRefuses: true },
  { name: 'absolute-form with dot segment', attempt: { target: 'http://orders/./orders/admin' }, expected: adminDenied, h1Only: true },
  { name: 'allowed path reached through dot segments', attempt: { target: '/x/../public/a' }, expected: { status: 200, policy: 'public-open', served: '/public/a' } },
  { name: 'allowed exact asset behind an encoded dot', attempt: { target: '/%2e/orders' }, expected: { status: 200, policy: 'orders-read', served: '/orders' } },
];

const ways: [Protocol, Direction][] = [
  ['http/1.1', 'outbound'],
  ['h2', 'outbound'],
  ['http/1.1', 'inbound'],
  ['h2', 'inbound'],
];

describe.each(ways)('path vectors over %s, %s', (protocol, direction) => {
  const applicable = vectors.filter((v) => protocol === 'http/1.1' || v.h1Only !== true);
  it.each(applicable.map((v) => [v.name, v] as const))('%s', async (_name, vector) => {
    const { status, requestId } = await send(mesh, protocol, direction, vector.attempt);
    const expected = vector.expected;
    expect(status).toBe(expected.status);
    const served = mesh.app.served.filter((s) => s.requestId === requestId);
    if (expected.status === 400) {
      // Refused where it entered, before any decision; logged with the protocol-error flag.
      const entry = direction === 'outbound' ? mesh.frontend : mesh.orders;
      if (vector.parserRefuses !== true) expect(accessLine(entry, requestId)).toMatchObject({ status: 400, response_flags: 'DPE' });
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
      expect(accessLine(mesh.orders, requestId)).toMatchObject({ path: expected.served, status: 200 });
    }
  });
});
