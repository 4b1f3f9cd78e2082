// Kind names as operators type them: `Workload`, `workload`, `workloads`, `authorizationpolicies`.
import { RESOURCE_KINDS, type ResourceKind } from '../api/resource-types.js';
import { userError } from './admin-client.js';

const BY_NAME = new Map<string, ResourceKind>();
for (const kind of RESOURCE_KINDS) {
  const lower = kind.toLowerCase();
  BY_NAME.set(lower, kind);
  BY_NAME.set(lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`, kind);
}

export function kindNamed(text: string): ResourceKind {
  const kind = BY_NAME.get(text.toLowerCase());
  if (kind === undefined) throw userError(`unknown kind ${JSON.stringify(text)}; kinds: ${RESOURCE_KINDS.join(', ')}`, 2);
  return kind;
}
