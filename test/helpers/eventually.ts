// Polls until a condition holds, for state that converges asynchronously (a pushed snapshot, a
// reconnected stream). Bounded by a deadline; the last value is in the error.

/** Resolves with the first value of `what` that `accept` takes; a rejection counts as a value. */
export async function eventually<T>(what: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what().catch((error: unknown) => error as T);
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`still ${value instanceof Error ? value.message : JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
