// Measures convergence the way pilot_proxy_convergence_time does: from the moment a revision is
// accepted until every sidecar it was pushed to has ACKed it. A NACK or a newer revision ends the
// round without a measurement (it did not converge on that revision).
export interface Convergence {
  readonly revision: number;
  readonly ms: number;
}

export class ConvergenceTracker {
  #revision = 0;
  #acceptedAt = 0;
  #pending = new Set<number>();
  #open = false;
  #last: Convergence | undefined;
  readonly #observe: (ms: number) => void;

  constructor(observe: (ms: number) => void) {
    this.#observe = observe;
  }

  /** A push of `revision` sent snapshots to `streams`. */
  pushed(revision: number, acceptedAt: number, streams: readonly number[]): void {
    if (revision !== this.#revision) {
      this.#revision = revision;
      this.#acceptedAt = acceptedAt;
      this.#pending = new Set();
      this.#open = streams.length > 0;
    }
    for (const stream of streams) this.#pending.add(stream);
  }

  acked(stream: number, revision: number): void {
    if (revision !== this.#revision) return;
    this.#settle(stream);
  }

  nacked(revision: number): void {
    if (revision === this.#revision) this.#open = false;
  }

  /** A stream that closed no longer holds the round open. */
  gone(stream: number): void {
    this.#settle(stream);
  }

  #settle(stream: number): void {
    if (!this.#pending.delete(stream) || this.#pending.size > 0 || !this.#open) return;
    this.#open = false;
    const ms = Date.now() - this.#acceptedAt;
    this.#last = { revision: this.#revision, ms };
    this.#observe(ms);
  }

  /** Whether every pushed sidecar ACKed the current revision, and the last measurement. */
  state(): { revision: number; converged: boolean; last?: Convergence } {
    return { revision: this.#revision, converged: this.#pending.size === 0, ...(this.#last === undefined ? {} : { last: this.#last }) };
  }
}
