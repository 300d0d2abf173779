// Offline first in real Chromium (playwright-core) against a real relay: posts written while
// no relay answers wait in the outbox ("queued") and go out when it is back ("sent"); one
// engine per origin however many tabs (a Web Lock leader; the other tabs hand it their
// posts); the app shell from the service worker when the relay's HTTP is down.
import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import type { BrowserContext, Page } from 'playwright-core'
import { cli, peer, scrapeMetrics, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'
import { article, connected, createIdentity, sendPost } from '../helpers/browser.ts'
import { Relay } from '../../node/relay/relay.ts'
import { RECONNECT_MAX_MS } from '../../protocol/peer/resident.ts'
import { useAppBrowser } from '../helpers/use-app-browser.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** Waits for one step of the UI; generous, never a timing assertion. */
const STEP_MS = 20_000
/** A relay back after a stop is redialled with backoff (1 s doubling): allow a few rounds. */
const BACK_MS = 45_000

const restarted: Relay[] = []
const app = useAppBrowser(async () => { for (const r of restarted.splice(0)) await r.stop().catch(() => undefined) })

async function newContext (): Promise<BrowserContext> { return await app.newContext() }

async function openApp (url: string, context?: BrowserContext): Promise<{ page: Page, errors: string[] }> {
  return await app.open(url, context !== undefined ? { context } : {})
}

async function outboxState (page: Page, text: string, state: RegExp, timeout = STEP_MS): Promise<void> {
  await article(page, text).getByText(state).waitFor({ timeout })
}

/** A relay whose folder and ports we know, so it can stop and start again as the same relay. */
async function restartableRelay (): Promise<{ relay: () => Relay, stop: () => Promise<void>, start: () => Promise<void> }> {
  const dataDir = await tempDir('pl-relay-')
  let relay = await startRelay({ dataDir, webDir: WEB_DIR })
  const port = (addr: string): number => Number(addr.split('/')[4])
  const ports = { tcpPort: port(tcpAddr(relay)), wsPort: port(relay.webInfo().ws[0]!), httpPort: Number(new URL(relay.httpUrl).port) }
  return {
    relay: () => relay,
    stop: async () => { await relay.stop() },
    start: async () => {
      relay = await Relay.start({ dataDir, webDir: WEB_DIR, host: '127.0.0.1', ...ports, log: () => {} })
      restarted.push(relay)
    }
  }
}

/** A CLI admin's neighborhood on `relay`, served (unless not), announced; returns the admin's home and an invite. */
async function cliHood (relay: Relay, served = true): Promise<{ admin: string, invite: string }> {
  const admin = await tempDir('pl-cli-admin-')
  await cli(admin, ['id', 'create', '--name', 'Carol'])
  await cli(admin, ['hood', 'create', 'Oak Lane', '--area', 'u4pru', '--relay', tcpAddr(relay), '--relay', relay.webInfo().ws[0]!])
  if (!served) return { admin, invite: (await cli(admin, ['--json', 'hood', 'invite'])).json.invite as string }
  await relay.serve((await cli(admin, ['--json', 'hood', 'relay-token'])).json.token as string)
  await cli(admin, ['hood', 'announce'])
  return { admin, invite: (await cli(admin, ['--json', 'hood', 'invite'])).json.invite as string }
}

describe('offline first', () => {
  it('a post written while the relay is down shows queued, goes out and shows sent when it is back; the app opens from the service worker with the relay down, and sends once it is up', async () => {
    const r = await restartableRelay()
    const a = await openApp(r.relay().httpUrl)
    await createIdentity(a.page, 'Ann')
    await a.page.getByLabel('Neighborhood name').fill('Maple Street')
    await a.page.getByLabel('Area (geohash)').fill('u4pru')
    await a.page.getByRole('button', { name: 'Create neighborhood' }).click()
    const link = await a.page.getByRole('link', { name: 'Invite link' }).getAttribute('href', { timeout: STEP_MS })
    await r.relay().serve(await a.page.getByLabel('Relay token').inputValue())
    await connected(a.page)
    const b = await openApp(link!)
    await createIdentity(b.page, 'Ben')
    await b.page.getByRole('button', { name: 'Join' }).click()
    await connected(b.page)
    await b.page.getByRole('button', { name: 'New post' }).waitFor()

    // Online, a post goes out at once.
    await sendPost(b.page, 'info', 'Library open late tonight')
    await outboxState(b.page, 'Library open late tonight', /^sent$/)
    await article(a.page, 'Library open late tonight').waitFor({ timeout: STEP_MS })

    await r.stop()
    await b.page.getByRole('status').filter({ hasText: /^Connecting/ }).waitFor({ timeout: STEP_MS })
    await sendPost(b.page, 'pet', 'Grey cat lost near the park')
    await outboxState(b.page, 'Grey cat lost near the park', /^queued/)
    await b.page.getByRole('alert').filter({ hasText: /waits and goes out when a relay is back/ }).waitFor()

    await r.start()
    await connected(b.page, BACK_MS)
    await outboxState(b.page, 'Grey cat lost near the park', /^sent$/, BACK_MS)
    await article(a.page, 'Grey cat lost near the park').waitFor({ timeout: BACK_MS })
    expect(await b.page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state)).toBe('activated')

    // After that first visit the shell comes from the service worker and the feed from
    // IndexedDB, with the relay (its HTTP and its WebSockets) stopped.
    await r.stop()
    await b.page.reload()
    await article(b.page, 'Grey cat lost near the park').waitFor({ timeout: STEP_MS })
    await outboxState(b.page, 'Grey cat lost near the park', /^sent$/)
    await article(b.page, 'Library open late tonight').waitFor()
    expect(await b.page.getByRole('status').textContent()).not.toMatch(/^Connected/)

    // A page that opened with no relay dials it (with backoff) until it answers, then sends.
    await sendPost(b.page, 'traffic', 'Road closed for the parade')
    await outboxState(b.page, 'Road closed for the parade', /^queued/)
    await r.start()
    await outboxState(b.page, 'Road closed for the parade', /^sent$/, BACK_MS)
    await connected(b.page)
    // Ann's tab has been redialling since the relay stopped, its pause doubling up to
    // RECONNECT_MAX_MS: it may dial again only that long after the relay is back, then syncs.
    await article(a.page, 'Road closed for the parade').waitFor({ timeout: BACK_MS + RECONNECT_MAX_MS })
    // The only errors: Chromium's console lines for the WebSocket dials the relay refused.
    const unexpected = [...a.errors, ...b.errors].filter(e => !/^console: WebSocket connection to .* failed: .*ERR_CONNECTION_REFUSED$/.test(e))
    expect(unexpected).toEqual([])
  }, 180_000)

  it('two tabs of one resident run one engine: each post is sent exactly once, and the second tab takes over when the first closes', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const { admin, invite } = await cliHood(relay)
    const context = await newContext()
    const one = await openApp(`${relay.httpUrl}/#join=${invite}`, context)
    await one.page.getByLabel('Display name').waitFor()
    const two = await openApp(relay.httpUrl, context)
    await two.page.getByLabel('Display name').waitFor()
    await createIdentity(one.page, 'Dev')
    await one.page.getByRole('button', { name: 'Join' }).click()
    await connected(one.page)
    await one.page.getByRole('button', { name: 'New post' }).waitFor()

    // The second tab follows: the identity and the neighborhood appear there too (IndexedDB),
    // with the leader's connection, and no engine of its own.
    await connected(two.page)
    await two.page.getByRole('button', { name: 'New post' }).waitFor()
    // One tab holds the engine's lock, the other waits for it.
    const locks = await two.page.evaluate(async () => await navigator.locks.query())
    expect(locks.held?.filter(l => l.name === 'porchlight-engine')).toHaveLength(1)
    expect(locks.pending?.filter(l => l.name === 'porchlight-engine')).toHaveLength(1)
    const before = await scrapeMetrics(relay.httpUrl)

    await sendPost(two.page, 'info', 'Posted from the second tab')
    await sendPost(one.page, 'info', 'Posted from the first tab')
    for (const page of [one.page, two.page]) {
      await outboxState(page, 'Posted from the second tab', /^sent$/)
      await outboxState(page, 'Posted from the first tab', /^sent$/)
    }

    const after = await scrapeMetrics(relay.httpUrl)
    const metric = (m: Map<string, number>, name: string): number => m.get(name) ?? 0
    // No message reached the relay twice (two outboxes sending one post would).
    expect(metric(after, 'porchlight_messages_duplicate_total') - metric(before, 'porchlight_messages_duplicate_total')).toBe(0)
    // And the relay holds each post once.
    const carol = await peer(admin)
    await carol.sync()
    const texts = (await carol.feed()).map(p => p.text)
    expect(texts.filter(t => t === 'Posted from the second tab')).toHaveLength(1)
    expect(texts.filter(t => t === 'Posted from the first tab')).toHaveLength(1)

    // The leader's tab closes: the second takes the lock, starts the engine and posts itself.
    await one.page.close()
    await connected(two.page)
    await sendPost(two.page, 'info', 'After the first tab closed')
    await outboxState(two.page, 'After the first tab closed', /^sent$/)
    await carol.sync()
    expect((await carol.feed()).filter(p => p.text === 'After the first tab closed')).toHaveLength(1)
    expect([...one.errors, ...two.errors]).toEqual([])
  })

  it('a post the relay refuses shows refused, with the reason in words', async () => {
    // The relay was never given this neighborhood's token: it takes the connection, not the posts.
    const relay = await startRelay({ webDir: WEB_DIR })
    const { invite } = await cliHood(relay, false)
    const b = await openApp(`${relay.httpUrl}/#join=${invite}`)
    await createIdentity(b.page, 'Eve')
    await b.page.getByRole('button', { name: 'Join' }).click()
    await connected(b.page)
    await b.page.getByRole('button', { name: 'New post' }).waitFor()
    await sendPost(b.page, 'info', 'Nobody will carry this')
    await outboxState(b.page, 'Nobody will carry this', /^refused: the relay does not carry this neighborhood yet/)
    await b.page.getByRole('alert').filter({ hasText: /^The relay refused the post/ }).waitFor()
  })
})
