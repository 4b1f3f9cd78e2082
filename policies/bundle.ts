// Policy bundles in OPA's layout (tar.gz): `.rego` files with data.json/data.yaml documents and a
// `.manifest` (whose `rego_version` selects v0 or v1) load through weft's engine; a bundle built
// with `opa build -t wasm` (`/policy.wasm`) loads through @open-policy-agent/opa-wasm. Both
// answer through the same `Policy` interface.
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Parser, type ReadEntry } from 'tar';
import { RegoError } from './engine/errors.js';
import { mergeAt } from './loader.js';
import { compile, entrypointPath, type EvaluateOptions, type EvaluationResult, type ModuleSource, type Policy } from './policy-set.js';

/** Bundles come from the control plane or an operator: bounded, and never trusted with paths. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

export interface BundleOptions {
  /** Rego version when the manifest does not say; defaults to 1. */
  readonly regoVersion?: 0 | 1;
}

interface Manifest {
  readonly rego_version?: number;
  readonly file_rego_versions?: Record<string, number>;
  readonly wasm?: readonly { entrypoint?: string; module?: string }[];
}

export class BundleError extends Error {
  readonly code = 'bundle_error';
}

/** The regular files of a tar or tar.gz archive, by normalized path without a leading slash. */
export async function readArchive(archive: Uint8Array): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  let total = 0;
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        const path = posix.normalize(entry.path.replace(/^\.?\/+/, ''));
        if (entry.type !== 'File' && entry.type !== 'OldFile') {
          entry.resume();
          return;
        }
        if (path.startsWith('..') || posix.isAbsolute(path)) {
          reject(new BundleError(`bundle entry ${JSON.stringify(entry.path)} escapes the bundle`));
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > MAX_BUNDLE_BYTES) reject(new BundleError(`bundle larger than ${MAX_BUNDLE_BYTES} bytes`));
          else chunks.push(chunk);
        });
        entry.on('end', () => files.set(path, Buffer.concat(chunks)));
      },
    });
    parser.on('error', (error: Error) => reject(new BundleError(`invalid bundle archive: ${error.message}`)));
    parser.on('close', () => resolve());
    parser.end(Buffer.from(archive));
  });
  return files;
}

/** Loads a bundle from a file path or its bytes. */
export async function loadBundle(source: string | Uint8Array, options: BundleOptions = {}): Promise<Policy> {
  const archive = typeof source === 'string' ? await readFile(source) : source;
  if (archive.byteLength > MAX_BUNDLE_BYTES) throw new BundleError(`bundle larger than ${MAX_BUNDLE_BYTES} bytes`);
  const files = await readArchive(archive);
  const manifestText = files.get('.manifest');
  const manifest: Manifest = manifestText === undefined ? {} : (JSON.parse(manifestText.toString('utf8')) as Manifest);
  const data: Record<string, unknown> = Object.create(null);
  for (const [path, bytes] of files) {
    const name = posix.basename(path);
    if (name !== 'data.json' && name !== 'data.yaml' && name !== 'data.yml') continue;
    const text = bytes.toString('utf8');
    const dir = posix.dirname(path);
    mergeAt(data, dir === '.' ? [] : dir.split('/'), name === 'data.json' ? JSON.parse(text) : parseYaml(text));
  }
  const wasmPath = manifest.wasm?.[0]?.module?.replace(/^\/+/, '') ?? 'policy.wasm';
  const wasm = files.get(wasmPath);
  if (wasm !== undefined) return loadWasmPolicy(wasm, data);
  const defaultVersion = versionOf(manifest.rego_version) ?? options.regoVersion ?? 1;
  const modules: ModuleSource[] = [];
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!path.endsWith('.rego')) continue;
    const version = versionOf(manifest.file_rego_versions?.[path] ?? manifest.file_rego_versions?.[`/${path}`]) ?? defaultVersion;
    modules.push({ file: path, source: bytes.toString('utf8'), regoVersion: version });
  }
  if (modules.length === 0) throw new BundleError('bundle holds neither .rego files nor policy.wasm');
  return compile(modules, { data });
}

function versionOf(value: number | undefined): 0 | 1 | undefined {
  if (value === undefined) return undefined;
  if (value !== 0 && value !== 1) throw new BundleError(`unsupported rego_version ${value} in the bundle manifest`);
  return value;
}

/** A policy compiled to wasm by `opa build -t wasm`: entrypoints only, no queries. */
async function loadWasmPolicy(wasm: Buffer, data: Record<string, unknown>): Promise<Policy> {
  const { loadPolicy } = await import('@open-policy-agent/opa-wasm');
  const loaded = await loadPolicy(wasm);
  loaded.setData(data);
  const entrypoints = new Set(Object.keys(loaded.entrypoints as Record<string, number>));
  return {
    evaluate(target: string, options: EvaluateOptions = {}): EvaluationResult {
      const path = entrypointPath(target);
      const name = path?.join('/');
      if (name === undefined || !entrypoints.has(name)) {
        throw new RegoError('rego_compile_error', `wasm bundle has no entrypoint ${target} (entrypoints: ${[...entrypoints].join(', ')})`);
      }
      if (options.data !== undefined) throw new RegoError('rego_compile_error', 'a wasm bundle evaluates with the data it was loaded with');
      const results = loaded.evaluate(options.input ?? null, name) as { result: unknown }[];
      if (results.length === 0 || results[0]!.result === undefined) return { defined: false, value: undefined, results: [] };
      const value = results[0]!.result;
      return { defined: true, value, results: [{ expressions: [value], bindings: {} }] };
    },
  };
}
