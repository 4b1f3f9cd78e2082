// The dashboard on the admin listener: a login with the read token in the URL becomes an
// HttpOnly, SameSite=Strict session cookie; without it every dashboard path answers 401; the
// cookie opens nothing else; the state and its server-sent events show the mesh as it changes.
import { describe, expect, it } from 'vitest';
import { cleanupScope, controlPlaneOn, sidecar, until } from './control-plane-fixture.js';
import { trustRootsOf } from '../../control-plane/admin/dashboard-state.js';
import { ALLOW_REGO, MESH_FILES, meshDirectory, policyYaml } from './mesh-fixture.js';

const { defer, started } = cleanupScope();

async function inProcess() {
  const cp = await controlPlaneOn(await meshDirectory());
  defer(() => cp.close());
  return cp;
}

const tokenOf = (headers: Record<string, string>) => headers.authorization!.replace(/^Bearer /, '');

async function login(adminUrl: string, token: string): Promise<Response> {
  return fetch(`${adminUrl}/dashboard/?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
}

async function session(cp: Awaited<ReturnType<typeof inProcess>>): Promise<Record<string, string>> {
  const response = await login(cp.adminUrl, tokenOf(cp.adminHeaders.read));
  return { cookie: response.headers.getSetCookie()[0]!.split(';')[0]! };
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

/** Reads server-sent events until one satisfies `wanted`. */
async function eventWhere<T>(body: ReadableStream<Uint8Array>, wanted: (state: T) => boolean): Promise<T> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (let reads = 0; reads < 1000; reads++) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const state = JSON.parse(event.replace(/^data: /, '')) as T;
      if (wanted(state)) {
        await reader.cancel();
        return state;
      }
    }
  }
  throw new Error('the event stream ended before the wanted state');
}

describe('dashboard login', () => {
  it('answers 401 on every dashboard path without a session, and for a wrong token', async () => {
    const cp = await inProcess();
    for (const path of ['/dashboard', '/dashboard/', '/dashboard/state', '/dashboard/events', '/dashboard/dashboard.js']) {
      const response = await fetch(`${cp.adminUrl}${path}`);
      expect(response.status, path).toBe(401);
      expect(await errorOf(response)).toBe('ADMIN_CREDENTIAL_MISSING');
    }
    const read = tokenOf(cp.adminHeaders.read);
    const wrong = await login(cp.adminUrl, `${read.slice(0, -1)}${read.endsWith('A') ? 'B' : 'A'}`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.getSetCookie()).toEqual([]);
    expect(await errorOf(wrong)).toBe('ADMIN_CREDENTIAL_INVALID');
    // A bearer header opens the API, not the dashboard: the page is for the browser session.
    expect((await fetch(`${cp.adminUrl}/dashboard/state`, { headers: cp.adminHeaders.read })).status).toBe(401);
  });

  it('exchanges the read token for an HttpOnly, SameSite=Strict cookie and drops it from the URL', async () => {
    const cp = await inProcess();
    const response = await login(cp.adminUrl, tokenOf(cp.adminHeaders.read));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/dashboard/');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const [cookie] = response.headers.getSetCookie();
    expect(cookie).toMatch(/^weft-dashboard=[0-9]+\.[A-Za-z0-9_-]{43}; Path=\/dashboard\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(tokenOf(cp.adminHeaders.read));
    const headers = { cookie: cookie!.split(';')[0]! };
    const page = await fetch(`${cp.adminUrl}/dashboard/`, { headers });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/dashboard/dashboard.js">');
    expect((await fetch(`${cp.adminUrl}/dashboard/dashboard.js`, { headers })).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${cp.adminUrl}/dashboard/state`, { headers })).status).toBe(200);
    const unknown = await fetch(`${cp.adminUrl}/dashboard/../admin-server.ts`, { headers });
    expect(unknown.status).toBe(404);
  });

  it('refuses the write token in a URL, and the session cookie anywhere but the dashboard', async () => {
    const cp = await inProcess();
    const write = await login(cp.adminUrl, tokenOf(cp.adminHeaders.write));
    expect(write.status).toBe(403);
    expect(write.headers.getSetCookie()).toEqual([]);
    expect(await errorOf(write)).toBe('ADMIN_SCOPE_INSUFFICIENT');
    const headers = await session(cp);
    const status = await fetch(`${cp.adminUrl}/v1/status`, { headers });
    expect(status.status).toBe(401);
    const apply = await fetch(`${cp.adminUrl}/v1/apply`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ files: {} }) });
    expect(apply.status).toBe(401);
  });

  it('refuses a forged session cookie and one from another control plane', async () => {
    const cp = await inProcess();
    const other = await inProcess();
    const { cookie } = await session(cp);
    const forged = cookie!.replace(/\.(.)/, (_, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    const later = cookie!.replace(/=([0-9]+)\./, (_, n: string) => `=${Number(n) + 1000}.`);
    for (const value of [forged, later, 'weft-dashboard=1.x', (await session(other)).cookie!]) {
      const response = await fetch(`${cp.adminUrl}/dashboard/state`, { headers: { cookie: value } });
      expect(response.status, value).toBe(401);
      expect(await errorOf(response)).toBe('ADMIN_CREDENTIAL_INVALID');
    }
  });
});

