import { describe, expect, it } from 'vitest';
import { compile, RegoError } from '../../policies/index.js';
import { policy, value } from '../helpers/rego.js';

const head = 'package t\nimport rego.v1\n';

describe('Rego evaluation: rules', () => {
  it('evaluates complete, default, partial set, partial object and function rules', () => {
    const p = policy(
      head +
        `default allow := false
allow if input.user == "alice"
s contains x if some x in [1, 2, 2]
o[k] := v if some k, v in {"a": 1, "b": 2}
f(x) := x * 2
g(x) := "small" if x < 10
g(x) := "big" if x >= 10`,
    );
    expect(value(p, 'data.t.allow', { input: { user: 'alice' } })).toBe(true);
    expect(value(p, 'data.t.allow', { input: { user: 'bob' } })).toBe(false);
    expect(value(p, 'data.t.s')).toEqual([1, 2]);
    expect(value(p, 'data.t.o')).toEqual({ a: 1, b: 2 });
    expect(value(p, 'data.t.f(4)')).toBe(8);
    expect(value(p, 'data.t.g(12)')).toBe('big');
  });

  it('tells which rule decided an entrypoint when asked to explain', () => {
    const p = compile([{ file: 'authz.rego', source: head + 'default allow := false\nallow if input.a\nallow if input.b' }]);
    expect(p.evaluate('data.t.allow', { input: { b: true }, explain: true }).decidedBy).toEqual({ file: 'authz.rego', row: 5, col: 1 });
    expect(p.evaluate('data.t.allow', { input: {}, explain: true }).decidedBy).toEqual({ file: 'authz.rego', row: 3, col: 1 });
    expect(p.evaluate('data.t.allow', { input: { b: true } }).decidedBy).toBeUndefined();
  });

  it('calls a function member of the input only when the policy reads it, once per evaluation', () => {
    const p = compile([{ file: 'lazy.rego', source: head + 'h := input.headers.a\nboth := [input.headers.a, input.headers.b, input.missing]\nm := input.method' }]);
    let calls = 0;
    const input = { method: 'GET', headers: () => (calls++, { a: 'x', b: null }), missing: () => null };
    expect(p.evaluate('data.t.m', { input }).value).toBe('GET');
    expect(calls).toBe(0);
    expect(p.evaluate('data.t.both', { input }).value).toEqual(['x', null, null]);
    expect(calls).toBe(1);
    expect(p.evaluate('data.t.h', { input: { headers: () => ({ a: 'y' }) } }).value).toBe('y');
  });

  it('lists every complete document an explained evaluation decided, the entrypoint last', () => {
    const p = compile([
      { file: 'authz.rego', source: head + 'default allow := false\nallow if input.a\nreason := "no" if not allow\ndecision := {"allowed": allow, "reason": reason}' },
    ]);
    expect(p.evaluate('data.t.decision', { input: {}, explain: true }).decisions).toEqual([
      { document: 'data.t.allow', isDefault: true, location: { file: 'authz.rego', row: 3, col: 1 } },
      { document: 'data.t.reason', isDefault: false, location: { file: 'authz.rego', row: 5, col: 1 } },
      { document: 'data.t.decision', isDefault: false, location: { file: 'authz.rego', row: 6, col: 1 } },
    ]);
    expect(p.evaluate('data.t.decision', { input: {} }).decisions).toBeUndefined();
  });

  it('lists each partial rule that added to a set an explained evaluation read', () => {
    const p = compile([
      {
        file: 'deny.rego',
        source:
          head +
          'deny contains "no admin" if not input.admin\ndeny contains "bad method" if input.method == "DELETE"\ndeny contains "never" if input.never\n' +
          'default allow := false\nallow if count(deny) == 0',
      },
    ]);
    expect(p.evaluate('data.t.allow', { input: { method: 'DELETE' }, explain: true }).decisions).toEqual([
      { document: 'data.t.deny', isDefault: false, location: { file: 'deny.rego', row: 3, col: 1 } },
      { document: 'data.t.deny', isDefault: false, location: { file: 'deny.rego', row: 4, col: 1 } },
      { document: 'data.t.allow', isDefault: true, location: { file: 'deny.rego', row: 6, col: 1 } },
    ]);
    expect(p.evaluate('data.t.allow', { input: { admin: true }, explain: true }).decisions).toEqual([
      { document: 'data.t.allow', isDefault: false, location: { file: 'deny.rego', row: 7, col: 1 } },
    ]);
  });

  it('follows else chains and multiple bodies (OR)', () => {
    const p = policy(
      head +
        `level := "admin" if input.role == "root"
else := "user" if input.role == "dev"
else := "none"
either if input.a
either if input.b`,
    );
    expect(value(p, 'data.t.level', { input: { role: 'root' } })).toBe('admin');
    expect(value(p, 'data.t.level', { input: { role: 'dev' } })).toBe('user');
    expect(value(p, 'data.t.level', { input: {} })).toBe('none');
    expect(value(p, 'data.t.either', { input: { b: true } })).toBe(true);
    expect(value(p, 'data.t.either', { input: {} })).toBeUndefined();
  });

  it('looks up one key of a partial rule, whether its key is a variable or computed', () => {
    const p = policy(head + 'byvar[k] := v if some k, v in {"a": 1, "b": 2}\ncomputed[concat("", [k, "!"])] := v if some k, v in {"a": 1}\nset contains upper(x) if some x in ["a"]');
    expect(value(p, 'data.t.byvar.b')).toBe(2);
    expect(value(p, 'data.t.byvar.c')).toBeUndefined();
    expect(value(p, 'data.t.computed["a!"]')).toBe(1);
    expect(p.evaluate('x := data.t.set["A"]').results.map((r) => r.bindings)).toEqual([{ x: 'A' }]);
  });

  it('builds documents from multi-part ref heads', () => {
    const p = policy(head + 'a.b[x].c := y if some x, y in {"p": 1, "q": 2}\na.d := 3');
    expect(value(p, 'data.t.a')).toEqual({ b: { p: { c: 1 }, q: { c: 2 } }, d: 3 });
    expect(value(p, 'data.t.a.b.q.c')).toBe(2);
  });

  it('tells undefined from false', () => {
    const p = policy(head + 'f := false\nu if false\nnot_f if not f\nnot_u if not u');
    expect(p.evaluate('data.t.f').defined).toBe(true);
    expect(p.evaluate('data.t.f').value).toBe(false);
    expect(p.evaluate('data.t.u').defined).toBe(false);
    expect(value(p, 'data.t.not_f')).toBe(true);
    expect(value(p, 'data.t.not_u')).toBe(true);
  });

  it('raises eval_conflict_error for complete rules and functions with different values', () => {
    const p = policy(head + 'x := 1 if true\nx := 2 if true\nf(_) := 1\nf(_) := 2\nsame := 1 if true\nsame := 1 if 1 > 0');
    expect(() => value(p, 'data.t.x')).toThrow(expect.objectContaining({ code: 'eval_conflict_error' }));
    expect(() => value(p, 'data.t.f(1)')).toThrow(expect.objectContaining({ code: 'eval_conflict_error' }));
    expect(value(p, 'data.t.same')).toBe(1);
  });

  it('merges base documents from data with rule results and looks data up dynamically', () => {
    const p = policy(head + 'r := 1', 'package other\nimport rego.v1\nv := data.t[input.k]');
    expect(value(p, 'data.t', { data: { t: { base: 'b' } } })).toEqual({ base: 'b', r: 1 });
    expect(value(p, 'data.other.v', { data: { t: { base: 'b' } }, input: { k: 'base' } })).toBe('b');
    expect(value(p, 'data.other.v', { data: { t: { base: 'b' } }, input: { k: 'r' } })).toBe(1);
  });
});

