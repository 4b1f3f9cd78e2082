// The OPA case format runner compares as OPA's own runner: result sets as sets of binding rows
// (JSON values), error codes exactly, error texts as substrings, builtin errors only when strict.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runConformance } from '../../policies/conformance.js';

function run(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'weft-opa-cases-'));
  writeFileSync(join(dir, 'cases.yaml'), yaml);
  return runConformance(dir, { format: 'opa' });
}

const module = (source: string) => `      modules:\n        - |\n${source.split('\n').map((line) => `          ${line}`).join('\n')}\n`;

describe('OPA-format conformance cases', () => {
  it('compares result rows as a set, each binding as its JSON value', () => {
    const report = run(`cases:
    - note: rows in any order, sets as arrays
      query: x = data.t.s[_]
${module('package t\ns := {1, {2}}')}      want_result:
        - x: [2]
        - x: 1
    - note: a query without variables gives one empty row
      query: data.t.s[1]
${module('package t\ns := {1}')}      want_result:
        - {}
    - note: undefined is no row
      query: data.t.missing = x
${module('package t\ns := {1}')}      want_result: []
    - note: wrong value
      query: x := 1
      want_result:
        - x: 2
`);
    expect(report.failures.map((f) => f.note)).toEqual(['wrong value']);
    expect(report.passed).toBe(3);
  });

  it('sorts array bindings with sort_bindings, and reads input, input_term and data', () => {
    const report = run(`cases:
    - note: sort_bindings
      query: x := [3, 1, 2]
      sort_bindings: true
      want_result:
        - x: [1, 2, 3]
    - note: unsorted without it
      query: x := [3, 1, 2]
      want_result:
        - x: [1, 2, 3]
    - note: input and data
      query: x := [input.a, data.b]
      input: {a: 1}
      data: {b: 2}
      want_result:
        - x: [1, 2]
    - note: input_term keeps a set
      query: x := count(input)
      input_term: '{1, 2, 2}'
      want_result:
        - x: 2
`);
    expect(report.failures.map((f) => f.note)).toEqual(['unsorted without it']);
  });

  it('compares error codes exactly and error texts as substrings; builtin errors only with strict_error', () => {
    const report = run(`cases:
    - note: conflict code
      query: data.t.p = x
${module('package t\np := 1\np := 2')}      want_error_code: eval_conflict_error
    - note: wrong code
      query: data.t.p = x
${module('package t\np := 1\np := 2')}      want_error_code: eval_type_error
    - note: strict builtin error
      query: x := 1 / 0
      strict_error: true
      want_error_code: eval_builtin_error
      want_error: 'div: divide by zero'
    - note: non-strict builtin error is undefined
      query: x := 1 / 0
      want_result: []
    - note: error expected, none raised
      query: x := 1
      want_error_code: eval_type_error
    - note: error raised, none expected
      query: x := 1 / 0
      strict_error: true
      want_result: []
`);
    expect(report.failures.map((f) => f.note)).toEqual(['wrong code', 'error expected, none raised', 'error raised, none expected']);
    expect(report.failures[0]!.got).toContain('eval_conflict_error');
  });

  it("matches want_error against OPA's rendering of the error: file and row, no column", () => {
    const report = run(`cases:
    - note: evaluation error, as topdown.Error prints it
      query: data.t.p = x
${module('package t\np := x if {\n  x := 1 / 0\n}')}      strict_error: true
      want_error: 'test-0.rego:3: eval_builtin_error: div: divide by zero'
    - note: one compile error, as ast.Errors prints it
      query: data.t.p = x
${module('package t\np := y')}      want_error: '1 error occurred: test-0.rego:2: rego_unsafe_var_error: var y is unsafe'
    - note: the column is not OPA's
      query: data.t.p = x
${module('package t\np := x if {\n  x := 1 / 0\n}')}      strict_error: true
      want_error: 'test-0.rego:3:3:'
`);
    expect(report.failures.map((f) => f.note)).toEqual(['the column is not OPA\'s']);
  });
});
