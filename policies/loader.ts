// Loads policy files from disk the way `opa` does: `.rego` files become modules; `data.json`
// and `data.yaml` files become base documents at the path of their directory.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ModuleSource } from './index.js';

export interface LoadedPolicies {
  readonly modules: ModuleSource[];
  /** Base documents, plain JSON. */
  readonly data: Record<string, unknown>;
}

const DATA_FILES = new Set(['data.json', 'data.yaml', 'data.yml']);

function walk(path: string, out: string[]): void {
  const stat = statSync(path);
  if (!stat.isDirectory()) {
    out.push(path);
    return;
  }
  for (const name of readdirSync(path).sort()) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    walk(join(path, name), out);
  }
}

/**
 * JSON text as plain data, integers beyond 2^53 kept exact (as bigint), as OPA keeps numbers
 * arbitrary-precision; `JSON.parse` would round them.
 */
export function parseJsonExact(text: string): unknown {
  return parseYaml(text, { intAsBigInt: true, schema: 'json' });
}

/** Loads every `.rego` and data file under the given files or directories. */
export function loadPolicyFiles(paths: readonly string[], regoVersion?: 0 | 1): LoadedPolicies {
  const modules: ModuleSource[] = [];
  const data: Record<string, unknown> = Object.create(null);
  for (const root of paths) {
    const files: string[] = [];
    walk(root, files);
    const base = statSync(root).isDirectory() ? root : dirname(root);
    for (const file of files) {
      if (file.endsWith('.rego')) {
        modules.push({ file, source: readFileSync(file, 'utf8'), ...(regoVersion !== undefined ? { regoVersion } : {}) });
      } else if (DATA_FILES.has(basename(file)) || (file === root && /\.(json|ya?ml)$/.test(file))) {
        const text = readFileSync(file, 'utf8');
        const document: unknown = file.endsWith('.json') ? parseJsonExact(text) : parseYaml(text, { intAsBigInt: true });
        const dir = relative(base, dirname(file));
        mergeAt(data, dir === '' ? [] : dir.split(sep), document);
      }
    }
  }
  return { modules, data };
}

/** Deep-merges `document` into `target` at `path`; later documents win on scalar conflicts. */
export function mergeAt(target: Record<string, unknown>, path: readonly string[], document: unknown): void {
  let node = target;
  for (const key of path) {
    const child = Object.hasOwn(node, key) ? node[key] : undefined;
    if (child === null || typeof child !== 'object' || Array.isArray(child)) {
      const fresh: Record<string, unknown> = Object.create(null);
      node[key] = fresh;
      node = fresh;
    } else node = child as Record<string, unknown>;
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    if (path.length === 0) throw new Error('a root data document must be an object');
    const parent = path.slice(0, -1).reduce<Record<string, unknown>>((n, k) => n[k] as Record<string, unknown>, target);
    parent[path[path.length - 1]!] = document;
    return;
  }
  for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
    const existing = Object.hasOwn(node, key) ? node[key] : undefined;
    if (existing !== null && typeof existing === 'object' && !Array.isArray(existing) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      mergeAt(node, [key], value);
    } else node[key] = value;
  }
}
