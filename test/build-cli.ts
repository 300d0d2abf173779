// Vitest global setup: builds dist/ (node/bin/build.js) and the web app (web/dist, Vite)
// before any test runs, so the tests that spawn node/bin/porchlight.js and the browser tests
// (test/browser/) never run a build older than the sources.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export function setup (): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../node/bin/build.js', import.meta.url))], { stdio: ['ignore', 'ignore', 'inherit'] })
  execFileSync(process.execPath, [fileURLToPath(new URL('../node/bin/build-web.js', import.meta.url))], { stdio: ['ignore', 'ignore', 'inherit'] })
}
