// How weft's resource kinds appear in the Kubernetes API: one CustomResourceDefinition per kind in
// the `weft.dev` group, namespaced, with a status subresource. The CRD generator and the
// Kubernetes resource store both read their names from here.
import { API_VERSION, RESOURCE_KINDS, type ResourceKind } from './resource-types.js';

export const CRD_GROUP = 'weft.dev';
export const CRD_VERSION = API_VERSION.slice(`${CRD_GROUP}/`.length);

/** `Workload` -> `workloads`, `InferencePolicy` -> `inferencepolicies`. */
export function crdPlural(kind: string): string {
  const lower = kind.toLowerCase();
  return lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`;
}

export const KIND_BY_PLURAL: ReadonlyMap<string, ResourceKind> = new Map(RESOURCE_KINDS.map((kind) => [crdPlural(kind), kind]));

/** The API path of a kind's objects: every namespace's, or one object's. */
export function customResourcePath(kind: ResourceKind, object?: { readonly namespace: string; readonly name: string }): string {
  const base = `/apis/${CRD_GROUP}/${CRD_VERSION}`;
  if (object === undefined) return `${base}/${crdPlural(kind)}`;
  return `${base}/namespaces/${encodeURIComponent(object.namespace)}/${crdPlural(kind)}/${encodeURIComponent(object.name)}`;
}
