// `--store file:DIR`: a directory of YAML files (and the Rego files they name) is the state.
// The directory is watched; each edit that validates becomes the next revision, a broken one is
// refused whole and logged with every problem while the running revision stays. `weft apply`
// and `weft delete` edit the files themselves (the document in place, or a new file under
// applied/), so the directory stays the single source of truth for GitOps.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Document, parseAllDocuments } from 'yaml';
import { encodeResource } from '../api/resource-codec.js';
import { ChangeRefusedError, ControlPlaneError } from '../errors.js';
import { isResourceFile, loadFileSet, type FileSet, type LoadedResource } from '../resources/document-loader.js';
import type { PolicyChecker } from '../resources/policy-check.js';
import { makeRevision, problemsOf, type Revision } from '../resources/revision.js';
import { planApply, planDelete, type ChangePlan, type ResourceChange } from './change-plan.js';
import type { ChangeResult, Refusal, ResourceStore, StoreEvents } from './resource-store.js';

const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Edits arrive as bursts of events (editors write, rename, chmod): wait for quiet. */
const WATCH_QUIET_MS = 100;
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

export class FileStore implements ResourceStore {
  readonly #dir: string;
  readonly #policies: PolicyChecker;
  #events: StoreEvents | undefined;
  #revision: Revision | undefined;
  #refusal: Refusal | undefined;
  #seen = '';
  #queue: Promise<unknown> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  #rescan: NodeJS.Timeout | undefined;
  #quiet: NodeJS.Timeout | undefined;

  constructor(dir: string, policies: PolicyChecker) {
    this.#dir = dir;
    this.#policies = policies;
  }

  /** Runs store operations one at a time: a reload never interleaves with an apply. */
  #serially<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async start(events: StoreEvents): Promise<Revision> {
    this.#events = events;
    await mkdir(this.#dir, { recursive: true });
    const files = await readTree(this.#dir);
    const loaded = loadFileSet(files);
    const problems = await problemsOf(loaded, this.#policies);
    if (problems.length > 0) throw new ChangeRefusedError(problems);
    this.#seen = fingerprint(files);
    this.#revision = makeRevision(1, loaded.resources);
    this.#watcher = watch(this.#dir, { recursive: true }, () => this.#scheduleReload());
    this.#watcher.on('error', () => undefined);
    this.#rescan = setInterval(() => this.#scheduleReload(), RESCAN_INTERVAL_MS).unref();
    return this.#revision;
  }

  current(): Revision {
    if (this.#revision === undefined) throw new Error('file store not started');
    return this.#revision;
  }

  lastRefusal(): Refusal | undefined {
    return this.#refusal;
  }

  #scheduleReload(): void {
    clearTimeout(this.#quiet);
    this.#quiet = setTimeout(() => void this.#serially(() => this.#reload()), WATCH_QUIET_MS).unref();
  }

  /** Reads the directory; a changed, valid state becomes the next revision. */
  async #reload(): Promise<Revision> {
    const current = this.current();
    const files = await readTree(this.#dir);
    const seen = fingerprint(files);
    if (seen === this.#seen) return current;
    this.#seen = seen;
    const loaded = loadFileSet(files);
    const problems = await problemsOf(loaded, this.#policies);
    if (problems.length > 0) {
      this.#refusal = { at: Date.now(), problems };
      this.#events?.refused(this.#refusal);
      return current;
    }
    this.#refusal = undefined;
    const next = makeRevision(current.number + 1, loaded.resources);
    if (next.hash === current.hash) return current;
    this.#revision = next;
    this.#events?.revision(next);
    return next;
  }

  apply(files: FileSet, options: { dryRun: boolean }): Promise<ChangeResult> {
    return this.#serially(async () => this.#record(await planApply(this.current(), files, this.#policies), options));
  }

  delete(keys: readonly string[], options: { dryRun: boolean }): Promise<ChangeResult> {
    return this.#serially(async () => this.#record(await planDelete(this.current(), keys, this.#policies), options));
  }

  async #record(plan: ChangePlan, options: { dryRun: boolean }): Promise<ChangeResult> {
    if (!plan.ok) throw new ChangeRefusedError(plan.problems);
    const effective = plan.changes.filter((change) => change.action !== 'unchanged');
    if (options.dryRun || effective.length === 0) {
      return { revision: this.current(), changes: plan.changes, dryRun: options.dryRun };
    }
    try {
      await this.#persist(effective);
    } catch (error) {
      throw new ControlPlaneError('STORE_WRITE_FAILED', `cannot write ${this.#dir}: ${(error as Error).message}`);
    }
    const revision = await this.#reload();
    if (this.#refusal !== undefined) throw new ChangeRefusedError(this.#refusal.problems);
    return { revision, changes: plan.changes, dryRun: false };
  }

  /** Edits each affected file once: replaced or removed documents in place, new ones in applied/. */
  async #persist(changes: readonly ResourceChange[]): Promise<void> {
    const edits = new Map<string, Map<number, LoadedResource | undefined>>();
    for (const change of changes) {
      if (change.previous === undefined) {
        const { kind, metadata } = change.applied!.resource;
        const path = join(this.#dir, 'applied', `${metadata.namespace}.${kind.toLowerCase()}.${metadata.name}.yaml`);
        await mkdir(join(this.#dir, 'applied'), { recursive: true });
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

  async close(): Promise<void> {
    this.#watcher?.close();
    clearInterval(this.#rescan);
    clearTimeout(this.#quiet);
    await this.#queue;
  }
}
