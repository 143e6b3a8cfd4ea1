import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Native addons and worker threads: each test file in its own forked process.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
