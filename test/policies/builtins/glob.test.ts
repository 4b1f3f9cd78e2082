import { describe, expect, it } from 'vitest';
import { call, expectFailure, v } from './call-builtin.js';

const match = (pattern: string, delimiters: unknown, value: string) => call('glob.match', pattern, v(delimiters), value);

describe('glob builtins', () => {
  it('null means no delimiters, [] the default "."', () => {
    expect(match('api://*/appId', null, 'api://foo.com/appId')).toBe(true);
    expect(match('*.github.com', [], 'api.github.com')).toBe(true);
    expect(match('*.github.com', [], 'api.cdn.github.com')).toBe(false);
    expect(match('*hub.com', null, 'api.cdn.github.com')).toBe(true);
    expect(match('*:github:com', [':'], 'api:github:com')).toBe(true);
    expect(match('*:com', [':', '.'], 'a.b:com')).toBe(false);
  });

  it('** crosses delimiters; ? is one non-delimiter character', () => {
    expect(match('api.**.com', [], 'api.cdn.github.com')).toBe(true);
    expect(match('api.**', [], 'api.')).toBe(true);
    expect(match('?at', [], 'cat')).toBe(true);
    expect(match('?at', [], 'at')).toBe(false);
    expect(match('a?c', [], 'a.c')).toBe(false);
    expect(match('a?c', null, 'a.c')).toBe(true);
    expect(match('?', [], '🙂')).toBe(true);
  });

  it('classes, negated classes, alternatives and escapes', () => {
    expect(match('[abc]at', [], 'bat')).toBe(true);
    expect(match('[abc]at', [], 'lat')).toBe(false);
    expect(match('[!abc]at', [], 'cat')).toBe(false);
    expect(match('[!a-c]at', [], 'lat')).toBe(true);
    expect(match('{cat,bat,[fr]at}', [], 'rat')).toBe(true);
    expect(match('{cat,bat,[fr]at}', [], 'at')).toBe(false);
    expect(match('{a,b{c,d}}x', [], 'bdx')).toBe(true);
    expect(match('\\*.txt', [], '*.txt')).toBe(true);
    expect(match('\\*.txt', [], 'a.txt')).toBe(false);
    expect(match('a(b)+c|d', [], 'a(b)+c|d')).toBe(true);
  });

  it('rejects malformed globs and bad delimiters', () => {
    expectFailure('glob.match', ['[abc', v([]), 'a'], 'eval_builtin_error', 'unclosed character class');
    expectFailure('glob.match', ['{a,b', v([]), 'a'], 'eval_builtin_error', 'unclosed alternatives');
    expectFailure('glob.match', ['[z-a]', v([]), 'a'], 'eval_builtin_error', 'invalid range');
    expectFailure('glob.match', ['a\\', v([]), 'a'], 'eval_builtin_error', 'unexpected end of input');
    expectFailure('glob.match', ['a', v(['']), 'a'], 'eval_builtin_error', 'delimiters must be non-empty strings');
    expectFailure('glob.match', ['a', 'x', 'a'], 'eval_type_error', 'glob.match: operand 2 must be one of {array, null} but got string');
  });

  it('glob.quote_meta escapes every glob metacharacter', () => {
    expect(call('glob.quote_meta', '*.github.com')).toBe('\\*.github.com');
    expect(call('glob.quote_meta', '[a]{b}?\\')).toBe('\\[a\\]\\{b\\}\\?\\\\');
    const quoted = call('glob.quote_meta', 'f*[x]') as string;
    expect(match(quoted, [], 'f*[x]')).toBe(true);
  });
});
