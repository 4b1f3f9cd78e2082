// A revision: one complete, validated, immutable set of mesh resources. Each accepted change
// produces the next one; a refused change produces none.
import { createHash } from 'node:crypto';
import { encodeResource } from '../api/resource-codec.js';
import { resourceKey } from '../api/resource-types.js';
import type { Problem } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import type { LoadResult, LoadedResource } from './document-loader.js';
import type { PolicyChecker } from './policy-check.js';
import { checkReferences } from './reference-check.js';

export interface Revision {
  readonly number: number;
  /** sha256 of the resources' canonical JSON: equal content, equal hash. */
  readonly hash: string;
  readonly createdAt: number;
  readonly resources: ReadonlyMap<string, LoadedResource>;
}

export function hashResources(loaded: Iterable<LoadedResource>): string {
  const documents = [...loaded]
    .map((entry) => encodeResource(entry.resource))
    .sort((a, b) => resourceKey(a as never).localeCompare(resourceKey(b as never)));
  return createHash('sha256').update(canonicalJson(documents)).digest('hex');
}

/**
 * Cross-resource checks and policy compilation; every problem of the whole set. With
 * `complete: false` (some documents did not load) references are not checked, since they would
 * only repeat those documents' problems, but every policy that loaded is still compiled.
 */
export async function validateResourceSet(loaded: readonly LoadedResource[], policies: PolicyChecker, complete = true): Promise<Problem[]> {
  const problems = complete ? checkReferences(loaded) : [];
  for (const entry of loaded) {
    if (entry.resource.kind !== 'AuthorizationPolicy') continue;
    problems.push(...(await policies.check(entry.resource, entry.source.file)));
  }
  return problems;
}

export function makeRevision(number: number, loaded: readonly LoadedResource[]): Revision {
  const resources = new Map(loaded.map((entry) => [resourceKey(entry.resource), entry] as const));
  return Object.freeze({ number, hash: hashResources(loaded), createdAt: Date.now(), resources });
}

/** Every problem of a loaded file set: its loading problems and those of the resources that loaded. */
export async function problemsOf(result: LoadResult, policies: PolicyChecker): Promise<Problem[]> {
  return [...result.problems, ...(await validateResourceSet(result.resources, policies, result.problems.length === 0))];
}
