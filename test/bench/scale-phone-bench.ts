/**
 * scale:phone — the web app (web/dist) on a phone-class CPU: headless Chromium with the page's
 * main thread slowed 4× through the DevTools protocol (Emulation.setCPUThrottlingRate, what
 * DevTools' "4x slowdown" does), beside the same page unthrottled, rounds interleaved (U T, T U,
 * U T…) so a busy machine slows both alike. Aim: each throttled time ≤ 4× its unthrottled one
 * (ratio ≥ 0.25: nothing worse than linear in CPU). Three workloads:
 *   - render: from navigation to the 1,000th post of the feed in the DOM, 1,000 posts in
 *     IndexedDB (web-bench.ts's web-render: the same seeded app and probe, fewer rounds);
 *   - incoming: 100 posts arriving into the open feed: sealed beforehand in this process as the
 *     CLI admin of the page's neighborhood, then pushed to the relay all at once (one push
 *     stream, pipelined), which forwards them to the page by gossip; from the first push until
 *     the page's feed shows the 100th (every post decrypted, verified, stored and drawn). Each
 *     round starts afresh (a new neighborhood, a new browser context joining it, an empty
 *     feed): the page's cost per post grows with the posts it holds, so a feed growing round
 *     after round would favour whichever setting came first;
 *   - clip: attaching a 20 MiB MP4 in the page (web-bench.ts's web-clip page: strip + encrypt +
 *     add to IndexedDB).
 * The throttled figures themselves are rows too, beside what the unthrottled benches compare
 * them with where that is cheap: the same posts as static HTML in a throttled page (render),
 * crypto.subtle AES-GCM over the same bytes in the throttled page (clip); incoming has none.
 * A last row times a plain JavaScript loop in the clip's page both ways: the slowdown the run
 * really got (4× on a quiet machine; on a busy one the page waits for a core more than it
 * computes, the throttle adds little, and every ratio drifts towards 1).
 * CPU throttling slows the page's main thread only: WebCrypto's and IndexedDB's own threads
 * (and the relay, in this process) run at full speed, so a workload that waits on them slows
 * less than 4×.
 * Run alone: `npm run bench -- --only scale:phone` (3 rounds each, not web-render's 7, to stay
 * within 3 minutes on a quiet 2-core machine).
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import type { Browser } from 'playwright-core'
import { connected, createIdentity, launchChromium, pageErrors, throttleCpu } from '../helpers/browser.ts'
import { cleanUp, cliNeighborhood, startRelay, tcpAddr } from '../helpers/network.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { createNode } from '../../node/libp2p.ts'
import type { Relay } from '../../node/relay/relay.ts'
import type { PorchlightNode } from '../../protocol/peer/gossip.ts'
import { useNativeCrypto } from '../../node/native-crypto.ts'
import { sealPost } from '../../protocol/envelope.ts'
import { currentEpochKeys } from '../../protocol/hood-state.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { PushSession } from '../../protocol/peer/push.ts'
import { buildWeb, CLIP_BYTES, clipPage, median, navigateAndTime, percentile, renderProbe, seededApp, staticFeed, watchForAll } from './web-bench.ts'
import { costWorkload, rateWorkload, type Workload } from './report.ts'

const DIST = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** How many times slower the phone's CPU is (DevTools' "4x slowdown"); the aim is linear in it. */
const SLOWDOWN = 4
const RENDER_POSTS = 1000
const INCOMING_POSTS = 100
/** Timed rounds of each setting per workload (web-render takes 7; 3 keeps the suite near 2 minutes). */
const ROUNDS = 3
const AREA = 'u4pru'
const STEP_MS = 60_000
/** A plain JavaScript loop, timed in each setting for the log: what the throttle really did on this machine. */
const SPIN = '(() => { const t = performance.now(); let x = 0; for (let i = 0; i < 3e7; i++) x += i % 7; return x < 0 ? -1 : performance.now() - t })()'

type Setting = 'fast' | 'slow'
const rateOf = (s: Setting): number => s === 'slow' ? SLOWDOWN : 1

/** Runs `timed(setting)` ROUNDS times for each setting, alternating which goes first. */
async function interleaved (timed: (s: Setting) => Promise<void>): Promise<void> {
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of (r % 2 === 0 ? ['fast', 'slow'] : ['slow', 'fast']) as Setting[]) await timed(s)
  }
}

const list = (xs: readonly number[]): string => xs.map(x => x.toFixed(0)).join(', ')
const ratioAim = `aim ratio ≥ ${1 / SLOWDOWN} (≤ ${SLOWDOWN}×)`

