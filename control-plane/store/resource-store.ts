// What every store offers the control plane: the running revision, notification of the next
// one, and apply/delete that either record a whole validated change or refuse it whole.
import type { Problem } from '../errors.js';
import type { FileSet } from '../resources/document-loader.js';
import type { Revision } from '../resources/revision.js';
import type { ResourceChange } from './change-plan.js';

export interface ChangeResult {
  readonly revision: Revision;
  readonly changes: readonly ResourceChange[];
  readonly dryRun: boolean;
}

/** The last change the store refused without anyone asking (e.g. a broken file edit). */
export interface Refusal {
  readonly at: number;
  readonly problems: readonly Problem[];
}

export interface StoreEvents {
  revision(revision: Revision): void;
  refused(refusal: Refusal): void;
}

export interface ResourceStore {
  /** Loads the stored state; throws ChangeRefusedError if it does not validate. */
  start(events: StoreEvents): Promise<Revision>;
  current(): Revision;
  lastRefusal(): Refusal | undefined;
  /** Throws ChangeRefusedError with every problem; nothing is recorded then. */
  apply(files: FileSet, options: { dryRun: boolean }): Promise<ChangeResult>;
  delete(keys: readonly string[], options: { dryRun: boolean }): Promise<ChangeResult>;
  close(): Promise<void>;
}
