import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChangeRefusedError } from '../../control-plane/errors.js';
import { policyChecker } from '../../control-plane/resources/rego-policy-check.js';
import type { Revision } from '../../control-plane/resources/revision.js';
import { FileStore } from '../../control-plane/store/file-store.js';
import type { Refusal } from '../../control-plane/store/resource-store.js';
import { until } from './control-plane-fixture.js';
import { ROUTE_YAML, meshDirectory } from './mesh-fixture.js';

const stores: FileStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function started(dir: string) {
  const revisions: Revision[] = [];
  const refusals: Refusal[] = [];
  const store = new FileStore(dir, policyChecker);
  stores.push(store);
  const first = await store.start({ revision: (r) => revisions.push(r), refused: (r) => refusals.push(r) });
  return { store, first, revisions, refusals };
}


describe('file store', () => {
  it('turns a valid edit of a watched file into the next revision', async () => {
    const dir = await meshDirectory();
    const { first, revisions, store } = await started(dir);
    expect(first.number).toBe(1);
    expect(first.resources.size).toBe(5);
    await writeFile(join(dir, 'routes.yaml'), ROUTE_YAML.replace('timeout: 2s', 'timeout: 3s'));
    const next = await until(() => revisions[0], 'a new revision');
    expect(next.number).toBe(2);
    expect(next.hash).not.toBe(first.hash);
    expect(store.current().resources.get('Route/default/orders')!.resource.spec).toMatchObject({ timeoutMs: 3000 });
  });

  it('refuses a broken edit whole, lists every problem, and keeps the running revision', async () => {
    const dir = await meshDirectory();
    const { first, revisions, refusals, store } = await started(dir);
    await writeFile(join(dir, 'routes.yaml'), ROUTE_YAML.replace('service: orders', 'service: nowhere').replace('2s', 'soon'));
    await writeFile(join(dir, 'extra.yaml'), ROUTE_YAML.replace('name: orders', 'name: second'));
    const refusal = await until(() => refusals.at(-1), 'a refusal');
    expect(refusal.problems.map((p) => `${p.file} ${p.path} ${p.code}`).sort()).toEqual([
      'routes.yaml spec.timeout RESOURCE_SCHEMA_INVALID',
    ]);
    expect(revisions).toEqual([]);
    expect(store.current()).toBe(first);
    expect(store.lastRefusal()).toBe(refusal);
    // The valid file alone is not applied either while the directory as a whole is broken.
    expect(store.current().resources.has('Route/default/second')).toBe(false);
  });

  it('refuses to start on a broken directory with every problem', async () => {
    const dir = await meshDirectory({ 'r.yaml': ROUTE_YAML, 'bad.yaml': 'kind: [' });
    const store = new FileStore(dir, policyChecker);
    const error = await store.start({ revision: () => undefined, refused: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChangeRefusedError);
    expect((error as ChangeRefusedError).problems.map((p) => p.code)).toEqual(['RESOURCE_YAML_INVALID']);
  });

  it('applies a change into the defining document in place, keeping the others of the file', async () => {
    const dir = await meshDirectory();
    const { store, first } = await started(dir);
    const changed = (await readFile(join(dir, 'workloads.yaml'), 'utf8')).split('---\n')[1]!.replace('9090', '9191');
    const dry = await store.apply(new Map([['edit.yaml', changed]]), { dryRun: true });
    expect(dry.changes.map((c) => [c.key, c.action])).toEqual([['Workload/default/orders', 'configured']]);
    expect(dry.revision).toBe(first);
    const result = await store.apply(new Map([['edit.yaml', changed]]), { dryRun: false });
    expect(result.revision.number).toBe(2);
    const text = await readFile(join(dir, 'workloads.yaml'), 'utf8');
    expect(text).toContain('9191');
    expect(text).toContain('name: web');
    expect(await readdir(dir)).not.toContain('applied');
    const again = await store.apply(new Map([['edit.yaml', changed]]), { dryRun: false });
    expect(again.changes.map((c) => c.action)).toEqual(['unchanged']);
    expect(again.revision.number).toBe(2);
  });

  it('writes a new resource under applied/ and deletes it again', async () => {
    const dir = await meshDirectory();
    const { store } = await started(dir);
    await store.apply(new Map([['r.yaml', ROUTE_YAML.replace('name: orders', 'name: extra')]]), { dryRun: false });
    expect(await readdir(join(dir, 'applied'))).toEqual(['default.route.extra.yaml']);
    const deleted = await store.delete(['Route/default/extra'], { dryRun: false });
    expect(deleted.changes.map((c) => c.action)).toEqual(['deleted']);
    expect(deleted.revision.resources.has('Route/default/extra')).toBe(false);
    expect(await readdir(join(dir, 'applied'))).toEqual([]);
  });

  it('refuses an apply or delete that would break references, writing nothing', async () => {
    const dir = await meshDirectory();
    const { store, first } = await started(dir);
    const error = await store.delete(['Workload/default/orders'], { dryRun: false }).catch((e: unknown) => e);
    expect((error as ChangeRefusedError).problems.map((p) => `${p.file} ${p.path}`).sort()).toEqual([
      'assets.yaml spec.workload',
      'policies/orders.yaml spec.targets.workloads[0]',
      'routes.yaml spec.service',
      'workloads.yaml spec.outbound.services[0]',
    ]);
    expect(store.current()).toBe(first);
    expect(await readFile(join(dir, 'workloads.yaml'), 'utf8')).toContain('name: orders');
    const missing = await store.delete(['Route/default/nope'], { dryRun: false }).catch((e: unknown) => e);
    expect((missing as ChangeRefusedError).problems[0]!.code).toBe('RESOURCE_NOT_FOUND');
  });
});
