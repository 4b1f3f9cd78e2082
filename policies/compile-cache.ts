// Compiled policy sets kept by what they were compiled from, so that the same policy is not
// compiled again: a managed sidecar checks a snapshot's policies before accepting it and then
// builds its authz filter from them, and a push that changed one policy carries all the others
// unchanged. Bounded; the least recently used set goes first. Failures are not kept.
import { createHash } from 'node:crypto';
import { compile, type CompileOptions, type ModuleSource, type PolicySet } from './policy-set.js';

const MAX_ENTRIES = 64;
const cache = new Map<string, PolicySet>();

/** `compile` with weft's standard builtins, answered from the cache for the same modules and data. */
export function compileCached(modules: readonly ModuleSource[], options: Omit<CompileOptions, 'builtins'> = {}): PolicySet {
  const key = createHash('sha256')
    .update(JSON.stringify([modules.map((m) => [m.file, m.source, m.regoVersion ?? null]), options.regoVersion ?? null, options.data ?? null]))
    .digest('base64');
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const compiled = compile(modules, options);
  cache.set(key, compiled);
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
  return compiled;
}
