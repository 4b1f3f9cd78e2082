// A clock that moves only when a test advances it, for models whose timing is the behaviour
// under test (deploy/sim's latency model): timers fire in time order, ties in creation order.
import type { SimClock } from '../../deploy/sim/sim-clock.js';

interface Timer {
  readonly at: number;
  readonly order: number;
  readonly fn: () => void;
}

export class VirtualClock implements SimClock {
  private time = 0;
  private created = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + ms, order: (this.created += 1), fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Fires every timer due within `ms`, in order, then stands at now + ms. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const next = this.nextTimer();
      if (next === undefined || next.at > until) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = next.at;
      next.fn();
    }
    this.time = until;
  }

  /** Fires timers until none is left (bounded, so a model that never settles fails the test). */
  runAll(maxTimers = 1_000_000): void {
    for (let fired = 0; fired < maxTimers; fired += 1) {
      const next = this.nextTimer();
      if (next === undefined) return;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = next.at;
      next.fn();
    }
    throw new Error(`still timers after ${maxTimers}`);
  }

  private nextTimer(): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.timers) if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.order < best.order)) best = timer;
    return best;
  }
}
