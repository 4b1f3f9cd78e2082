import { describe, expect, it } from 'vitest';
import { makeObject, makeSet } from '../../../policies/engine/value.js';
import { call, expectCall, expectFailure, v } from './call-builtin.js';

describe('base64 and hex', () => {
  it('round-trips UTF-8 text', () => {
    expect(call('base64.encode', 'héllo?>')).toBe('aMOpbGxvPz4=');
    expect(call('base64.decode', 'aMOpbGxvPz4=')).toBe('héllo?>');
    expect(call('base64url.encode', 'héllo?>')).toBe('aMOpbGxvPz4=');
    expect(call('base64url.encode', '??>')).toBe('Pz8-');
    expect(call('base64url.encode_no_pad', 'ab')).toBe('YWI');
    expect(call('base64url.decode', 'YWI')).toBe('ab');
    expect(call('base64url.decode', 'YWI=')).toBe('ab');
    expect(call('base64url.decode', 'Pz8-')).toBe('??>');
    expect(call('hex.encode', 'hi!')).toBe('686921');
    expect(call('hex.decode', '686921')).toBe('hi!');
  });

  it('is strict about alphabet and padding, as Go', () => {
    expect(call('base64.is_valid', 'YWI=')).toBe(true);
    expect(call('base64.is_valid', 'YWI')).toBe(false);
    expect(call('base64.is_valid', 'Y W=')).toBe(false);
    expect(call('base64.is_valid', 'Pz8-')).toBe(false);
    expect(call('json.is_valid', '[1]')).toBe(true);
    expect(call('json.is_valid', 7)).toBe(false);
    expect(call('yaml.is_valid', v({ a: 1 }))).toBe(false);
    expectFailure('base64.decode', ['YW*='], 'eval_builtin_error', 'base64.decode: illegal base64 data at input byte 2');
    expectFailure('base64.decode', ['YWJjZ'], 'eval_builtin_error', 'illegal base64 data');
    expectFailure('base64url.decode', ['YWJjZ'], 'eval_builtin_error', 'illegal base64url string');
    expectFailure('base64url.decode', ['Pz8+'], 'eval_builtin_error', 'illegal base64 data at input byte 3');
    expectFailure('hex.decode', ['6g'], 'eval_builtin_error', "encoding/hex: invalid byte: U+0067 'g'");
    expectFailure('hex.decode', ['abc'], 'eval_builtin_error', 'encoding/hex: odd length hex string');
    expectFailure('base64.encode', [1], 'eval_type_error', 'base64.encode: operand 1 must be string but got number');
  });
});

describe('urlquery', () => {
  it('escapes like Go url.QueryEscape and unescapes', () => {
    expect(call('urlquery.encode', 'a b&c=d/é~')).toBe('a+b%26c%3Dd%2F%C3%A9~');
    expect(call('urlquery.decode', 'a+b%26c%3Dd%2F%C3%A9~')).toBe('a b&c=d/é~');
    expectFailure('urlquery.decode', ['%zz'], 'eval_builtin_error', 'invalid URL escape "%zz"');
    expectFailure('urlquery.decode', ['abc%'], 'eval_builtin_error', 'invalid URL escape "%"');
  });

  it('encodes and decodes objects', () => {
    expect(call('urlquery.encode_object', v({ b: 'x y', a: ['1', '2'] }))).toBe('a=1&a=2&b=x+y');
    expect(call('urlquery.encode_object', makeObject([['s', makeSet(['b', 'a'])]]))).toBe('s=a&s=b');
    expectCall('urlquery.decode_object', ['a=1&a=2&b=x+y&c'], v({ a: ['1', '2'], b: ['x y'], c: [''] }));
    expectFailure('urlquery.encode_object', [v({ a: 1 })], 'eval_type_error', 'urlquery.encode_object: operand 1 values must be string, array[string], or set[string]');
    expectFailure('urlquery.encode_object', [v({ a: ['x', 2] })], 'eval_type_error', 'operand 1 values must be string, array[string], or set[string]');
    expectFailure('urlquery.decode_object', ['a=1;b=2'], 'eval_builtin_error', 'invalid semicolon separator in query');
  });
});

