// The map in real Chromium: posts drawn as the cells their authors chose (a smaller area for
// one, the neighborhood's area for another), the same cells listed in words, and nothing finer
// than the chosen cell anywhere: not in the page, not in IndexedDB. axe on the map screen, and
// its screenshots at phone and desktop size.
import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { startRelay } from '../helpers/network.ts'
import { article, createIdentity, createServedHood, STEP_MS } from '../helpers/browser.ts'
import { DESKTOP, PHONE, screen } from '../helpers/a11y.ts'
import { encodeGeohash, geohashBounds } from '../../protocol/geohash.ts'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { useAppBrowser } from '../helpers/use-app-browser.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
const AREA = 'u4pru'
const app = useAppBrowser()

/** Everything the page has drawn: the light DOM and every open shadow root's markup. */
async function allMarkup (page: Page): Promise<string> {
  return await page.evaluate(() => {
    const parts: string[] = []
    const walk = (root: Document | ShadowRoot): void => {
      parts.push(root instanceof Document ? root.documentElement.outerHTML : root.innerHTML)
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot !== null) walk(el.shadowRoot)
    }
    walk(document)
    return parts.join('\n')
  })
}

/** The locations of the feed posts this browser keeps in IndexedDB. */
async function storedLocations (page: Page): Promise<Array<string | null>> {
  return await page.evaluate(async () => await new Promise<Array<string | null>>((resolve, reject) => {
    const open = indexedDB.open('porchlight')
    open.onerror = () => { reject(open.error) }
    open.onsuccess = () => {
      const all = open.result.transaction('local').objectStore('local').getAll()
      all.onsuccess = () => {
        resolve((all.result as Array<{ section: string, value: { location?: string } }>).filter(r => r.section === 'posts').map(r => r.value.location ?? null))
        open.result.close()
      }
    }
  }))
}

describe('the map', () => {
  it('draws each post as the area its author chose to share, lists the same cells in words, and nothing finer is kept or drawn', async () => {
    const here = geohashBounds(`${AREA}bq`)
    const position = { latitude: (here.north + here.south) / 2, longitude: (here.east + here.west) / 2 }
    const chosen = encodeGeohash(position.latitude, position.longitude, 7)
    const finer = encodeGeohash(position.latitude, position.longitude, 9)
    const relay = await startRelay({ webDir: WEB_DIR })
    const { page, errors } = await app.open(relay.httpUrl, { contextOptions: { viewport: PHONE, permissions: ['geolocation'], geolocation: position } })
    await createIdentity(page, 'Ann')
    await createServedHood(page, relay, { area: AREA })

    await page.getByRole('button', { name: 'New post' }).click()
    await page.getByLabel('Kind').selectOption('pet')
    await page.getByLabel('What happened').fill('Grey cat on the garden wall')
    await page.getByLabel('Location').selectOption('7')
    await page.getByText(/^Shared area: about \d+ m × \d+ m\.$/).waitFor({ timeout: STEP_MS })
    await page.getByRole('button', { name: 'Send' }).click()
    await article(page, 'Grey cat on the garden wall').waitFor({ timeout: STEP_MS })
    await page.getByRole('button', { name: 'New post' }).click()
    await page.getByLabel('Kind').selectOption('outage')
    await page.getByLabel('What happened').fill('Power out on the whole street')
    await page.getByRole('button', { name: 'Send' }).click()
    await article(page, 'Power out on the whole street').waitFor({ timeout: STEP_MS })

    await page.getByRole('button', { name: 'Map' }).click()
    const rows = page.getByRole('table').getByRole('row')
    await rows.filter({ hasText: chosen }).waitFor({ timeout: STEP_MS })
    const listed = await page.getByRole('table').locator('tbody tr').evaluateAll(trs => trs.map(tr => tr.getAttribute('data-geohash')))
    expect(listed.sort()).toEqual([AREA, chosen].sort())
    expect(await rows.filter({ hasText: chosen }).textContent()).toMatch(/1 post: Lost or found pet 1/)
    expect(await rows.filter({ hasText: '(the whole neighborhood)' }).textContent()).toMatch(/1 post: Outage 1/)
    const drawn = await page.locator('svg rect.cell').evaluateAll(rs => rs.map(r => r.getAttribute('data-geohash')))
    expect(drawn.sort()).toEqual([AREA, chosen].sort())
    await page.getByRole('img', { name: /^Posts in Maple Street, each drawn as the area its author chose to share/ }).waitFor()

    // Nothing finer than the chosen cell is drawn or kept.
    const markup = await allMarkup(page)
    expect(markup).toContain(chosen)
    for (let n = 8; n <= 9; n++) expect(markup).not.toContain(finer.slice(0, n))
    expect((await storedLocations(page)).sort()).toEqual([AREA, chosen].sort())

    await screen(page, 'map')
    await page.setViewportSize(DESKTOP)
    await screen(page, 'map-desktop')
    expect(errors).toEqual([])
  })

  it('a street map from the relay\'s tile server only once the resident turns it on, with the same cells over it', async () => {
    // A tile server on 127.0.0.1 that answers every tile with a blank PNG and notes what was asked.
    const asked: string[] = []
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64')
    const tiles: Server = createServer((req, res) => { asked.push(req.url ?? ''); res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*' }); res.end(png) })
    await new Promise<void>(resolve => { tiles.listen(0, '127.0.0.1', resolve) })
    try {
      const host = `127.0.0.1:${(tiles.address() as AddressInfo).port}`
      const relay = await startRelay({ webDir: WEB_DIR, mapTiles: { url: `http://${host}/{z}/{x}/{y}.png`, attribution: 'Test tiles & friends' } })
      const { page, errors } = await app.open(relay.httpUrl, { contextOptions: { viewport: PHONE } })
      await createIdentity(page, 'Ann')
      await createServedHood(page, relay, { area: AREA })
      await page.getByRole('button', { name: 'New post' }).click()
      await page.getByLabel('What happened').fill('Street lights out on the corner')
      await page.getByRole('button', { name: 'Send' }).click()
      await article(page, 'Street lights out on the corner').waitFor({ timeout: STEP_MS })

      await page.getByRole('button', { name: 'Map' }).click()
      const street = page.getByLabel(`Street map from ${host}`)
      await street.waitFor({ timeout: STEP_MS })
      expect(await street.isChecked()).toBe(false)
      await page.getByText(new RegExp(`^Off by default: when on, ${host.replace('.', '\\.')} serves the map's pictures`)).waitFor()
      // Off: the plain map, and not one request to the tile server.
      await page.locator('svg rect.cell').first().waitFor()
      expect(asked).toEqual([])

      await street.check()
      await page.getByRole('region', { name: /^Street map of Maple Street/ }).waitFor({ timeout: STEP_MS })
      await page.locator('#street path.leaflet-interactive').first().waitFor({ timeout: STEP_MS })
      expect(await page.locator('#street path.leaflet-interactive').count()).toBe(1)
      await expect.poll(() => asked.length, { timeout: STEP_MS }).toBeGreaterThan(0)
      expect(asked.every(u => /^\/\d+\/\d+\/\d+\.png$/.test(u))).toBe(true)
      // The relay's attribution (plain text: markup is refused) is shown as text.
      expect(await page.locator('.leaflet-control-attribution').textContent()).toContain('Test tiles & friends')
      await screen(page, 'map-street')

      await street.uncheck()
      await expect.poll(async () => await page.locator('#street').count()).toBe(0)
      expect(errors).toEqual([])
    } finally {
      await new Promise<void>(resolve => { tiles.close(() => { resolve() }) })
    }
  })
})
