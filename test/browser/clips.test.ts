// Clips and the composer in real Chromium (playwright-core). With a relay and a CLI resident
// (its home driven in-process, as in web-app.test.ts): a JPEG carrying GPS and camera EXIF
// picked in the browser is cleaned in the page, encrypted, pinned by the relay and fetched by
// the CLI with `clip get` without any of that metadata; a photo the CLI posts is shown in the
// browser, fetched and decrypted in the page on demand. Without any network (the built app
// served by a relay whose WebSockets the browser context refuses): the composer's validation, location precision in words and
// the public toggle. Accessible names are the app's stable interface.
import { describe, expect, it } from 'vitest'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { cli, cliNeighborhood, startRelay, tempDir } from '../helpers/network.ts'
import { article, connected, createIdentity, pageErrors } from '../helpers/browser.ts'
import { leakedSecrets, makeJpeg, makeMp4, piexif, toLatin1 } from '../helpers/media.ts'
import { stripMetadata } from '../../protocol/clip/strip.ts'
import { geohashBounds } from '../../protocol/geohash.ts'
import { toHex } from '../../protocol/encoding.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { useAppBrowser } from '../helpers/use-app-browser.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** Waits for one step of the UI (a live post, a connection, a fetch); generous, never a timing assertion. */
const STEP_MS = 30_000
const AREA = 'u4pru'

const app = useAppBrowser()

async function openApp (url: string, options: Parameters<Browser['newContext']>[0] = {}): Promise<{ page: Page, errors: string[] }> {
  return await app.open(url, { contextOptions: options })
}

async function joinInBrowser (url: string, name: string): Promise<{ page: Page, errors: string[] }> {
  const b = await openApp(url)
  await createIdentity(b.page, name)
  await b.page.getByRole('button', { name: 'Join' }).click()
  await connected(b.page, STEP_MS)
  await b.page.getByRole('button', { name: 'New post' }).waitFor()
  return b
}

