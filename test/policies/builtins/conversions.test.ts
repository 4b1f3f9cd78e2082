import { describe, expect, it } from 'vitest';
import { makeSet } from '../../../policies/engine/value.js';
import { call, expectCall, expectFailure, registry, v } from './call-builtin.js';
import { deprecatedBuiltinNames } from '../../../policies/engine/builtins/index.js';

describe('to_number', () => {
  it('converts null, booleans, numbers and decimal strings', () => {
    expect([call('to_number', null), call('to_number', true), call('to_number', false), call('to_number', 2.5)]).toEqual([0, 1, 0, 2.5]);
    expect(call('to_number', '-12')).toBe(-12);
    expect(call('to_number', '+3.5e2')).toBe(350);
    expect(call('to_number', '.5')).toBe(0.5);
    expect(call('to_number', '123456789012345678901234567890')).toBe(123456789012345678901234567890n);
    expectFailure('to_number', ['12x'], 'eval_builtin_error', 'to_number: strconv.ParseFloat: parsing "12x": invalid syntax');
    expectFailure('to_number', [''], 'eval_builtin_error', 'invalid syntax');
    expectFailure('to_number', ['1e999'], 'eval_builtin_error', 'value out of range');
    expectFailure('to_number', [v([])], 'eval_type_error', 'to_number: operand 1 must be one of {null, boolean, number, string} but got array');
  });
});

describe('deprecated v0 builtins', () => {
  it('any, all, set_diff, cast_* and net.cidr_overlap behave as in OPA 0.x', () => {
    expect(call('any', v([false, true]))).toBe(true);
    expect(call('any', makeSet([]))).toBe(false);
    expect(call('all', v([true, true]))).toBe(true);
    expect(call('all', v([true, 1]))).toBe(false);
    expect(call('all', v([]))).toBe(true);
    expectCall('set_diff', [makeSet([1, 2]), makeSet([2])], makeSet([1]));
    expectCall('cast_array', [makeSet([2, 1])], v([1, 2]));
    expectCall('cast_set', [v([1, 1, 2])], makeSet([1, 2]));
    expect(call('cast_string', 'x')).toBe('x');
    expectFailure('cast_string', [1], 'eval_type_error', 'cast_string: operand 1 must be string but got number');
    expect(call('net.cidr_overlap', '10.0.0.0/8', '10.1.1.1')).toBe(true);
  });

  it('are listed so the compiler can refuse them in Rego v1 modules', () => {
    for (const name of ['any', 'all', 'set_diff', 'cast_array', 'cast_set', 'cast_object', 'net.cidr_overlap', 're_match']) {
      expect(deprecatedBuiltinNames.has(name), name).toBe(true);
      expect(registry.has(name), name).toBe(true);
    }
    expect(deprecatedBuiltinNames.has('regex.match')).toBe(false);
    expect(registry.refusal('net.lookup_ip_addr')).toMatch(/DNS/);
  });
});
