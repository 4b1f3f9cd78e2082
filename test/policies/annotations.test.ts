import { describe, expect, it } from 'vitest';
import { compile } from '../../policies/index.js';
import { policy, value } from '../helpers/rego.js';

const pkg = `# METADATA
# title: Payments
# description: who may move money
# scope: subpackages
package pay
`;

const rules = `# METADATA
# description: the API
package pay.api

# METADATA
# scope: document
# title: Allow
# authors:
# - Jane Doe <jane@example.com>
# - Ops Team
# related_resources:
# - https://example.com/runbook
default allow := false

# METADATA
# title: Admins
# custom:
#   severity: high
allow if {
  input.admin
  chain := rego.metadata.chain()
  count(chain) > 0
}

unannotated := rego.metadata.chain()

own := rego.metadata.rule()

# METADATA
# title: Mine
mine := rego.metadata.rule()
`;

describe('METADATA annotations and rego.metadata.*', () => {
  it('rego.metadata.rule() is the rule-scoped annotation of the calling rule, or {}', () => {
    const p = policy(pkg, rules);
    expect(value(p, 'data.pay.api.mine')).toEqual({ scope: 'rule', title: 'Mine' });
    expect(value(p, 'data.pay.api.own')).toEqual({});
  });

  it('rego.metadata.chain() lists rule, document, package and enclosing subpackages annotations, innermost first', () => {
    const p = policy(pkg, rules.replace('count(chain) > 0', 'chain[0].annotations.custom.severity == "high"'));
    expect(value(p, 'data.pay.api.allow', { input: { admin: true } })).toBe(true);
    expect(value(p, 'data.pay.api.unannotated')).toEqual([
      { path: ['pay', 'api', 'unannotated'] },
      { path: ['pay', 'api'], annotations: { scope: 'package', description: 'the API' } },
      { path: ['pay'], annotations: { scope: 'subpackages', title: 'Payments', description: 'who may move money' } },
    ]);
  });

  it('reads authors and related resources as OPA does, and document annotations apply to every rule of the path', () => {
    const p = policy(pkg, rules + '\nallow if {\n  input.x\n  rego.metadata.chain()[1].annotations.authors == [{"name": "Jane Doe", "email": "jane@example.com"}, {"name": "Ops Team"}]\n  rego.metadata.chain()[1].annotations.related_resources == [{"ref": "https://example.com/runbook"}]\n}\n');
    expect(value(p, 'data.pay.api.allow', { input: { x: true } })).toBe(true);
  });

  it('a comment that is not a METADATA block is only a comment', () => {
    const p = policy('package t\n# title: not metadata\np := rego.metadata.rule()\n');
    expect(value(p, 'data.t.p')).toEqual({});
  });

  it('refuses malformed annotations at parse time, and the builtins outside a rule', () => {
    expect(() => policy('package t\n# METADATA\n# scope: rule\n# title: [unclosed\np := 1\n')).toThrow(/rego_parse_error/);
    expect(() => policy('# METADATA\n# scope: rule\npackage t\n')).toThrow(/annotation scope 'rule' must be applied to rule/);
    expect(() => policy('package t\n# METADATA\n# scope: package\np := 1\n')).toThrow(/annotation scope 'package' must be applied to package/);
    expect(() => policy('package t\n# METADATA\n# scope: everything\np := 1\n')).toThrow(/invalid annotation scope 'everything'/);
    const p = compile([{ file: 't.rego', source: 'package t\np := 1\n' }]);
    expect(() => p.evaluate('x := rego.metadata.chain()', { strict: true })).toThrow(/must only be called within the scope of a rule/);
  });
});

describe('rego.parse_module', () => {
  it("returns the module's AST in OPA's JSON shape", () => {
    const p = policy('package t\nast := rego.parse_module("x.rego", input.src)\n');
    const ast = value(p, 'data.t.ast', { input: { src: 'package foo.bar\nimport data.a as b\nq contains x if { some x in b; not x == 1 }\nf(x) := y if y := x * 2' } }) as Record<string, unknown>;
    expect(ast['package']).toEqual({ path: [{ type: 'var', value: 'data' }, { type: 'string', value: 'foo' }, { type: 'string', value: 'bar' }] });
    expect(ast['imports']).toEqual([{ path: { type: 'ref', value: [{ type: 'var', value: 'data' }, { type: 'string', value: 'a' }] }, alias: 'b' }]);
    const [q, f] = ast['rules'] as { head: Record<string, unknown>; body: Record<string, unknown>[] }[];
    expect(q!.head).toEqual({ name: 'q', ref: [{ type: 'var', value: 'q' }], key: { type: 'var', value: 'x' } });
    expect(q!.body[1]).toEqual({ index: 1, negated: true, terms: [{ type: 'ref', value: [{ type: 'var', value: 'equal' }] }, { type: 'var', value: 'x' }, { type: 'number', value: 1 }] });
    expect(f!.head['args']).toEqual([{ type: 'var', value: 'x' }]);
    expect(f!.head['assign']).toBe(true);
  });

  it('a module that does not parse is a builtin error naming the parse error', () => {
    const p = policy('package t\nast := rego.parse_module("x.rego", input.src)\n');
    expect(() => value(p, 'data.t.ast', { input: { src: 'package foo.' } })).toThrow(/eval_builtin_error: .*rego_parse_error: unexpected eof token: expected ident/);
  });
});
