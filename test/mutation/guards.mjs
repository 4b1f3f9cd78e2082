// The modules that keep callers out, each with the tests that guard it: `npm run test:mutation`
// mutates one module at a time and runs only its tests against each mutant
// (test/mutation/run.mjs). A module missing here is not mutation-tested.
export const guards = [
  { module: 'proxy/http/path-normalization.ts', tests: ['test/proxy/path-normalization.test.ts', 'test/proxy/request-target.test.ts', 'test/security/path-vectors.test.ts'] },
  { module: 'proxy/http/authority.ts', tests: ['test/proxy/request-target.test.ts', 'test/security/path-vectors.test.ts'] },
  { module: 'proxy/http/request-target.ts', tests: ['test/proxy/request-target.test.ts', 'test/security/path-vectors.test.ts', 'test/security/head-vectors.test.ts'] },
  { module: 'proxy/filters/authz/asset-matcher.ts', tests: ['test/security/glob-matching.test.ts', 'test/security/head-vectors.test.ts', 'test/security/unmatched-requests.test.ts', 'test/proxy/authz/**/*.test.ts'] },
  { module: 'proxy/filters/authz/authz-filter.ts', tests: ['test/proxy/authz/**/*.test.ts', 'test/security/unmatched-requests.test.ts', 'test/security/body-content-type.test.ts'] },
  { module: 'proxy/filters/authz/policy-decision.ts', tests: ['test/proxy/authz/**/*.test.ts'] },
  { module: 'proxy/filters/jwt/jwt-filter.ts', tests: ['test/proxy/jwt/**/*.test.ts', 'test/security/jwt-audience.test.ts'] },
  { module: 'proxy/tls/mesh-security.ts', tests: ['test/proxy/tls/**/*.test.ts', 'test/security/strict-mtls.test.ts', 'test/security/mtls-mode-change.test.ts'] },
  { module: 'proxy/tls/peer-identity.ts', tests: ['test/proxy/tls/**/*.test.ts', 'test/security/strict-mtls.test.ts'] },
  { module: 'control-plane/ca/bootstrap-token.ts', tests: ['test/control-plane/ca/bootstrap-token.test.ts', 'test/control-plane/ca/issuing-service.test.ts', 'test/control-plane/ca/single-use-tokens.test.ts', 'test/control-plane/ca/reserved-identities.test.ts'] },
  { module: 'control-plane/admin/admin-tokens.ts', tests: ['test/control-plane/admin-credentials.test.ts'] },
];
