// The transparency page in real Chromium, served by a real relay: every request for assistance
// of the area, by agency, with who vouched, the requests per month and the public replies; no
// identity created (no IndexedDB database at all); axe finds no serious or critical violation;
// screenshots at phone and desktop size under test/output/screenshots/.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { cleanUp, cli, neighborhood, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'
import { launchChromium, pageErrors } from '../helpers/browser.ts'
import { DESKTOP, PHONE, screen } from '../helpers/a11y.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
const STEP_MS = 20_000
const SIZES = { phone: PHONE, desktop: DESKTOP } as const

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => { await browser?.close() })
afterEach(cleanUp)

describe('transparency page', () => {
  it('lists every request of the area by agency, with attestations, months and public replies, without an identity', { timeout: 600_000 }, async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const hood = await neighborhood(relay, ['Ana'])
    const ana = hood.admin
    const [fake, real] = [await tempDir('pl-fake-'), await tempDir('pl-real-')]
    await cli(fake, ['agency', 'create', '--name', 'City PD'])
    await cli(real, ['agency', 'create', '--name', 'Riverside Fire'])
    const realPublic = (await cli(real, ['--json', 'id', 'export-public'])).json.public as string
    const attestation = (await cli(ana, ['--json', 'hood', 'attest-agency', realPublic])).json.attestation
    await cli(real, ['agency', 'add-attestation', attestation.attestation as string])
    await cli(fake, ['agency', 'rfa', '--area', hood.area, '--text', 'Send us your doorbell footage', '--relay', tcpAddr(relay)])
    const smoke = (await cli(real, ['--json', 'agency', 'rfa', '--area', hood.area, '--text', 'Smoke reported near the school', '--relay', tcpAddr(relay)])).json.id as string
    await cli(ana, ['post', '--kind', 'reply', '--text', 'I saw smoke at 3pm', '--public', '--reply-to', smoke])

    for (const [size, viewport] of Object.entries(SIZES)) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 })
      try {
        const page = await context.newPage()
        const errors = pageErrors(page)
        await page.goto(`${relay.httpUrl}/transparency.html?area=${hood.area}`)
        const fire = page.getByRole('region', { name: 'Riverside Fire' })
        await fire.waitFor({ timeout: STEP_MS })
        await expect.poll(async () => await page.getByRole('status').first().textContent()).toContain('2 requests from 2 agencies; 1 public reply.')
        expect(await fire.textContent()).toContain('Smoke reported near the school')
        expect(await fire.textContent()).toContain(attestation.adminFingerprint as string)
        expect(await fire.textContent()).toContain('1 public reply')
        const pd = page.getByRole('region', { name: 'City PD' })
        expect(await pd.textContent()).toContain('unverified')
        expect(await pd.textContent()).toContain('Send us your doorbell footage')
        // The chart's text alternative: this month, two requests.
        const table = page.getByRole('table')
        expect(await table.getByRole('row').count()).toBeGreaterThanOrEqual(2)
        expect(await table.textContent()).toContain('2')
        // No identity, no local database: the page opened none.
        expect(await page.evaluate(async () => (await indexedDB.databases()).length)).toBe(0)
        expect(await page.evaluate(() => localStorage.length)).toBe(0)
        await screen(page, `transparency-${size}`)

        // A malformed area typed in the form: one alert, nothing asked.
        await page.getByLabel('Area (geohash, 1 to 6 characters)').fill('no way!')
        await page.getByRole('button', { name: 'Show' }).click()
        expect(await page.getByRole('alert').textContent()).toContain('is not an area')
        expect(errors).toEqual([])
      } finally {
        await context.close()
      }
    }
  })
})
