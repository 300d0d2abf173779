// The web app end to end in real Chromium (playwright-core): a relay on 127.0.0.1 serving the
// built app (web/dist, built by the test setup), two browser contexts (two residents, each
// with its own IndexedDB), and a CLI resident. Accessible names are the app's stable interface.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { cleanUp, cli, nextPost, peer, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'
import { AppBrowser, article, connected, createIdentity } from '../helpers/browser.ts'
import type { Relay } from '../../node/relay/relay.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** Waits for one step of the UI (a live post, a connection); generous, never a timing assertion. */
const STEP_MS = 20_000

const app = new AppBrowser()

beforeAll(app.start)
afterAll(app.close)
afterEach(async () => {
  await app.closeContexts()
  await cleanUp()
})

async function openApp (url: string): Promise<{ page: Page, errors: string[] }> {
  return await app.open(url)
}

async function send (page: Page, kind: string, text: string): Promise<void> {
  await page.getByRole('button', { name: 'New post' }).click()
  await page.getByLabel('Kind').selectOption(kind)
  await page.getByLabel('What happened').fill(text)
  expect(await page.getByLabel('Share publicly').isChecked()).toBe(false)
  await page.getByText(/^Only members of .* can read it/).waitFor()
  await page.getByRole('button', { name: 'Send' }).click()
}

describe('the web app', () => {
  it('a browser creates a neighborhood, a second joins from the invite link and sees a post live, and again after a reload from IndexedDB', async () => {
    const relay: Relay = await startRelay({ webDir: WEB_DIR })
    const a = await openApp(relay.httpUrl)
    await createIdentity(a.page, 'Ann')
    await a.page.getByLabel('Neighborhood name').fill('Maple Street')
    await a.page.getByLabel('Area (geohash)').fill('u4pru')
    await a.page.getByRole('button', { name: 'Create neighborhood' }).click()
    const link = await a.page.getByRole('link', { name: 'Invite link' }).getAttribute('href', { timeout: STEP_MS })
    await a.page.getByRole('img', { name: 'QR code of the invite link' }).waitFor({ timeout: STEP_MS })
    expect(link).toMatch(new RegExp(`^${relay.httpUrl}/#join=porchlight:`))
    // The admin hands the relay token to the relay's operator.
    await relay.serve(await a.page.getByLabel('Relay token').inputValue())
    await connected(a.page)

    const b = await openApp(link!)
    // The invite (it holds the neighborhood key) leaves the address bar and the history at once.
    expect(b.page.url()).toBe(`${relay.httpUrl}/`)
    await createIdentity(b.page, 'Ben')
    expect(await b.page.getByLabel('Invite').inputValue()).toMatch(/^porchlight:/)
    await b.page.getByRole('button', { name: 'Join' }).click()
    await connected(b.page)
    await b.page.getByRole('button', { name: 'New post' }).waitFor()

    await send(a.page, 'suspicious', 'A van idling by the school since noon')
    await article(a.page, 'A van idling by the school since noon').waitFor({ timeout: STEP_MS })
    await article(b.page, 'A van idling by the school since noon').waitFor({ timeout: STEP_MS })
    await send(a.page, 'info', 'Street fair on Saturday')
    await article(b.page, 'Street fair on Saturday').waitFor({ timeout: STEP_MS })
    // Newest first.
    const texts = await b.page.getByRole('article').allTextContents()
    expect(texts.findIndex(t => t.includes('Street fair'))).toBeLessThan(texts.findIndex(t => t.includes('A van idling')))

    // After a reload with the relay unreachable the posts come from IndexedDB alone.
    await b.page.routeWebSocket(/.*/, ws => { void ws.close() })
    await b.page.reload()
    await article(b.page, 'A van idling by the school since noon').waitFor({ timeout: STEP_MS })
    await article(b.page, 'Street fair on Saturday').waitFor({ timeout: STEP_MS })
    expect(await b.page.getByRole('status').textContent()).not.toMatch(/^Connected/)
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('a browser resident and a CLI resident read each other\'s posts', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const ws = relay.webInfo().ws[0]!
    const admin = await tempDir('pl-cli-admin-')
    await cli(admin, ['id', 'create', '--name', 'Carol'])
    await cli(admin, ['hood', 'create', 'Oak Lane', '--area', 'u4pru', '--relay', tcpAddr(relay), '--relay', ws])
    await relay.serve((await cli(admin, ['--json', 'hood', 'relay-token'])).json.token as string)
    await cli(admin, ['hood', 'announce'])
    const invite = (await cli(admin, ['--json', 'hood', 'invite'])).json.invite as string

    const b = await openApp(`${relay.httpUrl}/#join=${invite}`)
    await createIdentity(b.page, 'Dev')
    await b.page.getByRole('button', { name: 'Join' }).click()
    await connected(b.page)
    await b.page.getByRole('button', { name: 'New post' }).waitFor()

    await cli(admin, ['post', '--kind', 'outage', '--text', 'Power is out on the east side'])
    await article(b.page, 'Power is out on the east side').waitFor({ timeout: STEP_MS })

    const carol = await peer(admin)
    const heard = nextPost(carol, p => p.text === 'Water main fixed', STEP_MS)
    await send(b.page, 'info', 'Water main fixed')
    expect((await heard).authorName).toBe('Dev')
    expect(b.errors).toEqual([])
  })
})
