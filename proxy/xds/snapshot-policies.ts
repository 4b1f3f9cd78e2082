// Compiles a snapshot's AuthorizationPolicies with the Rego engine before the snapshot is
// accepted: a policy that does not compile here refuses the whole snapshot (NACK), and the
// sidecar keeps deciding with the policy sets it already has.
import { compileCached, type PolicySet } from '../../policies/index.js';
import type { AuthorizationPolicySpec } from '../../control-plane/api/resource-types.js';
import type { Snapshot } from './snapshot.js';

export interface CompiledPolicy {
  readonly name: string;
  readonly entrypoint: string;
  readonly mode: AuthorizationPolicySpec['mode'];
  readonly targets: AuthorizationPolicySpec['targets'];
  readonly policySet: PolicySet;
}

/** Compiled policy sets by policy name; throws with every policy's errors. */
export function compileSnapshotPolicies(snapshot: Snapshot): ReadonlyMap<string, CompiledPolicy> {
  const compiled = new Map<string, CompiledPolicy>();
  const errors: string[] = [];
  for (const policy of snapshot.policies) {
    const { modules, entrypoint, mode, targets, data } = policy.spec;
    try {
      const policySet = compileCached(
        modules.map((m) => ({ file: m.name, source: m.rego })),
        { data: data ?? {} },
      );
      compiled.set(policy.metadata.name, Object.freeze({ name: policy.metadata.name, entrypoint, mode, targets, policySet }));
    } catch (error) {
      errors.push(`policy ${policy.metadata.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (errors.length > 0) throw new Error(errors.join('\n'));
  return compiled;
}