async function renderRows (): Promise<Workload[]> {
  const web = await mkdtemp(join(tmpdir(), 'pl-scale-phone-'))
  try {
    const { relay, browser, context, posts } = await seededApp(web, './web-render-seed.ts', [RENDER_POSTS])
    try {
      await writeFile(join(web, 'static.html'), staticFeed(posts))
      await context.addInitScript(renderProbe(RENDER_POSTS))
      const open = async (path: string, s: Setting): Promise<number> =>
        (await navigateAndTime(context, `${relay.httpUrl}${path}`, async page => { await throttleCpu(page, rateOf(s)) })).rendered
      // Untimed loads first (caches, the engine's first key, database upgrades).
      for (const s of ['fast', 'slow'] as Setting[]) { await open('/', s); await open('/static.html', s) }
      const app = { fast: [] as number[], slow: [] as number[] }
      const plain = { fast: [] as number[], slow: [] as number[] }
      await interleaved(async s => {
        app[s].push(await open('/', s))
        plain[s].push(await open('/static.html', s))
      })
      console.log(`scale:phone render (${browser.version()}): app ${list(app.fast)} ms, ${SLOWDOWN}× slower CPU ${list(app.slow)} ms; static HTML ${list(plain.fast)} ms, slower ${list(plain.slow)} ms`)
      return [
        costWorkload(`scale:phone: first feed render, ${RENDER_POSTS} posts stored, CPU ${SLOWDOWN}× slower`, median(app.slow),
          `ms from navigation, median of ${ROUNDS}; baseline the same unthrottled, interleaved; ${ratioAim}`, median(app.fast)),
        costWorkload(`scale:phone: first feed render on the ${SLOWDOWN}× slower CPU`, median(app.slow),
          `ms, median of ${ROUNDS}; baseline the same posts as static HTML, same slowed page; aim ratio ≥ 0.5 (as web-render)`, median(plain.slow))
      ]
    } finally {
      await browser.close()
    }
  } finally {
    await cleanUp()
    await rm(web, { recursive: true, force: true })
  }
}

/**
 * One round of `incoming` in a fresh start: a new neighborhood of a CLI admin on `relay`, a new
 * browser context that joins it (an empty feed, nothing to sync), then `n` posts sealed as the
 * admin and pushed at once, with the page's CPU at `rate`. ms from the first push until the
 * page shows all `n`, and each post's ms from that push to shown.
 */
async function incomingRound (browser: Browser, relay: Relay, sender: PorchlightNode, n: number, rate: number): Promise<{ total: number, each: number[] }> {
  const { admin, invite } = await cliNeighborhood(relay, AREA)
  const home = await Home.open(admin)
  const [author, state] = [await home.requireIdentity(), await home.resolveHood()]
  const topic = privateTopic(state.hood.id)
  const keys = currentEpochKeys(state)
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    const errors = pageErrors(page)
    await page.goto(`${relay.httpUrl}/#join=${invite}`)
    await createIdentity(page, 'Dev')
    await page.getByRole('button', { name: 'Join' }).click()
    await connected(page, STEP_MS)
    await page.getByRole('button', { name: 'New post' }).waitFor({ timeout: STEP_MS })

    const texts = Array.from({ length: n }, (_, i) => `incoming ${i}: van idling by the school gate since noon.`)
    const sealed = await Promise.all(texts.map(async text => (await sealPost(author, topic, keys, createPost({ kind: 'info', text }))).bytes))
    const seen = await watchForAll(page, texts)
    await throttleCpu(page, rate)
    const session = await PushSession.open(sender, multiaddr(tcpAddr(relay)))
    const t0 = Date.now()
    const acks = await Promise.all(sealed.map(async bytes => await session.push(topic, bytes)))
    await session.close()
    const refused = acks.find(a => !a.ok)
    if (refused !== undefined) throw new Error(`the relay refused a push: ${refused.code}`)
    const shown = await seen()
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`)
    return { total: Math.max(...shown) - t0, each: shown.map(t => t - t0) }
  } finally {
    // Its engine would keep running (and redialling once the relay stops).
    await context.close()
  }
}

async function incomingRows (browser: Browser): Promise<Workload[]> {
  // One pushing node stands for many neighbors posting: the relay's per-peer rate would
  // otherwise refuse the later rounds' bursts.
  const relay = await startRelay({ webDir: DIST, peerRate: { perSecond: 1000, burst: 1000 } })
  const sender = await createNode()
  try {
    await incomingRound(browser, relay, sender, 20, 1) // untimed: this process's JIT, the relay's first posts
    const total = { fast: [] as number[], slow: [] as number[] }
    const each = { fast: [] as number[], slow: [] as number[] }
    await interleaved(async s => {
      const r = await incomingRound(browser, relay, sender, INCOMING_POSTS, rateOf(s))
      total[s].push(r.total)
      each[s].push(...r.each)
    })
    const pct = (xs: number[]): string => `p50 ${percentile(xs, 50).toFixed(0)}, p99 ${percentile(xs, 99).toFixed(0)} ms`
    console.log(`scale:phone incoming: ${INCOMING_POSTS} posts shown after ${list(total.fast)} ms, ${SLOWDOWN}× slower CPU ${list(total.slow)} ms; per post from the first push ${pct(each.fast)}, slower ${pct(each.slow)}`)
    return [
      costWorkload(`scale:phone: ${INCOMING_POSTS} incoming posts opened and shown, CPU ${SLOWDOWN}× slower`, median(total.slow),
        `ms from the first push to the relay until the open feed shows the ${INCOMING_POSTS}th, median of ${ROUNDS}; baseline the same unthrottled, interleaved; ${ratioAim}`, median(total.fast)),
      costWorkload(`scale:phone: ${INCOMING_POSTS} incoming posts on the ${SLOWDOWN}× slower CPU`, median(total.slow),
        `ms, median of ${ROUNDS}; no baseline (the unthrottled time is the row above's)`, null)
    ]
  } finally {
    await sender.stop()
    await cleanUp()
  }
}

