/**
 * `npm run bench [-- --only NAME[,NAME]] [-- --json FILE]` (a family name such as `scale` picks all its `scale:` suites): runs the benchmark suites, prints
 * one table, and with --json writes {"workloads":[{name, value, unit, baseline, ratio}]}.
 *
 * A suite is `{ name, run: () => Promise<Workload[]> }`. To add one, put a module beside this
 * file that exports an async function returning Workload[] (see report.ts), and list it in
 * SUITES below; a module that is not there yet is skipped with a note.
 */
import '../../node/polyfill.ts'
import { existsSync } from 'node:fs'
import { formatTable, type Workload, writeJson } from './report.ts'

interface Suite {
  name: string
  run: () => Promise<Workload[]>
}

/** Suites by module file (beside this one) and exported function name, run in this order. */
const SUITES: ReadonlyArray<{ name: string, file: string, fn: string }> = [
  { name: 'protocol', file: './protocol-bench.ts', fn: 'benchProtocol' },
  { name: 'sync', file: './sync-bench.ts', fn: 'benchSync' },
  { name: 'relay-ingest', file: './network-bench.ts', fn: 'benchRelayIngest' },
  { name: 'delivery', file: './network-bench.ts', fn: 'benchDelivery' },
  { name: 'catch-up', file: './network-bench.ts', fn: 'benchCatchUp' },
  { name: 'reconcile', file: './network-bench.ts', fn: 'benchReconcile' },
  { name: 'converge', file: './network-bench.ts', fn: 'benchConverge' },
  { name: 'relay-memory', file: './network-bench.ts', fn: 'benchRelayMemory' },
  { name: 'relay-abuse', file: './relay-abuse-bench.ts', fn: 'benchRelayAbuse' },
  { name: 'rekey', file: './rekey-bench.ts', fn: 'benchRekey' },
  { name: 'clips', file: './clip-bench.ts', fn: 'benchClips' },
  { name: 'pow', file: './pow-bench.ts', fn: 'benchPow' },
  { name: 'startup', file: './startup-bench.ts', fn: 'benchStartup' },
  { name: 'web-bundle', file: './web-bench.ts', fn: 'benchWebBundle' },
  { name: 'web-render', file: './web-bench.ts', fn: 'benchWebRender' },
  { name: 'web-map', file: './accountability-bench.ts', fn: 'benchWebMap' },
  { name: 'web-transparency', file: './accountability-bench.ts', fn: 'benchWebTransparency' },
  { name: 'web-post', file: './web-bench.ts', fn: 'benchWebPost' },
  { name: 'web-clip', file: './web-bench.ts', fn: 'benchWebClip' },
  // Scale and cost (`--only scale` runs all four): many processes, thousands of peers, a slow CPU.
  { name: 'scale:delivery', file: './scale-delivery-bench.ts', fn: 'benchScaleDelivery' },
  { name: 'scale:relay', file: './scale-relay-bench.ts', fn: 'benchScaleRelay' },
  { name: 'scale:agency', file: './scale-agency-bench.ts', fn: 'benchScaleAgency' },
  { name: 'scale:phone', file: './scale-phone-bench.ts', fn: 'benchScalePhone' }
]

function loadSuites (): { suites: Suite[], missing: string[] } {
  const suites: Suite[] = []
  const missing: string[] = []
  for (const { name, file, fn } of SUITES) {
    const url = new URL(file, import.meta.url)
    if (!existsSync(url)) { missing.push(`${name} (${file} not present)`); continue }
    suites.push({
      name,
      run: async () => {
        const mod = await import(url.href) as Record<string, unknown>
        const run = mod[fn]
        if (typeof run !== 'function') throw new Error(`${file} does not export ${fn}()`)
        return await (run as () => Promise<Workload[]>)()
      }
    })
  }
  return { suites, missing }
}

function parseArgs (argv: readonly string[]): { json?: string, only?: string[] } {
  const out: { json?: string, only?: string[] } = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) as [string, string] : [arg, undefined]
    const value = (): string => {
      const v = inline ?? argv[++i]
      if (v === undefined || v === '') throw new Error(`${flag} needs a value`)
      return v
    }
    if (flag === '--json') out.json = value()
    else if (flag === '--only') out.only = value().split(',').map(s => s.trim().toLowerCase()).filter(s => s !== '')
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: npm run bench -- [--only SUITE[,SUITE]] [--json FILE]')
      process.exit(0)
    } else throw new Error(`unknown argument ${arg}`)
  }
  return out
}

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const { suites, missing } = loadSuites()
  let chosen = suites
  if (args.only !== undefined) {
    // A name picks that suite, or every suite in its family: `scale` picks `scale:relay` and the rest.
    const picked = (name: string): boolean => args.only!.some(o => name === o || name.startsWith(`${o}:`))
    chosen = suites.filter(s => picked(s.name.toLowerCase()))
    if (chosen.length === 0) {
      throw new Error(`--only ${args.only.join(',')} matches no suite; available: ${suites.map(s => s.name).join(', ')}`)
    }
  }
  for (const m of missing) console.log(`skipping suite ${m}`)

  const rows: Workload[] = []
  let failed = false
  for (const suite of chosen) {
    const start = performance.now()
    try {
      const got = await suite.run()
      rows.push(...got)
      console.log(`suite ${suite.name}: ${got.length} workloads in ${((performance.now() - start) / 1000).toFixed(1)} s`)
    } catch (err) {
      failed = true
      console.error(`suite ${suite.name} failed:`, err)
    }
  }

  console.log(`\n${formatTable(rows)}\n`)
  if (args.json !== undefined) {
    writeJson(args.json, rows)
    console.log(`wrote ${args.json}`)
  }
  if (failed) process.exitCode = 1
}

main().then(
  // libp2p nodes or timers left by a suite must not keep the process alive.
  () => process.exit(process.exitCode ?? 0),
  err => { console.error(err instanceof Error ? err.message : err); process.exit(1) }
)
