// The protocol vectors (test/vectors/*.json) checked in Chromium, as test/protocol/*.test.ts
// check them in Node: test/browser/vectors-page.ts and the generators it imports are bundled
// with esbuild for the browser and served from 127.0.0.1 (a secure context: WebCrypto needs
// one). Under the browser's WebCrypto provider AND the noble provider, every vector file is
// regenerated from its inputs and must equal the committed JSON, the committed bytes open, and
// every strict-Ed25519 vector gets its `valid` verdict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { launchChromium, pageErrors } from '../helpers/browser.ts'
import type { Check, checkVectors } from './vectors-page.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const FILES = ['core', 'ed25519-strict', 'envelope', 'public-post', 'membership', 'backup'] as const
/** Which vector files are present (backup.json may not be, on an older tree). */
const present = FILES.filter(f => existsSync(new URL(`../vectors/${f}.json`, import.meta.url)))
const vectors = Object.fromEntries(present.map(f => [f, JSON.parse(readFileSync(new URL(`../vectors/${f}.json`, import.meta.url), 'utf8')) as unknown]))

/**
 * The generators' Node-only lines, for the page: writing the file (never reached: process.argv
 * is empty there), file paths, and node:crypto's createHash (the public-post generator restates
 * the proof of work with it), here over noble's SHA-256.
 */
const NODE_STUBS: Record<string, string> = {
  'node:fs': 'export function writeFileSync () { throw new Error("no files in the page") }; export function readFileSync () { throw new Error("no files in the page") }',
  'node:url': 'export const fileURLToPath = u => String(u); export const pathToFileURL = p => new URL(p, "file:///")',
  'node:crypto': `import { sha256 } from '@noble/hashes/sha2.js'
    export function createHash (alg) {
      if (alg !== 'sha256') throw new Error('stub: sha256 only')
      const h = sha256.create()
      const api = { update (d) { h.update(typeof d === 'string' ? new TextEncoder().encode(d) : d); return api }, digest () { return h.digest() } }
      return api
    }`
}

function nodeStubs (): Plugin {
  return {
    name: 'node-stubs',
    setup (b) {
      b.onResolve({ filter: /^node:(fs|url|crypto)$/ }, args => ({ path: args.path, namespace: 'stub' }))
      b.onLoad({ filter: /.*/, namespace: 'stub' }, args => ({ contents: NODE_STUBS[args.path]!, resolveDir: ROOT, loader: 'js' }))
    }
  }
}

async function bundle (): Promise<string> {
  const out = await build({
    entryPoints: [fileURLToPath(new URL('./vectors-page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    define: { 'process.argv': '[]' },
    plugins: [nodeStubs()]
  })
  return out.outputFiles[0]!.text
}

let browser: Browser
let server: Server
let url: string

beforeAll(async () => {
  const js = await bundle()
  const html = '<!doctype html><meta charset="utf-8"><title>vectors</title><script type="module">import { checkVectors } from "/vectors.js"; window.checkVectors = checkVectors; window.ready = true</script>'
  server = createServer((req, res) => {
    if (req.url === '/vectors.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(js); return }
    res.writeHead(200, { 'content-type': 'text/html' }); res.end(html)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await new Promise(resolve => server?.close(resolve))
})

async function runInPage (page: Page): Promise<Awaited<ReturnType<typeof checkVectors>>> {
  await page.goto(url)
  await page.waitForFunction(() => (globalThis as { ready?: boolean }).ready === true)
  return await page.evaluate(async files => await (globalThis as unknown as { checkVectors: typeof checkVectors }).checkVectors(files), vectors)
}

describe('protocol vectors in Chromium', () => {
  it('every vector file regenerates, opens and verifies under WebCrypto and noble; strict Ed25519 verdicts match', async () => {
    expect(present).toEqual(expect.arrayContaining(['core', 'ed25519-strict', 'envelope', 'public-post', 'membership']))
    const page = await browser.newPage()
    const errors = pageErrors(page)
    const { checks, rawWebCryptoAccepts, userAgent } = await runInPage(page)
    console.log(`${userAgent}: ${checks.filter(c => c.ok).length}/${checks.length} checks passed over ${present.join(', ')}; ` +
      `the browser's own Ed25519 without the strict rule accepts: ${rawWebCryptoAccepts.join('; ') || 'none'}`)
    const failed = checks.filter((c: Check) => !c.ok)
    expect(failed).toEqual([])
    // Both providers ran every file, and every strict vector was checked under each.
    for (const provider of ['webcrypto', 'noble']) {
      expect(new Set(checks.filter(c => c.provider === provider).map(c => c.file))).toEqual(new Set(present))
      expect(checks.filter(c => c.provider === provider && c.file === 'ed25519-strict').length)
        .toBe((vectors['ed25519-strict'] as { vectors: unknown[] }).vectors.length)
    }
    expect(errors).toEqual([])
    await page.close()
  }, 240_000)

  it('the checker fails a changed vector (the comparison itself works)', async () => {
    const page = await browser.newPage()
    await page.goto(url)
    await page.waitForFunction(() => (globalThis as { ready?: boolean }).ready === true)
    const strict = structuredClone(vectors['ed25519-strict']) as { vectors: Array<{ valid: boolean }> }
    strict.vectors[0]!.valid = !strict.vectors[0]!.valid
    const core = structuredClone(vectors.core) as { geohash: Array<{ hash: string }> }
    core.geohash[0]!.hash = 'zzzzz'
    const { checks } = await page.evaluate(async files => await (globalThis as unknown as { checkVectors: typeof checkVectors }).checkVectors(files), { 'ed25519-strict': strict, core })
    const failed = checks.filter(c => !c.ok).map(c => `${c.provider} ${c.file}`)
    expect(failed).toEqual(['webcrypto ed25519-strict', 'webcrypto core', 'noble ed25519-strict', 'noble core'])
    await page.close()
  }, 120_000)
})
