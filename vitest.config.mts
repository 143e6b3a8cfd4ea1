import os from 'node:os';

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Native addons and worker threads: each test file in its own forked process.
    pool: 'forks',
    // As many files at once as there are cores. vitest's default in run mode is one fewer (one
    // file at a time on a 2-core machine), and our files spend much of their time waiting on child
    // processes, servers and disk.
    maxWorkers: os.availableParallelism(),
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // beforeAll/afterAll start and drain real services; under the sanitizers on a loaded machine
    // a drain once overran vitest's 10 s default. A hook that truly hangs still fails.
    hookTimeout: 60_000,
  },
});
