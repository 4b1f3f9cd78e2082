import { defineConfig } from 'vitest/config';

// The tests `npm run test:mutation` runs against the mutants of one guard module: the globs in
// $WEFT_MUTATION_TESTS (test/mutation/guards.mjs names them per module).
export default defineConfig({
  test: {
    include: (process.env.WEFT_MUTATION_TESTS ?? 'test/security/**/*.test.ts').split(','),
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
