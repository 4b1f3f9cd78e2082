// The simulator's notion of time: milliseconds and one-shot timers. The server runs on the real
// clock; the latency model's tests drive the same engine on a virtual one (test/helpers/).

export interface SimClock {
  now(): number;
  /** Runs `fn` after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const realClock: SimClock = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};
