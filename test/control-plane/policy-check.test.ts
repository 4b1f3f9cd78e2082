import { describe, expect, it } from 'vitest';
import { loadFileSet } from '../../control-plane/resources/document-loader.js';
import { policyChecker } from '../../control-plane/resources/rego-policy-check.js';
import { problemsOf, validateResourceSet } from '../../control-plane/resources/revision.js';
import { ALLOW_REGO, MESH_FILES, ROUTE_YAML } from './mesh-fixture.js';

async function policyProblems(overrides: Record<string, string>) {
  const loaded = loadFileSet(new Map(Object.entries({ ...MESH_FILES, ...overrides })));
  expect(loaded.problems).toEqual([]);
  return validateResourceSet(loaded.resources, policyChecker);
}

const policyWithTests = (extra = '') => `apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: { name: orders-authz }
spec:
  modules: [{ file: authz.rego }]
  tests: [{ file: authz_test.rego }]
  targets: { workloads: [orders] }
${extra}`;

describe('policy compilation with the Rego engine', () => {
  it('accepts a policy that compiles and defines its entrypoint', async () => {
    expect(await policyProblems({})).toEqual([]);
  });

  it('refuses a parse error with the module file, line:col and OPA code', async () => {
    const problems = await policyProblems({ 'policies/authz.rego': ALLOW_REGO.replace('== "GET"', '== == "GET"') });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'POLICY_COMPILE_ERROR', file: 'policies/authz.rego', line: 5, regoCode: 'rego_parse_error' });
    expect(problems[0]!.col).toBeGreaterThan(0);
  });

  it('refuses an unsafe variable naming it', async () => {
    const problems = await policyProblems({ 'policies/authz.rego': `${ALLOW_REGO}\nalso if x == 1\n` });
    expect(problems[0]).toMatchObject({ file: 'policies/authz.rego', line: 7, regoCode: 'rego_unsafe_var_error' });
    expect(problems[0]!.message).toContain('x');
  });

  it('refuses a policy whose modules do not define the entrypoint', async () => {
    const problems = await policyProblems({ 'policies/authz.rego': ALLOW_REGO.replace('package weft.authz', 'package other') });
    expect(problems).toEqual([
      expect.objectContaining({ code: 'POLICY_COMPILE_ERROR', file: 'policies/orders.yaml', path: 'spec.entrypoint', message: 'no rule of the modules defines the entrypoint data.weft.authz.allow' }),
    ]);
  });

  it("runs the policy's tests and refuses the change when one fails", async () => {
    const tests = `package weft.authz_test

import data.weft.authz

test_get_allowed if authz.allow with input as {"attributes": {"request": {"http": {"method": "GET"}}}}

test_post_allowed if authz.allow with input as {"attributes": {"request": {"http": {"method": "POST"}}}}
`;
    const problems = await policyProblems({ 'policies/orders.yaml': policyWithTests(), 'policies/authz_test.rego': tests });
    expect(problems).toEqual([
      expect.objectContaining({ code: 'POLICY_TEST_FAILED', file: 'policies/orders.yaml', message: 'data.weft.authz_test.test_post_allowed is undefined, expected true' }),
    ]);
    const passing = tests.replace(/\ntest_post_allowed.*\n/, '\n');
    expect(await policyProblems({ 'policies/orders.yaml': policyWithTests(), 'policies/authz_test.rego': passing })).toEqual([]);
  });

  it('compiles the data document with the modules', async () => {
    const rego = `package weft.authz\n\nallow if input.principal in data.allowed\n`;
    const withData = policyWithTests('  data: { allowed: [a] }\n').replace('  tests: [{ file: authz_test.rego }]\n', '');
    expect(await policyProblems({ 'policies/orders.yaml': withData, 'policies/authz.rego': rego })).toEqual([]);
  });

  it('reports Rego errors together with the schema errors of other documents', async () => {
    const loaded = loadFileSet(
      new Map(Object.entries({ ...MESH_FILES, 'routes.yaml': ROUTE_YAML.replace('attempts: 2', 'attempts: 99'), 'policies/authz.rego': ALLOW_REGO.replace('== "GET"', '== == "GET"') })),
    );
    const problems = await problemsOf(loaded, policyChecker);
    expect(problems.map((p) => `${p.file}:${p.line} ${p.regoCode ?? p.code}`)).toEqual(['routes.yaml:7 RESOURCE_SCHEMA_INVALID', 'policies/authz.rego:5 rego_parse_error']);
  });
});
