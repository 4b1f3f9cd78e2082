// A stream's pace as its tokens pass (stream-pace.ts): gaps between tokens only, the first read's
// tokens not gapped, several tokens in one read sharing its gap, and the span the load table
// takes the endpoint's pace from.
import { describe, expect, it } from 'vitest';
import { StreamPace } from '../../../proxy/filters/inference/stream-pace.js';

describe('stream pace', () => {
  it('times tokens, not the reads without output', () => {
    const pace = new StreamPace();
    // A role-only first chunk (OpenAI, vLLM): bytes, no token.
    expect(pace.passed(100, 0)).toBe(0);
    // The first token: nothing before it to measure from.
    expect(pace.passed(130, 1)).toBe(0);
    expect(pace.passed(170, 2)).toBe(1);
    expect(pace.gapMs).toBe(40);
    // Two tokens in one read share its gap.
    expect(pace.passed(250, 4)).toBe(2);
    expect(pace.gapMs).toBe(40);
    // The finish-only chunk, the usage chunk and [DONE]: no token, no gap.
    expect(pace.passed(251, 4)).toBe(0);
    expect(pace.gapMs).toBe(40);
    expect(pace.span).toEqual({ ms: 120, tokens: 3 });
  });

  it('leaves out the gaps of the tokens in the first read with output', () => {
    const pace = new StreamPace();
    expect(pace.passed(10, 3)).toBe(0);
    expect(pace.span).toEqual({ ms: 0, tokens: 0 });
    expect(pace.passed(60, 4)).toBe(1);
    expect(pace.span).toEqual({ ms: 50, tokens: 1 });
  });

  it('has no span before any output', () => {
    const pace = new StreamPace();
    expect(pace.passed(5, 0)).toBe(0);
    expect(pace.span).toEqual({ ms: 0, tokens: 0 });
  });
});