async function clipRows (browser: Browser): Promise<Workload[]> {
  const { page, attach, webCrypto, errors, close } = await clipPage(browser)
  try {
    const spin = async (s: Setting): Promise<number> => { await throttleCpu(page, rateOf(s)); return await page.evaluate(SPIN) as number }
    // One untimed pass of each (Helia's first load, JIT, WebCrypto's first key).
    await attach()
    await webCrypto()
    const clip = { fast: [] as number[], slow: [] as number[] }
    const aes = { fast: [] as number[], slow: [] as number[] }
    const loop = { fast: [] as number[], slow: [] as number[] }
    await interleaved(async s => {
      loop[s].push(await spin(s))
      clip[s].push((await attach()).ms)
      aes[s].push(await webCrypto())
    }).catch((err: Error) => { throw new Error(`${err.message}${errors.length > 0 ? ` (page: ${errors.join('; ')})` : ''}`) })
    await throttleCpu(page, 1)
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`)
    const mbps = (ms: number): number => CLIP_BYTES / 1e6 / (ms / 1000)
    const throttle = median(loop.slow) / median(loop.fast)
    console.log(`scale:phone clip: attach ${list(clip.fast)} ms, ${SLOWDOWN}× slower CPU ${list(clip.slow)} ms; WebCrypto AES-GCM ${list(aes.fast)} ms, slower ${list(aes.slow)} ms; ` +
      `a plain JavaScript loop ${list(loop.fast)} ms, slower ${list(loop.slow)} ms (the throttle's effect: ${throttle.toFixed(2)}×)`)
    return [
      costWorkload(`scale:phone: attach a 20 MiB clip (strip + encrypt + add), CPU ${SLOWDOWN}× slower`, median(clip.slow),
        `ms, median of ${ROUNDS}; baseline the same unthrottled, interleaved; ${ratioAim}`, median(clip.fast)),
      rateWorkload(`scale:phone: attach a 20 MiB clip on the ${SLOWDOWN}× slower CPU`, mbps(median(clip.slow)),
        `MB/s, median of ${ROUNDS}; baseline crypto.subtle AES-256-GCM over the same bytes, same slowed page; aim ratio ≥ 0.3 (as web-clip)`, mbps(median(aes.slow))),
      // The throttle lets the page's thread run a quarter of the time: on a machine busy with
      // other work it gets less than that anyway, and every ratio above drifts towards 1. This
      // row says whether the run saw the slowdown asked for.
      costWorkload(`scale:phone: calibration, a plain JavaScript loop, CPU ${SLOWDOWN}× slower`, median(loop.slow),
        `ms, median of ${ROUNDS}; baseline the same unthrottled, interleaved; expect ratio ${1 / SLOWDOWN} (a ratio near 1 means a busy machine hid the throttle)`, median(loop.fast))
    ]
  } finally {
    await close()
  }
}

export async function benchScalePhone (): Promise<Workload[]> {
  await useNativeCrypto()
  if (spawnSync('test', ['-f', join(DIST, 'index.html')]).status !== 0) buildWeb()
  // web-render's seeded app brings its own browser; the other two share one.
  const rows = await renderRows()
  const browser = await launchChromium()
  try {
    return [...rows, ...await incomingRows(browser), ...await clipRows(browser)]
  } finally {
    await browser.close()
  }
}
