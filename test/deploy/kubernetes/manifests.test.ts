import { RESOURCE_KINDS } from '../../../control-plane/api/resource-types.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { find, kubernetesDirectory, loadKustomization, manifestProblems, parseObjects, userSecrets, type KubeObject } from './manifest-checks.js';

type Container = { args: string[] };
const podSpec = (object: KubeObject) => (object.spec as { template: { spec: { containers: Container[]; affinity?: unknown } } }).template.spec;

describe('deploy/kubernetes/base', () => {
  const objects = loadKustomization(join(kubernetesDirectory, 'base'));

  it('is a consistent set of objects (kinds, versions, names referenced, selectors)', () => {
    expect(objects.filter((o) => o.kind === 'CustomResourceDefinition')).toHaveLength(RESOURCE_KINDS.length);
    expect(manifestProblems(objects)).toEqual([]);
  });

  it('runs three control plane replicas apart from each other, one down at a time at most', () => {
    const deployment = find(objects, 'Deployment', 'weft-control-plane');
    expect((deployment.spec as { replicas: number }).replicas).toBe(3);
    expect(JSON.stringify(podSpec(deployment).affinity)).toContain('"topologyKey":"kubernetes.io/hostname"');
    expect(find(objects, 'PodDisruptionBudget', 'weft-control-plane').spec).toMatchObject({ maxUnavailable: 1 });
  });

  it('gives the control plane only flags that `weft control-plane` knows, on the etcd store the manifests run', () => {
    const help = execFileSync(process.execPath, ['dist/deploy/cli/weft.js', 'control-plane', '--help'], { encoding: 'utf8' });
    const args = podSpec(find(objects, 'Deployment', 'weft-control-plane')).containers[0]!.args;
    expect(args[0]).toBe('control-plane');
    for (const flag of args.filter((arg) => arg.startsWith('--'))) expect(help, flag).toContain(`${flag} `);
    const store = new URL(args[args.indexOf('--store') + 1]!.replace(/^etcd:/, ''));
    const etcdClient = find(objects, 'Service', store.hostname).spec as { ports: { port: number }[] };
    expect(etcdClient.ports.map((p) => p.port)).toContain(Number(store.port));
  });

  it('grants the control plane exactly the TokenReview its CA makes, and mounts its API token for it', () => {
    const binding = find(objects, 'ClusterRoleBinding', 'weft-control-plane-token-review') as KubeObject & { subjects: unknown[] };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'weft-control-plane', namespace: 'weft-system' }]);
    expect(find(objects, 'ClusterRole', 'weft-control-plane-token-review').rules).toEqual([{ apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] }]);
    const deployment = find(objects, 'Deployment', 'weft-control-plane');
    expect((podSpec(deployment) as { automountServiceAccountToken?: boolean }).automountServiceAccountToken).toBe(true);
    const args = podSpec(deployment).containers[0]!.args;
    expect(args[args.indexOf('--token-review') + 1]).toBe('kubernetes:');
  });

  it('commits no secret value and documents every Secret the user must create', () => {
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    const readme = readFileSync(join(kubernetesDirectory, '../README.md'), 'utf8');
    for (const secret of userSecrets) expect(readme).toContain(`kubectl -n weft-system create secret generic ${secret}`);
  });

  it('runs the injector with flags `weft injector serve` knows, behind the webhook that calls it', () => {
    const help = execFileSync(process.execPath, ['dist/deploy/cli/weft.js', 'injector', '--help'], { encoding: 'utf8' });
    const args = podSpec(find(objects, 'Deployment', 'weft-injector')).containers[0]!.args;
    expect(args.slice(0, 2)).toEqual(['injector', 'serve']);
    for (const flag of args.filter((arg) => arg.startsWith('--'))) expect(help, flag).toContain(`${flag} `);
    expect(args[args.indexOf('--control-plane') + 1]).toBe('weft-control-plane.weft-system.svc:15010');
    const webhooks = (find(objects, 'MutatingWebhookConfiguration', 'weft-injector') as unknown as { webhooks: { name: string; failurePolicy: string; clientConfig: { service: { path: string } }; namespaceSelector: unknown }[] }).webhooks;
    expect(webhooks.map((w) => [w.clientConfig.service.path, w.failurePolicy])).toEqual([
      ['/inject/namespace', 'Fail'],
      ['/inject/pod', 'Ignore'],
    ]);
    for (const webhook of webhooks) expect(JSON.stringify(webhook.namespaceSelector)).toContain('"values":["kube-system","weft-system"]');
  });

  it('finds each kind of mistake it is meant to find', () => {
    const broken = structuredClone(objects);
    const deployment = find(broken, 'Deployment', 'weft-control-plane') as KubeObject & { spec: { template: { spec: { serviceAccountName: string } } } };
    deployment.spec.template.spec.serviceAccountName = 'nobody';
    (find(broken, 'Service', 'weft-control-plane').spec as { selector: Record<string, string> }).selector = { app: 'other' };
    find(broken, 'PodDisruptionBudget', 'weft-control-plane').apiVersion = 'policy/v1beta1';
    broken.push(
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'leak' }, data: { key: 'c2VjcmV0' } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'weft' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['*'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'weft' }, roleRef: { kind: 'ClusterRole', name: 'weft' }, subjects: [{ kind: 'ServiceAccount', name: 'weft-control-plane', namespace: 'weft-system' }] },
    );
    (find(broken, 'Deployment', 'weft-injector').spec as { template: { spec: { automountServiceAccountToken: boolean } } }).template.spec.automountServiceAccountToken = true;
    const webhooks = (find(broken, 'MutatingWebhookConfiguration', 'weft-injector') as unknown as { webhooks: { clientConfig: { service: { path: string; port: number } }; failurePolicy?: string }[] }).webhooks;
    webhooks[0]!.clientConfig.service.path = '/mutate';
    webhooks[1]!.clientConfig.service.port = 8443;
    delete webhooks[1]!.failurePolicy;
    const problems = manifestProblems(broken).join('\n');
    for (const expected of ['ServiceAccount nobody does not exist', 'Service/weft-control-plane: selects no pods', 'apiVersion policy/v1beta1', 'a Secret with values is committed', 'ServiceAccount/weft-control-plane: granted [* secrets.; create tokenreviews.authentication.k8s.io], its code calls [create tokenreviews.authentication.k8s.io]', 'Deployment/weft-injector: mounts an API token its code does not use', 'namespace.inject.weft.dev: the injector serves no /mutate', 'pod.inject.weft.dev: Service weft-injector has no port 8443', 'pod.inject.weft.dev: failurePolicy must be stated']) {
      expect(problems).toContain(expected);
    }
  });
});

describe.each(['dev', 'ha'])('deploy/kubernetes/overlays/%s', (overlay) => {
  const directory = join(kubernetesDirectory, 'overlays', overlay);
  const kustomization = parseObjects(readFileSync(join(directory, 'kustomization.yaml'), 'utf8'), overlay)[0] as unknown as { resources: string[]; patches: { path: string }[] };

  it('builds on the base and patches only objects the base defines', () => {
    expect(kustomization.resources).toEqual(['../../base']);
    const base = loadKustomization(join(kubernetesDirectory, 'base'));
    for (const { path } of kustomization.patches) {
      for (const patch of parseObjects(readFileSync(join(directory, path), 'utf8'), path)) {
        expect(find(base, patch.kind, patch.metadata.name).apiVersion).toBe(patch.apiVersion);
      }
    }
  });
});