describe('json', () => {
  it('marshals compactly with sorted keys, exact integers and Go HTML escaping', () => {
    expect(call('json.marshal', v({ b: [1, 'x'], a: null }))).toBe('{"a":null,"b":[1,"x"]}');
    expect(call('json.marshal', makeSet([2, 1]))).toBe('[1,2]');
    expect(call('json.marshal', 2n ** 70n)).toBe('1180591620717411303424');
    expect(call('json.marshal', '<a&b>')).toBe('"\\u003ca\\u0026b\\u003e"');
    expect(call('json.marshal', makeObject([[1, 'x']]))).toBe('{"1":"x"}');
  });

  it('marshals with options like json.MarshalIndent', () => {
    expect(call('json.marshal_with_options', v({ a: [1, 2], b: {} }), v({ pretty: true }))).toBe('{\n\t"a": [\n\t\t1,\n\t\t2\n\t],\n\t"b": {}\n}');
    expect(call('json.marshal_with_options', v([1]), v({ indent: '  ', prefix: '> ' }))).toBe('> [\n>   1\n> ]');
    expect(call('json.marshal_with_options', v([]), v({ indent: '  ', prefix: '--' }))).toBe('--[]');
    expect(call('json.marshal_with_options', v({ a: 1 }), v({ pretty: false, indent: ' ' }))).toBe('{"a":1}');
    expect(call('json.marshal_with_options', v(['<']), v({ prefix: '<' }))).toBe('<[\n<\t"\\u003c"\n<]');
    expectFailure('json.marshal_with_options', [1, v({ colour: true })], 'eval_type_error', 'json.marshal_with_options: operand 2 object contained unknown key "colour"');
    expectFailure('json.marshal_with_options', [1, v({ pretty: 'yes' })], 'eval_type_error', 'json.marshal_with_options: operand 2 key "pretty" failed cast to bool');
    expectFailure(
      'json.marshal_with_options',
      [1, v({ indent: ' ', prefix: 7 })],
      'eval_type_error',
      'json.marshal_with_options: operand 2 key "prefix" failed cast to string: operand 1 must be string but got number',
    );
    expectFailure(
      'json.marshal_with_options',
      [1, makeObject([[3, true]])],
      'eval_type_error',
      'json.marshal_with_options: operand 2 failed to stringify key 3 at index 0: operand 0 must be string but got number',
    );
  });

  it('unmarshals exactly and safely', () => {
    expectCall('json.unmarshal', ['{"a": [1, 2.5, "x", true, null], "b": {}}'], v({ a: [1, 2.5, 'x', true, null], b: {} }));
    expect(call('json.unmarshal', '123456789012345678901234567890')).toBe(123456789012345678901234567890n);
    expect(call('json.unmarshal', '-9007199254740993')).toBe(-9007199254740993n);
    expect(call('json.unmarshal', '"\\u00e9\\n"')).toBe('é\n');
    expectCall('json.unmarshal', ['{"__proto__": {"x": 1}, "a": 1, "a": 2}'], v(JSON.parse('{"__proto__": {"x": 1}, "a": 2}')));
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(call('json.is_valid', '{"a":1}')).toBe(true);
    for (const bad of ['{"a":1', '{a:1}', '[1,]', '01', '"\u0001"', 'nul', '1 2', '', '1e999']) {
      expect(call('json.is_valid', bad), bad).toBe(false);
    }
    expectFailure('json.unmarshal', ['{"a" 1}'], 'eval_builtin_error', "json.unmarshal: invalid character \"1\" after object key");
    expectFailure('json.unmarshal', ['['.repeat(2000) + ']'.repeat(2000)], 'eval_builtin_error', 'exceeded max depth');
    expectFailure('json.unmarshal', ['9'.repeat(1001)], 'eval_builtin_error', 'number literal longer than 1000 characters');
    expectCall('json.unmarshal', ['{"a\\"b": "c\\u0041", "plain": "x"}'], v({ 'a"b': 'cA', plain: 'x' }));
  });
});

describe('yaml', () => {
  it('marshals with sorted keys and unindented sequences', () => {
    expect(call('yaml.marshal', v({ b: [1, 'two'], a: { c: true } }))).toBe('a:\n  c: true\nb:\n- 1\n- two\n');
    expect(call('yaml.marshal', v({ s: '123' }))).toBe('s: "123"\n');
  });

  it('quotes as go-yaml v2: double for strings YAML 1.1 reads as another type, single for indicators', () => {
    expect(call('yaml.marshal', v({ on: ['yes', 'n', 'x: y', '#c', 'plain', '1:20', '2001-12-14'] }))).toBe(
      '"on":\n- "yes"\n- "n"\n- \'x: y\'\n- \'#c\'\n- plain\n- "1:20"\n- "2001-12-14"\n',
    );
    const strings = v({ a: 'yes', b: 'off', c: '0x1F', d: '~' });
    expect(call('yaml.unmarshal', call('yaml.marshal', strings) as string)).toEqual(strings);
  });

  it('unmarshals YAML 1.1 scalars, big integers and merges keys to strings', () => {
    expectCall('yaml.unmarshal', ['a: yes\nb: [1, 2]\n3: x\nc: ~\n'], v({ a: true, b: [1, 2], '3': 'x', c: null }));
    expect(call('yaml.unmarshal', '123456789012345678901234567890')).toBe(123456789012345678901234567890n);
    expect(call('yaml.is_valid', 'a: [1, 2')).toBe(false);
    expect(call('yaml.is_valid', 'a: 1')).toBe(true);
    expectFailure('yaml.unmarshal', ['a: b: c'], 'eval_builtin_error', 'yaml.unmarshal:');
  });

  it("words a collection or quoted scalar left open at the end in go-yaml v2's terms, with its line", () => {
    // go-yaml counts lines from 0 and moves the stream end to a new line after a non-empty last line.
    expectFailure('yaml.unmarshal', ['[1, 2'], 'eval_builtin_error', "yaml.unmarshal: yaml: line 1: did not find expected ',' or ']'");
    expectFailure('yaml.unmarshal', ['k: [1, 2\n'], 'eval_builtin_error', "yaml.unmarshal: yaml: line 1: did not find expected ',' or ']'");
    expectFailure('yaml.unmarshal', ['a: {b: 1,\n  c: 2'], 'eval_builtin_error', "yaml.unmarshal: yaml: line 2: did not find expected ',' or '}'");
    // A scanner error: no line when it is the first, else the line counted from 1.
    expectFailure('yaml.unmarshal', ['"open'], 'eval_builtin_error', 'yaml.unmarshal: yaml: found unexpected end of stream');
    expectFailure('yaml.unmarshal', ["a: 1\nb: 'open"], 'eval_builtin_error', 'yaml.unmarshal: yaml: line 2: found unexpected end of stream');
    expect(call('yaml.is_valid', '{a: 1')).toBe(false);
  });

  it('refuses alias bombs', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]'].join('\n');
    expectFailure('yaml.unmarshal', [bomb], 'eval_builtin_error', 'yaml.unmarshal: Excessive alias count');
  });
});
