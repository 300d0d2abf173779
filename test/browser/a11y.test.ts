// Accessibility of the web app in real Chromium: axe-core (injected into the page) finds no
// serious or critical violation on any screen, every screen is photographed at phone size
// (390×844, under test/output/screenshots/, git-ignored), and the whole path (create an
// identity, create a neighborhood, join from the invite link in a second context, post, read
// it on the other side) works by keyboard alone: Tab, Enter, Space, arrows and typing, no clicks.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { cleanUp, startRelay } from '../helpers/network.ts'
import { pageErrors, article, connected, launchChromium } from '../helpers/browser.ts'
import { PHONE, screen, seriousViolations } from '../helpers/a11y.ts'
import type { Relay } from '../../node/relay/relay.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** Waits for one step of the UI (a live post, a connection); generous, never a timing assertion. */
const STEP_MS = 20_000
/** Tab presses allowed to reach one control before the walk counts it as unreachable. */
const MAX_TABS = 40

let browser: Browser
const contexts: BrowserContext[] = []

beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => { await browser?.close() })
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => undefined)
  await cleanUp()
})

async function openApp (url: string): Promise<{ page: Page, errors: string[] }> {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1, hasTouch: true, isMobile: true })
  contexts.push(context)
  const page = await context.newPage()
  const errors = pageErrors(page)
  await page.goto(url)
  return { page, errors }
}

/** The element that has the focus, through open shadow roots, is the locator's element. */
async function focused (target: Locator): Promise<boolean> {
  return await target.evaluate(el => {
    let a: Element | null = document.activeElement
    while (a?.shadowRoot?.activeElement != null) a = a.shadowRoot.activeElement
    return a === el
  })
}

/** Presses Tab until the target has the focus (the keyboard's way to reach a control). */
async function tabTo (page: Page, target: Locator): Promise<void> {
  await target.waitFor({ timeout: STEP_MS })
  for (let i = 0; i < MAX_TABS; i++) {
    if (await focused(target)) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`Tab never reached ${target.toString()}`)
}

describe('accessibility', () => {
  it('axe finds no serious or critical violation on any screen (phone size), and each screen is photographed', async () => {
    const relay: Relay = await startRelay({ webDir: WEB_DIR })
    const a = await openApp(relay.httpUrl)
    await a.page.getByLabel('Display name').waitFor()
    await screen(a.page, 'welcome')

    await a.page.getByLabel('Display name').fill('Ann')
    await a.page.getByRole('button', { name: 'Create identity' }).click()
    await a.page.getByLabel('Neighborhood name').waitFor({ timeout: STEP_MS })
    await screen(a.page, 'join-or-create-neighborhood')

    await a.page.getByLabel('Neighborhood name').fill('Maple Street')
    await a.page.getByLabel('Area (geohash)').fill('u4pru')
    await a.page.getByRole('button', { name: 'Create neighborhood' }).click()
    const link = await a.page.getByRole('link', { name: 'Invite link' }).getAttribute('href', { timeout: STEP_MS })
    await relay.serve(await a.page.getByLabel('Relay token').inputValue())
    await connected(a.page)
    await screen(a.page, 'neighborhood-created')

    const b = await openApp(link!)
    await b.page.getByLabel('Display name').fill('Ben')
    await b.page.getByRole('button', { name: 'Create identity' }).click()
    await b.page.getByRole('button', { name: 'Join' }).waitFor({ timeout: STEP_MS })
    await screen(b.page, 'join-from-invite')
    await b.page.getByRole('button', { name: 'Join' }).click()
    await connected(b.page)

    await a.page.getByRole('button', { name: 'New post' }).click()
    await a.page.getByLabel('What happened').waitFor()
    await screen(a.page, 'compose')
    await a.page.getByLabel('Kind').selectOption('suspicious')
    await a.page.getByLabel('What happened').fill('A van idling by the school since noon')
    await a.page.getByRole('button', { name: 'Send' }).click()
    await article(b.page, 'A van idling by the school since noon').waitFor({ timeout: STEP_MS })
    await screen(b.page, 'feed-with-post')
    await screen(a.page, 'feed-with-post-author')
    expect([...a.errors, ...b.errors]).toEqual([])

    // The check itself works: an unlabelled field in the shell's shadow root is caught.
    await a.page.evaluate(() => { document.querySelector('pl-app')!.shadowRoot!.append(document.createElement('input')) })
    expect((await seriousViolations(a.page)).map(v => v.id)).toContain('label')
  })

  it('create identity, create a neighborhood, join from the link, post and read it: by keyboard alone', async () => {
    const relay: Relay = await startRelay({ webDir: WEB_DIR })
    const a = await openApp(relay.httpUrl)
    const kb = a.page.keyboard

    await tabTo(a.page, a.page.getByLabel('Display name'))
    await kb.type('Ann')
    await kb.press('Enter') // submits the form from its text field

    await tabTo(a.page, a.page.getByLabel('Neighborhood name'))
    await kb.type('Maple Street')
    await tabTo(a.page, a.page.getByLabel('Area (geohash)'))
    await kb.type('u4pru')
    await tabTo(a.page, a.page.getByRole('button', { name: 'Create neighborhood' }))
    await kb.press('Enter')

    const inviteLink = a.page.getByRole('link', { name: 'Invite link' })
    await tabTo(a.page, inviteLink) // the link is reachable by keyboard (its address is read, not followed)
    const link = await inviteLink.getAttribute('href')
    expect(link).toMatch(new RegExp(`^${relay.httpUrl}/#join=porchlight:`))
    await tabTo(a.page, a.page.getByLabel('Relay token'))
    await relay.serve(await a.page.getByLabel('Relay token').inputValue())
    await connected(a.page)

    const b = await openApp(link!)
    const kbB = b.page.keyboard
    await tabTo(b.page, b.page.getByLabel('Display name'))
    await kbB.type('Ben')
    await kbB.press('Enter')
    await tabTo(b.page, b.page.getByRole('button', { name: 'Join' }))
    expect(await b.page.getByLabel('Invite').inputValue()).toMatch(/^porchlight:/)
    await kbB.press('Space') // a button answers Space as well as Enter
    await connected(b.page)

    await tabTo(a.page, a.page.getByRole('button', { name: 'New post' }))
    await kb.press('Enter')
    const kind = a.page.getByLabel('Kind')
    await tabTo(a.page, kind)
    const first = await kind.inputValue()
    await kb.press('ArrowDown')
    const chosen = await kind.inputValue()
    expect(chosen).not.toBe(first)
    await tabTo(a.page, a.page.getByLabel('What happened'))
    await kb.type('Street fair on Saturday, Elm St closed')
    const share = a.page.getByLabel('Share publicly')
    await tabTo(a.page, share)
    await kb.press('Space')
    expect(await share.isChecked()).toBe(true)
    await a.page.getByText(/A public copy also goes to anyone following area u4pru/).waitFor()
    await kb.press('Space')
    expect(await share.isChecked()).toBe(false)
    await a.page.getByText(/^Only members of .* can read it/).waitFor()
    await tabTo(a.page, a.page.getByRole('button', { name: 'Send' }))
    await kb.press('Enter')

    const seen = article(b.page, 'Street fair on Saturday, Elm St closed')
    await seen.waitFor({ timeout: STEP_MS })
    expect(await seen.textContent()).toContain('Ann')
    // The reader answers by keyboard too: Ben opens the composer.
    await tabTo(b.page, b.page.getByRole('button', { name: 'New post' }))
    await kbB.press('Enter')
    await b.page.getByLabel('What happened').waitFor()
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})
