// The lint rule that keeps protocol/ browser-safe (.oxlintrc.json, `no-restricted-imports`)
// really fires: a probe file in a temporary copy of the config is linted and must be refused
// for each kind of import, while the same imports outside protocol/ pass.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, mkdir, copyFile, writeFile, rm } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const OXLINT = join(ROOT, 'node_modules', '.bin', 'oxlint')

interface Diagnostic { code: string, filename: string, message: string }

/** Lints `dir` with its own .oxlintrc.json; the exit code and the diagnostics. */
async function lint (dir: string): Promise<{ code: number, diagnostics: Diagnostic[] }> {
  return await new Promise((resolve, reject) => {
    execFile(OXLINT, ['-f', 'json', '.'], { cwd: dir, timeout: 60_000 }, (err, stdout) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      try {
        resolve({ code, diagnostics: (JSON.parse(stdout) as { diagnostics: Diagnostic[] }).diagnostics })
      } catch (e) {
        reject(new Error(`oxlint gave no JSON (exit ${code}): ${stdout} ${String(err)}`, { cause: e }))
      }
    })
  })
}

const BAD = [
  "import { readFileSync } from 'node:fs'",
  "import { Level } from 'level'",
  "import { ClassicLevel } from 'classic-level'",
  "import { LevelDatastore } from 'datastore-level'",
  "import { FsBlockstore } from 'blockstore-fs'",
  "import { MessageStore } from '../../node/storage/level-messages.ts'",
  "import { x } from '../../web/app.ts'",
  "import { y } from '../node'",
  "import { join } from 'path'",
  "import type { Readable } from 'stream'",
  "export { createHash } from 'crypto'"
]

describe('protocol/ import boundary (oxlint)', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'porchlight-lint-'))
    await copyFile(join(ROOT, '.oxlintrc.json'), join(dir, '.oxlintrc.json'))
    await mkdir(join(dir, 'protocol', 'peer'), { recursive: true })
    await mkdir(join(dir, 'node'), { recursive: true })
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('refuses Node built-ins, LevelDB and file stores, and reaching into node/ or web/, line by line', async () => {
    await writeFile(join(dir, 'protocol', 'peer', 'probe.ts'), BAD.join('\n') + '\n')
    await writeFile(join(dir, 'protocol', 'fine.ts'), "import { sha256 } from '@noble/hashes/sha2.js'\nimport { peer } from './peer/probe.ts'\nexport const f = [sha256, peer]\n")
    const { code, diagnostics } = await lint(dir)
    expect(code).not.toBe(0)
    const restricted = diagnostics.filter(d => d.code === 'eslint(no-restricted-imports)')
    expect(restricted.every(d => d.filename.endsWith('probe.ts'))).toBe(true)
    expect(restricted).toHaveLength(BAD.length)
    await rm(join(dir, 'protocol', 'peer', 'probe.ts'))
    await rm(join(dir, 'protocol', 'fine.ts'))
  })

  it('covers every Node built-in module, bare and as node:*', async () => {
    const names = builtinModules.filter(m => !m.startsWith('_'))
    const lines = names.flatMap((m, i) => [`import * as a${i} from '${m}'`, `import * as b${i} from 'node:${m}'`])
    await writeFile(join(dir, 'protocol', 'builtins.ts'), lines.join('\n') + '\n')
    const { diagnostics } = await lint(dir)
    const flagged = diagnostics.filter(d => d.code === 'eslint(no-restricted-imports)')
    const missed = names.filter(m => !flagged.some(d => d.message.includes(`'${m}'`)))
    expect(missed).toEqual([])
    expect(flagged).toHaveLength(lines.length)
    await rm(join(dir, 'protocol', 'builtins.ts'))
  })

  it('refuses Node globals (Buffer, process, require…) in protocol/', async () => {
    const uses = ['Buffer.from([1])', 'process.env.X', "require('x')", '__dirname', '__filename', 'global.x']
    await writeFile(join(dir, 'protocol', 'globals.ts'), uses.map((u, i) => `export const g${i} = ${u}`).join('\n') + '\n')
    const { diagnostics } = await lint(dir)
    expect(diagnostics.filter(d => d.code === 'eslint(no-restricted-globals)' && d.filename.endsWith('globals.ts'))).toHaveLength(uses.length)
    await rm(join(dir, 'protocol', 'globals.ts'))
  })

  it('lets node/ import what protocol/ may not', async () => {
    await writeFile(join(dir, 'node', 'ok.ts'), BAD.slice(0, 5).join('\n') + '\n')
    const { diagnostics } = await lint(dir)
    expect(diagnostics.filter(d => d.code === 'eslint(no-restricted-imports)')).toEqual([])
    await rm(join(dir, 'node', 'ok.ts'))
  })
})
