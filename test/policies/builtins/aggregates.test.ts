import { describe, expect, it } from 'vitest';
import { makeArray, makeSet } from '../../../policies/engine/value.js';
import { call, expectCall, expectFailure, v } from './call-builtin.js';

describe('aggregate builtins', () => {
  it('counts arrays, objects, sets and string runes', () => {
    expect(call('count', v([1, 2, 3]))).toBe(3);
    expect(call('count', v({ a: 1 }))).toBe(1);
    expect(call('count', makeSet([1, 1, 2]))).toBe(2);
    expect(call('count', 'héllo🙂')).toBe(6);
    expect(call('count', '')).toBe(0);
    expectFailure('count', [1], 'eval_type_error', 'count: operand 1 must be one of {array, object, set, string} but got number');
  });

  it('sums and multiplies exactly, empty collections giving 0 and 1', () => {
    expect(call('sum', v([1, 2, 3.5]))).toBe(6.5);
    expect(call('sum', makeSet([1, 2]))).toBe(3);
    expect(call('sum', v([]))).toBe(0);
    expect(call('sum', v([9007199254740991, 1]))).toBe(9007199254740992n);
    expect(call('product', v([-1, 2, 3]))).toBe(-6);
    expect(call('product', v([]))).toBe(1);
    expect(call('product', v([2 ** 40, 2 ** 40]))).toBe(2n ** 80n);
    expectFailure('sum', [v([1, 'a'])], 'eval_type_error', 'sum: operand 1 must be array of numbers but got array containing string');
    expectFailure('product', [makeSet([null])], 'eval_type_error', 'product: operand 1 must be set of numbers but got set containing null');
    expectFailure('sum', [v({})], 'eval_type_error', 'sum: operand 1 must be one of {set, array} but got object');
    expectFailure('product', [v({})], 'eval_type_error', 'product: operand 1 must be one of {set, array} but got object');
  });

  it("max and min use OPA's order across types and are undefined when empty", () => {
    expect(call('max', v([1, 3, 2]))).toBe(3);
    expect(call('min', makeSet([5, 2, 9]))).toBe(2);
    expect(call('max', v([1, 'a', null]))).toBe('a');
    expect(call('min', v([1, 'a', null]))).toBe(null);
    expect(call('max', v([]))).toBeUndefined();
    expect(call('min', makeSet([]))).toBeUndefined();
    expectFailure('max', ['abc'], 'eval_type_error', 'max: operand 1 must be one of {set, array} but got string');
    expectFailure('min', ['abc'], 'eval_type_error', 'min: operand 1 must be one of {set, array} but got string');
  });

  it('sorts arrays and sets into arrays', () => {
    expectCall('sort', [v([3, 'b', 1, null, [1], { a: 1 }, false])], v([null, false, 1, 3, 'b', [1], { a: 1 }]));
    expectCall('sort', [makeSet([3, 1, 2])], makeArray([1, 2, 3]));
    expectFailure('sort', [null], 'eval_type_error', 'sort: operand 1 must be one of {set, array} but got null');
  });
});
