import { describe, expect, it } from 'vitest';
import { makeArray, makeObject, makeSet } from '../../../policies/engine/value.js';
import { call, expectCall, expectFailure, v } from './call-builtin.js';

describe('string builtins', () => {
  it('concat joins arrays in order and sets sorted', () => {
    expect(call('concat', ', ', v(['b', 'a']))).toBe('b, a');
    expect(call('concat', '-', makeSet(['b', 'a']))).toBe('a-b');
    expect(call('concat', '-', v([]))).toBe('');
    expectFailure('concat', ['-', v(['a', 1])], 'eval_type_error', 'concat: operand 2 must be array of strings but got array containing number');
  });

  it('contains, startswith, endswith', () => {
    expect(call('contains', 'abc', 'bc')).toBe(true);
    expect(call('contains', 'abc', '')).toBe(true);
    expect(call('startswith', 'abc', 'ab')).toBe(true);
    expect(call('endswith', 'abc', 'ab')).toBe(false);
    expectFailure('endswith', ['abc', 1], 'eval_type_error', 'endswith: operand 2 must be string but got number');
  });

  it('format_int truncates toward zero in bases 2, 8, 10 and 16', () => {
    expect(['1010', '12', '10', 'a']).toEqual([2, 8, 10, 16].map((base) => call('format_int', 10.7, base)));
    expect(call('format_int', -10.999, 16)).toBe('-a');
    expect(call('format_int', 2n ** 64n, 16)).toBe('10000000000000000');
    expectFailure('format_int', [10, 4], 'eval_type_error', 'format_int: operand 2 must be one of {2, 8, 10, 16}');
    expectFailure('format_int', ['10', 2], 'eval_type_error', 'format_int: operand 1 must be number but got string');
  });

  it('indexof and indexof_n count runes and refuse an empty search', () => {
    expect(call('indexof', 'Hello world', 'llo')).toBe(2);
    expect(call('indexof', 'Hello world', 'hel')).toBe(-1);
    expect(call('indexof', 'skön var våren', 'vår')).toBe(9);
    expect(call('indexof', 'μ', 'μμ')).toBe(-1);
    expect(call('indexof', '', ',')).toBe(-1);
    expectCall('indexof_n', ['aaa', 'aa'], makeArray([0, 1]));
    expectCall('indexof_n', ['😀a😀a', 'a'], makeArray([1, 3]));
    expectCall('indexof_n', ['abc', 'x'], makeArray([]));
    expectFailure('indexof', ['abc', ''], 'eval_builtin_error', 'indexof: empty search character');
    expectFailure('indexof_n', ['abc', ''], 'eval_builtin_error', 'indexof_n: empty search character');
    expectFailure('indexof', [null, ''], 'eval_type_error', 'indexof: operand 1 must be string but got null');
  });

  it('lower, upper, replace (Go ReplaceAll, including an empty old string)', () => {
    expect(call('lower', 'AbÇ')).toBe('abç');
    expect(call('upper', 'abç')).toBe('ABÇ');
    expect(call('replace', 'a.b.c', '.', '/')).toBe('a/b/c');
    expect(call('replace', 'ab', '', '-')).toBe('-a-b-');
    expect(call('replace', 'aaa', 'a', '')).toBe('');
  });

  it('split follows Go: empty separator splits runes, empty string gives [""]', () => {
    expectCall('split', ['a,b,,c', ','], v(['a', 'b', '', 'c']));
    expectCall('split', ['test', ''], v(['t', 'e', 's', 't']));
    expectCall('split', ['', ''], v([]));
    expectCall('split', ['', ','], v(['']));
    expectCall('split', ['é🙂', ''], v(['é', '🙂']));
  });

  it('substring counts runes, clamps the end and rejects a negative offset', () => {
    expect(call('substring', 'abcdef', 1, 3)).toBe('bcd');
    expect(call('substring', 'abcdef', 2, -1)).toBe('cdef');
    expect(call('substring', 'abcdef', 4, 100)).toBe('ef');
    expect(call('substring', 'abc', 5, 1)).toBe('');
    expect(call('substring', '🙂ab', 1, 1)).toBe('a');
    expectFailure('substring', ['abc', -1, 1], 'eval_builtin_error', 'substring: negative offset');
    expectFailure('substring', ['abc', 1.5, 1], 'eval_type_error', 'substring: operand 2 must be integer number');
  });

  it('trim family uses cutsets of runes and Go whitespace', () => {
    expect(call('trim', '  xhix  ', ' x')).toBe('hi');
    expect(call('trim_left', 'aabca', 'a')).toBe('bca');
    expect(call('trim_right', 'aabca', 'a')).toBe('aabc');
    expect(call('trim_prefix', 'prefix-x', 'prefix-')).toBe('x');
    expect(call('trim_prefix', 'x', 'y')).toBe('x');
    expect(call('trim_suffix', 'x.rego', '.rego')).toBe('x');
    expect(call('trim_space', '\t\n hi \u00a0\u3000')).toBe('hi');
    expect(call('trim_space', '\ufeffhi')).toBe('\ufeffhi');
    expect(call('trim', '🙂a🙂', '🙂')).toBe('a');
  });

  it('strings.replace_n replaces left to right, first pattern in key order winning', () => {
    expect(call('strings.replace_n', v({ '<': '&lt;', '>': '&gt;' }), '<a>')).toBe('&lt;a&gt;');
    expect(call('strings.replace_n', v({ a: '1', ab: '2' }), 'abab')).toBe('1b1b');
    expect(call('strings.replace_n', v({ a: 'b', b: 'a' }), 'ab')).toBe('ba');
    expectFailure('strings.replace_n', [v({ a: 1 }), 'a'], 'eval_type_error', 'strings.replace_n: operand 1 non-string value found in pattern object');
    expectFailure('strings.replace_n', [makeObject([['a', 'b'], [3, 'c']]), 'a'], 'eval_type_error', 'strings.replace_n: operand 1 non-string key found in pattern object');
  });

  it('strings.reverse, strings.count and the affix matchers', () => {
    expect(call('strings.reverse', 'ab🙂')).toBe('🙂ba');
    expect(call('strings.count', 'cheese', 'e')).toBe(3);
    expect(call('strings.count', 'aaaa', 'aa')).toBe(2);
    expect(call('strings.count', 'five', '')).toBe(5);
    expect(call('strings.any_prefix_match', 'foo/bar', v(['x/', 'foo/']))).toBe(true);
    expect(call('strings.any_prefix_match', makeSet(['a', 'b']), 'c')).toBe(false);
    expect(call('strings.any_suffix_match', v(['a.json', 'b.rego']), makeSet(['.rego']))).toBe(true);
    expectFailure('strings.any_prefix_match', [v([1]), 'a'], 'eval_type_error', 'operand 1 must be array of strings but got array containing number');
    expectFailure('strings.any_suffix_match', ['a', 1], 'eval_type_error', 'operand 2 must be one of {string, set, array} but got number');
    expectFailure('concat', [',', 1], 'eval_type_error', 'concat: operand 2 must be one of {set, array} but got number');
  });
});
