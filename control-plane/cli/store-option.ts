// `--store file:DIR` (the default, ./mesh) or `--store etcd:URL[,URL...]`.
import { resolve } from 'node:path';
import { userError } from './admin-client.js';

export type StoreChoice = { readonly kind: 'file'; readonly dir: string } | { readonly kind: 'etcd'; readonly endpoints: readonly string[] };

export function parseStoreOption(text: string): StoreChoice {
  if (text.startsWith('file:') && text.length > 'file:'.length) return { kind: 'file', dir: resolve(text.slice('file:'.length)) };
  if (text.startsWith('etcd:')) {
    const endpoints = text.slice('etcd:'.length).split(',').filter((e) => e !== '');
    const bad = endpoints.find((e) => !/^https?:\/\/[^/\s]+$/.test(e));
    if (endpoints.length === 0 || bad !== undefined) throw userError(`--store etcd:URL[,URL...] needs http(s)://host:port URLs${bad === undefined ? '' : `, not ${bad}`}`, 2);
    return { kind: 'etcd', endpoints };
  }
  throw userError(`--store must be file:DIR or etcd:URL[,URL...], not ${JSON.stringify(text)}`, 2);
}
