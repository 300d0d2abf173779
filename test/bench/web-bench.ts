/**
 * The web app's benches (BENCH.md, "web:" rows), in headless Chromium driven by playwright-core
 * (test/helpers/browser.ts: PORCHLIGHT_CHROMIUM, else /usr/bin/chromium, else the bundled one):
 *   - web-bundle: the JavaScript of web/dist (rebuilt first), gzip -9: the initial load (the
 *     entry script, its modulepreloads and their static imports) and everything, beside the
 *     issue's aims (initial ≤ 150 kB, all ≤ 600 kB), which stand as the baseline;
 *   - web-render: from navigation to the 1,000th post of the feed in the DOM, with 1,000 posts
 *     in IndexedDB (seeded through the app's own Dexie schema by web-render-seed.ts, served beside
 *     the app from the same relay), beside the same posts as static HTML in the same browser;
 *   - web-post: a post sent from one browser context (its Send button) until the other
 *     context's feed shows it, 50 posts, p50 and p99, beside two resident engines of the CLI
 *     (in this process) exchanging 50 posts through the same relay, interleaved;
 *   - web-clip: attaching a 20 MiB MP4 in the page (web-clip-page.ts: the File cleaned by
 *     file-source.ts's cleanFile and added to the app's clip store, BrowserClips over IndexedDB:
 *     strip + encrypt + add), MB/s, beside crypto.subtle AES-256-GCM over the same bytes in the
 *     clip format's 64 KiB chunks, 4 in flight (stream-aead.ts), interleaved in the same page.
 * Run alone: `npm run bench -- --only web-bundle,web-render,web-post,web-clip`.
 */
import { spawnSync } from 'node:child_process'
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { createServer, type Server } from 'node:http'
import { randomBytes } from 'node:crypto'
import { build } from 'esbuild'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { launchChromium } from '../helpers/browser.ts'
import { cleanUp, neighborhood, nextPost, peer, startRelay } from '../helpers/network.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { CLIP_PIPELINE_DEPTH } from '../../protocol/clip/stream-aead.ts'
import { concat, makeMp4 } from '../helpers/media.ts'
import { costWorkload, rateWorkload, type Workload } from './report.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DIST = join(ROOT, 'web/dist')
const INITIAL_AIM_KB = 150
const ALL_AIM_KB = 600
const RENDER_POSTS = 1000
/** Navigations of each page (app, static), interleaved; the median is reported. */
const RENDER_ROUNDS = 7
const POSTS = 50
const STEP_MS = 30_000

export function buildWeb (): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'node/bin/build-web.js')], { cwd: ROOT, stdio: 'inherit' })
  if (r.status !== 0) throw new Error('building web/dist failed')
}

const kb = (bytes: number): number => bytes / 1000
const gz = (bytes: Uint8Array): number => gzipSync(bytes, { level: 9 }).length

/** The scripts a first load runs: the entry, its modulepreloads, and their static imports. */
async function initialScripts (dist: string): Promise<string[]> {
  const html = await readFile(join(dist, 'index.html'), 'utf8')
  const start = [...html.matchAll(/<script[^>]+type="module"[^>]+src="\.\/([^"]+)"/g), ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\.\/([^"]+)"/g)].map(m => m[1]!)
  const seen = new Set<string>()
  const queue = [...start]
  while (queue.length > 0) {
    const file = queue.shift()!
    if (seen.has(file)) continue
    seen.add(file)
    const js = await readFile(join(dist, file), 'utf8')
    // Static imports only (`import"./x.js"`, `from"./x.js"`); `import("./x.js")` loads later.
    for (const m of js.matchAll(/(?:\bfrom\s*|\bimport\s*)["'](\.\/[^"']+\.js)["']/g)) {
      queue.push(join(file, '..', m[1]!).replace(/\\/g, '/'))
    }
  }
  return [...seen]
}

