// The policy step of validation: every AuthorizationPolicy's modules must compile with the Rego
// engine (and its tests pass) before a change is accepted. The engine is reached only through
// this interface so the control plane does not depend on how policies/ is built.
import type { Resource } from '../api/resource-types.js';
import type { Problem } from '../errors.js';

export interface PolicyChecker {
  /** Every problem of one policy (compile errors with file:line:col, failing tests); [] if none. */
  check(policy: Resource<'AuthorizationPolicy'>, yamlFile: string): Promise<Problem[]>;
}
