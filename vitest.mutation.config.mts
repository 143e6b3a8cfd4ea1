import { defineConfig } from 'vitest/config';

// The vitest configuration StrykerJS runs (scripts/mutation.js): the test files that exercise the
// module under mutation, named by TG_MUTATION_TESTS (comma-separated), so one module's run does
// not pay for the whole suite. Stryker itself decides the pool (threads, one at a time).
const named = process.env.TG_MUTATION_TESTS;

export default defineConfig({
  test: {
    include: named ? named.split(',') : ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
