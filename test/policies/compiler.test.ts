import { describe, expect, it } from 'vitest';
import { compile, RegoErrors } from '../../policies/index.js';
import { authzPolicy, authzRequests, nativeDecision } from '../bench/policy-fixture.js';

function compileError(source: string): RegoErrors {
  try {
    compile([{ file: 'p.rego', source }]);
  } catch (error) {
    expect(error).toBeInstanceOf(RegoErrors);
    return error as RegoErrors;
  }
  throw new Error('expected a compile error');
}

const head = 'package t\nimport rego.v1\n';

describe('Rego compiler', () => {
  it('names the unsafe variable', () => {
    const error = compileError(head + 'p if { x > 1 }');
    expect(error.code).toBe('rego_unsafe_var_error');
    expect(error.message).toContain('var x is unsafe');
    expect(error.message).toContain('p.rego:3:8');
  });

  it('reorders literals so variables are bound before use', () => {
    const p = compile([{ file: 'p.rego', source: head + 'p := y if { y > 1; y = input.n }' }]);
    expect(p.evaluate('data.t.p', { input: { n: 2 } }).value).toBe(2);
  });

  it('detects recursion at compile time', () => {
    const error = compileError(head + 'a if b\nb if a');
    expect(error.code).toBe('rego_recursion_error');
    expect(error.message).toContain('data.t.a');
  });

  it('checks builtin arity and unknown functions against the registry', () => {
    expect(compileError(head + 'x := count([1], 2, 3)').code).toBe('rego_type_error');
    expect(compileError(head + 'x := no_such_function(1)').message).toContain('undefined function no_such_function');
  });

  it('refuses http.send with a clear message', () => {
    const error = compileError(head + 'x := http.send({"method": "GET", "url": "http://example.com"})');
    expect(error.message).toContain('http.send is not offered in the sidecar');
    // Mocking it is refused as OPA refuses mocking a builtin its capabilities leave out (unsafe).
    const mocked = compileError(head + 'mock(_) := {"body": {}}\np if q with http.send as mock\nq if http.send({}).body');
    expect(mocked.code).toBe('rego_compile_error');
    expect(mocked.message).toContain('with keyword replacing built-in function: target must not be unsafe: "http.send"');
  });

  it('offers deprecated builtins to v0 modules only', () => {
    const v0 = compile([{ file: 'p.rego', source: 'package t\nx = any([false, true])', regoVersion: 0 }]);
    expect(v0.evaluate('data.t.x').value).toBe(true);
    expect(compileError(head + 'x := any([false, true])').message).toContain('deprecated built-in function any');
  });

  it('lists every error at once', () => {
    const error = compileError(head + 'a if { x }\nb if { y }');
    expect(error.errors).toHaveLength(2);
  });

  it('refuses rules inside the extent of a document another rule defines whole', () => {
    const complete = compileError(head + 'a.b := 1\na.b.c := 2');
    expect(complete.code).toBe('rego_type_error');
    expect(complete.message).toContain('rule data.t.a.b conflicts with [data.t.a.b.c]');
    expect(compileError(head + 'a.b if true\na.b.y if true\na.b.x.z if true').message).toContain('conflicts with [data.t.a.b.x.z data.t.a.b.y]');
    expect(compileError(head + 's contains 1\ns.k := 2').message).toContain('rule data.t.s conflicts with [data.t.s.k]');
    expect(compileError(head + 'f(x) := x\nf.g.h if true').message).toContain('rule data.t.f conflicts with [data.t.f.g.h]');
    expect(() => compile([{ file: 'a.rego', source: head + 'p := 1' }, { file: 'b.rego', source: 'package t.p\nq := 2' }])).toThrow(
      'rule data.t.p conflicts with [data.t.p.q]',
    );
    // Keys known only at evaluation leave room for other rules inside the document.
    const open = compile([{ file: 'p.rego', source: head + 'o[k] := 1 if some k in ["x"]\no.y := 2' }]);
    expect(open.evaluate('data.t.o').value).toEqual({ x: 1, y: 2 });
  });

  it('names every default rule of a document that has several, as OPA', () => {
    const error = compileError(head + 'default d := 1\nd := 3 if input.x\ndefault d := 2');
    expect(error.code).toBe('rego_type_error');
    expect(error.message).toContain('multiple default rules data.t.d found at p.rego:3, p.rego:5');
  });

  it('rejects reassignment and use before :=', () => {
    expect(compileError(head + 'p if { x := 1; x := 2 }').message).toContain('x assigned above');
    expect(compileError(head + 'p if { x == 1; x := 1 }').message).toContain('referenced above');
  });

  it('indexes through aliases of input: package-level and body-local', () => {
    const rules = Array.from({ length: 300 }, (_, i) =>
      i % 2 === 0 ? `allow if http.path == "/p${i}"` : `allow if { h := input.http; h.path == "/p${i}" }`,
    ).join('\n');
    const p = compile([{ file: 'a.rego', source: `${head}default allow := false\nhttp := input.http\n${rules}\nvia_with if allow with data.t.http as {"path": "/p4"}` }]);
    expect(p.evaluate('data.t.allow', { input: { http: { path: '/p7' } }, maxSteps: 50 }).value).toBe(true);
    expect(p.evaluate('data.t.allow', { input: { http: { path: '/p8' } }, maxSteps: 50 }).value).toBe(true);
    expect(p.evaluate('data.t.allow', { input: { http: { path: '/none' } }, maxSteps: 50 }).value).toBe(false);
    // Replacing the alias document with `with` still decides by the replacement.
    expect(p.evaluate('data.t.via_with', { input: { http: { path: '/none' } } }).value).toBe(true);
  });

  it('keeps rules with else branches as candidates whatever the indexed input', () => {
    const rules = Array.from({ length: 10 }, (_, i) => `level := ${i} if input.role == "r${i}"`).join('\n');
    const p = compile([{ file: 'a.rego', source: `${head}${rules}\nother := 1 if input.role == "admin" else := 2\nother := 1 if input.role == "root"\nother := 1 if input.role == "x"\nother := 1 if input.role == "y"` }]);
    expect(p.evaluate('data.t.level', { input: { role: 'r3' } }).value).toBe(3);
    expect(p.evaluate('data.t.other', { input: { role: 'nobody' } }).value).toBe(2);
  });

  it("checks a rule's other comparisons of input with constants at lookup: one failing keeps the rule unevaluated", () => {
    // One caller, 1,000 rules: the index files them all under it; method and path prefix must sort them out.
    const rules = Array.from(
      { length: 1000 },
      (_, i) => `allow if {\n  input.caller == "web"\n  input.method == "${i % 2 === 1 ? 'GET' : 'POST'}"\n  startswith(input.path, "/r${i}/")\n  count(input.path) > 4\n}`,
    ).join('\n');
    const p = compile([{ file: 'a.rego', source: `${head}default allow := false\n${rules}` }]);
    const decide = (input: unknown) => p.evaluate('data.t.allow', { input, maxSteps: 50 }).value;
    expect(decide({ caller: 'web', method: 'GET', path: '/r7/x' })).toBe(true);
    // The rest of the body still runs: count(...) > 4 fails for a short path.
    expect(decide({ caller: 'web', method: 'GET', path: '/r7/' })).toBe(false);
    expect(decide({ caller: 'web', method: 'POST', path: '/r7/x' })).toBe(false);
    expect(decide({ caller: 'web', method: 'GET', path: 7 })).toBe(false);
    expect(decide({ caller: 'web', path: '/r7/x' })).toBe(false);
    expect(decide({ caller: 'api', method: 'GET', path: '/r7/x' })).toBe(false);
  });

  it('indexes partial set rules too', () => {
    const rules = Array.from({ length: 500 }, (_, i) => `deny contains "kind ${i}" if input.kind == "k${i}"`).join('\n');
    const p = compile([{ file: 'deny.rego', source: `${head}${rules}\ndeny contains "any" if input.all` }]);
    expect(p.evaluate('data.t.deny', { input: { kind: 'k7' }, maxSteps: 50 }).value).toEqual(['kind 7']);
    expect(p.evaluate('data.t.deny', { input: { kind: 'k7', all: true }, maxSteps: 50 }).value).toEqual(['any', 'kind 7']);
  });

  it('indexes rules so evaluation work does not grow with rules that cannot match', () => {
    // With 2,000 rules, a decision must run within a work cap that evaluating every rule would exceed.
    const p = compile([{ file: 'authz.rego', source: authzPolicy(2000) }]);
    const native = nativeDecision(2000);
    for (const input of authzRequests(2000, 50)) {
      expect(p.evaluate('data.envoy.authz.allow', { input, maxSteps: 200 }).value).toBe(native(input));
    }
  });
});
