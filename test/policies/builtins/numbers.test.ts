import { describe, expect, it } from 'vitest';
import { makeArray } from '../../../policies/engine/value.js';
import { call, callIn, expectCall, expectFailure, makeContext, registry } from './call-builtin.js';

describe('number builtins', () => {
  it('abs, ceil, floor keep integers and bigints exact', () => {
    expect([call('abs', -9), call('abs', 9.1), call('abs', -(2n ** 60n))]).toEqual([9, 9.1, 2n ** 60n]);
    expect([call('ceil', 9.1), call('ceil', -9.1), call('ceil', 2n ** 60n)]).toEqual([10, -9, 2n ** 60n]);
    expect([call('floor', 9.1), call('floor', -9.1), call('floor', -9)]).toEqual([9, -10, -9]);
    expect(call('ceil', -0.5)).toBe(0);
    expect(Object.is(call('ceil', -0.5), -0)).toBe(false);
  });

  it('rounds half away from zero', () => {
    expect([call('round', 2.5), call('round', -2.5), call('round', 1.4999), call('round', -0.4)]).toEqual([3, -3, 1, 0]);
  });

  it('builds inclusive ranges in either direction', () => {
    expectCall('numbers.range', [1, 5], makeArray([1, 2, 3, 4, 5]));
    expectCall('numbers.range', [5, 1], makeArray([5, 4, 3, 2, 1]));
    expectCall('numbers.range', [8, 8], makeArray([8]));
    expectCall('numbers.range', [-1, -3], makeArray([-1, -2, -3]));
    expectCall('numbers.range_step', [0, 10, 3], makeArray([0, 3, 6, 9]));
    expectCall('numbers.range_step', [10, 0, 5], makeArray([10, 5, 0]));
    expectCall('numbers.range', [2n ** 60n, 2n ** 60n + 1n], makeArray([2n ** 60n, 2n ** 60n + 1n]));
  });

  it('rejects non-integer bounds, bad steps and oversized ranges', () => {
    expectFailure('numbers.range', [1.01, 5], 'eval_type_error', 'numbers.range: operand 1 must be integer number');
    expectFailure('numbers.range', [1, 5.01], 'eval_type_error', 'operand 2 must be integer number');
    expectFailure('numbers.range', ['1', 2], 'eval_type_error', 'operand 1 must be number but got string');
    expectFailure('numbers.range_step', [1, 5, 0], 'eval_builtin_error', 'step must be a positive number above zero');
    expectFailure('numbers.range_step', [1, 5, -1], 'eval_builtin_error', 'step must be a positive');
    expectFailure('numbers.range', [0, 1e12], 'eval_builtin_error', 'exceeds the limit');
  });

  it('rand.intn is memoised per (string, n) within one evaluation', () => {
    const context = makeContext();
    const first = callIn(context, 'rand.intn', 'x', 50000);
    expect(callIn(context, 'rand.intn', 'x', 50000)).toBe(first);
    expect(callIn(context, 'rand.intn', 'x', -50000)).toBe(first);
    expect(typeof first).toBe('number');
    expect(first as number).toBeGreaterThanOrEqual(0);
    expect(first as number).toBeLessThan(50000);
    expect(call('rand.intn', 'b', 0)).toBe(0);
    const seen = new Set(Array.from({ length: 40 }, (_, i) => callIn(context, 'rand.intn', `k${i}`, 1000)));
    expect(seen.size).toBeGreaterThan(1);
    const wide = call('rand.intn', 'w', 2n ** 80n) as bigint;
    expect(wide >= 0n && wide < 2n ** 80n).toBe(true);
    expect(registry.get('rand.intn')!.nondeterministic).toBe(true);
  });

  it('rand.intn is undefined for a fractional n and rejects wrong types', () => {
    expect(call('rand.intn', 'a', 10.3)).toBeUndefined();
    expectFailure('rand.intn', [1, 2], 'eval_type_error', 'rand.intn: operand 1 must be string but got number');
    expectFailure('abs', ['-9'], 'eval_type_error', 'abs: operand 1 must be number but got string');
  });
});
