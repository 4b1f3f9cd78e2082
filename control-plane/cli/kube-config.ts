// Which Kubernetes API a `kubernetes:[KUBECONFIG]` option names, for the store
// (`--store kubernetes:`) and the CA's token reviews (`--token-review kubernetes:`): a kubeconfig
// file, or (none) the pod's service account, else $KUBECONFIG / ~/.kube/config.
import { resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubernetesTarget {
  readonly kubeconfig?: string;
}

const PREFIX = 'kubernetes:';

/** The target of `kubernetes:[FILE]`; undefined when `text` is not of that form. */
export function parseKubernetesTarget(text: string): KubernetesTarget | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const file = text.slice(PREFIX.length);
  return file === '' ? {} : { kubeconfig: resolve(file) };
}

export async function loadKubeConfig(target: KubernetesTarget): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  if (target.kubeconfig !== undefined) config.loadFromFile(target.kubeconfig);
  else config.loadFromDefault();
  return config;
}
