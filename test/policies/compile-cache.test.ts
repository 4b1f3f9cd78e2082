import { describe, expect, it } from 'vitest';
import { compileCached, RegoErrors } from '../../policies/index.js';

const module = (body: string) => [{ file: 'p.rego', source: `package p\n${body}\n` }];

describe('compileCached', () => {
  it('gives the same policy set for the same modules and data, another when either differs', () => {
    const first = compileCached(module('allow if input.x == data.want'), { data: { want: 1 } });
    expect(compileCached(module('allow if input.x == data.want'), { data: { want: 1 } })).toBe(first);
    expect(compileCached(module('allow if input.x == data.want'), { data: { want: 2 } })).not.toBe(first);
    expect(compileCached(module('allow if input.x != data.want'), { data: { want: 1 } })).not.toBe(first);
    expect(first.evaluate('data.p.allow', { input: { x: 1 } }).value).toBe(true);
  });

  it('does not keep failures: a broken policy fails every time with its errors', () => {
    for (let i = 0; i < 2; i++) expect(() => compileCached(module('allow if {'))).toThrow(RegoErrors);
  });

  it('is bounded: the least recently used set is compiled again after many others', () => {
    const kept = compileCached(module('kept := 1'));
    const evicted = compileCached(module('evicted := 1'));
    for (let i = 0; i < 64; i++) {
      compileCached(module(`other${i} := ${i}`));
      if (i % 8 === 0) expect(compileCached(module('kept := 1'))).toBe(kept);
    }
    expect(compileCached(module('kept := 1'))).toBe(kept);
    expect(compileCached(module('evicted := 1'))).not.toBe(evicted);
  });
});