describe('Rego evaluation: bodies', () => {
  it('binds a call operand through a ref among the other operands (`i == xs[i]`), as OPA', () => {
    const p = policy(head + 'p := i if {\n  some i\n  i == input.xs[i]\n}\nq contains i if i == input.xs[i]\nr if count(input.xs[i]) == i');
    expect(value(p, 'data.t.p', { input: { xs: [2, 1, 0] } })).toBe(1);
    expect(value(p, 'data.t.q', { input: { xs: [0, 5, 2] } })).toEqual([0, 2]);
    expect(value(p, 'data.t.p', { input: { xs: ['a'] } })).toBeUndefined();
    expect(value(p, 'data.t.r', { input: { xs: ['', 'b'] } })).toBe(true);
  });

  it('unifies and destructures, binds with some/in and checks every', () => {
    const p = policy(
      head +
        `pair := [a, b] if [a, {"k": b}] = [1, {"k": 2}]
keys contains k if some k, _ in {"x": 1, "y": 2}
all_pos if every v in [1, 2, 3] { v > 0 }
some_neg if every v in [1, -2] { v > 0 }
member if 2 in {1, 2}
comp := {"arr": [x | some x in [3, 1]], "set": {x | some x in [3, 1, 3]}, "obj": {k: v | some k, v in ["a", "b"]}}`,
    );
    expect(value(p, 'data.t.pair')).toEqual([1, 2]);
    expect(value(p, 'data.t.keys')).toEqual(['x', 'y']);
    expect(value(p, 'data.t.all_pos')).toBe(true);
    expect(value(p, 'data.t.some_neg')).toBeUndefined();
    expect(value(p, 'data.t.member')).toBe(true);
    expect(value(p, 'data.t.comp')).toEqual({ arr: [3, 1], set: [1, 3], obj: { '0': 'a', '1': 'b' } });
  });

  it("keeps every's variables to its body, and reads with modifiers continued on the next lines", () => {
    const p = policy(
      head +
        `after contains k if {
  every k in ["a", "b"] { k != "c" }
  k := "z"
}
mocked if {
  input.n == 2
    with input.n as 2
    with data.x as 1
}`,
    );
    expect(value(p, 'data.t.after')).toEqual(['z']);
    expect(value(p, 'data.t.mocked')).toBe(true);
  });

  it('merges reference-head rules with a rule of a variable key above them, and a key given two values conflicts', () => {
    const merged = policy(head + 'p.q.r := 1\np.q[s] := 2 if s := "s"\n');
    expect(value(merged, 'data.t.p')).toEqual({ q: { r: 1, s: 2 } });
    expect(value(merged, 'data.t.p.q')).toEqual({ r: 1, s: 2 });
    expect(value(merged, 'data.t')).toEqual({ p: { q: { r: 1, s: 2 } } });
    const same = policy(head + 'p.q.r := 1\np.q[s] := 1 if s := "r"\n');
    expect(value(same, 'data.t.p.q')).toEqual({ r: 1 });
    const conflicting = policy(head + 'p.q.r := 1\np.q[s] := 2 if s := "r"\n');
    expect(() => conflicting.evaluate('data.t.p.q')).toThrow(/eval_conflict_error: object keys must be unique/);
    expect(() => conflicting.evaluate('data.t')).toThrow(/eval_conflict_error/);
  });

  it('reads a constant string in brackets as a dotted name: p["x"] := 1 is the complete rule p.x := 1, as in OPA', () => {
    const p = policy(head + 'p["x"] := 1\np["y"] := 2\np[k] := 3 if k := "z"\n');
    expect(value(p, 'data.t.p')).toEqual({ x: 1, y: 2, z: 3 });
    const twice = policy(head + 'p["x"] := 1\np["x"] := 2\n');
    expect(() => twice.evaluate('data.t.p')).toThrow(/eval_conflict_error: complete rules must not produce multiple outputs/);
    expect(() => twice.evaluate('data.t.p.x')).toThrow(/eval_conflict_error: complete rules must not produce multiple outputs/);
    expect(() => policy(head + 'p["x"] := 1\np.x.y := 2\n')).toThrow(/rule data.t.p.x conflicts with \[data.t.p.x.y\]/);
  });

  it('gives two values for a ground non-string key (p[1] := 1, p[1] := 2) as a complete-rule conflict, as OPA, and a variable key as an object-key one', () => {
    const ground = policy(head + 'p[1] := 1\np[1] := 2\n');
    expect(() => ground.evaluate('data.t.p')).toThrow(/eval_conflict_error: complete rules must not produce multiple outputs/);
    expect(() => ground.evaluate('data.t.p[1]')).toThrow(/eval_conflict_error: complete rules must not produce multiple outputs/);
    const variable = policy(head + 'p[k] := 1 if k := 1\np[k] := 2 if k := 1\n');
    expect(() => variable.evaluate('data.t.p')).toThrow(/eval_conflict_error: object keys must be unique/);
  });

  it('joins the sets of multi-value reference-head rules at the same path; complete values there still conflict', () => {
    const shallow = policy(head + 'p[q] contains r if {\n  some q in ["a", "b"]\n  some r in ["a", "b"]\n  q != r\n}\np.b contains "foo"\n');
    expect(value(shallow, 'data.t.p')).toEqual({ a: ['b'], b: ['a', 'foo'] });
    const deep = policy(head + 'p[q].r contains s if {\n  some q in ["a", "b"]\n  s := q\n}\np.b.r contains "foo"\n');
    expect(value(deep, 'data.t.p')).toEqual({ a: { r: ['a'] }, b: { r: ['b', 'foo'] } });
    expect(value(deep, 'data.t.p.b.r')).toEqual(['b', 'foo']);
    const complete = policy(head + 'p[q] := {1} if q := "b"\np.b := {2}\n');
    expect(() => complete.evaluate('data.t.p')).toThrow(/eval_conflict_error/);
  });

  it('keeps a comprehension variable its own when the body declares the same name later', () => {
    const p = policy(
      head +
        `xs := {"a", "b", "c"}
p := x if { y := {x | xs[x]}; z := {x | xs[x]}; count(y) == count(z); x := count(y) }
q := x if { x := 2; y := {x | xs[_]}; count(y) == 1 }
s contains x if { y := [x | some x in [1, 2]]; some x in y }`,
    );
    expect(value(p, 'data.t.p')).toBe(3);
    // Declared before the comprehension, the variable is closed over.
    expect(value(p, 'data.t.q')).toBe(2);
    expect(value(p, 'data.t.s')).toEqual([1, 2]);
    expect(() => policy(head + 'p if { y := x; x := 1 }')).toThrow(/var x referenced above/);
  });

  it('runs a function put in place by `with` under the mocks of where the `with` was written', () => {
    const p = policy(
      head +
        `f(x) := 2
g(x) := f(x)
p := y if y := f(1) with f as g
f1(x) := object.union_n(x)
f2(x) := count(x)
h(x) := f1(x)
k(x) := 123 if f2(x)
nested if r with f1 as h with f2 as k
r if {
  x := [{"a": 4}, {"b": 5}]
  f2(x) == 123
  f1(x) == {"a": 4, "b": 5}
}`,
    );
    expect(value(p, 'data.t.p')).toBe(2);
    expect(value(p, 'data.t.nested')).toBe(true);
  });

  it('indexes base data by a number as the key of its text, and rule values by the number itself', () => {
    const p = compile([{ file: 't.rego', source: head + 'x := data.nested[2]\ny := data.nested.deeper[1][0]\nr[0] := "zero"\nz := r[0]\nw := {"0": 1}[0]\n' }], {
      data: { nested: { '2': 'two', deeper: { '1': ['one'] } } },
    });
    expect(value(p, 'data.t.x')).toBe('two');
    expect(value(p, 'data.t.y')).toBe('one');
    expect(value(p, 'data.t.z')).toBe('zero');
    // A literal object is not a base document: its key "0" is not the number 0.
    expect(value(p, 'data.t.w')).toBeUndefined();
  });

  it('evaluates a head key or value holding a wildcard in the body, as OPA', () => {
    const p = policy(head + 'xs := {1}\nq(_) := xs[_]\ns contains xs[_]\no[xs[_]] := 1\nys := {1, 2}\nmany := ys[_]\n');
    expect(p.evaluate('x := data.t.q(5)').results[0]!.bindings).toEqual({ x: 1 });
    expect(value(p, 'data.t.s')).toEqual([1]);
    expect(value(p, 'data.t.o')).toEqual({ '1': 1 });
    expect(() => p.evaluate('data.t.many')).toThrow(/eval_conflict_error: complete rules must not produce multiple outputs/);
  });

  it('makes every false over a domain that is not a collection, as OPA', () => {
    const p = policy(
      head +
        `f(a) := a
q := 1
over_number if every v in 42 { v > 1 }
over_string if every v in "abc" { v }
over_null if every v in null { v }
over_call if every v in f(3) { v > 1 }
over_rule if every v in q { v > 1 }
over_input if every v in input.n { v > 1 }
over_empty if every v in [] { v > 1 }`,
    );
    for (const name of ['over_number', 'over_string', 'over_null', 'over_call', 'over_rule']) {
      expect(value(p, `data.t.${name}`), name).toBeUndefined();
    }
    expect(p.evaluate('data.t.over_input', { input: { n: 1 } }).defined).toBe(false);
    expect(value(p, 'data.t.over_empty')).toBe(true);
  });

  it('replaces input, data and functions with `with`', () => {
    const p = policy(
      head +
        `allow if input.user == "alice"
via_with if allow with input as {"user": "alice"}
via_path if allow with input.user as "alice"
limit := data.config.limit
over if limit > 5 with data.config.limit as 10
own := data.t.cfg.n
own_over if own > 5 with data.t.cfg.n as 10
double(x) := x * 2
triple(x) := x * 3
mocked := y if y := double(2) with double as triple
counted := n if n := count([1, 2]) with count as 7
size(xs) := 0
as_builtin := n if n := size([1, 2, 3]) with size as count`,
    );
    expect(value(p, 'data.t.via_with', { input: { user: 'bob' } })).toBe(true);
    expect(value(p, 'data.t.via_path', { input: { user: 'bob' } })).toBe(true);
    expect(value(p, 'data.t.over', { data: { config: { limit: 1 } } })).toBe(true);
    // A path through a package of rules patches base data and keeps the package's rules.
    expect(value(p, 'data.t.own_over')).toBe(true);
    expect(value(p, 'data.t.mocked')).toBe(6);
    expect(value(p, 'data.t.counted')).toBe(7);
    expect(value(p, 'data.t.as_builtin')).toBe(3);
  });

  it('prints with <undefined> for undefined arguments, with the location of the call', () => {
    const lines: string[] = [];
    const p = policy(head + 'x if { print("value", input.missing, {"a": [1]}, {1}, set()) }');
    p.evaluate('data.t.x', { print: (line, location) => lines.push(`${location?.file}:${location?.row}: ${line}`) });
    expect(lines).toEqual(['m0.rego:3: value <undefined> {"a": [1]} {1} set()']);
  });

  it('gives every fresh key and value variables', () => {
    const p = policy(head + 'x := k + v if { k := 5; v := 95; every k, v in [1, 2] { v == k + 1 } }');
    expect(value(p, 'data.t.x')).toBe(100);
  });

  it('lets rules take precedence over imports and calls functions through import aliases', () => {
    const p = policy(
      'package lib\nimport rego.v1\na := 10\ndouble(x) := 2 * x',
      'package b\nimport rego.v1\nimport data.lib.a\nimport data.lib as json\na := 20\nd := json.double(a)',
    );
    expect(value(p, 'data.b')).toEqual({ a: 20, d: 40 });
  });

  it('makes builtin errors undefined in non-strict mode and raises them in strict mode', () => {
    const p = policy(head + 'x := 1 / 0');
    expect(p.evaluate('data.t.x', { strict: false }).defined).toBe(false);
    expect(() => p.evaluate('data.t.x', { strict: true })).toThrow(expect.objectContaining({ code: 'eval_builtin_error' }));
  });

  it('runs queries with bindings and several results', () => {
    const p = policy(head + 'xs := [1, 2, 3]');
    const result = p.evaluate('x := data.t.xs[_]; x > 1');
    expect(result.results.map((r) => r.bindings)).toEqual([{ x: 2 }, { x: 3 }]);
  });
});

