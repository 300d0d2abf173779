// Run by test/browser/webrtc.test.ts inside a network namespace (unshare -n) with a veth at
// 198.18.0.1 (STACK.md): Chromium gathers no ICE candidate on loopback alone, and outside a
// namespace it tries the machine's own private address. A relay on 127.0.0.1 serves the app;
// two browser contexts (Ann, Ben) join one neighborhood; the page's libp2p dials the other
// browser over WebRTC signalled through the relay; the relay stops; Ann posts and Ben must see
// it over the direct connection; the relay starts again (same folder, same ports): both pages
// reconnect to it, Ann's post goes out to it, Ben posts and Ann sees it, and the direct
// connection is still up (or up again). Prints one JSON line (the result) on stdout.
import '../../node/polyfill.ts'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { cleanUp, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'
import { article, chromiumPath, pageErrors } from '../helpers/browser.ts'
import { Relay } from '../../node/relay/relay.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** Waits for one step (a connection, a live post); generous, never a timing assertion. */
const STEP_MS = 30_000

interface Result {
  ok: boolean
  step: string
  webrtcA?: string[]
  webrtcB?: string[]
  relayStopped?: boolean
  receivedOverWebRtc?: boolean
  /** Both pages said "Connected to" again after the relay came back. */
  reconnected?: boolean
  /** Ben's post after the restart reached Ann. */
  receivedAfterRestart?: boolean
  webrtcAfterRestartA?: string[]
  webrtcAfterRestartB?: string[]
  errorsBeforeStop?: string[]
  error?: string
  /** Milliseconds each step took (for reading, never asserted). */
  ms?: Record<string, number>
}

const result: Result = { ok: false, step: 'start', ms: {} }
let stepStart = Date.now()
/** Ends the current step (its time goes in `ms`) and starts `next`. */
function step (next: string): void {
  result.ms![result.step] = Date.now() - stepStart
  stepStart = Date.now()
  result.step = next
}

async function createIdentity (page: Page, name: string): Promise<void> {
  await page.getByLabel('Display name').fill(name)
  await page.getByRole('button', { name: 'Create identity' }).click()
}

async function connected (page: Page): Promise<void> {
  await page.getByRole('status').filter({ hasText: /^Connected to/ }).waitFor({ timeout: STEP_MS })
}

/** Waits until the connection state says the page lost its relay and is trying again. */
async function connecting (page: Page): Promise<void> {
  await page.getByRole('status').filter({ hasText: /^Connecting/ }).waitFor({ timeout: STEP_MS })
}

/** Remote addresses of the page's direct (not relayed) WebRTC connections. */
async function webrtcPeers (page: Page): Promise<string[]> {
  return await page.evaluate(() => {
    const nodes = (globalThis as unknown as { porchlightNodes?: Set<{ getConnections: () => Array<{ remoteAddr: { toString: () => string }, limits?: unknown, status: string }> }> }).porchlightNodes
    return [...(nodes ?? [])].flatMap(n => n.getConnections())
      .filter(c => c.limits === undefined && c.status === 'open' && c.remoteAddr.toString().includes('/webrtc'))
      .map(c => c.remoteAddr.toString())
  })
}

async function waitForWebRtc (page: Page): Promise<string[]> {
  const deadline = Date.now() + STEP_MS
  for (;;) {
    const peers = await webrtcPeers(page)
    if (peers.length > 0) return peers
    if (Date.now() > deadline) throw new Error('no direct WebRTC connection')
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

async function run (): Promise<void> {
  let browser: Browser | undefined
  let restarted: Relay | undefined
  result.ms!.boot = Math.round(process.uptime() * 1000)
  stepStart = Date.now()
  try {
    step('relay')
    const dataDir = await tempDir('pl-relay-')
    const relay = await startRelay({ dataDir, webDir: WEB_DIR })
    const port = (addr: string): number => Number(addr.split('/')[4])
    const ports = { tcpPort: port(tcpAddr(relay)), wsPort: port(relay.webInfo().ws[0]!), httpPort: Number(new URL(relay.httpUrl).port) }
    step('chromium')
    const { path, args } = await chromiumPath()
    // Candidates carry 198.18.0.1 instead of an mDNS name Chromium cannot resolve here.
    browser = await chromium.launch({ executablePath: path, headless: true, args: [...args, '--disable-features=WebRtcHideLocalIpsWithMdns'] })
    const open = async (url: string): Promise<{ page: Page, errors: string[] }> => {
      const page = await (await browser!.newContext()).newPage()
      const errors = pageErrors(page)
      await page.goto(url)
      return { page, errors }
    }

    step('create neighborhood')
    const a = await open(relay.httpUrl)
    await createIdentity(a.page, 'Ann')
    await a.page.getByLabel('Neighborhood name').fill('Maple Street')
    await a.page.getByLabel('Area (geohash)').fill('u4pru')
    await a.page.getByRole('button', { name: 'Create neighborhood' }).click()
    const link = await a.page.getByRole('link', { name: 'Invite link' }).getAttribute('href', { timeout: STEP_MS })
    await relay.serve(await a.page.getByLabel('Relay token').inputValue())
    await connected(a.page)

    step('join')
    const b = await open(link!)
    await createIdentity(b.page, 'Ben')
    await b.page.getByRole('button', { name: 'Join' }).click()
    await connected(b.page)
    await b.page.getByRole('button', { name: 'New post' }).waitFor({ timeout: STEP_MS })

    step('webrtc')
    result.webrtcA = await waitForWebRtc(a.page)
    result.webrtcB = await waitForWebRtc(b.page)
    result.errorsBeforeStop = [...a.errors, ...b.errors]

    step('stop relay')
    await relay.stop()
    result.relayStopped = true

    step('post over webrtc')
    await a.page.getByRole('button', { name: 'New post' }).click()
    await a.page.getByLabel('Kind').selectOption('info')
    await a.page.getByLabel('What happened').fill('Relay is down, we still talk')
    await a.page.getByRole('button', { name: 'Send' }).click()
    await b.page.getByRole('article').filter({ hasText: 'Relay is down, we still talk' }).waitFor({ timeout: STEP_MS })
    result.receivedOverWebRtc = (await webrtcPeers(b.page)).length > 0

    step('pages see the relay gone')
    await connecting(a.page)
    await connecting(b.page)

    step('restart relay')
    restarted = await Relay.start({ dataDir, webDir: WEB_DIR, host: '127.0.0.1', ...ports, log: () => {} })

    step('reconnect')
    await connected(a.page)
    await connected(b.page)
    result.reconnected = true
    // The post written while the relay was down goes out to it now.
    await article(a.page, 'Relay is down, we still talk').getByText(/^sent$/).waitFor({ timeout: STEP_MS })

    step('post after restart')
    await b.page.getByRole('button', { name: 'New post' }).click()
    await b.page.getByLabel('Kind').selectOption('info')
    await b.page.getByLabel('What happened').fill('Relay is back, hello again')
    await b.page.getByRole('button', { name: 'Send' }).click()
    await article(a.page, 'Relay is back, hello again').waitFor({ timeout: STEP_MS })
    result.receivedAfterRestart = true

    step('webrtc after restart')
    result.webrtcAfterRestartA = await waitForWebRtc(a.page)
    result.webrtcAfterRestartB = await waitForWebRtc(b.page)
    step('done')
    result.ok = true
  } catch (err) {
    result.error = (err as Error).stack ?? String(err)
  } finally {
    const closing = Date.now()
    await browser?.close().catch(() => undefined)
    await restarted?.stop().catch(() => undefined)
    await cleanUp()
    result.ms!.teardown = Date.now() - closing
  }
}

await run()
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(result.ok ? 0 : 1)
