// A policy checker that accepts every policy, for tests of stores and distribution that are
// not about Rego (the Rego engine's own checker is tested in policy-check tests).
import type { PolicyChecker } from '../../control-plane/resources/policy-check.js';

export const noPolicyChecks: PolicyChecker = { check: () => Promise.resolve([]) };
