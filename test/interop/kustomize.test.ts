// Renders each kustomize layout with the real `kubectl kustomize` and runs the manifest checks on
// what a cluster would receive. Debian's kubernetes-client (1.20) carries kustomize 2.0, older
// than this layout (directories in resources, patches:), so this needs a kubectl with kustomize 4+.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESOURCE_KINDS } from '../../control-plane/api/resource-types.js';
import { clusterScoped, find, kubernetesDirectory, manifestProblems, parseObjects, type KubeObject } from '../deploy/kubernetes/manifest-checks.js';

const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const kustomizeMajor = Number(/Kustomize Version: v(\d+)/.exec(probe.stdout ?? '')?.[1] ?? 0);
const skipReason = probe.error ? 'kubectl is not installed' : kustomizeMajor < 4 ? `kubectl's kustomize is older than v4 (${probe.stdout?.trim()})` : '';

function render(layout: string): KubeObject[] {
  return parseObjects(execFileSync('kubectl', ['kustomize', join(kubernetesDirectory, layout)], { encoding: 'utf8' }), layout);
}

type PodTemplate = { spec: { replicas: number; template: { spec: { affinity: { podAntiAffinity: Record<string, unknown> }; containers: { args: string[] }[] } } } };

describe.skipIf(skipReason !== '')(`kubectl kustomize ${skipReason}`, () => {
  it.each(['base', 'overlays/dev', 'overlays/ha'])('%s renders to a consistent set of objects in weft-system', (layout) => {
    const objects = render(layout);
    expect(manifestProblems(objects)).toEqual([]);
    expect(objects.filter((o) => o.kind === 'CustomResourceDefinition')).toHaveLength(RESOURCE_KINDS.length);
    expect(objects.filter((o) => o.kind === 'MutatingWebhookConfiguration').map((o) => o.metadata.name)).toEqual(['weft-injector']);
    for (const object of objects) {
      const namespace = (object.metadata as { namespace?: string }).namespace;
      expect(namespace, `${object.kind}/${object.metadata.name}`).toBe(clusterScoped.includes(object.kind) ? undefined : 'weft-system');
    }
  });

  it('overlays/dev runs one control plane replica on a one-member etcd', () => {
    const objects = render('overlays/dev');
    expect((find(objects, 'Deployment', 'weft-control-plane') as unknown as PodTemplate).spec.replicas).toBe(1);
    const etcd = find(objects, 'StatefulSet', 'weft-etcd') as unknown as PodTemplate;
    expect(etcd.spec.replicas).toBe(1);
    expect(etcd.spec.template.spec.containers[0]!.args).toContain('--initial-cluster=weft-etcd-0=http://weft-etcd-0.weft-etcd:2380');
  });

  it('overlays/ha requires control plane replicas and etcd members on distinct nodes', () => {
    const objects = render('overlays/ha');
    for (const [kind, name] of [['Deployment', 'weft-control-plane'], ['StatefulSet', 'weft-etcd']] as const) {
      const workload = find(objects, kind, name) as unknown as PodTemplate;
      expect(workload.spec.replicas).toBe(3);
      expect(Object.keys(workload.spec.template.spec.affinity.podAntiAffinity)).toEqual(['requiredDuringSchedulingIgnoredDuringExecution']);
    }
  });
});
