import { describe, expect, it } from 'vitest';
import { decodeResource, encodeResource } from '../../control-plane/api/resource-codec.js';
import { FileSetLoader, loadFileSet } from '../../control-plane/resources/document-loader.js';
import { checkReferences } from '../../control-plane/resources/reference-check.js';
import { ALLOW_REGO, MESH_FILES, policyYaml } from './mesh-fixture.js';

const files = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('resource documents', () => {
  it('loads every kind of the fixture mesh into frozen domain resources with their source', () => {
    const result = loadFileSet(files(MESH_FILES));
    expect(result.problems).toEqual([]);
    const kinds = result.resources.map((r) => `${r.resource.kind}/${r.resource.metadata.name}`).sort();
    expect(kinds).toEqual(['Asset/orders-admin', 'AuthorizationPolicy/orders-authz', 'Route/orders', 'Workload/orders', 'Workload/web']);
    const policy = result.resources.find((r) => r.resource.kind === 'AuthorizationPolicy')!;
    expect(policy.source).toEqual({ file: 'policies/orders.yaml', document: 0, line: 1 });
    expect(policy.resource.spec).toMatchObject({
      modules: [{ name: 'policies/authz.rego', rego: ALLOW_REGO }],
      entrypoint: 'data.weft.authz.allow',
      mode: 'enforce',
    });
    expect(policy.resource.metadata.namespace).toBe('default');
    expect(Object.isFrozen(policy.resource.spec)).toBe(true);
    const orders = result.resources.find((r) => r.resource.metadata.name === 'orders' && r.resource.kind === 'Workload')!;
    expect(orders.source).toMatchObject({ file: 'workloads.yaml', document: 1, line: 9 });
    const route = result.resources.find((r) => r.resource.kind === 'Route')!;
    expect(route.resource.spec).toMatchObject({ timeoutMs: 2000, retries: { attempts: 2, perTryTimeoutMs: 500, retryNonIdempotent: false } });
  });

  it('reports every schema error at once with file, path and line:col', () => {
    const yaml = `apiVersion: weft.dev/v1alpha1
kind: Workload
metadata: { name: Bad_Name }
spec:
  serviceAccount: web
  ports:
    - port: 70000
      protocol: ftp
  colour: blue
`;
    const result = loadFileSet(files({ 'w.yaml': yaml }));
    expect(result.resources).toEqual([]);
    const seen = result.problems.map((p) => `${p.file}:${p.line}:${p.col} ${p.path} ${p.code}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'w.yaml:3:19 metadata.name RESOURCE_SCHEMA_INVALID',
        'w.yaml:7:13 spec.ports[0].port RESOURCE_SCHEMA_INVALID',
        'w.yaml:8:17 spec.ports[0].protocol RESOURCE_SCHEMA_INVALID',
        'w.yaml:9:11 spec.colour RESOURCE_SCHEMA_INVALID',
      ]),
    );
    expect(result.problems.find((p) => p.path === 'spec.ports[0].protocol')!.message).toBe('must be one of "http", "http2", "grpc"');
  });

  it('refuses durations no sidecar could take, each at its line', () => {
    const yaml = `apiVersion: weft.dev/v1alpha1
kind: Route
metadata: { name: orders }
spec:
  service: orders
  timeout: 0ms
  retries: { attempts: 2, perTryTimeout: 0.4ms }
`;
    const result = loadFileSet(files({ 'r.yaml': yaml }));
    expect(result.resources).toEqual([]);
    expect(result.problems.map((p) => `${p.line} ${p.path} ${p.message}`)).toEqual(['6 spec.timeout must be at least 1ms', '7 spec.retries.perTryTimeout must be at least 1ms']);
    expect(loadFileSet(files({ 'r.yaml': yaml.replace('0ms', '1ms').replace('0.4ms', '1ms') })).problems).toEqual([]);
  });

  it('reports YAML syntax errors with line:col and keeps loading the other files', () => {
    const result = loadFileSet(files({ 'a.yaml': 'kind: [unclosed\n', 'workloads.yaml': MESH_FILES['workloads.yaml']! }));
    expect(result.resources).toHaveLength(2);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ code: 'RESOURCE_YAML_INVALID', file: 'a.yaml', line: 2 });
  });

  it('refuses an unknown kind', () => {
    const doc = (kind: string) => `apiVersion: weft.dev/v1alpha1
kind: ${kind}
metadata: { name: x }
spec: {}
`;
    const result = loadFileSet(files({ 'a.yaml': doc('Gateway') }));
    expect(result.problems.map((p) => [p.file, p.code, p.path])).toEqual([['a.yaml', 'RESOURCE_SCHEMA_INVALID', 'kind']]);
    expect(result.problems[0]!.message).toContain('unknown kind');
  });

  it('reports a missing or escaping module file at its path', () => {
    const result = loadFileSet(
      files({ 'p.yaml': policyYaml('missing.rego'), 'q.yaml': policyYaml('../../etc/x.rego').replace('orders-authz', 'other') }),
    );
    expect(result.problems.map((p) => [p.file, p.code, p.path, p.line])).toEqual([
      ['p.yaml', 'POLICY_MODULE_FILE_MISSING', 'spec.modules[0].file', 5],
      ['q.yaml', 'POLICY_MODULE_FILE_MISSING', 'spec.modules[0].file', 5],
    ]);
    expect(result.problems[1]!.message).toContain('outside');
  });

  it('checks references and duplicates across files', () => {
    const dangling = `apiVersion: weft.dev/v1alpha1
kind: Route
metadata: { name: r }
spec: { service: nowhere }
`;
    const loaded = loadFileSet(files({ ...MESH_FILES, 'dangling.yaml': dangling, 'again.yaml': MESH_FILES['routes.yaml']! }));
    expect(loaded.problems).toEqual([]);
    const problems = checkReferences(loaded.resources);
    expect(problems.map((p) => [p.code, p.file, p.path])).toEqual([
      ['RESOURCE_DUPLICATE', 'routes.yaml', 'metadata.name'],
      ['RESOURCE_REFERENCE_UNKNOWN', 'dangling.yaml', 'spec.service'],
    ]);
    expect(problems[0]!.message).toBe('Route/default/orders is already defined at again.yaml:1');
  });

  it('decodes the wire form it encodes, and refuses a policy whose module is not inlined', () => {
    const loaded = loadFileSet(files(MESH_FILES));
    for (const { resource } of loaded.resources) {
      const again = decodeResource(JSON.parse(JSON.stringify(encodeResource(resource))));
      expect(again).toEqual({ ok: true, resource });
    }
    const raw = { apiVersion: 'weft.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name: 'p' }, spec: { modules: [{ file: 'a.rego' }], targets: { workloads: ['x'] } } };
    expect(decodeResource(raw)).toMatchObject({ ok: false, issues: [{ path: 'spec.modules[0].file' }] });
  });

  it('keeps __proto__ keys from untrusted documents as plain data', () => {
    const raw = JSON.parse('{"apiVersion":"weft.dev/v1alpha1","kind":"Workload","metadata":{"name":"w","labels":{"__proto__":"x"}},"spec":{"serviceAccount":"w","ports":[{"port":1,"protocol":"http"}]}}');
    const decoded = decodeResource(raw);
    expect(decoded.ok).toBe(false);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('re-parses only files that changed, or whose Rego files changed', () => {
    const loader = new FileSetLoader();
    const first = loader.load(files(MESH_FILES));
    const byName = (result: typeof first, name: string) => result.resources.find((r) => r.resource.metadata.name === name)!.resource;
    const again = loader.load(files({ ...MESH_FILES, 'routes.yaml': MESH_FILES['routes.yaml']!.replace('2s', '3s') }));
    expect(byName(again, 'web')).toBe(byName(first, 'web'));
    expect(byName(again, 'orders-authz')).toBe(byName(first, 'orders-authz'));
    expect(byName(again, 'orders')).not.toBe(undefined);
    expect((again.resources.find((r) => r.resource.kind === 'Route')!.resource.spec as { timeoutMs: number }).timeoutMs).toBe(3000);
    const edited = ALLOW_REGO.replace('"GET"', '"HEAD"');
    const third = loader.load(files({ ...MESH_FILES, 'policies/authz.rego': edited }));
    expect(byName(third, 'orders-authz')).toMatchObject({ spec: { modules: [{ rego: edited }] } });
    const missing = loader.load(files(Object.fromEntries(Object.entries(MESH_FILES).filter(([path]) => path !== 'policies/authz.rego'))));
    expect(missing.problems.map((p) => p.code)).toEqual(['POLICY_MODULE_FILE_MISSING']);
  });
});