describe('clips in the web app', () => {
  it('a JPEG with GPS EXIF attached in the browser is cleaned in the page; the CLI fetches it with `clip get` and finds no metadata', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const { admin, invite } = await cliNeighborhood(relay, AREA)
    const b = await joinInBrowser(`${relay.httpUrl}/#join=${invite}`, 'Dev')

    const photo = makeJpeg({ width: 40, height: 30 })
    expect(leakedSecrets(photo.bytes)).toContain('GPS rationals')
    expect(Object.keys(piexif.load(toLatin1(photo.bytes)).GPS ?? {})).not.toHaveLength(0)

    await b.page.getByRole('button', { name: 'New post' }).click()
    await b.page.getByLabel('Kind').selectOption('suspicious')
    await b.page.getByLabel('What happened').fill('Someone tried the back gate')
    await b.page.getByLabel('Photo or video').setInputFiles({ name: 'gate.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(photo.bytes) })
    const removed = b.page.getByText(/^Removed from the photo before anything is sent:/)
    await removed.waitFor({ timeout: STEP_MS })
    expect(await removed.textContent()).toMatch(/GPS position.*camera model/)
    expect(await b.page.getByLabel('Share publicly').isChecked()).toBe(false)
    await b.page.getByText(/The photo is encrypted like the post/).waitFor()
    // Records each phase the send reports and the progress bar the composer then shows.
    await b.page.evaluate(() => {
      const seen: string[] = []
      ;(window as unknown as { seen: string[] }).seen = seen
      document.addEventListener('send', (e) => {
        const detail = (e as CustomEvent<{ onProgress: (phase: string, done: number, total: number) => void }>).detail
        const report = detail.onProgress
        detail.onProgress = (phase, done, total) => {
          report(phase, done, total)
          const compose = document.querySelector('pl-app')!.shadowRoot!.querySelector('pl-compose')!
          void compose.updateComplete.then(() => {
            const bar = compose.shadowRoot!.querySelector('progress')
            seen.push(`${phase} ${bar?.getAttribute('aria-label') ?? 'no bar'}`)
          })
        }
      }, { capture: true })
    })
    await b.page.getByRole('button', { name: 'Send' }).click()
    await article(b.page, 'Someone tried the back gate').waitFor({ timeout: STEP_MS })
    // The composer closed once the post was sent: no progress bar left behind.
    await b.page.getByRole('button', { name: 'New post' }).waitFor({ timeout: STEP_MS })
    expect(await b.page.getByRole('progressbar').count()).toBe(0)
    // Encrypting, the relays fetching it, then (once a relay holds it) sending the post itself.
    const seen = await b.page.evaluate(() => (window as unknown as { seen: string[] }).seen)
    expect(seen).toContain('encrypt Encrypting')
    expect(seen.at(-1)).toBe('upload Sending the post')

    const feed = (await cli(admin, ['--json', 'feed'])).json.posts as Array<{ id: string, text: string, media: Array<{ mime: string, size: number }> }>
    const post = feed.find(p => p.text === 'Someone tried the back gate')
    expect(post?.media).toHaveLength(1)
    expect(post!.media[0]!.mime).toBe('image/jpeg')
    const work = await tempDir('pl-clip-get-')
    const out = join(work, 'gate.jpg')
    await cli(admin, ['clip', 'get', post!.id.slice(0, 16), '-o', out])
    const fetched = new Uint8Array(await readFile(out))
    expect(leakedSecrets(fetched)).toEqual([])
    expect(piexif.load(toLatin1(fetched)).GPS ?? {}).toEqual({})
    // Exactly what the shared cleaner makes of the original, nothing added in the page.
    expect(toHex(sha256(fetched))).toBe(toHex(sha256(stripMetadata(photo.bytes).bytes)))
    expect(b.errors).toEqual([])
  })

  it('a photo and a video posted by the CLI are fetched and decrypted in the browser when asked, and shown', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const { admin, invite } = await cliNeighborhood(relay, AREA)
    const b = await joinInBrowser(`${relay.httpUrl}/#join=${invite}`, 'Dev')

    const work = await tempDir('pl-clip-post-')
    const file = join(work, 'porch.jpg')
    await writeFile(file, makeJpeg({ width: 48, height: 32 }).bytes)
    await cli(admin, ['post', '--kind', 'info', '--text', 'Package left on the wrong porch', '--clip', file])

    const post = article(b.page, 'Package left on the wrong porch')
    await post.waitFor({ timeout: STEP_MS })
    // Nothing is fetched until the person asks.
    expect(await post.getByRole('img').count()).toBe(0)
    await post.getByRole('button', { name: /^Show photo/ }).click()
    const img = post.getByRole('img', { name: 'Photo attached to the post' })
    await img.waitFor({ timeout: STEP_MS })
    await b.page.waitForFunction((el) => el instanceof HTMLImageElement && el.complete, await img.elementHandle(), { timeout: STEP_MS })
    expect(await img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(48)

    // A video is fetched the same way and handed to a video element.
    const video = join(work, 'driveway.mp4')
    await writeFile(video, makeMp4().bytes)
    await cli(admin, ['post', '--kind', 'suspicious', '--text', 'Car circling the block', '--clip', video])
    const withVideo = article(b.page, 'Car circling the block')
    await withVideo.getByRole('button', { name: /^Play video/ }).click({ timeout: STEP_MS })
    const player = withVideo.getByLabel('Video attached to the post')
    await player.waitFor({ timeout: STEP_MS })
    expect(await player.evaluate((el: HTMLVideoElement) => el.tagName === 'VIDEO' && el.src.startsWith('blob:'))).toBe(true)
    expect(b.errors).toEqual([])
  })
})

describe('the composer, with no network', () => {
  /**
   * A person with a neighborhood of their own, the composer open. The relay only serves the
   * page and /relay.json: every WebSocket is refused, so the peer never reaches a network.
   */
  async function composer (options: Parameters<Browser['newContext']>[0] = {}): Promise<{ page: Page, errors: string[], scripts: string[] }> {
    const relay = await startRelay({ webDir: WEB_DIR })
    const context = await app.newContext(options)
    await context.routeWebSocket(/.*/, ws => { void ws.close() })
    const page = await context.newPage()
    const scripts: string[] = []
    page.on('request', r => { if (r.resourceType() === 'script') scripts.push(r.url()) })
    const a = { page, errors: pageErrors(page), scripts }
    await page.goto(relay.httpUrl)
    await createIdentity(a.page, 'Ann')
    await a.page.getByLabel('Neighborhood name').fill('Maple Street')
    await a.page.getByLabel('Area (geohash)').fill(AREA)
    await a.page.getByRole('button', { name: 'Create neighborhood' }).click()
    await a.page.getByRole('button', { name: 'New post' }).click({ timeout: STEP_MS })
    return a
  }

  it('says what is wrong with the text: empty, too long', async () => {
    const { page } = await composer()
    await page.getByRole('button', { name: 'Send' }).click()
    await page.getByRole('alert').filter({ hasText: 'Write what happened before sending.' }).waitFor()
    await page.getByLabel('What happened').fill('é'.repeat(1001))
    await page.getByRole('button', { name: 'Send' }).click()
    await page.getByRole('alert').filter({ hasText: 'Too long: 2002 bytes, a post holds at most 2000. Shorten it by 2.' }).waitFor()
    // Nothing was sent: the composer is still open and the feed empty.
    expect(await page.getByRole('article').count()).toBe(0)
    await page.getByLabel('What happened').fill('Short and fine')
    expect(await page.getByRole('alert').count()).toBe(0)
  })

  it('shares the neighborhood\'s area by default and says how large a smaller one is; without the position it stays the area', async () => {
    const { page } = await composer()
    const location = page.getByLabel('Location')
    expect(await location.inputValue()).toBe(String(AREA.length))
    expect(await location.locator('option:checked').textContent()).toMatch(/^The neighborhood's area \(about [\d.]+ km × [\d.]+ km\)$/)
    await page.getByText(/^Shared area: about [\d.]+ km × [\d.]+ km\.$/).waitFor()
    const options = await location.locator('option').allTextContents()
    expect(options).toHaveLength(4)
    expect(options[1]).toMatch(/^A smaller area, about 660 m × 610 m$/)
    expect(options[3]).toMatch(/^A smaller area, about 20 m × 19 m$/)
    // No permission to read the position here: the post keeps carrying the area.
    await location.selectOption('7')
    await page.getByText('Your position is not available: the post carries the neighborhood\'s area only.').waitFor({ timeout: STEP_MS })
    await page.getByText(/^Shared area: about [\d.]+ km × [\d.]+ km\.$/).waitFor()
  })

  it('with the position allowed, a smaller area is shared and its size said in metres (narrower than tall this far north)', async () => {
    const b = geohashBounds(AREA + 'b')
    const { page } = await composer({ permissions: ['geolocation'], geolocation: { latitude: (b.north + b.south) / 2, longitude: (b.east + b.west) / 2 } })
    await page.getByLabel('Location').selectOption('7')
    await page.getByText('Shared area: about 82 m × 150 m.').waitFor({ timeout: STEP_MS })
  })

  it('"Share publicly" is off by default and says plainly who sees the post when turned on', async () => {
    const { page, scripts } = await composer()
    const pub = page.getByLabel('Share publicly')
    expect(await pub.isChecked()).toBe(false)
    await page.getByText(/^Only members of Maple Street can read it: it is encrypted, and relays cannot read it\.$/).waitFor()
    await pub.check()
    await page.getByText(/A public copy also goes to anyone following area u4pru, and relays can read that copy/).waitFor()
    // Helia and the clip code were never loaded: no clip was picked or opened.
    expect(scripts.filter(u => /clip-store|clip-flows|file-source/.test(u))).toEqual([])
  })

  it('cleans a picked photo in the page and names what it removed; refuses a file that is not a photo or video', async () => {
    const { page, errors, scripts } = await composer()
    await page.getByLabel('Photo or video').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('just some text, not a photo') })
    await page.getByRole('alert').filter({ hasText: 'notes.txt is not a photo or video Porchlight can clean' }).waitFor({ timeout: STEP_MS })
    await page.getByLabel('Photo or video').setInputFiles({ name: 'gate.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(makeJpeg().bytes) })
    const removed = page.getByText(/^Removed from the photo before anything is sent:/)
    await removed.waitFor({ timeout: STEP_MS })
    expect(await removed.textContent()).toBe('Removed from the photo before anything is sent: GPS position, camera make, camera model, software, ' +
      'date taken and camera settings, embedded thumbnail, XMP metadata, IPTC captions and credits, color profile, comments and text, hidden data after the image.')
    await page.getByLabel('Share publicly').check()
    await page.getByText(/The photo goes with the public copy: anyone following the area can see it\./).waitFor()
    // Picking loads the cleaner only; Helia and the clip store wait until the post is sent.
    expect(scripts.some(u => /file-source/.test(u))).toBe(true)
    expect(scripts.filter(u => /clip-store/.test(u))).toEqual([])
    expect(errors).toEqual([])
  })
})
