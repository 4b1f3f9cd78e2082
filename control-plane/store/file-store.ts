// `--store file:DIR`: a directory of YAML files (and the Rego files they name) is the state.
// The directory is watched; `weft apply` and `weft delete` edit the files themselves (the
// document in place, or a new file under applied/), so the directory stays the single source
// of truth for GitOps. Validation and revisions are ValidatingStore's.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Document, parseAllDocuments } from 'yaml';
import { encodeResource } from '../api/resource-codec.js';
import { FileSetLoader, isResourceFile, type FileSet, type LoadedResource } from '../resources/document-loader.js';
import type { PolicyChecker } from '../resources/policy-check.js';
import type { ResourceChange } from './change-plan.js';
import { ValidatingStore, type StoreBackend, type StoredState } from './validating-store.js';

const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** fs.watch can miss events (new subdirectories, some editors); a cheap rescan catches those. */
const RESCAN_INTERVAL_MS = 2000;

async function readTree(root: string): Promise<FileSet> {
  const files = new Map<string, string>();
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const path = relative(root, full).split(sep).join('/');
    if (path.split('/').some((part) => part.startsWith('.'))) continue;
    if (!isResourceFile(path) && !path.endsWith('.rego')) continue;
    const info = await stat(full);
    if (info.size > MAX_FILE_BYTES) continue;
    files.set(path, await readFile(full, 'utf8'));
  }
  return files;
}

function fingerprint(files: FileSet): string {
  return [...files.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([path, text]) => `${path}\u0000${text}`).join('\u0001');
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o644 });
  await rename(temporary, path);
}

class FileDirectory implements StoreBackend {
  readonly name: string;
  readonly #dir: string;
  readonly #loader = new FileSetLoader();
  #watcher: FSWatcher | undefined;
  #rescan: NodeJS.Timeout | undefined;

  constructor(dir: string) {
    this.#dir = dir;
    this.name = `file:${dir}`;
  }

  async read(): Promise<StoredState> {
    await mkdir(this.#dir, { recursive: true });
    const files = await readTree(this.#dir);
    return { fingerprint: fingerprint(files), loaded: this.#loader.load(files) };
  }

  watch(changed: () => void): Promise<void> {
    this.#watcher = watch(this.#dir, { recursive: true }, changed);
    this.#watcher.on('error', () => undefined);
    this.#rescan = setInterval(changed, RESCAN_INTERVAL_MS).unref();
    return Promise.resolve();
  }

  /** Edits each affected file once: replaced or removed documents in place, new ones in applied/. */
  async write(changes: readonly ResourceChange[]): Promise<void> {
    const edits = new Map<string, Map<number, LoadedResource | undefined>>();
    for (const change of changes) {
      if (change.previous === undefined) {
        const { kind, metadata } = change.applied!.resource;
        await mkdir(join(this.#dir, 'applied'), { recursive: true });
        const path = join(this.#dir, 'applied', `${metadata.namespace}.${kind.toLowerCase()}.${metadata.name}.yaml`);
        await writeAtomically(path, new Document(encodeResource(change.applied!.resource)).toString());
        continue;
      }
      const byDocument = edits.get(change.previous.source.file) ?? new Map<number, LoadedResource | undefined>();
      byDocument.set(change.previous.source.document, change.applied);
      edits.set(change.previous.source.file, byDocument);
    }
    for (const [file, byDocument] of edits) {
      const path = join(this.#dir, file);
      const documents = parseAllDocuments(await readFile(path, 'utf8'));
      if (!Array.isArray(documents)) continue;
      const kept: string[] = [];
      documents.forEach((document, index) => {
        if (!byDocument.has(index)) {
          if (document.contents !== null) kept.push(document.toString({ directives: false }));
          return;
        }
        const replacement = byDocument.get(index);
        if (replacement !== undefined) kept.push(new Document(encodeResource(replacement.resource)).toString());
      });
      if (kept.length === 0) await unlink(path);
      else await writeAtomically(path, kept.join('---\n'));
    }
  }

  close(): Promise<void> {
    this.#watcher?.close();
    clearInterval(this.#rescan);
    return Promise.resolve();
  }
}

export class FileStore extends ValidatingStore {
  constructor(dir: string, policies: PolicyChecker) {
    super(new FileDirectory(dir), policies);
  }
}
