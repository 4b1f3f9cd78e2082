import { describe, expect, it } from 'vitest';
import { compileRegex } from '../../../policies/engine/builtins/regex-engine.js';
import { translateRe2 } from '../../../policies/engine/builtins/re2-to-js.js';
import { call, expectCall, expectFailure, v } from './call-builtin.js';

// Each pattern runs on both engines over every input: the V8 translation must agree with RE2.
const differential: [string, string[]][] = [
  ['(?i)abc', ['ABC', 'xAbCx', 'ab']],
  ['a(?i)bc', ['aBC', 'ABC']],
  ['a(?i:b)c', ['aBc', 'aBC', 'abc']],
  ['(?i)k', ['K', '\u212a', 'k']],
  ['x(?i:[a-c]+)y', ['xAbCy', 'xdy']],
  ['^abc\\z', ['abc', 'abc\n']],
  ['\\Aabc$', ['abc', 'abc\n', 'xabc']],
  ['(?m)^b$', ['a\nb\nc', 'ab']],
  ['(?s)a.c', ['a\nc', 'abc']],
  ['a.c', ['a\nc', 'abc']],
  ['(?P<first>\\w+) (?P<last>\\w+)', ['Ada Lovelace', 'x']],
  ['[[:alpha:]]+[[:digit:]]', ['abc1', '12']],
  ['[^[:space:]]+', ['a b\tc']],
  ['\\Qa.b*c\\E', ['a.b*c', 'axbbc']],
  ['\\s+', ['a \u000b b\u00a0c']],
  ['\\pL+', ['héllo wörld']],
  ['\\p{Greek}+', ['abc αβγ']],
  ['\\x{1F642}|\\x41', ['A🙂']],
  ['\\101\\0', ['A\u0000']],
  ['a{2}{', ['aa{']],
  ['[]a]+', ['a]]a']],
  ['}|]', ['}]']],
  ['(?U)a+', ['aaa']],
  ['(?U)a+?', ['aaa']],
  ['a*', ['baaac', '']],
  ['', ['abc']],
  ['x*', ['😀x😀']],
  ['[a-c-]+', ['a-c-d']],
  ['\\d+\\.\\d*', ['v1.2 3.']],
  ['(a)|(b)', ['ab']],
  ['\\bfoo\\b', ['foo foobar']],
];

describe('RE2 translation to V8', () => {
  it('agrees with RE2 on every translated pattern', () => {
    for (const [pattern, inputs] of differential) {
      const regex = compileRegex(pattern);
      expect(regex.translatable, pattern).toBe(true);
      for (const input of inputs) {
        const viaV8 = regex.findAll(input, -1, 'v8');
        const viaRe2 = regex.findAll(input, -1, 're2');
        expect(viaV8, `${pattern} on ${JSON.stringify(input)}`).toEqual(viaRe2);
      }
    }
  });

  it('leaves to RE2 what V8 cannot do exactly', () => {
    for (const pattern of ['[\\S]', '(?i:é)', '[[:^alpha:]]', '(?i:\\w)', 'a(?i)[α-ω]', '(?i)\\bx']) {
      expect(translateRe2(pattern), pattern).toBeUndefined();
    }
    expect(call('regex.match', '(?i:é)', 'É')).toBe(true);
    expect(call('regex.match', '^[[:^alpha:]]+$', '123')).toBe(true);
    // RE2's \b is ASCII even under (?i): the long s is not a word character.
    expect(call('regex.match', '(?i)\\bx', '\u017fx')).toBe(true);
  });

  it('routes nested repetition and long inputs to the linear-time engine', () => {
    const evil = compileRegex('^(a+)+$');
    expect(evil.runsOnV8('aaaa')).toBe(false);
    expect(call('regex.match', '^(a+)+$', `${'a'.repeat(5000)}b`)).toBe(false);
    expect(call('regex.match', '^(a|a)*$', `${'a'.repeat(5000)}b`)).toBe(false);
    expect(compileRegex('^(a+){3}$').runsOnV8('aaaa')).toBe(false);
    expect(compileRegex('^(ab){3}$').runsOnV8('ababab')).toBe(true);
    const simple = compileRegex('^/api/v[0-9]+/users/[^/]+$');
    expect(simple.runsOnV8('/api/v1/users/alice')).toBe(true);
    expect(simple.runsOnV8('x'.repeat(5000))).toBe(false);
    expect(call('regex.match', '\\d*\\d*\\d*x', '1'.repeat(20000))).toBe(false);
  });
});

