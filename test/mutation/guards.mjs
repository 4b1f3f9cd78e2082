// The modules that keep callers out, each with the tests that guard it: `npm run test:mutation`
// mutates one module at a time and runs only its tests against each mutant
// (test/mutation/run.mjs). A module missing here is not mutation-tested. `lines` narrows a module
// to the part that is the guard (Stryker's `file:start-end`). The test lists are the unit tests
// that call the guard in-process: a mutant they kill is killed whatever the slower mesh tests do,
// so the score is a lower bound for the whole suite and a run takes minutes, not hours.
export const guards = [
  { module: 'proxy/http/path-normalization.ts', tests: ['test/proxy/path-normalization.test.ts', 'test/proxy/path-normalization-edges.test.ts', 'test/proxy/request-target.test.ts'] },
  { module: 'proxy/http/authority.ts', tests: ['test/proxy/request-target.test.ts', 'test/proxy/authority-edges.test.ts'] },
  { module: 'proxy/http/request-target.ts', tests: ['test/proxy/request-target.test.ts', 'test/proxy/authority-edges.test.ts'] },
  { module: 'proxy/filters/authz/asset-matcher.ts', tests: ['test/proxy/authz/asset-matcher.test.ts'] },
  { module: 'proxy/filters/authz/authz-filter.ts', tests: ['test/proxy/authz/authz-decision-path.test.ts'] },
  { module: 'proxy/filters/authz/policy-decision.ts', tests: ['test/proxy/authz/policy-decision.test.ts'] },
  { module: 'proxy/filters/jwt/jwt-filter.ts', tests: ['test/proxy/jwt/jwt-filter-unit.test.ts'] },
  { module: 'proxy/tls/mesh-security.ts', lines: '21-62', tests: ['test/proxy/tls/mtls-mode.test.ts'] },
  { module: 'proxy/tls/peer-identity.ts', tests: ['test/proxy/tls/mtls-mode.test.ts'] },
  { module: 'control-plane/ca/bootstrap-token.ts', tests: ['test/control-plane/ca/bootstrap-token.test.ts', 'test/control-plane/ca/bootstrap-token-verify.test.ts'] },
  { module: 'control-plane/admin/admin-tokens.ts', tests: ['test/control-plane/admin-tokens.test.ts'] },
  { module: 'control-plane/ca/ca-directory.ts', lines: '46-54', tests: ['test/control-plane/ca/ca-directory.test.ts'] },
  { module: 'proxy/filters/inference/tenancy.ts', tests: ['test/proxy/inference/tenancy.test.ts'] },
  { module: 'proxy/filters/inference/token-budgets.ts', tests: ['test/proxy/inference/budgets-and-usage.test.ts'] },
  { module: 'proxy/filters/inference/openai-body.ts', tests: ['test/proxy/inference/openai-body.test.ts'] },
];