describe('Rego evaluation: limits and untrusted input', () => {
  it('stops a runaway evaluation at the work cap and at the deadline with eval_cancel_error', () => {
    const p = policy(head + 'n := count([x | some x in numbers.range(1, 100000); x % 7 == 0])');
    expect(() => p.evaluate('data.t.n', { maxSteps: 1000 })).toThrow(expect.objectContaining({ code: 'eval_cancel_error' }));
    expect(() => p.evaluate('data.t.n', { timeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'eval_cancel_error' }));
    // Unbounded by steps, the same evaluation completes (a deadline generous enough for a loaded machine).
    expect(p.evaluate('data.t.n', { timeoutMs: 60_000 }).value).toBe(14285);
  });

  it('treats __proto__ and constructor keys as plain data', () => {
    const p = policy(head + 'keys := {k | some k, _ in input}\nproto := input.__proto__.polluted\nctor := object.get(input, "constructor", "none")\nmissing := input.toString');
    const input = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": 1}') as unknown;
    expect(value(p, 'data.t.keys', { input })).toEqual(['__proto__', 'a']);
    expect(value(p, 'data.t.proto', { input })).toBe('yes');
    expect(value(p, 'data.t.ctor', { input })).toBe('none');
    expect(value(p, 'data.t.missing', { input })).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('handles deeply nested input without overflowing', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 5000; i++) deep = { d: deep };
    const p = policy(head + 'top := object.keys(input)');
    expect(value(p, 'data.t.top', { input: deep })).toEqual(['d']);
  });

  it('refuses policies nested too deeply for the parser with a parse error, not a crash', () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    expect(() => policy(`package d\nx := ${deep}\n`)).toThrow(expect.objectContaining({ code: 'rego_parse_error' }));
  });

  it('ends runaway recursion through deep data with eval_cancel_error', () => {
    let deep: unknown = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const p = policy(head + 'same if input == input');
    expect(() => p.evaluate('data.t.same', { input: deep })).toThrow(expect.objectContaining({ code: 'eval_cancel_error' }));
  });

  it('reports evaluation errors with file:line:col, the source line and a caret', () => {
    const p = compile([{ file: 'authz.rego', source: head + 'x := 1 / 0' }]);
    try {
      p.evaluate('data.t.x', { strict: true });
      throw new Error('expected an error');
    } catch (error) {
      expect(error).toBeInstanceOf(RegoError);
      expect((error as Error).message).toMatch(/^authz\.rego:3:8: eval_builtin_error: /);
      expect((error as Error).message).toContain('\n\tx := 1 / 0\n\t       ^');
    }
  });
});