describe('regex builtins', () => {
  it('regex.match', () => {
    expect(call('regex.match', '^[a-z]+$', 'abc')).toBe(true);
    expect(call('regex.match', 'b', 'abc')).toBe(true);
    expectFailure('regex.match', ['(', 'x'], 'eval_builtin_error', 'regex.match: error parsing regexp: missing closing ): `(`');
    expectFailure('regex.match', ['(?=a)', 'x'], 'eval_builtin_error', 'invalid or unsupported Perl syntax');
    expectFailure('regex.match', ['(a)\\1', 'x'], 'eval_builtin_error', 'invalid escape sequence: `\\1`');
    expectFailure('regex.match', ['a{1001}', 'x'], 'eval_builtin_error', 'invalid repeat count');
    expectFailure('regex.match', [1, 'x'], 'eval_type_error', 'regex.match: operand 1 must be string but got number');
    expectFailure('regex.match', ['x'.repeat(70_000), 'x'], 'eval_builtin_error', 'expression too large');
    // Counted repetitions multiply: refused before compiling, instead of stalling for seconds.
    expectFailure('regex.match', ['(?:a{1000}b{1000}){20}', 'x'], 'eval_builtin_error', 'regex.match: error parsing regexp: expression too large');
    expectFailure('regex.match', ['((a{100}){10}x){25}', 'x'], 'eval_builtin_error', 'expression too large');
    expect(call('regex.match', 'a{1000}b{1000}c{1000}', 'a')).toBe(false);
    expect(call('regex.match', '^[a-z]{1,1000}$', 'abc')).toBe(true);
    expect(call('regex.is_valid', '(?:a{1000}b{1000}){20}')).toBe(false);
  });

  it('regex.is_valid', () => {
    expect(call('regex.is_valid', '[a-z]+')).toBe(true);
    expect(call('regex.is_valid', '[a-z')).toBe(false);
    expect(call('regex.is_valid', '(?<=a)b')).toBe(false);
    expect(call('regex.is_valid', 5)).toBe(false);
  });

  it('regex.split follows Go', () => {
    expectCall('regex.split', ['a', 'banana'], v(['b', 'n', 'n', '']));
    expectCall('regex.split', ['x*', 'axbc'], v(['a', 'b', 'c']));
    expectCall('regex.split', ['', 'abc'], v(['a', 'b', 'c']));
    expectCall('regex.split', ['a', ''], v(['']));
    expectCall('regex.split', [',', 'a,b'], v(['a', 'b']));
  });

  it('regex.find_n and regex.find_all_string_submatch_n', () => {
    expectCall('regex.find_n', ['a.', 'paranormal', -1], v(['ar', 'an', 'al']));
    expectCall('regex.find_n', ['a.', 'paranormal', 2], v(['ar', 'an']));
    expectCall('regex.find_n', ['a.', 'paranormal', 0], v([]));
    expectCall('regex.find_n', ['a*', 'baaac', -1], v(['', 'aaa', '']));
    expectCall('regex.find_all_string_submatch_n', ['a(x*)(y)?b', '-ab-axxb-ayb-', -1], v([['ab', '', ''], ['axxb', 'xx', ''], ['ayb', '', 'y']]));
    expectFailure('regex.find_n', ['a', 'a', 1.5], 'eval_type_error', 'regex.find_n: operand 3 must be integer number');
  });

  it('regex.replace expands Go templates', () => {
    expect(call('regex.replace', 'Ada Lovelace', '(?P<first>\\w+) (?P<last>\\w+)', '${last}, $first')).toBe('Lovelace, Ada');
    expect(call('regex.replace', 'abc', 'b', '[$0]')).toBe('a[b]c');
    expect(call('regex.replace', 'abc', '(b)', '$1x|${1}x|$$|$')).toBe('a|bx|$|$c');
    expect(call('regex.replace', 'aaa', 'a*', '-')).toBe('-');
    expect(call('regex.replace', 'abc', '', '-')).toBe('-a-b-c-');
    expect(call('regex.replace', 'abc', '(?i)B', '$9')).toBe('ac');
  });

  it('regex.template_match quotes the literal parts and matches the whole value', () => {
    expect(call('regex.template_match', 'urn:foo:{.*}', 'urn:foo:bar:baz', '{', '}')).toBe(true);
    expect(call('regex.template_match', 'urn:foo.bar:{[a-z]+}', 'urn:foo.bar:xyz', '{', '}')).toBe(true);
    expect(call('regex.template_match', 'urn:foo.bar:{[a-z]+}', 'urn:fooxbar:xyz', '{', '}')).toBe(false);
    expect(call('regex.template_match', '<[0-9]{2}>-x', '42-x', '<', '>')).toBe(true);
    expectFailure('regex.template_match', ['urn:{a', 'x', '{', '}'], 'eval_builtin_error', 'unbalanced braces');
    expectFailure('regex.template_match', ['x', 'x', '{{', '}'], 'eval_builtin_error', 'delimiters must be single characters');
  });

  it('regex.globs_match decides whether two globs share a string', () => {
    expect(call('regex.globs_match', 'a.a.[0-9]+z', '.b.b2359825792*')).toBe(false);
    expect(call('regex.globs_match', '[a-z]+', '[0-9]*')).toBe(false);
    expect(call('regex.globs_match', '[a-z]*', '[0-9]*')).toBe(true);
    expect(call('regex.globs_match', '[a-z]+', '[0-9]+')).toBe(false);
    expect(call('regex.globs_match', 'ab*c', 'a.+')).toBe(true);
    expect(call('regex.globs_match', '[^a]', 'a')).toBe(false);
    expect(call('regex.globs_match', '[^a]', '[ab]')).toBe(true);
    expect(call('regex.globs_match', 'a\\.b', 'a.b')).toBe(true);
    expect(call('regex.globs_match', 'a\\.b', 'axb')).toBe(false);
    expectFailure('regex.globs_match', ['[a-', 'a'], 'eval_builtin_error', 'unclosed character class');
    expectFailure('regex.globs_match', ['*a', 'a'], 'eval_builtin_error', 'without a preceding character');
    expectFailure('regex.globs_match', ['ab]', 'a'], 'eval_builtin_error', "input:ab], pos:3, set-close ']' with no preceding '['");
    expectFailure('regex.globs_match', ['a'.repeat(1500), 'a'.repeat(1500)], 'eval_builtin_error', 'globs too large to intersect');
    expect(call('regex.globs_match', 'a'.repeat(900), 'a*')).toBe(true);
  });
});

