// The policy checker the control plane runs with: each AuthorizationPolicy's modules must
// compile with weft's Rego engine (policies/index.ts), define the policy's entrypoint, and pass
// the policy's own `test_*` rules. Errors keep the engine's OPA code and file:line:col, where
// the file is the module's path in the store.
import { compile, RegoError, RegoErrors, type PolicySet } from '../../policies/index.js';
import type { Resource } from '../api/resource-types.js';
import type { Problem } from '../errors.js';
import type { PolicyChecker } from './policy-check.js';

/** A policy's tests run at every change; a slow one must not stall the control plane. */
const TEST_TIMEOUT_MS = 2_000;

function regoProblems(error: unknown, yamlFile: string, code: 'POLICY_COMPILE_ERROR' | 'POLICY_TEST_FAILED'): Problem[] {
  const errors = error instanceof RegoErrors ? error.errors : error instanceof RegoError ? [error] : undefined;
  if (errors === undefined) throw error;
  return errors.map((e) => ({
    code,
    file: e.location?.file ?? yamlFile,
    ...(e.location === undefined ? {} : { line: e.location.row, col: e.location.col }),
    message: e.detail,
    regoCode: e.code,
    ...(e.sourceLine === undefined ? {} : { sourceLine: e.sourceLine }),
  }));
}

function testRules(policySet: PolicySet): string[] {
  return policySet.documents.filter((document) => /(^|\.)test_[A-Za-z0-9_]*$/.test(document));
}

export const policyChecker: PolicyChecker = {
  check(policy: Resource<'AuthorizationPolicy'>, yamlFile: string): Promise<Problem[]> {
    const { modules, tests = [], entrypoint, data } = policy.spec;
    const sources = modules.map((m) => ({ file: m.name, source: m.rego }));
    let policySet: PolicySet;
    try {
      policySet = compile(sources, { data: data ?? {} });
    } catch (error) {
      return Promise.resolve(regoProblems(error, yamlFile, 'POLICY_COMPILE_ERROR'));
    }
    const problems: Problem[] = [];
    if (!policySet.documents.some((document) => document === entrypoint || document.startsWith(`${entrypoint}.`))) {
      problems.push({
        code: 'POLICY_COMPILE_ERROR',
        file: yamlFile,
        path: 'spec.entrypoint',
        message: `no rule of the modules defines the entrypoint ${entrypoint}`,
      });
    }
    if (tests.length === 0) return Promise.resolve(problems);
    let withTests: PolicySet;
    try {
      withTests = compile([...sources, ...tests.map((t) => ({ file: t.name, source: t.rego }))], { data: data ?? {} });
    } catch (error) {
      return Promise.resolve([...problems, ...regoProblems(error, yamlFile, 'POLICY_COMPILE_ERROR')]);
    }
    for (const test of testRules(withTests)) {
      try {
        const result = withTests.evaluate(test, { timeoutMs: TEST_TIMEOUT_MS });
        if (result.value !== true) {
          problems.push({ code: 'POLICY_TEST_FAILED', file: yamlFile, path: 'spec.tests', message: `${test} ${result.defined ? `is ${JSON.stringify(result.value)}` : 'is undefined'}, expected true` });
        }
      } catch (error) {
        problems.push(...regoProblems(error, yamlFile, 'POLICY_TEST_FAILED'));
      }
    }
    return Promise.resolve(problems);
  },
};
