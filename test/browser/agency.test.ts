// Agency mode of the web app in real Chromium (playwright-core), against a relay on 127.0.0.1
// serving the built app and a neighborhood of CLI residents on the same area: an agency made
// on the welcome screen follows the area through the page's relay; a resident's private post
// never reaches it (not on the page, not anywhere in its IndexedDB), the public one does; the
// admin's attestation, pasted in the page, travels with its request, posted from the page with
// a time window and case reference, to the resident's CLI feed (vouched for by that admin); the resident's sealed reply with a photo shows in its inbox, the photo opened in the
// page; a second agency on the same area receives the box but can read nothing of it. Every
// agency screen is checked with axe and photographed at phone and desktop size.
import { describe, expect, it } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { cli, neighborhood, startRelay, tempDir, until } from '../helpers/network.ts'
import { article, connected } from '../helpers/browser.ts'
import { DESKTOP, PHONE, screen } from '../helpers/a11y.ts'
import { makePng } from '../helpers/media.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { useAppBrowser } from '../helpers/use-app-browser.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
const AREA = 'u4pru'
/** Waits for one step of the UI (a live post, a connection); generous, never a timing assertion. */
const STEP_MS = 30_000
const TEST_TIMEOUT_MS = 400_000

const app = useAppBrowser()

/** A text nothing else contains. */
const marker = (what: string): string => `${what}-${randomBytes(8).toString('hex')}`

/**
 * Every IndexedDB database of the page's origin, every object store, every key and value, as
 * one text: byte values decoded as UTF-8 (so a plaintext stored anywhere shows), objects as JSON.
 */
async function indexedDbText (page: Page): Promise<string> {
  return await page.evaluate(async () => {
    const dec = new TextDecoder('utf-8', { fatal: false })
    const text = (v: unknown): string => {
      if (v instanceof Uint8Array) return dec.decode(v)
      if (v instanceof ArrayBuffer) return dec.decode(new Uint8Array(v))
      if (ArrayBuffer.isView(v)) return dec.decode(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
      if (v instanceof Blob) return '[blob]'
      if (typeof v === 'object' && v !== null) return JSON.stringify(v, (_k, x: unknown) => x instanceof Uint8Array ? dec.decode(x) : x)
      return String(v)
    }
    const out: string[] = []
    for (const info of await indexedDB.databases()) {
      if (info.name === undefined) continue
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(info.name!)
        req.onsuccess = () => { resolve(req.result) }
        req.onerror = () => { reject(req.error) }
      })
      for (const store of [...db.objectStoreNames]) {
        await new Promise<void>((resolve, reject) => {
          const req = db.transaction(store, 'readonly').objectStore(store).openCursor()
          req.onsuccess = () => {
            const c = req.result
            if (c === null) { resolve(); return }
            out.push(`${info.name}/${store}/${text(c.key)}=${text(c.value)}`)
            c.continue()
          }
          req.onerror = () => { reject(req.error) }
        })
      }
      db.close()
    }
    return out.join('\n')
  })
}

/** Opens the app and makes an agency identity on the welcome screen. */
async function createAgency (url: string, name: string): Promise<{ page: Page, errors: string[] }> {
  const a = await app.open(url, { contextOptions: { viewport: PHONE } })
  await a.page.getByText('Set up an agency instead').click()
  await a.page.getByLabel('Agency name').fill(name)
  await a.page.getByRole('button', { name: 'Create agency identity' }).click()
  await a.page.getByRole('heading', { name: 'Areas you follow' }).waitFor({ timeout: STEP_MS }).catch(async (err: unknown) => {
    throw new Error(`no agency screen: ${a.errors.join('; ')} ${await a.page.locator('body').innerText()}`, { cause: err })
  })
  return a
}

async function follow (page: Page, area: string): Promise<void> {
  await page.getByLabel('Area (geohash)').fill(area)
  await page.getByRole('button', { name: 'Follow', exact: true }).click()
  await page.getByRole('button', { name: `Unfollow ${area}` }).waitFor({ timeout: STEP_MS }).catch(async (err: unknown) => {
    throw new Error(`not following: ${await page.getByRole('alert').allTextContents().then(t => t.join('; '))}`, { cause: err })
  })
  await connected(page, STEP_MS)
}

