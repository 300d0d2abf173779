// protocol/ runs unchanged in the browser: every module bundles for `platform: 'browser'` with
// no Node built-in (node:*, fs, crypto…), no LevelDB, and nothing from node/ or web/.
import { describe, it, expect } from 'vitest'
import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join, relative } from 'node:path'
import { builtinModules } from 'node:module'
import { build, type Plugin } from 'esbuild'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const PROTOCOL = join(ROOT, 'protocol')

async function modulesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name)
    if (e.isDirectory()) out.push(...await modulesUnder(path))
    else if (e.name.endsWith('.ts')) out.push(path)
  }
  return out
}

/** Marks the guard's own look-ups, which esbuild resolves as it would without the guard. */
const PROBE = Symbol('probe')

/**
 * Records every import that a browser build must not have, instead of failing on the first.
 * A dependency's Node built-in is fine when esbuild, building for the browser, resolves it to
 * a file anyway: the package's own `browser` map (@libp2p/http-utils, reached through helia,
 * maps node:stream to readable-stream) or an npm package of that name (buffer, events).
 */
function forbidden (found: string[]): Plugin {
  const node = new Set(builtinModules.flatMap(m => [m, `node:${m}`]))
  return {
    name: 'forbidden',
    setup (b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === PROBE) return undefined
        let builtin = node.has(args.path) || args.path.startsWith('node:')
        if (builtin && args.importer.includes('/node_modules/')) {
          const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: PROBE })
          if (r.errors.length === 0 && !r.external && r.path.includes('/node_modules/')) builtin = false
        }
        const bad = builtin || /^(level|classic-level|datastore-level|blockstore-fs)(\/|$)/.test(args.path)
        const outside = args.path.startsWith('.') && /\/(node|web)\//.test(join(args.resolveDir, args.path).slice(ROOT.length - 1))
        if (bad || outside) {
          found.push(`${relative(ROOT, args.importer)} imports ${args.path}`)
          return { path: args.path, external: true }
        }
        return undefined
      })
    }
  }
}

describe('the browser bundle guard', () => {
  it('bundles every protocol/ module for the browser with no Node built-in, storage or node/ import', async () => {
    const entries = await modulesUnder(PROTOCOL)
    expect(entries.length).toBeGreaterThan(20)
    const found: string[] = []
    const result = await build({
      entryPoints: entries, bundle: true, write: false, platform: 'browser', format: 'esm', outdir: '/tmp/pl-browser-guard', logLevel: 'silent', plugins: [forbidden(found)]
    })
    expect(result.errors).toEqual([])
    expect(found).toEqual([])
  }, 60_000)

  it('catches a Node built-in (the guard itself works)', async () => {
    const found: string[] = []
    await build({
      stdin: { contents: "import { readFileSync } from 'node:fs'; export const x = readFileSync", resolveDir: PROTOCOL, sourcefile: 'probe.ts', loader: 'ts' },
      bundle: true, write: false, platform: 'browser', format: 'esm', logLevel: 'silent', plugins: [forbidden(found)]
    })
    expect(found).toEqual(['protocol/probe.ts imports node:fs'])
    const outside: string[] = []
    await build({
      stdin: { contents: "export * from '../node/limits.ts'", resolveDir: PROTOCOL, sourcefile: 'probe.ts', loader: 'ts' },
      bundle: true, write: false, platform: 'browser', format: 'esm', logLevel: 'silent', plugins: [forbidden(outside)]
    })
    expect(outside).toEqual(['protocol/probe.ts imports ../node/limits.ts'])
  })
})
