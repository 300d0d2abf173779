// The admin screen in real Chromium (playwright-core), against a relay on 127.0.0.1 serving the
// built app: Ann (admin), Ben and Cleo in three browser contexts. Ann finds Ben by the
// fingerprint Ben's own Settings shows, removes him after the confirm step says what he can and
// cannot still read, and her next post reaches Cleo but not Ben. She vouches for an agency key
// made with the CLI (which takes the attestation), revokes it, and changes the neighborhood
// settings, which her composer and Cleo's then start from. axe and screenshots at phone and desktop size.
import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { cli, startRelay, tempDir } from '../helpers/network.ts'
import { article, connected, createIdentity, sendPost, STEP_MS } from '../helpers/browser.ts'
import { DESKTOP, PHONE, screen } from '../helpers/a11y.ts'
import { useAppBrowser } from '../helpers/use-app-browser.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** How long a post that must not arrive is given to arrive anyway (after it reached another member). */
const SETTLE_MS = 5000

const app = useAppBrowser()

async function joinFrom (link: string, name: string): Promise<{ page: Page, errors: string[] }> {
  const b = await app.open(link, { contextOptions: { viewport: PHONE } })
  await createIdentity(b.page, name)
  await b.page.getByRole('button', { name: 'Join' }).click()
  await connected(b.page)
  await b.page.getByRole('button', { name: 'New post' }).waitFor()
  return b
}

/** The member's entry on the admin screen. */
function memberItem (page: Page, name: string) {
  return page.locator('pl-admin li').filter({ has: page.locator('strong', { hasText: new RegExp(`^${name}$`) }) })
}

