import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from 'tar';
import { describe, expect, it } from 'vitest';
import { runWeft } from '../helpers/weft-cli.js';

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-policy-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const authz = 'package authz\nimport rego.v1\ndefault allow := false\nallow if input.user in data.users\n';

describe('weft policy', () => {
  it('eval prints the result as JSON, like opa eval', async () => {
    const dir = workspace({ 'authz.rego': authz, 'data.json': '{"users": ["alice"]}', 'input.json': '{"user": "alice"}' });
    const result = await runWeft(['policy', 'eval', '-d', dir, '-i', join(dir, 'input.json'), 'data.authz.allow']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ result: [{ expressions: [{ value: true, text: 'data.authz.allow' }] }] });
  });

  it('eval loads a bundle with -b', async () => {
    const dir = workspace({ 'src/authz.rego': authz, 'src/data.json': '{"users": ["alice"]}', 'input.json': '{"user": "alice"}' });
    await create({ gzip: true, cwd: join(dir, 'src'), file: join(dir, 'bundle.tar.gz') }, ['authz.rego', 'data.json']);
    const result = await runWeft(['policy', 'eval', '-b', join(dir, 'bundle.tar.gz'), '-i', join(dir, 'input.json'), 'data.authz.allow']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).result[0].expressions[0].value).toBe(true);
  });

  it('eval makes builtin errors undefined unless --strict-builtin-errors, as opa eval', async () => {
    const dir = workspace({ 'div.rego': 'package d\nimport rego.v1\nx := 1 / 0\n' });
    expect(JSON.parse((await runWeft(['policy', 'eval', '-d', dir, 'data.d.x'])).stdout)).toEqual({});
    const strict = await runWeft(['policy', 'eval', '--strict-builtin-errors', '-d', dir, 'data.d.x']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('eval_builtin_error: div: divide by zero');
  });

  it('eval reads v0 modules with --v0', async () => {
    const dir = workspace({ 'old.rego': 'package old\nallow { input.x == 1 }\n' });
    const v1 = await runWeft(['policy', 'eval', '-d', dir, 'data.old.allow']);
    expect(v1.code).toBe(1);
    expect(v1.stdout).toContain('rego_parse_error');
    const v0 = await runWeft(['policy', 'eval', '--v0', '-d', dir, 'x := data.old']);
    expect(v0.code).toBe(0);
    expect(JSON.parse(v0.stdout).result[0].bindings).toEqual({ x: {} });
  });

  it('test runs test_ rules, prints each failure and the totals, exit 1 on failure', async () => {
    const dir = workspace({
      'authz.rego': authz,
      'authz_test.rego': 'package authz_test\nimport rego.v1\ntest_alice if data.authz.allow with input as {"user": "alice"} with data.users as ["alice"]\ntest_wrong if data.authz.allow with input as {"user": "eve"}\n',
    });
    const result = await runWeft(['policy', 'test', dir, '-v']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/data\.authz_test\.test_alice: PASS/);
    expect(result.stdout).toMatch(/data\.authz_test\.test_wrong: FAIL/);
    expect(result.stdout).toContain('1 passed, 1 failed');
  });

  it("test passes the project's own policy library", async () => {
    const result = await runWeft(['policy', 'test', fileURLToPath(new URL('../../policies/', import.meta.url))]);
    expect(result.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });

  it('check lists every error with its location', async () => {
    const dir = workspace({ 'a.rego': 'package a\nimport rego.v1\np if { x }\nq if { y }\n', 'b.rego': 'package b\nallow {\n' });
    const result = await runWeft(['policy', 'check', dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('b.rego:');
    const good = workspace({ 'a.rego': authz });
    expect((await runWeft(['policy', 'check', good])).code).toBe(0);
  });

  it('conformance prints failing cases and the totals, exit 0', async () => {
    const dir = workspace({
      'cases/a.yaml': 'cases:\n  - note: ok\n    modules: ["package t\\np = 1"]\n    query: data.t.p\n    want_result: 1\n  - note: wrong\n    modules: ["package t\\np = 1"]\n    query: data.t.p\n    want_result: 2\n  - note: skipped\n    skip: true\n    query: "1"\n',
    });
    const result = await runWeft(['policy', 'conformance', join(dir, 'cases')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('FAIL a.yaml: wrong');
    expect(result.stdout).toContain('1 passed, 1 failed, 1 skipped');
  });

  it('conformance --opa runs OPA-format case files', async () => {
    const dir = workspace({
      'v1/a.yaml':
        'cases:\n  - note: ok\n    modules: ["package t\\np := 1"]\n    query: data.t.p = x\n    want_result: [{x: 1}]\n  - note: wrong\n    modules: ["package t\\np := 1"]\n    query: data.t.p = x\n    want_result: [{x: 2}]\n',
    });
    const result = await runWeft(['policy', 'conformance', '--opa', dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('FAIL v1/a.yaml: wrong');
    expect(result.stdout).toContain('1 passed, 1 failed, 0 skipped');
  });

  it('eval keeps integers beyond 2^53 exact from input to output', async () => {
    const dir = workspace({ 'input.json': '{"n": 123456789012345678901234567890}', 'data.json': '{"m": 9007199254740993}' });
    const result = await runWeft(['policy', 'eval', '-d', join(dir, 'data.json'), '-i', join(dir, 'input.json'), 'x := [input.n + 1, data.m]']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"x": [\n          123456789012345678901234567891,\n          9007199254740993\n        ]');
  });

  it('refuses an unknown tool with exit code 2', async () => {
    const result = await runWeft(['policy', 'frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown tool 'frobnicate'");
  });
});
