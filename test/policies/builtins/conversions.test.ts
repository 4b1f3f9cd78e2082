import { describe, expect, it } from 'vitest';
import { equals, makeSet, type Value } from '../../../policies/engine/value.js';
import { call, expectFailure, makeContext, registry, v } from './call-builtin.js';
import { createStandardBuiltins, deprecatedBuiltinNames } from '../../../policies/engine/builtins/index.js';

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
  const withDeprecated = createStandardBuiltins({ deprecated: true });
  const old = (name: string, ...args: Value[]) => withDeprecated.get(name)!.call(args, makeContext());

  it('any, all, set_diff, cast_*, net.cidr_overlap and re_match behave as in OPA 0.x', () => {
    expect(old('any', v([false, true]))).toBe(true);
    expect(old('any', makeSet([]))).toBe(false);
    expect(old('all', v([true, true]))).toBe(true);
    expect(old('all', v([true, 1]))).toBe(false);
    expect(old('all', v([]))).toBe(true);
    expect(equals(old('set_diff', makeSet([1, 2]), makeSet([2]))!, makeSet([1]))).toBe(true);
    expect(equals(old('cast_array', makeSet([2, 1]))!, v([1, 2]))).toBe(true);
    expect(equals(old('cast_set', v([1, 1, 2]))!, makeSet([1, 2]))).toBe(true);
    expect(old('cast_string', 'x')).toBe('x');
    expect(() => old('cast_string', 1)).toThrow('cast_string: operand 1 must be string but got number');
    expect(old('net.cidr_overlap', '10.0.0.0/8', '10.1.1.1')).toBe(true);
    expect(old('re_match', '^a', 'abc')).toBe(true);
  });

  it('are registered only on request and listed so the compiler can refuse them in Rego v1 modules', () => {
    for (const name of ['any', 'all', 'set_diff', 'cast_array', 'cast_set', 'cast_object', 'net.cidr_overlap', 're_match']) {
      expect(deprecatedBuiltinNames.has(name), name).toBe(true);
      expect(withDeprecated.has(name), name).toBe(true);
      expect(registry.has(name), name).toBe(false);
    }
    expect(deprecatedBuiltinNames.has('regex.match')).toBe(false);
    expect(registry.refusal('net.lookup_ip_addr')).toMatch(/DNS/);
  });
});
