/**
 * How fast the `porchlight` command starts (issue 9): wall time of a whole process, from spawn
 * to exit, of the real bin (node/bin/porchlight.js, the build in dist/, rebuilt first so the
 * figures are of the current sources), median of STARTUP_RUNS runs each:
 *
 *   porchlight --version   the CLI's entry chunk alone                 aim ≤ 3× the baseline
 *   porchlight id show     plus the home folder and the protocol code  aim ≤ 5×
 *   porchlight --help      the whole command table                     (reported)
 *   baseline               `node -e 0`: Node itself starting and exiting
 *
 * Runs are interleaved (baseline, version, id show, help, baseline, …) so that a noisy
 * neighbour slows all of them alike. The home is a temporary folder with one identity.
 *
 * Run alone: npm run bench -- --only startup  (STARTUP_RUNS=N for more or fewer runs)
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { costWorkload, type Workload } from './report.ts'

const BIN = fileURLToPath(new URL('../../node/bin/porchlight.js', import.meta.url))
const BUILD = fileURLToPath(new URL('../../node/bin/build.js', import.meta.url))
const RUNS = Number(process.env.STARTUP_RUNS ?? 15)

/** Wall time of one process run to its exit, in ms; throws if it fails. */
function timeRun (args: string[], env: NodeJS.ProcessEnv): number {
  const start = performance.now()
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
  const ms = performance.now() - start
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`)
  return ms
}

function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export async function benchStartup (): Promise<Workload[]> {
  execFileSync(process.execPath, [BUILD], { stdio: 'ignore' })
  const home = mkdtempSync(join(tmpdir(), 'pl-startup-'))
  try {
    const env = { ...process.env, PORCHLIGHT_HOME: home, PORCHLIGHT_DEBUG: '' }
    timeRun([BIN, 'id', 'create', '--name', 'Bench'], env)
    const cases: Record<string, string[]> = {
      baseline: ['-e', '0'],
      version: [BIN, '--version'],
      'id show': [BIN, 'id', 'show'],
      help: [BIN, '--help']
    }
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map(k => [k, []]))
    // One untimed round: the file system cache holds node_modules afterwards, as it would for a user.
    for (const args of Object.values(cases)) timeRun(args, env)
    for (let i = 0; i < RUNS; i++) {
      for (const [name, args] of Object.entries(cases)) times[name]!.push(timeRun(args, env))
    }
    const base = median(times.baseline!)
    return [
      costWorkload('startup: porchlight --version (aim ≤ 3× node -e 0)', median(times.version!), 'ms, median', base),
      costWorkload('startup: porchlight id show (aim ≤ 5× node -e 0)', median(times['id show']!), 'ms, median', base),
      costWorkload('startup: porchlight --help', median(times.help!), 'ms, median', base)
    ]
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}
