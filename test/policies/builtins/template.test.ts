import { describe, expect, it } from 'vitest';
import { makeObject, makeSet } from '../../../policies/engine/value.js';
import { call, expectFailure, v } from './call-builtin.js';

const render = (template: string, vars: unknown) => call('strings.render_template', template, v(vars));

describe('strings.render_template', () => {
  it('substitutes fields and prints values as Go does', () => {
    expect(render('Hello {{.name}}!', { name: 'ada' })).toBe('Hello ada!');
    expect(render('{{.user.id}} {{.n}} {{.f}} {{.ok}} {{.none}}', { user: { id: 7 }, n: 2, f: 1.5, ok: true, none: null })).toBe('7 2 1.5 true <nil>');
    expect(render('{{.list}} {{.map}}', { list: ['a', 1], map: { b: 2, a: [1] } })).toBe('[a 1] map[a:[1] b:2]');
    expect(call('strings.render_template', '{{.s}}', makeObject([['s', makeSet(['y', 'x'])]]))).toBe('[x y]');
    expect(render('{{"lit"}} {{`raw`}} {{3}} {{$.x}}', { x: 'root' })).toBe('lit raw 3 root');
    expect(render('{{/* a comment */}}x', {})).toBe('x');
  });

  it('supports if / else if / else, with, and range with variables', () => {
    const t = '{{if .admin}}admin{{else if .user}}user{{else}}anonymous{{end}}';
    expect([render(t, { admin: true, user: true }), render(t, { admin: false, user: 'x' }), render(t, { admin: 0, user: '' })]).toEqual(['admin', 'user', 'anonymous']);
    expect(render('{{with .a}}[{{.b}}]{{else}}none{{end}}', { a: { b: 1 } })).toBe('[1]');
    expect(render('{{with .a}}[{{.b}}]{{else}}none{{end}}', { a: {} })).toBe('none');
    expect(render('{{range .xs}}<{{.}}>{{end}}', { xs: [1, 2] })).toBe('<1><2>');
    expect(render('{{range $i, $x := .xs}}{{$i}}={{$x}};{{end}}', { xs: ['a', 'b'] })).toBe('0=a;1=b;');
    expect(render('{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}', { m: { b: 2, a: 1 } })).toBe('a=1;b=2;');
    expect(render('{{range .xs}}x{{else}}empty{{end}}', { xs: [] })).toBe('empty');
  });

  it('trims around {{- and -}}', () => {
    expect(render('a  {{- .x -}}  \n b', { x: 1 })).toBe('a1b');
    expect(render('{{range .xs -}}\n  {{.}}\n{{- end}}', { xs: [1, 2] })).toBe('12');
  });

  it("fails like Go's missingkey=error and on what it does not support", () => {
    expectFailure('strings.render_template', ['{{.missing}}', v({})], 'eval_builtin_error', 'map has no entry for key "missing"');
    expectFailure('strings.render_template', ['{{.a.b}}', v({ a: 1 })], 'eval_builtin_error', "can't evaluate field b");
    expectFailure('strings.render_template', ['{{if .a}}x', v({ a: 1 })], 'eval_builtin_error', 'unexpected EOF');
    expectFailure('strings.render_template', ['{{end}}', v({})], 'eval_builtin_error', 'unexpected {{end}}');
    expectFailure('strings.render_template', ['{{upper .a}}', v({ a: 'x' })], 'eval_builtin_error', 'function "upper" not defined');
    expectFailure('strings.render_template', ['{{.a', v({})], 'eval_builtin_error', 'unclosed action');
    expectFailure('strings.render_template', ['{{$nope}}', v({})], 'eval_builtin_error', 'undefined variable "$nope"');
    expectFailure('strings.render_template', ['{{range .a}}{{end}}', v({ a: 3 })], 'eval_builtin_error', "range can't iterate over 3");
    const nested = '{{range .a}}{{range $.a}}{{range $.a}}{{end}}{{end}}{{end}}';
    expectFailure('strings.render_template', [nested, v({ a: Array.from({ length: 200 }, (_, i) => i) })], 'eval_builtin_error', 'exceeds the step limit');
    expectFailure('strings.render_template', ['x', 'y'], 'eval_type_error', 'strings.render_template: operand 2 must be object but got string');
  });
});
