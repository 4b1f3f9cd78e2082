// Compiles Rego snippets for tests.
import { compile, type EvaluateOptions, type PolicySet } from '../../policies/index.js';

export function policy(...sources: string[]): PolicySet {
  return compile(sources.map((source, i) => ({ file: `m${i}.rego`, source })));
}

export function value(set: PolicySet, target: string, options: EvaluateOptions = {}): unknown {
  return set.evaluate(target, { strict: true, ...options }).value;
}
