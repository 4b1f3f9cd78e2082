// Holds the snapshot the sidecar runs on. The request path reads it synchronously (`current()`)
// and never waits for the control plane; a new snapshot replaces the old one in one assignment,
// so a request sees either the old or the new one whole.
import type { Snapshot } from './snapshot.js';

export interface AppliedSnapshot<Compiled> {
  readonly snapshot: Snapshot;
  /** What the sidecar built from the snapshot before accepting it (e.g. compiled policy sets). */
  readonly compiled: Compiled;
  readonly appliedAt: number;
  /** Where it came from: a control-plane push, or the persisted copy after a restart. */
  readonly source: 'control-plane' | 'disk';
}

export class SnapshotHolder<Compiled> {
  #current: AppliedSnapshot<Compiled> | undefined;
  readonly #listeners = new Set<(applied: AppliedSnapshot<Compiled>) => void>();

  current(): AppliedSnapshot<Compiled> | undefined {
    return this.#current;
  }

  replace(applied: AppliedSnapshot<Compiled>): void {
    this.#current = applied;
    for (const listener of this.#listeners) listener(applied);
  }

  onChange(listener: (applied: AppliedSnapshot<Compiled>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