describe('RE2 translation, randomised', () => {
  // A seeded generator of small patterns over the syntax the translator rewrites; V8 and RE2
  // must report the same matches (positions and groups) on random inputs.
  let seed = 0x2f6b;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pick = <T>(items: readonly T[]) => items[random(items.length)]!;
  const atoms = ['a', 'b', 'A', '.', '[a-c]', '[^b]', '\\d', '\\w', '\\s', '\\S', '[[:alpha:]]', '\\.', 'é', '\\x41', '[]a]', '\\Qa.\\E'];
  const pattern = (depth: number): string => {
    let out = '';
    const length = 1 + random(3);
    for (let i = 0; i < length; i++) {
      const choice = random(10);
      let atom: string;
      if (depth < 2 && choice === 0) atom = `(${pattern(depth + 1)})`;
      else if (depth < 2 && choice === 1) atom = `(?:${pattern(depth + 1)}|${pattern(depth + 1)})`;
      else if (depth < 2 && choice === 2) atom = `(?i:${pattern(depth + 1)})`;
      else if (choice === 3) atom = pick(['^', '$', '\\b', '\\A', '\\z']);
      else atom = pick(atoms);
      const quantifier = atom.length > 0 && !['^', '$', '\\b', '\\A', '\\z'].includes(atom) ? pick(['', '', '*', '+', '?', '{1,2}', '*?', '+?']) : '';
      out += atom + quantifier;
    }
    return pick(['', '', '(?i)', '(?s)', '(?m)', '(?U)']) + out;
  };
  const input = () => Array.from({ length: random(8) }, () => pick(['a', 'A', 'b', 'B', '1', ' ', '.', '\n', 'é', 'É', ']'])).join('');

  it('agrees with RE2 on 400 random patterns', () => {
    let compared = 0;
    for (let i = 0; i < 400; i++) {
      const source = pattern(0);
      let regex;
      try {
        regex = compileRegex(source);
      } catch {
        continue;
      }
      if (!regex.translatable) continue;
      for (let j = 0; j < 5; j++) {
        const text = input();
        expect(regex.findAll(text, -1, 'v8'), `${source} on ${JSON.stringify(text)}`).toEqual(regex.findAll(text, -1, 're2'));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });
});
