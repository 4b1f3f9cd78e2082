// Turns a set of files (YAML resource documents and the Rego files they name) into domain
// resources, each remembering where it came from. Every problem of every file is collected;
// nothing is thrown for bad input.
import { posix } from 'node:path';
import { LineCounter, parseAllDocuments, isNode, type Document } from 'yaml';
import { decodeResource } from '../api/resource-codec.js';
import type { AnyResource } from '../api/resource-types.js';
import type { Problem } from '../errors.js';

/** Files by POSIX path relative to the root they were read from. */
export type FileSet = ReadonlyMap<string, string>;

/** What loading one YAML file needs of the others: the Rego files it names. */
interface ModuleFiles {
  get(path: string): string | undefined;
}

export interface ResourceSource {
  readonly file: string;
  /** Index of the document within its file (0-based). */
  readonly document: number;
  readonly line: number;
}

export interface LoadedResource {
  readonly resource: AnyResource;
  readonly source: ResourceSource;
}

export interface LoadResult {
  readonly resources: readonly LoadedResource[];
  readonly problems: readonly Problem[];
}

export function isResourceFile(path: string): boolean {
  return /\.ya?ml$/.test(path);
}

/** The Rego files a parsed document names (`spec.modules[].file`, `spec.tests[].file`), as given. */
export function moduleFilesOf(document: unknown): string[] {
  const spec = (document as { spec?: Record<string, unknown> } | null)?.spec;
  if (typeof spec !== 'object' || spec === null) return [];
  const files: string[] = [];
  for (const field of ['modules', 'tests']) {
    const modules = spec[field];
    if (!Array.isArray(modules)) continue;
    for (const module of modules) {
      const file = (module as { file?: unknown } | null)?.file;
      if (typeof file === 'string') files.push(file);
    }
  }
  return files;
}

/** Resolves a module path relative to the YAML file naming it; undefined if it leaves the root. */
export function resolveModulePath(yamlFile: string, moduleFile: string): string | undefined {
  const resolved = posix.normalize(posix.join(posix.dirname(yamlFile), moduleFile));
  return resolved.startsWith('../') || resolved === '..' || posix.isAbsolute(resolved) ? undefined : resolved;
}

function locate(document: Document, lines: LineCounter, pointer: string): { line: number; col: number } {
  const segments = pointer.split('/').slice(1).map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  // The deepest node that exists: a missing field is reported at its parent.
  for (let depth = segments.length; depth >= 0; depth--) {
    const node: unknown = depth === 0 ? document.contents : document.getIn(segments.slice(0, depth), true);
    if (isNode(node) && node.range !== undefined && node.range !== null) {
      return lines.linePos(node.range[0]);
    }
  }
  return { line: 1, col: 1 };
}

/** Replaces `{file}` modules by `{name, rego}` read from the file set; problems for missing files. */
function inlineModules(plain: Record<string, unknown>, file: string, document: Document, lines: LineCounter, files: ModuleFiles, problems: Problem[]): void {
  const spec = plain.spec as Record<string, unknown> | undefined;
  if (plain.kind !== 'AuthorizationPolicy' || typeof spec !== 'object' || spec === null) return;
  for (const field of ['modules', 'tests']) {
    const modules = spec[field];
    if (!Array.isArray(modules)) continue;
    spec[field] = modules.map((module: unknown, index: number) => {
      const moduleFile = (module as { file?: unknown } | null)?.file;
      if (typeof moduleFile !== 'string') return module;
      const pointer = `/spec/${field}/${index}/file`;
      const resolved = resolveModulePath(file, moduleFile);
      const rego = resolved === undefined ? undefined : files.get(resolved);
      if (resolved === undefined || rego === undefined) {
        problems.push({
          code: 'POLICY_MODULE_FILE_MISSING',
          file,
          path: `spec.${field}[${index}].file`,
          ...locate(document, lines, pointer),
          message:
            resolved === undefined
              ? `${moduleFile} is outside the resource directory`
              : `${moduleFile} not found (looked for ${resolved})`,
        });
        return module;
      }
      return { name: resolved, rego };
    });
  }
}

export function loadFile(file: string, text: string, files: ModuleFiles): LoadResult {
  const problems: Problem[] = [];
  const resources: LoadedResource[] = [];
  const lines = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(documents)) return { resources, problems };
  documents.forEach((document, index) => {
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const position = lines.linePos(error.pos[0]);
        problems.push({ code: 'RESOURCE_YAML_INVALID', file, ...position, message: error.message.split('\n')[0] ?? error.message });
      }
      return;
    }
    if (document.contents === null) return; // an empty document (e.g. a trailing `---`)
    const plain = document.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
    const line = locate(document, lines, '').line;
    const fileProblems: Problem[] = [];
    inlineModules(plain, file, document, lines, files, fileProblems);
    if (fileProblems.length > 0) {
      problems.push(...fileProblems);
      return;
    }
    const decoded = decodeResource(plain);
    if (!decoded.ok) {
      for (const issue of decoded.issues) {
        problems.push({
          code: 'RESOURCE_SCHEMA_INVALID',
          file,
          path: issue.path,
          ...locate(document, lines, issue.pointer),
          message: issue.message,
        });
      }
      return;
    }
    resources.push({ resource: decoded.resource, source: { file, document: index, line } });
  });
  return { resources, problems };
}

/** Loads every YAML file of the set (in path order, so results are stable). */
export function loadFileSet(files: FileSet): LoadResult {
  return new FileSetLoader().load(files);
}

interface CachedFile {
  readonly text: string;
  /** The module files it read, with the text it saw (undefined: missing). */
  readonly modules: ReadonlyMap<string, string | undefined>;
  readonly result: LoadResult;
}

/**
 * Loads file sets again and again (a watched directory), parsing only the files that changed or
 * whose Rego files changed; unchanged files keep their (frozen) resources.
 */
export class FileSetLoader {
  #cache = new Map<string, CachedFile>();

  load(files: FileSet): LoadResult {
    const resources: LoadedResource[] = [];
    const problems: Problem[] = [];
    const cache = new Map<string, CachedFile>();
    for (const path of [...files.keys()].filter(isResourceFile).sort()) {
      const text = files.get(path) ?? '';
      let entry = this.#cache.get(path);
      if (entry === undefined || entry.text !== text || [...entry.modules].some(([module, seen]) => files.get(module) !== seen)) {
        const modules = new Map<string, string | undefined>();
        const tracked: ModuleFiles = {
          get: (module) => {
            const found = files.get(module);
            modules.set(module, found);
            return found;
          },
        };
        entry = { text, modules, result: loadFile(path, text, tracked) };
      }
      cache.set(path, entry);
      resources.push(...entry.result.resources);
      problems.push(...entry.result.problems);
    }
    this.#cache = cache;
    return { resources, problems };
  }
}
