import { describe, expect, it } from 'vitest';
import { parseModule, parseQuery } from '../../policies/engine/parser.js';
import { RegoError } from '../../policies/engine/errors.js';

function parseError(source: string, regoVersion: 0 | 1 = 1): RegoError {
  try {
    parseModule(source, 'p.rego', { regoVersion });
  } catch (error) {
    expect(error).toBeInstanceOf(RegoError);
    return error as RegoError;
  }
  throw new Error('expected a parse error');
}

describe('Rego parser', () => {
  it('records rule kinds, ref heads and locations', () => {
    const module = parseModule(
      ['package a.b', 'import rego.v1', '', 'default allow := false', 'allow if input.x == 1', 's contains y if y := 1', 'o[k] := 1 if k := "a"', 'a.b[x].c := 2 if x := 1', 'f(x) := x * 2'].join('\n'),
      'p.rego',
    );
    expect(module.packagePath).toEqual(['a', 'b']);
    expect(module.rules.map((r) => r.kind)).toEqual(['single', 'single', 'multi', 'single', 'single', 'function']);
    expect(module.rules[0]!.isDefault).toBe(true);
    expect(module.rules[4]!.ref).toHaveLength(4);
    expect(module.rules[1]!.loc).toEqual({ file: 'p.rego', row: 5, col: 1 });
    expect(module.rules[1]!.body[0]!.loc).toEqual({ file: 'p.rego', row: 5, col: 10 });
  });

  it('keeps integers beyond 2^53 exact', () => {
    const query = parseQuery('x := 123456789012345678901234567890');
    const call = query.body[0]!.type === 'expr' ? query.body[0]!.term : undefined;
    expect(call?.type === 'call' && call.args[1]!.type === 'scalar' ? call.args[1]!.value : undefined).toBe(123456789012345678901234567890n);
  });

  it('reads integer literals with positive exponents exactly, fractions and negative exponents as floats', () => {
    const values = parseQuery('x := [1e30, 1.5, 2.50e1, -12e-1, 1e2, 100000000000000000e-1]').body[0]!;
    const array = values.type === 'expr' && values.term.type === 'call' ? values.term.args[1]! : undefined;
    expect(array?.type === 'array' ? array.items.map((t) => (t.type === 'scalar' ? t.value : undefined)) : []).toEqual([10n ** 30n, 1.5, 25, -1.2, 100, 1e16]);
  });

  it('reads v0 partial sets and keeps v1 keywords off in v0 modules without imports', () => {
    const v0 = parseModule('package p\nq[x] { x := 1 }\nin := 3', 'p.rego', { regoVersion: 0 });
    expect(v0.rules[0]!.kind).toBe('multi');
    expect(v0.rules[1]!.ref[0]).toMatchObject({ type: 'var', name: 'in' });
    expect(parseModule('package p\nq.r { true }', 'p.rego', { regoVersion: 0 }).rules[0]!.kind).toBe('multi');
    expect(parseModule('package p\nq[x] if { x := 1 }', 'p.rego', { regoVersion: 0 }).rules[0]!.kind).toBe('single');
    const withImport = parseModule('package p\nimport future.keywords.in\nq if 1 in [1]', 'p.rego', { regoVersion: 0 });
    expect(withImport.rules[0]!.body[0]).toMatchObject({ type: 'expr', term: { type: 'call', name: 'internal.member_2' } });
  });

  it('requires if before bodies in v1 and reports file:line:col with the source line and a caret', () => {
    const error = parseError('package p\n\nallow {\n  true\n}');
    expect(error.code).toBe('rego_parse_error');
    expect(error.message).toContain('p.rego:3:7');
    expect(error.message).toContain('`if` keyword is required');
    expect(error.message).toContain('\tallow {\n\t      ^');
  });

  it('asks for if before a brace body after any v1 head, naming functions as OPA does', () => {
    expect(parseError('package p\n\nq = 1 {\n  true\n}').message).toContain('`if` keyword is required before rule body');
    expect(parseError('package p\n\nq := x {\n  x := 1\n}').message).toContain('p.rego:3:');
    expect(parseError('package p\n\ns contains 1 {\n  true\n}').message).toContain('`if` keyword is required before rule body');
    expect(parseError('package p\n\nf(x) := x {\n  true\n}').message).toContain('`if` keyword is required before function body');
    expect(parseError('package p\n\nf(x) {\n  x\n}').message).toContain('`if` keyword is required before function body');
    expect(parseModule('package p\n\nq = 1 {\n  true\n}', 'p.rego', { regoVersion: 0 }).rules).toHaveLength(1);
  });

  it('reads contains(s, t) as the builtin where contains is a keyword, and tolerates BOM and CRLF', () => {
    const module = parseModule('\uFEFFpackage p\r\nimport rego.v1\r\nx if contains("abc", "b")\r\n', 'p.rego');
    expect(module.rules[0]!.body[0]).toMatchObject({ term: { type: 'call', name: 'contains' } });
    expect(module.loc).toEqual({ file: 'p.rego', row: 1, col: 1 });
  });

  it('rejects a query with trailing tokens', () => {
    expect(() => parseQuery('[1]]')).toThrow(/expecting EOF/);
    expect(() => parseQuery('1 2')).toThrow(/expecting EOF/);
  });

  it('tells a comprehension from an array with set union', () => {
    const array = parseQuery('x := [a | b, 5]').body[0]!;
    const compr = parseQuery('x := [a | a := 1]').body[0]!;
    expect(array.type === 'expr' && array.term.type === 'call' ? array.term.args[1]!.type : '').toBe('array');
    expect(compr.type === 'expr' && compr.term.type === 'call' ? compr.term.args[1]!.type : '').toBe('comprehension');
  });

  it('parses raw strings, escapes, some/every and with', () => {
    const module = parseModule(
      'package p\nr := `a\\b`\ns := "\\u00e9\\n"\nt if {\n  some k, v in {"a": 1}\n  every x in [1] { x > 0 }\n  f(1) with input as {}\n}\nf(x) := x',
      'p.rego',
    );
    expect(module.rules[0]!.value).toMatchObject({ value: 'a\\b' });
    expect(module.rules[1]!.value).toMatchObject({ value: 'é\n' });
    expect(module.rules[2]!.body.map((l) => l.type)).toEqual(['some-in', 'every', 'expr']);
    expect(module.rules[2]!.body[2]!.with).toHaveLength(1);
  });

  it('rejects shadowing imports of rego.v1 and future keywords', () => {
    expect(parseError('package p\nimport rego.v1\nimport future.keywords.in', 0).message).toContain('shadows previous import');
  });
});
