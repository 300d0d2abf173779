import { defineConfig } from 'vitest/config'

/**
 * Test files run in this many worker processes at once. Vitest's default on a 2-core machine
 * is one (cores - 1), which leaves the cores idle while integration tests wait on sockets,
 * timers and child processes; three keep both busy. PORCHLIGHT_TEST_WORKERS=1 runs the files
 * one at a time (for timing one file, or on a machine busy with other work).
 */
const workers = Number(process.env.PORCHLIGHT_TEST_WORKERS ?? '') || 3

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['node/polyfill.ts', 'test/setup.ts'],
    // Builds dist/, which the tests that spawn the bin run (never a stale build).
    globalSetup: ['test/build-cli.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: workers,
    reporters: ['default', './test/summary-reporter.ts']
  }
})
