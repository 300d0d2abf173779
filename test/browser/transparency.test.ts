// The transparency page in real Chromium, served by a real relay: every request for assistance
// of the area, by agency, with who vouched, the requests per month and the public replies; no
// identity created (no IndexedDB database at all); axe finds no serious or critical violation;
// screenshots at phone and desktop size under test/output/screenshots/.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { cleanUp, cli, neighborhood, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'
import { launchChromium, pageErrors } from '../helpers/browser.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
const SHOTS = fileURLToPath(new URL('../output/screenshots/', import.meta.url))
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
const STEP_MS = 20_000
const SIZES = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 900 } } as const

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
  mkdirSync(SHOTS, { recursive: true })
})
afterAll(async () => { await browser?.close() })
afterEach(cleanUp)

async function seriousViolations (page: Page): Promise<unknown[]> {
  await page.addScriptTag({ path: AXE })
  return await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: Array<{ id: string, impact: string | null, nodes: Array<{ target: unknown[] }> }> }> } }).axe
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({ id: v.id, nodes: v.nodes.map(n => n.target) }))
  })
}

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
        const path = join(SHOTS, `transparency-${size}.png`)
        await page.screenshot({ path, fullPage: true })
        console.log(`screenshot transparency-${size}: ${path}`)
        expect(await seriousViolations(page), `axe on the transparency page (${size})`).toEqual([])

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
