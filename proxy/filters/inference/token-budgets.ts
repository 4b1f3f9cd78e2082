// Token budgets enforced at admission, not charged after the fact: a request reserves its
// prompt estimate + max_tokens in each of its tenant's budget windows and is refused if any
// would overflow; its reported usage then settles the reservation (the difference returned or
// charged). Windows are fixed, aligned to multiples of their length; an entry whose window has
// ended is dropped when the ledger grows past its bound, so memory stays bounded whatever the
// number of tenants. A stream spending past its reservation extends it as it goes, and a budget
// with `endStreams` ends the tenant's streams once what they spent is over it.
import type { TokenBudget } from '../../../control-plane/api/resource-types.js';

export interface Reservation {
  readonly tenant: string;
  readonly tokens: number;
  /** The window start of each budget when reserved: settling a window that ended changes nothing. */
  readonly windows: readonly number[];
}

export type Admission = { readonly admitted: true; readonly reservation: Reservation } | { readonly admitted: false; readonly budget: TokenBudget; readonly retryAfterMs: number };

interface WindowUse {
  start: number;
  used: number;
}

const MAX_ENTRIES = 100_000;

export class TokenBudgetLedger {
  private readonly use = new Map<string, WindowUse[]>();

  constructor(
    private readonly budgets: readonly TokenBudget[],
    private readonly now: () => number = Date.now,
  ) {}

  /** Tenants the ledger holds now (at most about MAX_ENTRIES, past which ended ones are dropped). */
  get tenants(): number {
    return this.use.size;
  }

  private windowsOf(tenant: string, at: number): WindowUse[] {
    let windows = this.use.get(tenant);
    if (windows === undefined) {
      if (this.use.size >= MAX_ENTRIES) this.dropEnded(at);
      windows = this.budgets.map(() => ({ start: -1, used: 0 }));
      this.use.set(tenant, windows);
    }
    this.budgets.forEach((budget, i) => {
      const start = Math.floor(at / budget.windowMs) * budget.windowMs;
      if (windows[i]!.start !== start) windows[i] = { start, used: 0 };
    });
    return windows;
  }

  private dropEnded(at: number): void {
    for (const [tenant, windows] of this.use) {
      if (windows.every((w, i) => w.start + this.budgets[i]!.windowMs <= at)) this.use.delete(tenant);
    }
  }

  reserve(tenant: string, tokens: number): Admission {
    const at = this.now();
    const windows = this.windowsOf(tenant, at);
    for (let i = 0; i < this.budgets.length; i += 1) {
      const budget = this.budgets[i]!;
      if (windows[i]!.used + tokens > budget.tokens) return { admitted: false, budget, retryAfterMs: windows[i]!.start + budget.windowMs - at };
    }
    for (const window of windows) window.used += tokens;
    return { admitted: true, reservation: { tenant, tokens, windows: windows.map((w) => w.start) } };
  }

  /** The request's real token count is known (its usage): the reservation becomes that. */
  settle(reservation: Reservation, actualTokens: number): void {
    const windows = this.windowsOf(reservation.tenant, this.now());
    windows.forEach((window, i) => {
      if (window.start === reservation.windows[i]) window.used = Math.max(0, window.used + actualTokens - reservation.tokens);
    });
  }

  /**
   * A running request has spent `spent` tokens: what passes its reservation is charged now (so
   * the tenant's other requests see it). Returns the reservation to settle from then on.
   */
  extend(reservation: Reservation, spent: number): Reservation {
    if (spent <= reservation.tokens) return reservation;
    const windows = this.windowsOf(reservation.tenant, this.now());
    windows.forEach((window, i) => {
      if (window.start === reservation.windows[i]) window.used += spent - reservation.tokens;
    });
    return { ...reservation, tokens: spent };
  }

  /**
   * Whether a budget that ends streams is overspent for the tenant now: past its tokens, not at
   * them (reservations may fill a budget exactly; only spending beyond it ends a stream).
   */
  exhaustedForStreams(tenant: string): boolean {
    const windows = this.windowsOf(tenant, this.now());
    return this.budgets.some((budget, i) => budget.endStreams && windows[i]!.used > budget.tokens);
  }

  /** Tokens left in the tightest budget, for logs and policy input. */
  remaining(tenant: string): number {
    const windows = this.windowsOf(tenant, this.now());
    return Math.min(Infinity, ...this.budgets.map((budget, i) => Math.max(0, budget.tokens - windows[i]!.used)));
  }
}

/**
 * A request's reservations in every ledger that governs it (the filter's own budgets and those
 * of each InferenceObjective matching it), taken all or none, and settled, extended and checked
 * together.
 */
export class HeldBudgets {
  private constructor(private held: { readonly ledger: TokenBudgetLedger; reservation: Reservation }[]) {}

  /** Reserves `tokens` for `tenant` in each ledger; refused by the first that would overflow, the others given back. */
  static reserve(ledgers: readonly TokenBudgetLedger[], tenant: string, tokens: number): { readonly admitted: true; readonly held: HeldBudgets } | { readonly admitted: false; readonly retryAfterMs: number } {
    const held: { readonly ledger: TokenBudgetLedger; reservation: Reservation }[] = [];
    for (const ledger of ledgers) {
      const admission = ledger.reserve(tenant, tokens);
      if (!admission.admitted) {
        for (const taken of held) taken.ledger.settle(taken.reservation, 0);
        return { admitted: false, retryAfterMs: admission.retryAfterMs };
      }
      held.push({ ledger, reservation: admission.reservation });
    }
    return { admitted: true, held: new HeldBudgets(held) };
  }

  settle(actualTokens: number): void {
    for (const { ledger, reservation } of this.held) ledger.settle(reservation, actualTokens);
    this.held = [];
  }

  extend(spent: number): void {
    for (const taken of this.held) taken.reservation = taken.ledger.extend(taken.reservation, spent);
  }

  /** Whether a budget that ends streams is overspent in any of the ledgers. */
  exhaustedForStreams(): boolean {
    return this.held.some(({ ledger, reservation }) => ledger.exhaustedForStreams(reservation.tenant));
  }
}