interface State {
  revision: number;
  workloads: { key: string; sidecars: { identity: string; ackedRevision: number | null }[] }[];
  edges: { from: string; to: string; mtls: string }[];
  assets: { key: string; workload: string; policies: { key: string; mode: string }[]; sidecars: { ackedRevision: number | null }[] }[];
  certificates: { workload: string; identity: string }[];
}

describe('dashboard state', () => {
  it('shows the workloads, their declared calls with mTLS, the policies per asset and what each sidecar acknowledged, and pushes changes', async () => {
    const cp = await inProcess();
    const target = cp.grpcAddress;
    started(sidecar(target, 'web'));
    const orders = started(sidecar(target, 'orders'));
    await until(() => orders.applied.length > 0, 'orders to apply its snapshot');
    const headers = await session(cp);
    const events = await fetch(`${cp.adminUrl}/dashboard/events`, { headers });
    expect(events.headers.get('content-type')).toBe('text/event-stream');
    const first = await eventWhere<State>(events.body!, (s) => s.workloads.every((w) => w.sidecars.some((c) => c.ackedRevision !== null)));
    expect(first.workloads.map((w) => w.key).sort()).toEqual(['default/orders', 'default/web']);
    expect(first.edges).toEqual([{ from: 'default/web', to: 'default/orders', mtls: 'STRICT', observed: null }]);
    expect(first.assets).toEqual([
      expect.objectContaining({ key: 'default/orders-admin', workload: 'default/orders', policies: [{ key: 'default/orders-authz', mode: 'enforce' }], sidecars: [expect.objectContaining({ ackedRevision: first.revision })] }),
    ]);
    expect(first.certificates.map((c) => c.identity).sort()).toEqual(['spiffe://weft.test/ns/default/sa/orders', 'spiffe://weft.test/ns/default/sa/web']);

    const more = await fetch(`${cp.adminUrl}/dashboard/events`, { headers });
    const apply = await fetch(`${cp.adminUrl}/v1/apply`, {
      method: 'POST',
      headers: { ...cp.adminHeaders.write, 'content-type': 'application/json' },
      body: JSON.stringify({ files: { 'policies/orders.yaml': policyYaml('authz.rego', 'dry-run'), 'policies/authz.rego': ALLOW_REGO } }),
    });
    expect(apply.status, await apply.clone().text()).toBe(200);
    const changed = await eventWhere<State>(more.body!, (s) => s.assets[0]?.policies[0]?.mode === 'dry-run' && s.assets[0].sidecars[0]?.ackedRevision === s.revision);
    expect(changed.revision).toBeGreaterThan(first.revision);
  });

  it("shows each edge's mTLS mode from the callee's PeerAuthentication", async () => {
    const cp = await controlPlaneOn(
      await meshDirectory({
        ...MESH_FILES,
        'peer-authentication.yaml': `apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: { name: orders-permissive }
spec: { workload: orders, mode: PERMISSIVE }
`,
      }),
    );
    defer(() => cp.close());
    const state = (await (await fetch(`${cp.adminUrl}/dashboard/state`, { headers: await session(cp) })).json()) as State;
    expect(state.edges).toEqual([{ from: 'default/web', to: 'default/orders', mtls: 'PERMISSIVE', observed: null }]);
  });

  it('leaves out what is not a certificate in the trust bundle', () => {
    expect(trustRootsOf('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n')).toEqual([]);
  });
});