async function view (page: Page, name: string | RegExp): Promise<void> {
  await page.getByRole('navigation', { name: 'Agency views' }).getByRole('button', { name }).click()
}

/** axe and a screenshot of the screen shown, at phone and at desktop size. */
async function screens (page: Page, name: string): Promise<void> {
  await page.setViewportSize(PHONE)
  await screen(page, `${name}-phone`)
  await page.setViewportSize(DESKTOP)
  await screen(page, `${name}-desktop`)
  await page.setViewportSize(PHONE)
}

describe('agency mode', () => {
  it('follows the area: private posts never reach it, public ones and its vouched request do; sealed replies reach only it, with their clips', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const hood = await neighborhood(relay, ['Ana'], AREA)
    const ana = hood.admin

    const a = await createAgency(relay.httpUrl, 'City PD')
    expect(await a.page.getByLabel('Your public identity').inputValue()).toMatch(/^plid:[A-Za-z0-9_-]+$/)
    await screens(a.page, 'agency-areas')
    await follow(a.page, AREA)

    // A resident posts in the neighborhood only, and with a public copy.
    const privateText = marker('private')
    const publicText = marker('public')
    await cli(ana, ['post', '--kind', 'info', '--text', privateText])
    await cli(ana, ['post', '--kind', 'suspicious', '--text', publicText, '--public'])
    await view(a.page, 'Feed')
    await article(a.page, publicText).waitFor({ timeout: STEP_MS })
    expect(await article(a.page, publicText).textContent()).toMatch(/neighbor #[0-9a-f]{6}/)
    // What reached the agency: the public copy, in its store too; the private post, nowhere.
    const stored = await indexedDbText(a.page)
    expect(stored).toContain(publicText)
    expect(stored).not.toContain(privateText)
    expect(await a.page.content()).not.toContain(privateText)

    // The neighborhood's admin vouches for the agency's public identity; the agency keeps the attestation.
    await view(a.page, 'Areas and identity')
    const plid = await a.page.getByLabel('Your public identity').inputValue()
    const attest = (await cli(ana, ['--json', 'hood', 'attest-agency', plid])).json.attestation as { attestation: string, adminFingerprint: string }
    await a.page.getByLabel('Attestation from an admin').fill(attest.attestation)
    await a.page.getByRole('button', { name: 'Add attestation' }).click()
    await a.page.getByText(`City PD, area ${AREA}, vouched for by admin ${attest.adminFingerprint}`).waitFor({ timeout: STEP_MS })
    // One for another key is refused, said plainly.
    const otherAgency = await tempDir('pl-other-agency-')
    await cli(otherAgency, ['agency', 'create', '--name', 'Other'])
    const otherPlid = (await cli(otherAgency, ['--json', 'id', 'export-public'])).json.public as string
    await a.page.getByLabel('Attestation from an admin').fill((await cli(ana, ['--json', 'hood', 'attest-agency', otherPlid])).json.attestation.attestation as string)
    await a.page.getByRole('button', { name: 'Add attestation' }).click()
    await a.page.getByRole('alert').filter({ hasText: 'this attestation vouches for another key' }).waitFor({ timeout: STEP_MS })
    await screens(a.page, 'agency-areas-followed')

    // A request from the page, with a time window and case reference.
    const ask = marker('Anyone with a doorbell camera on Maple St, please check')
    await view(a.page, 'New request')
    await a.page.getByLabel('What you are asking residents').fill(ask)
    await a.page.getByLabel('From', { exact: true }).fill('2025-05-01T18:00')
    await a.page.getByLabel('To', { exact: true }).fill('2025-05-01T22:00')
    await a.page.getByLabel('Case reference (optional)').fill('24-001234')
    await a.page.getByLabel('Request as residents will read it').filter({ hasText: 'Case reference: 24-001234' }).waitFor()
    await screens(a.page, 'agency-request')
    await a.page.getByRole('button', { name: 'Publish request' }).click()
    const sent = a.page.getByRole('status').filter({ hasText: /^Request [0-9a-f]{16} published to area u4pru\.$/ })
    await sent.waitFor({ timeout: STEP_MS })
    const short = /Request ([0-9a-f]{16})/.exec((await sent.textContent())!)![1]!

    // The resident's CLI feed has it, as an unverified agency's request, time window and case reference in its text.
    let rfa: FeedPost | undefined
    await until(async () => {
      rfa = ((await cli(ana, ['--json', 'feed'])).json.posts as FeedPost[]).find(p => p.id.startsWith(short))
      return rfa !== undefined
    }, STEP_MS, 'the request in the resident\'s feed')
    // Vouched for by the resident's own admin: the attestation travelled with the request.
    expect(rfa).toMatchObject({ channel: 'rfa', kind: 'rfa', authorName: 'City PD', area: AREA, vouchedBy: [attest.adminFingerprint] })
    expect(rfa!.text).toMatch(new RegExp(`^${ask}\\n\\nTime window: 2025-05-01 18:00 to 2025-05-01 22:00 \\(UTC[^)]*\\)\\nCase reference: 24-001234$`))

    // The agency's own feed labels it: its agency, and who vouched.
    await view(a.page, 'Feed')
    const own = article(a.page, ask)
    await own.waitFor({ timeout: STEP_MS })
    expect(await own.textContent()).toMatch(new RegExp(`Agency request · your agency[\\s\\S]*Attested by admin key ${attest.adminFingerprint}`))
    expect(await own.textContent()).toContain('Case reference24-001234')
    expect(await a.page.content()).not.toMatch(/police/i)
    await screens(a.page, 'agency-feed')
    await view(a.page, 'Map')
    await a.page.getByRole('img', { name: /Posts in area u4pru/ }).waitFor()
    await screens(a.page, 'agency-map')

    // A sealed reply with a photo, from the resident's CLI.
    const work = await tempDir('pl-agency-web-')
    const png = join(work, 'van.png')
    await writeFile(png, makePng(24, 16).bytes)
    const sealedText = marker('sealed')
    const sealed = await cli(ana, ['--json', 'reply', short, '--sealed', '--text', sealedText, '--clip', png])
    expect(sealed.json).toMatchObject({ mode: 'sealed', audience: { agency: { name: 'City PD' } } })
    await view(a.page, /^Inbox/)
    const inbox = a.page.getByRole('region', { name: 'Sealed replies' })
    const reply = inbox.getByRole('article').filter({ hasText: sealedText })
    await reply.waitFor({ timeout: STEP_MS })
    expect(await reply.textContent()).toMatch(/Sealed reply · to case 24-001234: “Anyone with a doorbell camera[\s\S]*anonymous/)
    await reply.getByRole('button', { name: /^Show photo/ }).click()
    const photo = reply.getByRole('img', { name: 'Photo attached to the post' })
    await photo.waitFor({ timeout: STEP_MS })
    await until(async () => await photo.evaluate(img => (img as HTMLImageElement).naturalWidth === 24), STEP_MS, 'the photo decoded')
    await view(a.page, /^Inbox/)
    await screens(a.page, 'agency-inbox')

    // A second agency on the same area: the box reaches its store, opaque; its inbox stays empty.
    const b = await createAgency(relay.httpUrl, 'City Fire')
    await follow(b.page, AREA)
    await view(b.page, 'Feed')
    await article(b.page, ask).waitFor({ timeout: STEP_MS })
    expect(await article(b.page, ask).textContent()).toMatch(new RegExp(`agency City PD \\([0-9A-Z-]+\\)[\\s\\S]*Attested by admin key ${attest.adminFingerprint}`))
    await until(async () => (await indexedDbText(b.page)).includes(sealed.json.id as string), STEP_MS, 'the sealed box in the second agency\'s store')
    await view(b.page, 'Inbox')
    await b.page.getByText('No sealed replies yet.').waitFor()
    // Past a refresh of the inbox, still nothing; nothing of the reply anywhere in its store or page.
    await new Promise(resolve => setTimeout(resolve, 4000))
    expect(await b.page.getByRole('region', { name: 'Sealed replies' }).getByRole('article').count()).toBe(0)
    const bStored = await indexedDbText(b.page)
    expect(bStored).not.toContain(sealedText)
    expect(bStored).not.toContain(privateText)
    expect(await b.page.content()).not.toContain(sealedText)
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})
