// The sidecar's latest denials, dry-run would-denials and errors, kept in memory (a bounded ring)
// for the admin listener's `/decisions`, which the control plane's dashboard reads. The decision
// log's lines stay the record; this is a window onto the last few.
export interface RecentDecision {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly requestId: string;
  readonly principal: string | null;
  readonly asset: string | null;
  readonly policy: string;
  readonly decision: 'deny' | 'dry_run_deny' | 'error';
  /** The rules that decided, `file:row document` (the decision log's `decided_by`), else the policy's entrypoint. */
  readonly rules: readonly string[];
  readonly reason: string | null;
}

export const RECENT_DECISIONS_KEPT = 100;

export class RecentDecisions {
  readonly #ring: RecentDecision[] = [];
  /** Counts every decision ever added, so a reader can tell what it has not seen. */
  #added = 0;

  add(decision: RecentDecision): void {
    if (this.#ring.length === RECENT_DECISIONS_KEPT) this.#ring.shift();
    this.#ring.push(decision);
    this.#added++;
  }

  /** Newest last. */
  list(): { readonly added: number; readonly decisions: readonly RecentDecision[] } {
    return { added: this.#added, decisions: [...this.#ring] };
  }
}
