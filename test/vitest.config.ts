import { defineConfig } from 'vitest/config'

/**
 * Test files run in this many worker processes at once. Vitest's default on a 2-core machine
 * is one (cores - 1), which leaves the cores idle while integration tests wait on sockets,
 * timers and child processes; three keep both busy. PORCHLIGHT_TEST_WORKERS=1 runs the files
 * one at a time (for timing one file, or on a machine busy with other work).
 */
const workers = Number(process.env.PORCHLIGHT_TEST_WORKERS ?? '') || 3

/**
 * Test files share their worker's loaded modules instead of loading libp2p, Helia and the
 * protocol afresh for each file (most of the suite's CPU time on 2 cores). Global state a file
 * changes is put back by test/setup.ts. PORCHLIGHT_TEST_ISOLATE=1 gives each file its own.
 */
const ISOLATE = process.env.PORCHLIGHT_TEST_ISOLATE === '1'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['node/polyfill.ts', 'test/setup.ts'],
    // Builds dist/, which the tests that spawn the bin run (never a stale build).
    globalSetup: ['test/build-cli.ts'],
    // Generous: on a loaded 2-core machine a browser test (relays, Chromium, reconnect backoff)
    // can take minutes; no test asserts on time, and a hung one still fails.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: workers,
    isolate: ISOLATE,
    reporters: ['default', './test/summary-reporter.ts']
  }
})