export async function benchWebBundle (): Promise<Workload[]> {
  buildWeb()
  const initial = await initialScripts(DIST)
  const all = (await readdir(join(DIST, 'assets'))).filter(f => f.endsWith('.js')).map(f => `assets/${f}`)
  const size = async (files: string[]): Promise<{ raw: number, gzip: number }> => {
    let raw = 0
    let gzip = 0
    for (const f of files) { const b = await readFile(join(DIST, f)); raw += b.length; gzip += gz(b) }
    return { raw, gzip }
  }
  const [i, a] = [await size(initial), await size(all)]
  console.log(`web-bundle: initial ${initial.join(', ')} = ${kb(i.raw).toFixed(1)} kB raw, ${kb(i.gzip).toFixed(1)} kB gzip; all ${all.length} scripts = ${kb(a.raw).toFixed(1)} kB raw, ${kb(a.gzip).toFixed(1)} kB gzip`)
  return [
    costWorkload('web-bundle: initial JavaScript', kb(i.gzip), `kB gzip -9 (${initial.length} scripts); baseline = the aim, ${INITIAL_AIM_KB} kB`, INITIAL_AIM_KB),
    costWorkload('web-bundle: all JavaScript', kb(a.gzip), `kB gzip -9 (${all.length} scripts); baseline = the aim, ${ALL_AIM_KB} kB`, ALL_AIM_KB)
  ]
}

/**
 * Set in every page before its own scripts: marks (window.__rendered, ms since navigation) the
 * first animation frame in which `n` posts are in the DOM: the <article> elements of the app's
 * feed (in pl-feed's shadow root), or of the static page.
 */
export function renderProbe (n: number): string {
  return `(() => {
    const done = () => {
      const app = document.querySelector('pl-app')
      if (app !== null) {
        const posts = app.shadowRoot?.querySelector('pl-feed')?.shadowRoot?.querySelectorAll('article')
        return posts !== undefined && posts.length >= ${n}
      }
      return document.querySelectorAll('article').length >= ${n}
    }
    const tick = () => { if (done()) { window.__rendered = performance.now(); return } requestAnimationFrame(tick) }
    requestAnimationFrame(tick)
  })()`
}

export function escapeHtml (s: string): string {
  return s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
}

