// Mutation testing of the modules that keep callers out (`npm run test:mutation`, which runs
// test/mutation/run.mjs: one module at a time, with only its tests). A mutant no test notices is
// a hole in the security tests. Slow, so not in CI; scores per module are in test/README.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: process.env.WEFT_MUTATION_REPORT ?? 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  // Not copied into a sandbox: the sandboxes of other modules' runs (test/mutation/run.mjs).
  ignorePatterns: ['/.stryker-tmp*'],
  cleanTempDir: 'always',
};