describe('the admin screen', () => {
  it('lists members with fingerprints, removes one (rekey), vouches for an agency and revokes it, and sets the composer\'s defaults', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const a = await app.open(relay.httpUrl, { contextOptions: { viewport: DESKTOP, permissions: ['clipboard-read', 'clipboard-write'] } })
    await createIdentity(a.page, 'Ann')
    await a.page.getByLabel('Neighborhood name').fill('Maple Street')
    await a.page.getByLabel('Area (geohash)').fill('u4pru')
    await a.page.getByRole('button', { name: 'Create neighborhood' }).click()
    const benLink = (await a.page.getByRole('link', { name: 'Invite link' }).getAttribute('href', { timeout: STEP_MS }))!
    await relay.serve(await a.page.getByLabel('Relay token').inputValue())
    await connected(a.page)
    const ben = await joinFrom(benLink, 'Ben')

    // The admin screen, from the header (admins only): a fresh invite for Cleo.
    await a.page.getByRole('button', { name: 'Admin', exact: true }).click()
    await a.page.getByRole('heading', { name: 'Admin: Maple Street' }).waitFor({ timeout: STEP_MS })
    await a.page.getByRole('button', { name: 'New invite' }).click()
    const invite = a.page.getByRole('link', { name: 'Invite link' })
    await expect.poll(async () => await invite.getAttribute('href'), { timeout: STEP_MS }).not.toBe(benLink)
    const cleo = await joinFrom((await invite.getAttribute('href'))!, 'Cleo')
    expect(await ben.page.getByRole('button', { name: 'Admin', exact: true }).count()).toBe(0)

    // Ben's fingerprint, as his own Settings shows it, is the one beside his name on Ann's list.
    await ben.page.getByRole('button', { name: 'Settings', exact: true }).click()
    const benFingerprint = /Your fingerprint stays ([0-9A-Z-]+);/.exec(await ben.page.getByText(/Your fingerprint stays/).textContent() ?? '')?.[1]
    expect(benFingerprint).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/)
    await ben.page.getByRole('button', { name: 'Posts', exact: true }).click()
    // The open screen follows the joins as they arrive.
    await memberItem(a.page, 'Cleo').filter({ hasText: 'Admitted' }).waitFor({ timeout: STEP_MS })
    await memberItem(a.page, 'Ben').filter({ hasText: 'Admitted' }).waitFor({ timeout: STEP_MS })
    expect(await memberItem(a.page, 'Ben').locator('code').textContent()).toBe(benFingerprint)
    expect(await memberItem(a.page, 'Ann').textContent()).toMatch(/\(you\)\s*Admin/)

    // Before the removal Ben reads Ann's posts.
    await a.page.getByRole('button', { name: 'Posts', exact: true }).click()
    await sendPost(a.page, 'info', 'Street party on Saturday')
    await article(ben.page, 'Street party on Saturday').waitFor({ timeout: STEP_MS })

    // The agency's key comes from the CLI, as an agency makes it.
    const agencyHome = await tempDir('pl-agency-')
    await cli(agencyHome, ['agency', 'create', '--name', 'Riverside Fire Dept'])
    const plid = (await cli(agencyHome, ['--json', 'id', 'export-public'])).json.public as string
    await a.page.getByRole('button', { name: 'Admin', exact: true }).click()
    await a.page.getByLabel('Agency\'s public identity (plid:…)').fill(plid)
    await a.page.getByLabel('Valid for').selectOption({ label: '90 days' })
    await a.page.getByRole('button', { name: 'Vouch for this agency' }).click()
    const attestation = await a.page.getByLabel('Attestation for Riverside Fire Dept').inputValue({ timeout: STEP_MS })
    expect(attestation).toMatch(/^plattest:/)
    const kept = (await cli(agencyHome, ['--json', 'agency', 'add-attestation', attestation])).json
    expect(kept.attestation).toMatchObject({ name: 'Riverside Fire Dept', area: 'u4pru' })
    expect(await a.page.locator('pl-admin li').filter({ hasText: 'Riverside Fire Dept' }).filter({ hasText: 'Vouched' }).count()).toBe(1)

    // The remove step says plainly what Ben keeps and what he loses; the screens are checked with it open.
    await memberItem(a.page, 'Ben').getByRole('button', { name: 'Remove Ben' }).click()
    const confirm = a.page.getByRole('group', { name: 'Confirm removing Ben' })
    await expect.poll(async () => await confirm.textContent()).toMatch(/What Ben can still read.*Everything Ben already received.*current key \(epoch 0\).*What Ben cannot read.*new key \(epoch 1\) that goes to the 2 remaining members only/s)
    await screen(a.page, 'admin-desktop')
    await a.page.setViewportSize(PHONE)
    await screen(a.page, 'admin-phone')
    await a.page.setViewportSize(DESKTOP)
    await confirm.getByRole('button', { name: 'Yes, remove Ben' }).click()
    await a.page.getByText(/^Removed Ben\. New posts use a new key \(epoch 1\) that 2 members hold\.$/).waitFor({ timeout: STEP_MS })
    await expect.poll(async () => await memberItem(a.page, 'Ben').count()).toBe(0)
    expect(await a.page.locator('pl-admin code', { hasText: benFingerprint! }).count()).toBe(1) // under "Removed or left"

    // A post after the removal reaches Cleo, not Ben.
    await a.page.getByRole('button', { name: 'Posts', exact: true }).click()
    await sendPost(a.page, 'safety', 'New gate code from Monday')
    await article(cleo.page, 'New gate code from Monday').waitFor({ timeout: STEP_MS })
    await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
    expect(await article(ben.page, 'New gate code from Monday').count()).toBe(0)
    expect(await article(ben.page, 'Street party on Saturday').count()).toBe(1)

    // Revoking the attestation.
    await a.page.getByRole('button', { name: 'Admin', exact: true }).click()
    await a.page.getByRole('button', { name: 'Revoke Riverside Fire Dept' }).click()
    await a.page.locator('pl-admin li').filter({ hasText: 'Riverside Fire Dept' }).filter({ hasText: 'Revoked' }).waitFor({ timeout: STEP_MS })
    expect(await a.page.getByRole('button', { name: 'Revoke Riverside Fire Dept' }).count()).toBe(0)

    // The settings set the composer's defaults.
    await a.page.getByLabel('New posts expire after').selectOption({ label: '1 day' })
    await a.page.getByLabel('New posts\' location').selectOption('6')
    await a.page.getByRole('button', { name: 'Save settings' }).click()
    await a.page.getByText('Settings saved.').waitFor({ timeout: STEP_MS })
    await a.page.getByRole('button', { name: 'Posts', exact: true }).click()
    await a.page.getByRole('button', { name: 'New post' }).click()
    expect(await a.page.getByLabel('Expires after').inputValue()).toBe(String(86_400_000))
    expect(await a.page.getByLabel('Location').inputValue()).toBe('6')
    // Cleo's composer follows: the settings reach her app in Ann's signed announcement.
    await cleo.page.waitForFunction(() => {
      const find = (root: Document | ShadowRoot): Element | undefined => {
        for (const el of root.querySelectorAll('*')) {
          if (el.localName === 'pl-compose') return el
          const inner = el.shadowRoot !== null ? find(el.shadowRoot) : undefined
          if (inner !== undefined) return inner
        }
        return undefined
      }
      return (find(document) as (Element & { ttl?: number }) | undefined)?.ttl === 86_400_000
    }, undefined, { timeout: STEP_MS })
    await cleo.page.getByRole('button', { name: 'New post' }).click()
    expect(await cleo.page.getByLabel('Expires after').inputValue()).toBe(String(86_400_000))
    expect(await cleo.page.getByLabel('Location').inputValue()).toBe('6')
    expect([...a.errors, ...cleo.errors]).toEqual([])
  }, 300_000)
})
