// The pace of a streamed answer as it passes the caller's sidecar: when its output events (its
// tokens, sse-usage-tap.ts) go on, for the inter-token latency histogram and the endpoint's pace
// in the load table. Timed by output events, not by bytes: a role-only first chunk, a
// finish-only last one, the usage chunk and `[DONE]` are no tokens, and a read that brings several
// tokens at once gives each the mean gap.

export class StreamPace {
  private firstOutputAt: number | undefined = undefined;
  private outputsAtFirst = 0;
  private lastOutputAt = 0;
  private outputs = 0;
  /** The mean time between the tokens that came with the last `passed` that had any after an earlier one (ms). */
  gapMs = 0;

  /**
   * Bytes of the stream went on at `now` (ms), with `outputs` output events in all so far: the
   * number of new tokens that came after an earlier one, each `gapMs` after the one before.
   */
  passed(now: number, outputs: number): number {
    const fresh = outputs - this.outputs;
    if (fresh <= 0) return 0;
    this.outputs = outputs;
    if (this.firstOutputAt === undefined) {
      // Tokens in the first read with output: their gaps are not seen.
      this.firstOutputAt = now;
      this.outputsAtFirst = outputs;
      this.lastOutputAt = now;
      return 0;
    }
    this.gapMs = (now - this.lastOutputAt) / fresh;
    this.lastOutputAt = now;
    return fresh;
  }

  /** The tokens after the first read with output, and the ms from it to the last (0 tokens: no measure). */
  get span(): { readonly ms: number; readonly tokens: number } {
    return this.firstOutputAt === undefined ? { ms: 0, tokens: 0 } : { ms: this.lastOutputAt - this.firstOutputAt, tokens: this.outputs - this.outputsAtFirst };
  }
}
