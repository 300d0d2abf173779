/**
 * Chromium for the browser tests, driven by playwright-core (never Playwright's own browser
 * download): PORCHLIGHT_CHROMIUM, else Debian's /usr/bin/chromium, else the Chromium build
 * inside the @sparticuz/chromium package (no root, no apt: `npm ci && npm test` anywhere on
 * Linux x64/arm64). PORCHLIGHT_CHROMIUM=bundled skips Debian's, to try the package's here.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser, type CDPSession, type BrowserContext, type Locator, type Page } from 'playwright-core'

export const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'
]

export async function chromiumPath (): Promise<{ path: string, args: string[] }> {
  const env = process.env.PORCHLIGHT_CHROMIUM
  if (env !== undefined && env !== '' && env !== 'bundled') return { path: env, args: CHROMIUM_FLAGS }
  if (env !== 'bundled' && existsSync('/usr/bin/chromium')) return { path: '/usr/bin/chromium', args: CHROMIUM_FLAGS }
  const sparticuz = (await import('@sparticuz/chromium')).default
  // Not the package's own flags: they are tuned for AWS Lambda (--single-process, which crashes
  // with a second browser context here, and --disable-web-security).
  return { path: await sparticuz.executablePath(), args: CHROMIUM_FLAGS }
}

export async function launchChromium (): Promise<Browser> {
  const { path, args } = await chromiumPath()
  return await chromium.launch({ executablePath: path, headless: true, args })
}

/**
 * Slows the page's main thread `rate` times (1 = none) through the DevTools protocol, as
 * DevTools' "4x slowdown" does to stand in for a phone; it holds across the page's navigations.
 */
export async function throttleCpu (page: Page, rate: number): Promise<void> {
  // One session per page: each session keeps its own rate, and a navigation restores them all.
  let session = cdpSessions.get(page)
  if (session === undefined) {
    session = await page.context().newCDPSession(page)
    cdpSessions.set(page, session)
  }
  await session.send('Emulation.setCPUThrottlingRate', { rate })
}

const cdpSessions = new WeakMap<Page, CDPSession>()

/** Collects a page's console errors and uncaught exceptions, for a failing test's message. */
export function pageErrors (page: Page): string[] {
  const errors: string[] = []
  // The stack's first frames too: a minified build's message alone ("r") says little.
  page.on('pageerror', err => { errors.push(`pageerror: ${err.name}: ${err.message}${(err.stack ?? '').split('\n').slice(1, 6).join('\n')}`) })
  page.on('console', msg => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`) })
  return errors
}

// ---- driving the app by its stable accessible names (web/README.md) ----

/** How long one step of a browser test may wait (a locator, a post arriving). */
export const STEP_MS = 20_000

export async function createIdentity (page: Page, name: string): Promise<void> {
  await page.getByLabel('Display name').fill(name)
  await page.getByRole('button', { name: 'Create identity' }).click()
}

/** Waits until the connection state (role status) says the page reached a relay. */
export async function connected (page: Page, timeout = STEP_MS): Promise<void> {
  await page.getByRole('status').filter({ hasText: /^Connected to/ }).waitFor({ timeout })
}

/** The post (an <article>) holding `text`. */
export function article (page: Page, text: string): Locator {
  return page.getByRole('article').filter({ hasText: text })
}

/**
 * One Chromium for a test file and the contexts its tests open (each a separate resident's
 * browser): `start` in beforeAll, `closeContexts` after each test, `close` in afterAll.
 */
export class AppBrowser {
  private browser: Browser | undefined
  private readonly contexts: BrowserContext[] = []

  readonly start = async (): Promise<void> => { this.browser = await launchChromium() }
  readonly close = async (): Promise<void> => { await this.browser?.close() }
  readonly closeContexts = async (): Promise<void> => {
    for (const c of this.contexts.splice(0)) await c.close().catch(() => undefined)
  }

  async newContext (options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
    const context = await this.browser!.newContext(options)
    this.contexts.push(context)
    return context
  }

  /** Opens the app at `url` in a new context (or `context`); its page errors are collected. */
  async open (url: string, opts: { context?: BrowserContext, contextOptions?: Parameters<Browser['newContext']>[0], initScript?: () => void } = {}): Promise<{ page: Page, errors: string[] }> {
    const page = await (opts.context ?? await this.newContext(opts.contextOptions)).newPage()
    if (opts.initScript !== undefined) await page.addInitScript(opts.initScript)
    const errors = pageErrors(page)
    await page.goto(url)
    return { page, errors }
  }
}

/** Writes and sends a post through the composer. */
export async function sendPost (page: Page, kind: string, text: string): Promise<void> {
  await page.getByRole('button', { name: 'New post' }).click()
  await page.getByLabel('Kind').selectOption(kind)
  await page.getByLabel('What happened').fill(text)
  await page.getByRole('button', { name: 'Send' }).click()
}

/**
 * Creates a neighborhood in the page (identity made already), has the test's relay serve it
 * with the token the page shows, and waits until the page is connected. Returns the invite link.
 */
export async function createServedHood (page: Page, relay: { serve: (token: string) => Promise<unknown> }, opts: { name?: string, area?: string } = {}): Promise<string> {
  await page.getByLabel('Neighborhood name').fill(opts.name ?? 'Maple Street')
  await page.getByLabel('Area (geohash)').fill(opts.area ?? 'u4pru')
  await page.getByRole('button', { name: 'Create neighborhood' }).click()
  const link = await page.getByRole('link', { name: 'Invite link' }).getAttribute('href', { timeout: STEP_MS })
  await relay.serve(await page.getByLabel('Relay token').inputValue())
  await connected(page)
  return link!
}
