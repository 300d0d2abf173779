/**
 * Benchmarks of the accountability screens, each beside the same data as plain static HTML in
 * the same browser (aim: ≤ 2×):
 *   - web-map: from navigation (the app's …/#map link) to the map drawn (its list of cells
 *     complete), with 10,000 public posts and 500 agency requests in IndexedDB (seeded through
 *     the app's own Dexie schema by web-map-seed.ts).
 *   - web-transparency: from navigation to the transparency page's report drawn (every request
 *     listed), for 500 requests from 5 agencies on a relay's public record and 10,000 public
 *     replies to them.
 * Run alone: `npm run bench -- --only web-map,web-transparency`.
 */
import { spawnSync } from 'node:child_process'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext } from 'playwright-core'
import { launchChromium } from '../helpers/browser.ts'
import { cleanUp, startRelay } from '../helpers/network.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { cellWords, mapView, pictureHeight, place } from '../../web/state/map-view.ts'
import { monthLabel, parseReport, reportView } from '../../web/state/transparency.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { sealRfa, openRfa } from '../../protocol/agency.ts'
import { sealPublicPost } from '../../protocol/public-post.ts'
import { createPost } from '../../protocol/post.ts'
import { areaTopic } from '../../protocol/neighborhood.ts'
import { buildWeb, escapeHtml, median, seededApp } from './web-bench.ts'
import { costWorkload, type Workload } from './report.ts'

const DIST = fileURLToPath(new URL('../../web/dist', import.meta.url))
const AREA = 'u4pru'
const PUBLIC_POSTS = 10_000
const RFAS = 500
const AGENCIES = 5
const ROUNDS = 5
const STEP_MS = 60_000

/**
 * Set in every page before its own scripts: marks (window.__rendered, ms since navigation) the
 * first animation frame in which `n` elements match `selector`, in the document or any open
 * shadow root.
 */
function probe (selector: string, n: number): string {
  return `(() => {
    const count = (root) => {
      let c = root.querySelectorAll(${JSON.stringify(selector)}).length
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) c += count(el.shadowRoot)
      return c
    }
    const tick = () => { if (count(document) >= ${n}) { window.__rendered = performance.now(); return } requestAnimationFrame(tick) }
    requestAnimationFrame(tick)
  })()`
}

async function timeRender (context: BrowserContext, url: string): Promise<number> {
  const page = await context.newPage()
  try {
    await page.goto(url)
    await page.waitForFunction(() => (globalThis as { __rendered?: number }).__rendered !== undefined, undefined, { timeout: STEP_MS, polling: 100 })
    return await page.evaluate(() => (globalThis as unknown as { __rendered: number }).__rendered)
  } finally {
    await page.close()
  }
}

const PAGE_HEAD = '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>static</title>'

/** The map as pl-map draws it, as plain HTML: the picture's cells and grid, and the table. */
function staticMap (posts: readonly FeedPost[]): string {
  const v = mapView(posts, AREA)
  const width = 360
  const height = pictureHeight(v.frame, width)
  const rect = (b: Parameters<typeof place>[0], cls: string, extra = ''): string => {
    const r = place(b, v.frame, width)
    return `<rect class="${cls}" x="${r.x}" y="${r.y}" width="${Math.max(3, r.width)}" height="${Math.max(3, r.height)}"${extra}></rect>`
  }
  const most = Math.max(1, ...v.cells.map(c => c.count))
  return `${PAGE_HEAD}<style>body { margin: 0; font: 16px/1.4 system-ui, sans-serif; } svg { width: 100%; max-height: 55vh; } .grid { fill: none; stroke: #ccc; } .cell { fill: #c0392b; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; } td { padding: 0.3rem; border-bottom: 1px solid #ddd; }</style></head><body><main><h2>Map</h2>
<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="map">${v.grid.map(g => rect(g, 'grid')).join('')}${v.cells.map(c => rect(c.bounds, 'cell', ` fill-opacity="${(0.25 + 0.6 * c.count / most).toFixed(2)}"><title>${c.geohash}: ${escapeHtml(cellWords(c))}</title`)).join('')}</svg>
<table><thead><tr><th>Area</th><th>Size</th><th>Posts</th></tr></thead><tbody>${v.cells.map(c => `<tr data-geohash="${c.geohash}"><td><code>${c.geohash}</code></td><td>${c.size}</td><td>${escapeHtml(cellWords(c))}</td></tr>`).join('\n')}</tbody></table></main></body></html>\n`
}

export async function benchWebMap (): Promise<Workload[]> {
  if (spawnSync('test', ['-f', join(DIST, 'index.html')]).status !== 0) buildWeb()
  const web = await mkdtemp(join(tmpdir(), 'pl-web-map-'))
  let browser: Browser | undefined
  try {
    const seeded = await seededApp(web, './web-map-seed.ts', [AREA, PUBLIC_POSTS, RFAS])
    const { relay, context, posts } = seeded
    browser = seeded.browser
    const cells = mapView(posts, AREA).cells.length
    await writeFile(join(web, 'static-map.html'), staticMap(posts))
    await context.addInitScript(probe('tbody tr[data-geohash]', cells))
    await timeRender(context, `${relay.httpUrl}/#map`)
    await timeRender(context, `${relay.httpUrl}/static-map.html`)
    const app: number[] = []
    const plain: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      app.push(await timeRender(context, `${relay.httpUrl}/#map`))
      plain.push(await timeRender(context, `${relay.httpUrl}/static-map.html`))
    }
    console.log(`web-map: ${posts.length} posts in ${cells} cells; app ${app.map(Math.round).join(', ')} ms; static HTML ${plain.map(Math.round).join(', ')} ms`)
    return [costWorkload(`web-map: the map, ${PUBLIC_POSTS} public posts and ${RFAS} requests in IndexedDB`, median(app), `ms from navigation to ${cells} cells drawn, median of ${ROUNDS}; baseline the same map as static HTML, same browser; aim ratio ≥ 0.5`, median(plain))]
  } finally {
    await browser?.close()
    await cleanUp()
    await rm(web, { recursive: true, force: true })
  }
}

