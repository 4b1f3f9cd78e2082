// The public facade of weft's Rego engine, used by the proxy and the control plane alike. Nothing
// else in policies/ is imported from outside.
//
//   const policy = compile([{ file: 'authz.rego', source }]);
//   policy.evaluate('data.authz.allow', { input }).value
export {
  compile,
  PolicySet,
  DEFAULT_MAX_STEPS,
  DEFAULT_TIMEOUT_MS,
  type CompileOptions,
  type EvaluateOptions,
  type EvaluationResult,
  type ModuleSource,
  type Policy,
  type ResultRow,
  type RuleDecision,
  type ValueRow,
} from './policy-set.js';
export { compileCached } from './compile-cache.js';
export { loadBundle, BundleError, MAX_BUNDLE_BYTES, type BundleOptions } from './bundle.js';
export { RegoError, RegoErrors, type RegoErrorCode, type Location } from './engine/errors.js';
export type { Value } from './engine/value.js';