/** The same posts as plain HTML, marked up and styled as the feed renders them (web/components/post-view.ts). */
export function staticFeed (posts: readonly FeedPost[]): string {
  const items = [...posts].sort((a, b) => b.created - a.created).map(p => {
    const when = new Date(p.created)
    return `<article><div class="meta"><span class="kind">${escapeHtml(p.kind)}</span> · ${p.mine ? 'you' : escapeHtml(p.authorName ?? 'someone')} · <time datetime="${when.toISOString()}">${when.toLocaleString('en-US')}</time></div><p>${escapeHtml(p.text)}</p></article>`
  })
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>static feed</title>
<style>body { margin: 0; background: #fafafa; } main { max-width: 40rem; margin: 0 auto; padding: 0 0.8rem 2rem; font: 16px/1.4 system-ui, sans-serif; }
article { border-bottom: 1px solid #ccc; padding: 0.7rem 0; } .meta { font-size: 0.85rem; color: #555; }
.kind { text-transform: uppercase; font-weight: 700; font-size: 0.75rem; letter-spacing: 0.05em; } p { margin: 0.3rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }</style>
</head><body><main><h1>Maple Street</h1><section aria-label="Feed">${items.join('\n')}</section></main></body></html>\n`
}

export async function seedBundle (file = './web-render-seed.ts'): Promise<string> {
  const out = await build({
    entryPoints: [fileURLToPath(new URL(file, import.meta.url))],
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent'
  })
  return out.outputFiles[0]!.text
}

/**
 * The built app copied to `web` with a seeding page beside it (`seedFile`'s `seed(...args)`,
 * bundled for the browser), served by a relay; seeded once in a phone-sized context of a
 * fresh Chromium, through the app's own modules. The caller closes the browser.
 */
export async function seededApp (web: string, seedFile: string, args: unknown[]): Promise<{ relay: Awaited<ReturnType<typeof startRelay>>, browser: Browser, context: BrowserContext, posts: FeedPost[] }> {
  await cp(DIST, web, { recursive: true })
  await writeFile(join(web, 'seed.js'), await seedBundle(seedFile))
  await writeFile(join(web, 'seed.html'), '<!doctype html><meta charset="utf-8"><title>seed</title><script type="module">import { seed } from "./seed.js"; window.seed = seed; window.ready = true</script>\n')
  const relay = await startRelay({ webDir: web })
  const browser = await launchChromium()
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
  const seeder = await context.newPage()
  await seeder.goto(`${relay.httpUrl}/seed.html`)
  await seeder.waitForFunction(() => (globalThis as { ready?: boolean }).ready === true)
  const posts = await seeder.evaluate(async a => await (globalThis as unknown as { seed: (...a: unknown[]) => Promise<FeedPost[]> }).seed(...a), args)
  await seeder.close()
  return { relay, browser, context, posts }
}

/**
 * ms from navigation to the posts rendered (renderProbe), and to the lazily loaded engine chunk
 * (runtime-*.js) arriving. `prepare` runs on the new page before it navigates (CPU throttling).
 */
export async function navigateAndTime (context: BrowserContext, url: string, prepare?: (page: Page) => Promise<void>): Promise<{ rendered: number, engineChunk: number | undefined }> {
  const page = await context.newPage()
  try {
    await prepare?.(page)
    await page.goto(url)
    await page.waitForFunction(() => (globalThis as { __rendered?: number }).__rendered !== undefined, undefined, { timeout: STEP_MS, polling: 100 })
    return await page.evaluate(() => ({
      rendered: (globalThis as unknown as { __rendered: number }).__rendered,
      engineChunk: (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).find(e => /\/runtime-[^/]*\.js$/.test(e.name))?.responseEnd
    }))
  } finally {
    await page.close()
  }
}

export function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

export function percentile (xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]!
}

export async function benchWebRender (): Promise<Workload[]> {
  if (spawnSync('test', ['-f', join(DIST, 'index.html')]).status !== 0) buildWeb()
  const web = await mkdtemp(join(tmpdir(), 'pl-web-render-'))
  let browser: Browser | undefined
  try {
    const seeded = await seededApp(web, './web-render-seed.ts', [RENDER_POSTS])
    const { relay, context, posts } = seeded
    browser = seeded.browser
    await writeFile(join(web, 'static.html'), staticFeed(posts))
    await context.addInitScript(renderProbe(RENDER_POSTS))

    // One untimed load of each (caches, the engine's first key and database upgrades).
    await navigateAndTime(context, `${relay.httpUrl}/`)
    await navigateAndTime(context, `${relay.httpUrl}/static.html`)
    const app: number[] = []
    const chunk: number[] = []
    const plain: number[] = []
    for (let r = 0; r < RENDER_ROUNDS; r++) {
      const t = await navigateAndTime(context, `${relay.httpUrl}/`)
      app.push(t.rendered)
      if (t.engineChunk !== undefined) chunk.push(t.engineChunk)
      plain.push((await navigateAndTime(context, `${relay.httpUrl}/static.html`)).rendered)
    }
    const list = (xs: number[]): string => xs.map(x => x.toFixed(0)).join(', ')
    console.log(`web-render (${browser.version()}): app ${list(app)} ms (the engine chunk, which the feed waits for, arrived at ${list(chunk)} ms); static HTML ${list(plain)} ms`)
    return [costWorkload(`web-render: first feed render, ${RENDER_POSTS} posts in IndexedDB`, median(app), `ms from navigation, median of ${RENDER_ROUNDS}; baseline the same posts as static HTML, same browser; aim ratio ≥ 0.5`, median(plain))]
  } finally {
    await browser?.close()
    await cleanUp()
    await rm(web, { recursive: true, force: true })
  }
}

/**
 * In the reader's page: resolves with the wall-clock time (ms) at which its feed rendered a post
 * holding each of `texts` (in that order), once all are shown.
 */
export async function watchForAll (page: Page, texts: readonly string[]): Promise<() => Promise<number[]>> {
  // A string, not a function: tsx's keepNames would add a __name helper the page lacks.
  await page.evaluate(`(() => {
    const texts = ${JSON.stringify(texts)}
    const seen = new Map()
    window.__seen = new Promise(resolve => {
      const feed = document.querySelector('pl-app').shadowRoot.querySelector('pl-feed').shadowRoot
      const observer = new MutationObserver(records => {
        const now = performance.timeOrigin + performance.now()
        for (const r of records) {
          for (const n of r.addedNodes) {
            const article = n.nodeType === 1 ? (n.localName === 'article' ? n : n.querySelector?.('article')) : n.parentElement?.closest('article')
            if (article == null) continue
            for (const t of texts) if (!seen.has(t) && article.textContent.includes(t)) seen.set(t, now)
          }
        }
        if (seen.size === texts.length) { observer.disconnect(); resolve(texts.map(t => seen.get(t))) }
      })
      observer.observe(feed, { childList: true, subtree: true, characterData: true })
    })
  })()`)
  return async () => await page.evaluate(async () => await (globalThis as unknown as { __seen: Promise<number[]> }).__seen)
}

/** In the reader's page: resolves with the wall-clock time (ms) its feed has rendered a post with this text. */
async function watchFor (page: Page, text: string): Promise<() => Promise<number>> {
  const seen = await watchForAll(page, [text])
  return async () => (await seen())[0]!
}

/** In the writer's page: types the text and presses Send; the wall-clock time of the press. */
async function sendNow (page: Page, text: string): Promise<number> {
  await page.getByRole('button', { name: 'New post' }).click()
  await page.getByLabel('What happened').fill(text)
  return await page.getByRole('button', { name: 'Send' }).evaluate(b => { const t = performance.timeOrigin + performance.now(); (b as HTMLButtonElement).click(); return t })
}

export async function benchWebPost (): Promise<Workload[]> {
  if (spawnSync('test', ['-f', join(DIST, 'index.html')]).status !== 0) buildWeb()
  let browser: Browser | undefined
  try {
    // One relay (serving web/dist) carries two neighborhoods: the browsers' and the CLI's.
    const relay = await startRelay({ webDir: DIST })
    // CLI → CLI: two resident engines (the CLI's, in this process).
    const hood = await neighborhood(relay, ['Carol', 'Dan'])
    const [carol, dan] = [await peer(hood.members[0]!), await peer(hood.members[1]!)]
    // Browser → browser.
    browser = await launchChromium()
    const open = async (url: string): Promise<Page> => { const p = await (await browser!.newContext()).newPage(); await p.goto(url); return p }
    const a = await open(relay.httpUrl)
    await a.getByLabel('Display name').fill('Ann')
    await a.getByRole('button', { name: 'Create identity' }).click()
    await a.getByLabel('Neighborhood name').fill('Maple Street')
    await a.getByLabel('Area (geohash)').fill('u4pru')
    await a.getByRole('button', { name: 'Create neighborhood' }).click()
    const link = await a.getByRole('link', { name: 'Invite link' }).getAttribute('href', { timeout: STEP_MS })
    await relay.serve(await a.getByLabel('Relay token').inputValue())
    const b = await open(link!)
    await b.getByLabel('Display name').fill('Ben')
    await b.getByRole('button', { name: 'Create identity' }).click()
    await b.getByRole('button', { name: 'Join' }).click()
    for (const p of [a, b]) await p.getByRole('status').filter({ hasText: /^Connected to/ }).waitFor({ timeout: STEP_MS })
    await b.getByRole('button', { name: 'New post' }).waitFor({ timeout: STEP_MS })
    // Interleaved (one CLI post, one browser post), so a busy machine slows both alike.
    const webMs: number[] = []
    const cliMs: number[] = []
    for (let i = -1; i < POSTS; i++) { // i = -1: an untimed warm-up post of each
      const cliText = `cli post ${i}`
      const heard = nextPost(dan, p => p.text === cliText, STEP_MS)
      const c0 = performance.now()
      await carol.post({ kind: 'info', text: cliText })
      await heard
      if (i >= 0) cliMs.push(performance.now() - c0)

      const text = `web post ${i}`
      const seen = await watchFor(b, text)
      const t0 = await sendNow(a, text)
      const t1 = await seen()
      if (i >= 0) webMs.push(t1 - t0)
    }
    console.log(`web-post: browser p50 ${percentile(webMs, 50).toFixed(0)} ms, p99 ${percentile(webMs, 99).toFixed(0)} ms; CLI p50 ${percentile(cliMs, 50).toFixed(0)} ms, p99 ${percentile(cliMs, 99).toFixed(0)} ms`)
    const unit = `ms, ${POSTS} posts one after another; baseline CLI → CLI (two resident engines) through the same relay, interleaved in the same run; aim ratio ≥ 0.5`
    return [
      costWorkload('web-post: shown in another browser context, p50', percentile(webMs, 50), unit, percentile(cliMs, 50)),
      costWorkload('web-post: shown in another browser context, p99', percentile(webMs, 99), unit, percentile(cliMs, 99))
    ]
  } finally {
    await browser?.close()
    await cleanUp()
  }
}

export const CLIP_BYTES = 20 * 1024 * 1024
/** Attaches and WebCrypto passes, interleaved; the median of each is reported. */
const CLIP_ROUNDS = 5

/** A valid MP4 of `size` bytes (as test/integration/clips.test.ts's bigMp4): the fixture, moov first, with random bytes to the end of mdat. */
function bigMp4 (size: number): Uint8Array {
  const f = makeMp4({ mdatToEnd: true, co64: true })
  return concat(f.bytes, new Uint8Array(randomBytes(size - f.bytes.length)))
}

type ClipBench = typeof import('./web-clip-page.ts')

/**
 * web-clip-page.ts in a page of its own (a fresh context of `browser`, served from 127.0.0.1,
 * a secure context) with a 20 MiB MP4 loaded: `attach` runs one timed attach, `webCrypto` one
 * timed AES-GCM pass over the same bytes. `close` stops the server (the caller closes the browser).
 */
export async function clipPage (browser: Browser): Promise<{ page: Page, errors: string[], attach: () => Promise<Awaited<ReturnType<ClipBench['attach']>>>, webCrypto: () => Promise<number>, close: () => Promise<void> }> {
  const js = await seedBundle('./web-clip-page.ts')
  const video = bigMp4(CLIP_BYTES)
  const html = '<!doctype html><meta charset="utf-8"><title>web-clip</title><script type="module">import * as bench from "/bench.js"; window.bench = bench; window.ready = true</script>\n'
  const server: Server = createServer((req, res) => {
    if (req.url === '/bench.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(js); return }
    if (req.url === '/clip.mp4') { res.writeHead(200, { 'content-type': 'video/mp4' }); res.end(video); return }
    res.writeHead(200, { 'content-type': 'text/html' }); res.end(html)
  })
  const close = async (): Promise<void> => { await new Promise<void>(resolve => { server.close(() => { resolve() }) }) }
  try {
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const page = await (await browser.newContext()).newPage()
    const errors: string[] = []
    page.on('pageerror', err => { errors.push(err.message) })
    page.on('crash', () => { errors.push('the page crashed') })
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`)
    await page.waitForFunction(() => (globalThis as { ready?: boolean }).ready === true, undefined, { timeout: STEP_MS })
    if (!await page.evaluate(() => isSecureContext)) throw new Error('the bench page is not a secure context')
    const size = await page.evaluate(async () => await (globalThis as unknown as { bench: ClipBench }).bench.load('/clip.mp4'))
    if (size !== CLIP_BYTES) throw new Error(`the page got ${size} bytes`)
    return {
      page,
      errors,
      attach: async () => await page.evaluate(async () => await (globalThis as unknown as { bench: ClipBench }).bench.attach()),
      webCrypto: async () => await page.evaluate(async () => await (globalThis as unknown as { bench: ClipBench }).bench.webCrypto()),
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}

export async function benchWebClip (): Promise<Workload[]> {
  let browser: Browser | undefined
  let closePage: (() => Promise<void>) | undefined
  try {
    browser = await launchChromium()
    const { attach, webCrypto: subtle, errors, close } = await clipPage(browser)
    closePage = close
    // One untimed pass of each (Helia's first load, JIT, WebCrypto's first key).
    const first = await attach()
    await subtle()
    const clipMs: number[] = []
    const aesMs: number[] = []
    for (let r = 0; r < CLIP_ROUNDS; r++) {
      clipMs.push((await attach()).ms)
      aesMs.push(await subtle())
    }
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`)
    const mbps = (ms: number): number => CLIP_BYTES / 1e6 / (ms / 1000)
    const [clip, aes] = [mbps(median(clipMs)), mbps(median(aesMs))]
    const list = (xs: number[]): string => xs.map(x => mbps(x).toFixed(0)).join(', ')
    console.log(`web-clip (${browser.version()}): attach ${list(clipMs)} MB/s (removed: ${first.removed.join(', ') || 'nothing'}; ${first.stored} bytes stored); WebCrypto AES-GCM ${list(aesMs)} MB/s; ratio ${(clip / aes).toFixed(3)}`)
    return [rateWorkload('web-clip: attach a 20 MiB video in the page (strip + encrypt + add to IndexedDB)', clip,
      `MB/s, median of ${CLIP_ROUNDS}; baseline crypto.subtle AES-256-GCM over the same bytes, 64 KiB chunks, ${CLIP_PIPELINE_DEPTH} in flight (as the clip format keeps them), same page, interleaved`, aes)]
  } finally {
    await browser?.close()
    await closePage?.()
  }
}
