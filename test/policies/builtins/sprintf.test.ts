import { describe, expect, it } from 'vitest';
import { makeArray, makeSet } from '../../../policies/engine/value.js';
import { call, expectFailure, v } from './call-builtin.js';

const sprintf = (format: string, ...args: unknown[]) => call('sprintf', format, v(args));

describe('sprintf', () => {
  it('formats strings and integers with Go verbs', () => {
    expect(sprintf('User %s from %s', 'alice', 'eng')).toBe('User alice from eng');
    expect(sprintf('%d|%5d|%-5d|%05d|%+d', 42, 42, 42, 42, 42)).toBe('42|   42|42   |00042|+42');
    expect(sprintf('%x %X %o %O %b %#x', 255, 255, 64, 64, 15, 255)).toBe('ff FF 100 0o100 1111 0xff');
    expect(sprintf('%d', -7)).toBe('-7');
    expect(sprintf('%05d', -42)).toBe('-0042');
    expect(call('sprintf', '%d', makeArray([2n ** 70n]))).toBe('1180591620717411303424');
    expect(sprintf('%c %U', 65, 0x1f642)).toBe('A U+1F642');
    expect(sprintf('100%%')).toBe('100%');
  });

  it('passes booleans, null and composites as Go strings of their Rego text, as OPA does', () => {
    expect(sprintf('%T %T %T %T %T %T', 7, 2.5, 'x', true, [1], null)).toBe('int float64 string string string string');
    expect(sprintf('%t|%d|%q', true, [1], { a: null })).toBe('%!t(string=true)|%!d(string=[1])|"{\\"a\\": null}"');
    expect(call('sprintf', '%d %v', v([1, 2, 3]))).toBe('1 2%!(EXTRA int=3)');
    expect(call('sprintf', '%T|%8T', makeArray([2n ** 70n, 1]))).toBe('*big.Int|     int');
  });

  it('prints an integer beyond int64 in decimal for %s and %v, as Go formats the *big.Int OPA passes', () => {
    expect(call('sprintf', '%s', makeArray([123456789123456789123n]))).toBe('123456789123456789123');
    expect(call('sprintf', '%v|%x', makeArray([2n ** 64n, 2n ** 64n]))).toBe('18446744073709551616|10000000000000000');
    expect(call('sprintf', '%q', makeArray([2n ** 64n]))).toBe('%!q(big.Int=18446744073709551616)');
    // Within int64 an integer is a Go int: %s does not apply.
    expect(call('sprintf', '%s', makeArray([2n ** 62n]))).toBe('%!s(int=4611686018427387904)');
  });

  it('formats floats as Go does (%v shortest, %f, %e, %g)', () => {
    expect(sprintf('%v %v %v', 3.14, 1234567.5, 0.00001)).toBe('3.14 1.2345675e+06 1e-05');
    expect(sprintf('%f|%.2f|%8.3f|%.0f', 3.14, 3.14159, -1.5, 2.5)).toBe('3.140000|3.14|  -1.500|3');
    expect(sprintf('%e|%.2E', 123456.789, 0.000123)).toBe('1.234568e+05|1.23E-04');
    expect(sprintf('%g|%.3g|%g|%G', 0.5, 1234.5678, 1e21 + 0.5, 1e-7)).toBe('0.5|1.23e+03|1e+21|1E-07');
    expect(sprintf('%+.1f', 2.25)).toBe('+2.3');
    expect(sprintf('%.1f', 1e21 + 0.5)).toBe('1000000000000000000000.0');
  });

  it("prints composite values in OPA's Rego text", () => {
    expect(sprintf('%v', { key: 'value' })).toBe('{"key": "value"}');
    expect(sprintf('%v', [1, 'a', null, true])).toBe('[1, "a", null, true]');
    expect(call('sprintf', '%v %s', v([makeSet([2, 1]), makeSet([])]))).toBe('{1, 2} set()');
    expect(sprintf('%v|%v|%s', true, null, false)).toBe('true|null|false');
    expect(sprintf('%q', 'a"b\n')).toBe('"a\\"b\\n"');
    expect(sprintf('%s', { b: 1, a: [2] })).toBe('{"a": [2], "b": 1}');
    expect(sprintf('%.2s|%5s|%-4s|', 'abcdef', 'ab', 'ab')).toBe('ab|   ab|ab  |');
    expect(sprintf('%x', 'hi')).toBe('6869');
  });

  it("reports verb/operand mismatches, missing and extra operands as Go's fmt does", () => {
    expect(sprintf('%d', 'x')).toBe('%!d(string=x)');
    expect(sprintf('%s', 5)).toBe('%!s(int=5)');
    expect(sprintf('%d', 1.5)).toBe('%!d(float64=1.5)');
    expect(sprintf('%f', 5)).toBe('%!f(int=5)');
    expect(sprintf('Value: %s %d', 'only')).toBe('Value: only %!d(MISSING)');
    expect(sprintf('%s', 'a', 2)).toBe('a%!(EXTRA int=2)');
    expect(sprintf('%', 1)).toBe('%!(NOVERB)%!(EXTRA int=1)');
  });

  it('rejects non-array operands and oversized widths', () => {
    expectFailure('sprintf', ['%s', 'x'], 'eval_type_error', 'sprintf: operand 2 must be array but got string');
    expectFailure('sprintf', ['%999999999d', v([1])], 'eval_builtin_error', 'exceeds the string size limit');
  });
});