/** The transparency report as pl-transparency draws it, as plain HTML. */
function staticTransparency (json: unknown): string {
  const v = reportView(parseReport(json, AREA))
  const date = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium' })
  const agencies = v.agencies.map(g => `<section class="agency"><h2>${escapeHtml(g.agency)}</h2><p>Agency key ${g.fingerprint} · ${g.rfas.length} requests · ${g.publicReplies} public replies</p>
<h3>Vouched for by</h3><ul>${g.vouchedBy.map(x => `<li>Admin key ${x.admin}, as “${escapeHtml(x.name)}”, for area ${x.area}</li>`).join('')}</ul>
<h3>Requests</h3><ol class="requests">${g.rfas.map(r => `<li><div>${escapeHtml(r.text)}</div><div class="meta"><time>${date.format(r.created)}</time> · ${r.publicReplies} public replies</div></li>`).join('\n')}</ol></section>`)
  return `${PAGE_HEAD}<style>body { margin: 0 auto; max-width: 48rem; font: 16px/1.4 system-ui, sans-serif; } section.agency { border: 1px solid #ccc; border-radius: 8px; padding: 0.8rem; margin: 1rem 0; }
ol.requests { list-style: none; padding: 0; } ol.requests li { border-top: 1px solid #e3e3e3; padding: 0.5rem 0; } .meta { font-size: 0.9rem; color: #444; }</style></head><body><main>
<h1>Agency requests for area ${AREA}</h1><p>${v.total} requests from ${v.agencies.length} agencies; ${v.replies} public replies.</p>
<table><tbody>${v.months.map(m => `<tr><th>${monthLabel(m.month, 'en-US')}</th><td>${m.count}</td></tr>`).join('')}</tbody></table>
${agencies.join('\n')}</main></body></html>\n`
}

export async function benchWebTransparency (): Promise<Workload[]> {
  if (spawnSync('test', ['-f', join(DIST, 'transparency.html')]).status !== 0) buildWeb()
  const web = await mkdtemp(join(tmpdir(), 'pl-web-transparency-'))
  let browser: Browser | undefined
  try {
    await cp(DIST, web, { recursive: true })
    const relay = await startRelay({ webDir: web, areas: [AREA] })
    // 500 requests from 5 agencies over the past 11 months, straight onto the relay's record
    // (intake's rate limits are not what this measures), and 10,000 public replies to them.
    const now = Date.now()
    const agencies = await Promise.all(Array.from({ length: AGENCIES }, async (_, i) => await createIdentity(`Agency ${i + 1}`)))
    const ids: Uint8Array[] = []
    for (let i = 0; i < RFAS; i++) {
      const created = now - Math.floor((i / RFAS) * 330 * 86_400_000) - 60_000
      const { bytes } = await sealRfa(agencies[i % AGENCIES]!, AREA, `Request ${i}: footage of Elm and 5th between 2 and 4 pm, case ${1000 + i}`, created, 86_400_000)
      const rfa = await openRfa(bytes, created)
      await relay.records.keep(areaTopic(AREA), rfa, bytes)
      ids.push(rfa.id)
    }
    const residents = await Promise.all(Array.from({ length: 20 }, async (_, i) => await createIdentity(`Resident ${i}`)))
    for (let i = 0; i < PUBLIC_POSTS; i++) {
      const post = createPost({ kind: 'reply', text: `I saw something, reply ${i}`, now, replyTo: ids[i % 50]! })
      const { bytes, id } = await sealPublicPost(residents[i % residents.length]!, AREA, post, { powBits: 0 })
      await relay.store.put({ topic: areaTopic(AREA), id, ts: post.created, exp: post.expires, bytes })
    }
    relay.records.changed()
    const json = await (await fetch(`${relay.httpUrl}/transparency?area=${AREA}`)).json() as { rfas: unknown[] }
    if (json.rfas.length !== RFAS) throw new Error(`the relay's report lists ${json.rfas.length} requests, not ${RFAS}`)
    await writeFile(join(web, 'static-transparency.html'), staticTransparency(json))
    browser = await launchChromium()
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
    await context.addInitScript(probe('ol.requests li', RFAS))
    const url = `${relay.httpUrl}/transparency.html?area=${AREA}`
    await timeRender(context, url)
    await timeRender(context, `${relay.httpUrl}/static-transparency.html`)
    const app: number[] = []
    const plain: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      app.push(await timeRender(context, url))
      plain.push(await timeRender(context, `${relay.httpUrl}/static-transparency.html`))
    }
    console.log(`web-transparency: app ${app.map(Math.round).join(', ')} ms; static HTML ${plain.map(Math.round).join(', ')} ms`)
    return [costWorkload(`web-transparency: the public record, ${RFAS} requests and ${PUBLIC_POSTS} public replies`, median(app), `ms from navigation to every request drawn, median of ${ROUNDS}; baseline the same report as static HTML, same browser; aim ratio ≥ 0.5`, median(plain))]
  } finally {
    await browser?.close()
    await cleanUp()
    await rm(web, { recursive: true, force: true })
  }
}
