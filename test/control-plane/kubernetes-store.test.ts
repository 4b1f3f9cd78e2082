// The Kubernetes resource store against a stand-in API server speaking the real API's shapes
// (test/helpers/fake-kube-apiserver.ts): no real API server can run here.
import { writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../../control-plane/errors.js';
import { policyChecker } from '../../control-plane/resources/rego-policy-check.js';
import type { Revision } from '../../control-plane/resources/revision.js';
import { kubernetesStore, type KubernetesStore, type KubernetesStoreOptions } from '../../control-plane/store/kubernetes-store.js';
import type { Refusal } from '../../control-plane/store/resource-store.js';
import { startFakeApiServer, type FakeApiServer } from '../helpers/fake-kube-apiserver.js';
import { until } from './control-plane-fixture.js';
import { ALLOW_REGO, ASSETS_YAML, ROUTE_YAML, WORKLOADS_YAML } from './mesh-fixture.js';

const PLURALS: Record<string, string> = { Workload: 'workloads', Asset: 'assets', Route: 'routes', AuthorizationPolicy: 'authorizationpolicies' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function documents(yaml: string): Record<string, unknown>[] {
  return parseAllDocuments(yaml).map((d) => {
    const document = d.toJS() as { metadata: Record<string, unknown> };
    return { ...document, metadata: { namespace: 'default', ...document.metadata } };
  });
}

const POLICY = {
  apiVersion: 'weft.dev/v1alpha1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'orders-authz', namespace: 'default' },
  spec: { modules: [{ name: 'authz.rego', rego: ALLOW_REGO }], targets: { workloads: ['orders'] } },
};

async function cluster(): Promise<FakeApiServer> {
  const api = await startFakeApiServer();
  cleanups.push(() => api.close());
  for (const document of [...documents(WORKLOADS_YAML), ...documents(ASSETS_YAML), ...documents(ROUTE_YAML), POLICY]) {
    api.put(PLURALS[document.kind as string]!, document);
  }
  return api;
}

async function started(api: FakeApiServer, kubeconfigText = api.kubeconfig(), options: KubernetesStoreOptions = {}) {
  const file = join(await mkdtemp(join(tmpdir(), 'weft-kube-')), 'kubeconfig');
  await writeFile(file, kubeconfigText);
  const store: KubernetesStore = await kubernetesStore({ kubeconfig: file }, policyChecker, options);
  const revisions: Revision[] = [];
  const refusals: Refusal[] = [];
  const first = await store.start({ revision: (r) => revisions.push(r), refused: (r) => refusals.push(r) });
  cleanups.push(() => store.close());
  return { store, first, revisions, refusals };
}

function condition(api: FakeApiServer, plural: string, name: string): Record<string, unknown> | undefined {
  const object = api.objects(plural).find((o) => o.metadata.name === name);
  return ((object?.status as { conditions?: Record<string, unknown>[] } | undefined)?.conditions ?? [])[0];
}

describe('kubernetes store', () => {
  it('reads every weft kind from the API, validates it (Rego compiled) and marks each object accepted on its status', async () => {
    const api = await cluster();
    const { first } = await started(api);
    expect([...first.resources.keys()].sort()).toEqual([
      'Asset/default/orders-admin',
      'AuthorizationPolicy/default/orders-authz',
      'Route/default/orders',
      'Workload/default/orders',
      'Workload/default/web',
    ]);
    expect(first.resources.get('Route/default/orders')!.resource.spec).toMatchObject({ timeoutMs: 2000 });
    expect(first.resources.get('Route/default/orders')!.source.file).toBe('kubernetes:/apis/weft.dev/v1alpha1/namespaces/default/routes/orders');
    for (const [plural, name] of [['workloads', 'web'], ['routes', 'orders'], ['authorizationpolicies', 'orders-authz']] as const) {
      const accepted = await until(() => condition(api, plural, name), `${plural}/${name} status`);
      expect(accepted).toMatchObject({ type: 'Accepted', status: 'True', message: `in control-plane revision ${first.number}` });
    }
  });

  it('turns a spec change made through the API into the next revision, and its own status writes into none', async () => {
    const api = await cluster();
    const { first, revisions, store } = await started(api);
    await until(() => condition(api, 'routes', 'orders'), 'the status writes');
    const route = api.objects('routes')[0]!;
    api.put('routes', { ...route, spec: { ...(route.spec as object), timeout: '3s' } });
    const next = await until(() => revisions[0], 'a revision from the watch');
    expect(next.number).toBe(first.number + 1);
    expect(store.current().resources.get('Route/default/orders')!.resource.spec).toMatchObject({ timeoutMs: 3000 });
    // The status writes (five objects, twice) changed resourceVersions, never a spec: one revision only.
    await until(() => (condition(api, 'routes', 'orders')?.message === `in control-plane revision ${next.number}` ? true : undefined), 'the new status');
    expect(revisions).toHaveLength(1);
  });

  it('refuses an invalid object whole, keeps the running revision, and says why on that object', async () => {
    const api = await cluster();
    const { first, revisions, refusals, store } = await started(api);
    const route = api.objects('routes')[0]!;
    api.put('routes', { ...route, spec: { ...(route.spec as object), timeout: 'soon' } });
    const refusal = await until(() => refusals.at(-1), 'a refusal');
    expect(refusal.problems.map((p) => `${p.file} ${p.path} ${p.code}`)).toEqual([
      'kubernetes:/apis/weft.dev/v1alpha1/namespaces/default/routes/orders spec.timeout RESOURCE_SCHEMA_INVALID',
    ]);
    expect(revisions).toEqual([]);
    expect(store.current()).toBe(first);
    const refused = await until(() => (condition(api, 'routes', 'orders')?.status === 'False' ? condition(api, 'routes', 'orders') : undefined), 'the refusal on the status');
    expect(refused).toMatchObject({ reason: 'Invalid' });
    expect(String(refused.message)).toContain('spec.timeout');
  });

  it('records apply and delete as API writes (create, replace with the resourceVersion read, delete with a precondition)', async () => {
    const api = await cluster();
    const { store } = await started(api);
    const applied = await store.apply(new Map([['extra.yaml', ROUTE_YAML.replace('name: orders', 'name: orders').replace('2s', '4s')]]), { dryRun: false });
    expect(applied.changes.map((c) => `${c.key} ${c.action}`)).toEqual(['Route/default/orders configured']);
    expect(api.objects('routes')[0]!.spec).toMatchObject({ timeout: '4000ms' });
    expect(api.requests.some((r) => r.startsWith('PUT /apis/weft.dev/v1alpha1/namespaces/default/routes/orders'))).toBe(true);
    const created = await store.apply(new Map([['web-admin.yaml', ASSETS_YAML.replace('orders-admin', 'web-admin').replace('workload: orders', 'workload: web')]]), { dryRun: false });
    expect(created.changes.map((c) => c.action)).toEqual(['created']);
    expect(api.objects('assets').map((o) => o.metadata.name).sort()).toEqual(['orders-admin', 'web-admin']);
    const deleted = await store.delete(['Asset/default/web-admin'], { dryRun: false });
    expect(deleted.revision.resources.has('Asset/default/web-admin')).toBe(false);
    expect(api.objects('assets').map((o) => o.metadata.name)).toEqual(['orders-admin']);
  });

  it('refuses a write over a change someone else made meanwhile (409) as STORE_CONFLICT, and loses neither', async () => {
    const api = await cluster();
    // No watch event reaches the store until released, and no periodic re-list comes within the
    // test: it cannot have read the other change.
    api.holdWatches(true);
    const { store } = await started(api, undefined, { resyncMs: 600_000 });
    await until(() => condition(api, 'routes', 'orders'), 'the status writes');
    const route = api.objects('routes')[0]!;
    api.put('routes', { ...route, spec: { ...(route.spec as object), timeout: '7s' } });
    const error = await store.apply(new Map([['r.yaml', ROUTE_YAML.replace('2s', '9s')]]), { dryRun: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect((error as ControlPlaneError).code).toBe('STORE_CONFLICT');
    expect(api.objects('routes')[0]!.spec).toMatchObject({ timeout: '7s' });
    api.holdWatches(false);
    await until(() => (store.current().resources.get('Route/default/orders')!.resource.spec as { timeoutMs: number }).timeoutMs === 7000 || undefined, 'the other change read');
    await store.apply(new Map([['r.yaml', ROUTE_YAML.replace('2s', '9s')]]), { dryRun: false });
    expect(api.objects('routes')[0]!.spec).toMatchObject({ timeout: '9000ms' });
  });

  it('writes over a change of status only (another controller, or its own status write it has not read back)', async () => {
    const api = await cluster();
    api.holdWatches(true);
    const { store } = await started(api, undefined, { resyncMs: 600_000 });
    await until(() => condition(api, 'routes', 'orders'), 'the status writes');
    const route = api.objects('routes')[0]!;
    api.put('routes', { ...route, status: { observedRevision: 99 } });
    expect(api.objects('routes')[0]!.metadata.resourceVersion).not.toBe(route.metadata.resourceVersion);
    expect(api.objects('routes')[0]!.metadata.generation).toBe(route.metadata.generation);
    const applied = await store.apply(new Map([['r.yaml', ROUTE_YAML.replace('2s', '9s')]]), { dryRun: false });
    expect(applied.changes.map((c) => `${c.key} ${c.action}`)).toEqual(['Route/default/orders configured']);
    expect(api.objects('routes')[0]!.spec).toMatchObject({ timeout: '9000ms' });
    expect(api.requests.filter((r) => r.startsWith('PUT /apis/weft.dev/v1alpha1/namespaces/default/routes/orders?') || r === 'PUT /apis/weft.dev/v1alpha1/namespaces/default/routes/orders')).toHaveLength(2);
  });

  it('catches up by re-listing when its watches end or expire (410)', async () => {
    const api = await cluster();
    const { revisions } = await started(api);
    api.compact();
    api.dropWatches();
    const route = api.objects('routes')[0]!;
    api.put('routes', { ...route, spec: { ...(route.spec as object), timeout: '5s' } });
    const next = await until(() => revisions[0], 'a revision after the watch ended');
    expect(next.resources.get('Route/default/orders')!.resource.spec).toMatchObject({ timeoutMs: 5000 });
  });

  it('refuses to start with a clear error when the API refuses its credentials', async () => {
    const api = await cluster();
    const error = await started(api, api.kubeconfig().replace(api.token, 'not-the-token')).catch((e: unknown) => e);
    expect(String((error as Error).message)).toMatch(/401|Unauthorized/);
  });
});
