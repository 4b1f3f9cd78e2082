// Cross-resource checks that a schema cannot express: every name a resource refers to exists,
// and no resource is defined twice.
import { resourceKey, type AnyResource, type ResourceKind } from '../api/resource-types.js';
import type { Problem } from '../errors.js';
import type { LoadedResource } from './document-loader.js';

interface Reference {
  readonly path: string;
  /** The kinds the name may refer to (an outbound service is a Workload or an InferencePool). */
  readonly kinds: readonly ResourceKind[];
  readonly name: string;
}

function referencesOf(resource: AnyResource): Reference[] {
  const refs: Reference[] = [];
  const add = (path: string, kind: ResourceKind | readonly ResourceKind[], name: string | undefined): void => {
    if (name !== undefined) refs.push({ path, kinds: typeof kind === 'string' ? [kind] : kind, name });
  };
  switch (resource.kind) {
    case 'Workload':
      resource.spec.outbound?.services?.forEach((name, i) => add(`spec.outbound.services[${i}]`, ['Workload', 'InferencePool'], name));
      break;
    case 'Asset':
      add('spec.workload', 'Workload', resource.spec.workload);
      break;
    case 'AuthorizationPolicy':
      resource.spec.targets.workloads?.forEach((name, i) => add(`spec.targets.workloads[${i}]`, 'Workload', name));
      resource.spec.targets.assets?.forEach((name, i) => add(`spec.targets.assets[${i}]`, 'Asset', name));
      break;
    case 'PeerAuthentication':
    case 'RequestAuthentication':
      add('spec.workload', 'Workload', resource.spec.workload);
      break;
    case 'Route':
      add('spec.service', 'Workload', resource.spec.service);
      break;
    case 'InferenceObjective':
      add('spec.poolRef', 'InferencePool', resource.spec.poolRef);
      break;
  }
  return refs;
}

export function checkReferences(loaded: readonly LoadedResource[]): Problem[] {
  const problems: Problem[] = [];
  const byKey = new Map<string, LoadedResource>();
  for (const entry of loaded) {
    const key = resourceKey(entry.resource);
    const first = byKey.get(key);
    if (first !== undefined) {
      problems.push({
        code: 'RESOURCE_DUPLICATE',
        file: entry.source.file,
        line: entry.source.line,
        col: 1,
        path: 'metadata.name',
        message: `${key} is already defined at ${first.source.file}:${first.source.line}`,
      });
      continue;
    }
    byKey.set(key, entry);
  }
  for (const entry of loaded) {
    const { resource, source } = entry;
    for (const ref of referencesOf(resource)) {
      if (ref.kinds.some((kind) => byKey.has(`${kind}/${resource.metadata.namespace}/${ref.name}`))) continue;
      problems.push({
        code: 'RESOURCE_REFERENCE_UNKNOWN',
        file: source.file,
        line: source.line,
        col: 1,
        path: ref.path,
        message: `no ${ref.kinds.join(' or ')} named ${JSON.stringify(ref.name)} in namespace ${resource.metadata.namespace}`,
      });
    }
  }
  return problems;
}
