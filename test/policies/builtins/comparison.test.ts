import { describe, expect, it } from 'vitest';
import { makeArray, makeSet } from '../../../policies/engine/value.js';
import { call, v } from './call-builtin.js';

describe('comparison builtins', () => {
  it('compares numbers by value across number and bigint', () => {
    expect(call('equal', 1, 1.0)).toBe(true);
    expect(call('equal', 2n ** 60n, 2n ** 60n)).toBe(true);
    expect(call('lt', 9007199254740993n, 9007199254740994n)).toBe(true);
    expect(call('gt', 2n ** 60n, 1e3)).toBe(true);
    expect(call('neq', 1, '1')).toBe(true);
  });

  it("orders values of different types as OPA's total order", () => {
    expect(call('lt', null, false)).toBe(true);
    expect(call('lt', 1, 'a')).toBe(true);
    expect(call('lt', 'a', makeArray([]))).toBe(true);
    expect(call('lt', v({}), makeSet([]))).toBe(true);
    expect(call('gte', makeSet([1]), v({ a: 1 }))).toBe(true);
  });

  it('compares composites structurally', () => {
    expect(call('equal', v({ a: [1, 2] }), v({ a: [1, 2] }))).toBe(true);
    expect(call('equal', makeSet([1, 2]), makeSet([2, 1]))).toBe(true);
    expect(call('lt', v([1, 2]), v([1, 3]))).toBe(true);
    expect(call('lte', v([1, 2]), v([1, 2]))).toBe(true);
    expect(call('lt', v([1]), v([1, 0]))).toBe(true);
    expect(call('lt', 'B', 'a')).toBe(true);
  });
});
