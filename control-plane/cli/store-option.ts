// `--store file:DIR` (the default, ./mesh), `--store etcd:URL[,URL...]` or
// `--store kubernetes:[KUBECONFIG]` (no file: the pod's service account, else $KUBECONFIG).
import { resolve } from 'node:path';
import { userError } from './admin-client.js';
import { parseKubernetesTarget } from './kube-config.js';

export type StoreChoice =
  | { readonly kind: 'file'; readonly dir: string }
  | { readonly kind: 'etcd'; readonly endpoints: readonly string[] }
  | { readonly kind: 'kubernetes'; readonly kubeconfig?: string };

export function parseStoreOption(text: string): StoreChoice {
  if (text.startsWith('file:') && text.length > 'file:'.length) return { kind: 'file', dir: resolve(text.slice('file:'.length)) };
  if (text.startsWith('etcd:')) {
    const endpoints = text.slice('etcd:'.length).split(',').filter((e) => e !== '');
    const bad = endpoints.find((e) => !/^https?:\/\/[^/\s]+$/.test(e));
    if (endpoints.length === 0 || bad !== undefined) throw userError(`--store etcd:URL[,URL...] needs http(s)://host:port URLs${bad === undefined ? '' : `, not ${bad}`}`, 2);
    return { kind: 'etcd', endpoints };
  }
  const kubernetes = parseKubernetesTarget(text);
  if (kubernetes !== undefined) return { kind: 'kubernetes', ...kubernetes };
  throw userError(`--store must be file:DIR, etcd:URL[,URL...] or kubernetes:[KUBECONFIG], not ${JSON.stringify(text)}`, 2);
}
