import { describe, expect, it } from 'vitest';
import { makeSet } from '../../../policies/engine/value.js';
import { call, expectCall, expectFailure } from './call-builtin.js';

describe('arithmetic operators', () => {
  it('adds, subtracts and multiplies integers exactly beyond 2^53', () => {
    expect(call('plus', 9007199254740991, 2)).toBe(9007199254740993n);
    expect(call('minus', 9007199254740993n, 2)).toBe(9007199254740991);
    expect(call('mul', 2n ** 62n, 4)).toBe(2n ** 64n);
    expect(call('plus', 1, 2)).toBe(3);
  });

  it('uses floats as soon as one operand has a fraction', () => {
    expect(call('plus', 3, -1)).toBe(2);
    expect(call('minus', 2, 4.5)).toBe(-2.5);
    expect(call('mul', 1.5, 2)).toBe(3);
  });

  it('divides exactly when it can and by float otherwise', () => {
    expect(call('div', 16, 2)).toBe(8);
    expect(call('div', 3, 2)).toBe(1.5);
    expect(call('div', 2n ** 64n, 2)).toBe(2n ** 63n);
    expectFailure('div', [1, 0], 'eval_builtin_error', 'div: divide by zero');
    expectFailure('div', [1.5, 0.0], 'eval_builtin_error', 'divide by zero');
  });

  it('takes the truncated remainder of integers only', () => {
    expect(call('rem', 10, 3)).toBe(1);
    expect(call('rem', -10, 3)).toBe(-1);
    expect(call('rem', 2n ** 64n + 1n, 2)).toBe(1);
    expectFailure('rem', [1, 0], 'eval_builtin_error', 'rem: modulo by zero');
    expectFailure('rem', [1.1, 1], 'eval_builtin_error', 'modulo on floating-point number');
    expectFailure('rem', [1, 1.1], 'eval_builtin_error', 'modulo on floating-point number');
    expectFailure('rem', [1e19, 2], 'eval_builtin_error', 'modulo on floating-point number');
  });

  it('applies set difference, intersection and union', () => {
    expectCall('minus', [makeSet([1, 2, 3]), makeSet([2])], makeSet([1, 3]));
    expectCall('and', [makeSet([1, 2, 3]), makeSet([2, 3, 4])], makeSet([2, 3]));
    expectCall('or', [makeSet([1]), makeSet([2])], makeSet([1, 2]));
  });

  it("raises OPA's operand type errors", () => {
    expectFailure('plus', ['1', 9], 'eval_type_error', 'plus: operand 1 must be number but got string');
    expectFailure('mul', [1, null], 'eval_type_error', 'mul: operand 2 must be number but got null');
    expectFailure('minus', ['a', 1], 'eval_type_error', 'minus: operand 1 must be one of {number, set} but got string');
    expectFailure('minus', [1, makeSet([])], 'eval_type_error', 'minus: operand 2 must be number but got set');
    expectFailure('minus', [makeSet([]), 1], 'eval_type_error', 'minus: operand 2 must be set but got number');
    expectFailure('and', [makeSet([]), 1], 'eval_type_error', 'and: operand 2 must be set but got number');
    expectFailure('or', [[] as never, makeSet([])], 'eval_type_error', 'or: operand 1 must be set but got array');
  });

  it('refuses results that are not finite or absurdly large', () => {
    expectFailure('mul', [1e308, 10.5], 'eval_builtin_error', 'out of range');
    expectFailure('mul', [2n ** 5000n, 2n ** 5000n], 'eval_builtin_error', 'out of range');
  });
});
