// The modules that keep callers out, each with the tests that guard it: `npm run test:mutation`
// mutates one module at a time and runs only its tests against each mutant
// (test/mutation/run.mjs). A module missing here is not mutation-tested.
export const guards = [
  { module: 'proxy/filters/authz/asset-matcher.ts', tests: ['test/security/**/*.test.ts', 'test/proxy/authz/**/*.test.ts'] },
  { module: 'proxy/filters/authz/authz-filter.ts', tests: ['test/proxy/authz/**/*.test.ts', 'test/security/**/*.test.ts'] },
  { module: 'proxy/filters/authz/policy-decision.ts', tests: ['test/proxy/authz/**/*.test.ts'] },
  { module: 'proxy/filters/jwt/jwt-filter.ts', tests: ['test/proxy/jwt/**/*.test.ts', 'test/security/jwt*.test.ts'] },
  { module: 'proxy/tls/mesh-security.ts', tests: ['test/proxy/tls/**/*.test.ts', 'test/security/strict-mtls.test.ts', 'test/security/mtls*.test.ts'] },
  { module: 'proxy/tls/peer-identity.ts', tests: ['test/proxy/tls/**/*.test.ts', 'test/security/strict-mtls.test.ts'] },
  { module: 'control-plane/ca/bootstrap-token.ts', tests: ['test/control-plane/ca/bootstrap-token.test.ts', 'test/control-plane/ca/issuing-service.test.ts'] },
];
