// The behaviour every store shares, over a backend that only reads, writes and watches: the
// stored state is loaded and validated as a whole; a valid, different state becomes the next
// revision; an invalid one is refused whole (recorded and reported) while the running revision
// stays; apply and delete are planned against the running revision, validated, recorded by the
// backend and read back. Operations run one at a time.
import { ChangeRefusedError, ControlPlaneError } from '../errors.js';
import type { FileSet, LoadResult } from '../resources/document-loader.js';
import type { PolicyChecker } from '../resources/policy-check.js';
import { hashResources, makeRevision, problemsOf, type Revision } from '../resources/revision.js';
import { planApply, planDelete, type ChangePlan, type ResourceChange } from './change-plan.js';
import type { ChangeResult, Refusal, ResourceStore, StoreEvents } from './resource-store.js';

export interface StoredState {
  /** Equal fingerprints mean nothing changed since the last read. */
  readonly fingerprint: string;
  readonly loaded: LoadResult;
  /** The backend's own revision number for this state (etcd's), if it has one. */
  readonly revision?: number;
}

export interface StoreBackend {
  /** Names the store in messages, e.g. `file:/srv/mesh`. */
  readonly name: string;
  read(): Promise<StoredState>;
  /** Records validated changes; throws ControlPlaneError when it cannot. */
  write(changes: readonly ResourceChange[]): Promise<void>;
  /** Calls `changed` whenever the stored state may have changed. */
  watch(changed: () => void): Promise<void>;
  /** Told the running revision after each one is accepted, or a stored state is refused (stores that report status). */
  settled?(revision: Revision, refusal: Refusal | undefined): void;
  close(): Promise<void>;
}

/** Bursts of change notifications are read once. */
const RELOAD_QUIET_MS = 100;

export class ValidatingStore implements ResourceStore {
  readonly #backend: StoreBackend;
  readonly #policies: PolicyChecker;
  #events: StoreEvents | undefined;
  #revision: Revision | undefined;
  #refusal: Refusal | undefined;
  #seen = '';
  #queue: Promise<unknown> = Promise.resolve();
  #quiet: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(backend: StoreBackend, policies: PolicyChecker) {
    this.#backend = backend;
    this.#policies = policies;
  }

  #serially<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async start(events: StoreEvents): Promise<Revision> {
    this.#events = events;
    let state: StoredState;
    let problems;
    try {
      state = await this.#backend.read();
      problems = await problemsOf(state.loaded, this.#policies);
    } catch (error) {
      await this.#backend.close();
      throw error;
    }
    if (problems.length > 0) {
      await this.#backend.close();
      throw new ChangeRefusedError(problems);
    }
    this.#seen = state.fingerprint;
    this.#revision = makeRevision(state.revision ?? 1, state.loaded.resources);
    this.#backend.settled?.(this.#revision, undefined);
    await this.#backend.watch(() => this.#scheduleReload());
    return this.#revision;
  }

  current(): Revision {
    if (this.#revision === undefined) throw new Error(`store ${this.#backend.name} not started`);
    return this.#revision;
  }

  lastRefusal(): Refusal | undefined {
    return this.#refusal;
  }

  #scheduleReload(): void {
    if (this.#closed) return;
    clearTimeout(this.#quiet);
    this.#quiet = setTimeout(() => {
      this.#serially(() => this.#reload()).catch(() => undefined);
    }, RELOAD_QUIET_MS).unref();
  }

  /**
   * Reads the store; a changed, valid state becomes the next revision. `validatedHash` names a
   * resource set this store has just validated and written: read back unchanged, it is not
   * compiled and checked a second time.
   */
  async #reload(validatedHash?: string): Promise<Revision> {
    const current = this.current();
    const state = await this.#backend.read();
    if (state.fingerprint === this.#seen) return current;
    this.#seen = state.fingerprint;
    const next = makeRevision(state.revision ?? current.number + 1, state.loaded.resources);
    const alreadyValidated = state.loaded.problems.length === 0 && next.hash === validatedHash;
    const problems = alreadyValidated ? [] : await problemsOf(state.loaded, this.#policies);
    if (problems.length > 0) {
      this.#refusal = { at: Date.now(), problems };
      this.#events?.refused(this.#refusal);
      this.#backend.settled?.(current, this.#refusal);
      return current;
    }
    this.#refusal = undefined;
    if (next.hash === current.hash) return current;
    this.#revision = next;
    this.#events?.revision(next);
    this.#backend.settled?.(next, undefined);
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
      await this.#backend.write(effective);
    } catch (error) {
      if (error instanceof ControlPlaneError) throw error;
      throw new ControlPlaneError('STORE_WRITE_FAILED', `cannot write to ${this.#backend.name}: ${(error as Error).message}`);
    }
    const revision = await this.#reload(hashResources(plan.next));
    if (this.#refusal !== undefined) throw new ChangeRefusedError(this.#refusal.problems);
    return { revision, changes: plan.changes, dryRun: false };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#quiet);
    await this.#queue;
    await this.#backend.close();
  }
}
