// What an apply or delete would do to the running revision: the complete next resource set,
// checked as a whole, and the per-resource changes (for --dry-run and for the store to persist).
import { encodeResource } from '../api/resource-codec.js';
import { resourceKey } from '../api/resource-types.js';
import type { Problem } from '../errors.js';
import { canonicalJson } from '../resources/canonical-json.js';
import { loadFileSet, type FileSet, type LoadedResource } from '../resources/document-loader.js';
import type { PolicyChecker } from '../resources/policy-check.js';
import { problemsOf, validateResourceSet, type Revision } from '../resources/revision.js';

export type ChangeAction = 'created' | 'configured' | 'unchanged' | 'deleted';

export interface ResourceChange {
  readonly key: string;
  readonly action: ChangeAction;
  /** The resource as applied (absent for deletions). */
  readonly applied?: LoadedResource;
  /** Where the running revision defines it (absent for creations). */
  readonly previous?: LoadedResource;
}

export type ChangePlan =
  | { readonly ok: true; readonly next: readonly LoadedResource[]; readonly changes: readonly ResourceChange[] }
  | { readonly ok: false; readonly problems: readonly Problem[] };

function sameResource(a: LoadedResource, b: LoadedResource): boolean {
  return canonicalJson(encodeResource(a.resource)) === canonicalJson(encodeResource(b.resource));
}

export async function planApply(current: Revision, files: FileSet, policies: PolicyChecker): Promise<ChangePlan> {
  const loaded = loadFileSet(files);
  if (loaded.problems.length > 0) return { ok: false, problems: await problemsOf(loaded, policies) };
  const next = new Map(current.resources);
  const changes: ResourceChange[] = [];
  const seen = new Set<string>();
  const duplicates: LoadedResource[] = [];
  for (const applied of loaded.resources) {
    const key = resourceKey(applied.resource);
    if (seen.has(key)) {
      duplicates.push(applied);
      continue;
    }
    seen.add(key);
    const previous = current.resources.get(key);
    const action: ChangeAction = previous === undefined ? 'created' : sameResource(previous, applied) ? 'unchanged' : 'configured';
    changes.push({ key, action, applied, ...(previous === undefined ? {} : { previous }) });
    if (action !== 'unchanged') next.set(key, applied);
  }
  // Duplicates within the change are reported by the reference check alongside the first one.
  const candidate = [...next.values(), ...duplicates];
  const problems = await validateResourceSet(candidate, policies);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, next: [...next.values()], changes };
}

export async function planDelete(current: Revision, keys: readonly string[], policies: PolicyChecker): Promise<ChangePlan> {
  const problems: Problem[] = [];
  const next = new Map(current.resources);
  const changes: ResourceChange[] = [];
  for (const key of keys) {
    const previous = current.resources.get(key);
    if (previous === undefined) {
      problems.push({ code: 'RESOURCE_NOT_FOUND', file: '(request)', message: `${key} does not exist` });
      continue;
    }
    next.delete(key);
    changes.push({ key, action: 'deleted', previous });
  }
  if (problems.length > 0) return { ok: false, problems };
  const refused = await validateResourceSet([...next.values()], policies);
  return refused.length > 0 ? { ok: false, problems: refused } : { ok: true, next: [...next.values()], changes };
}
