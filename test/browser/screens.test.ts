// The feed's and Settings' screens in real Chromium (playwright-core), against a relay on
// 127.0.0.1 serving the built app: a reply thread between two residents, retracting a post
// (gone in both browsers), the kind filter, and a key backup exported in one browser and
// restored in a fresh one. Accessible names are the app's stable interface.
import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { cli, startRelay, tempDir } from '../helpers/network.ts'
import { article, connected, createIdentity, createServedHood, sendPost } from '../helpers/browser.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { useAppBrowser } from '../helpers/use-app-browser.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** Waits for one step of the UI (a live post, a connection, scrypt); generous, never a timing assertion. */
const STEP_MS = 20_000
/** scrypt at the backup's real parameters (N = 2^17) runs in the page's JavaScript: seconds on a busy machine. */
const KDF_MS = 60_000

const app = useAppBrowser()

async function openApp (url: string, initScript?: () => void): Promise<{ page: Page, errors: string[] }> {
  return await app.open(url, { contextOptions: { acceptDownloads: true }, ...(initScript !== undefined ? { initScript } : {}) })
}

/** Ann creates Maple Street on the relay (which then serves it); the invite link for one neighbor. */
async function maple (relay: Relay): Promise<{ a: { page: Page, errors: string[] }, link: string }> {
  const a = await openApp(relay.httpUrl)
  await createIdentity(a.page, 'Ann')
  return { a, link: await createServedHood(a.page, relay) }
}

async function joinFrom (link: string, name: string, initScript?: () => void): Promise<{ page: Page, errors: string[] }> {
  const b = await openApp(link, initScript)
  await createIdentity(b.page, name)
  await b.page.getByRole('button', { name: 'Join' }).click()
  await connected(b.page)
  await b.page.getByRole('button', { name: 'New post' }).waitFor()
  return b
}

describe('the feed and settings screens', () => {
  it('a reply thread between two browsers, and a retracted post leaves both feeds', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const { a, link } = await maple(relay)
    const b = await joinFrom(link, 'Ben')

    await sendPost(a.page, 'pet', 'Grey cat found near the church')
    const post = article(b.page, 'Grey cat found near the church')
    await post.waitFor({ timeout: STEP_MS })
    // A relative time, with the exact time in <time datetime>; the thread shows the exact time too.
    const time = post.locator('time')
    expect(await time.textContent()).toMatch(/^(just now|\d+ min ago)$/)
    expect(new Date((await time.getAttribute('datetime'))!).getTime()).toBeGreaterThan(0)

    // Ben opens the post and replies; the reply shows in his thread and in Ann's.
    await post.getByRole('button', { name: 'Open' }).click()
    expect(await article(b.page, 'Grey cat found near the church').locator('time').textContent()).toMatch(/^(just now|\d+ min ago) \(.*\d.*\)$/)
    await b.page.getByLabel('Your reply').fill('Ours! Thank you, coming over')
    await b.page.getByRole('button', { name: 'Reply' }).click()
    await b.page.getByRole('region', { name: 'Replies' }).getByRole('article').filter({ hasText: 'Ours! Thank you, coming over' }).waitFor({ timeout: STEP_MS })
    // Only Ann's own post offers retract.
    expect(await b.page.getByRole('button', { name: 'Retract' }).count()).toBe(0)
    await b.page.getByRole('button', { name: 'Back to feed' }).click()

    // In the feed the reply is counted under the post, not listed on its own.
    await article(a.page, 'Grey cat found near the church').filter({ hasText: '1 reply' }).waitFor({ timeout: STEP_MS })
    expect(await article(a.page, 'Ours! Thank you').count()).toBe(0)
    await article(a.page, 'Grey cat found near the church').getByRole('button', { name: 'Open' }).click()
    const replies = a.page.getByRole('region', { name: 'Replies' })
    await replies.getByRole('article').filter({ hasText: 'Ours! Thank you, coming over' }).waitFor({ timeout: STEP_MS })
    expect(await replies.getByRole('article').first().textContent()).toContain('Ben')

    // Ann retracts her post, after a confirm step (Cancel keeps it).
    await a.page.getByRole('button', { name: 'Retract' }).click()
    await a.page.getByRole('button', { name: 'Cancel' }).click()
    await a.page.getByRole('button', { name: 'Retract' }).click()
    await a.page.getByRole('button', { name: 'Yes, take it back' }).click()
    await a.page.getByText(/This post is no longer here/).waitFor({ timeout: STEP_MS })
    await a.page.getByRole('button', { name: 'Back to feed' }).click()
    await article(a.page, 'Grey cat found near the church').waitFor({ state: 'detached', timeout: STEP_MS })
    await article(b.page, 'Grey cat found near the church').waitFor({ state: 'detached', timeout: STEP_MS })
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('the kind filter shows only posts of the chosen kind', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const { a } = await maple(relay)
    await sendPost(a.page, 'traffic', 'Road closed at Elm and 3rd')
    await article(a.page, 'Road closed at Elm and 3rd').waitFor({ timeout: STEP_MS })
    await sendPost(a.page, 'info', 'Book swap on Sunday')
    await article(a.page, 'Book swap on Sunday').waitFor({ timeout: STEP_MS })

    await a.page.getByLabel('Show').selectOption({ label: 'Traffic' })
    await article(a.page, 'Book swap on Sunday').waitFor({ state: 'detached' })
    expect(await article(a.page, 'Road closed at Elm and 3rd').count()).toBe(1)
    await a.page.getByLabel('Show').selectOption({ label: 'Fire' })
    await a.page.getByText('No posts of this kind.').waitFor()
    expect(await a.page.getByRole('article').count()).toBe(0)
    await a.page.getByLabel('Show').selectOption({ label: 'All kinds' })
    await article(a.page, 'Book swap on Sunday').waitFor()
    expect(await a.page.getByRole('article').count()).toBe(2)
    expect(a.errors).toEqual([])
  })

  it('a key backup exported in one browser restores the same identity and neighborhood in a fresh one', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const { a } = await maple(relay)
    await sendPost(a.page, 'outage', 'Streetlights out on the north side')
    await article(a.page, 'Streetlights out on the north side').waitFor({ timeout: STEP_MS })

    await a.page.getByRole('button', { name: 'Settings' }).click()
    await a.page.getByLabel('Choose a passphrase').fill('maple street porch light')
    await a.page.getByLabel('Repeat the passphrase').fill('maple street porch light')
    const download = a.page.waitForEvent('download', { timeout: KDF_MS })
    await a.page.getByRole('button', { name: 'Make a backup' }).click()
    const file = await (await download).path()
    const text = await readFile(file, 'utf8')
    expect(text).toMatch(/^plbackup:[A-Za-z0-9_-]+\n$/)
    // The CLI reads the browser's file: the same format as `porchlight id export`.
    const home = await tempDir('pl-cli-restore-')
    const restored = await cli(home, ['--json', 'id', 'import', file], 0, undefined, { PORCHLIGHT_PASSPHRASE: 'maple street porch light' })
    expect(restored.json.identity.name).toBe('Ann')
    expect(restored.json.hoods.map((h: { name: string }) => h.name)).toEqual(['Maple Street'])

    const c = await openApp(relay.httpUrl)
    await c.page.getByLabel('Backup file').setInputFiles(file)
    await c.page.getByLabel('Passphrase of the backup').fill('maple street porch light')
    await c.page.getByRole('button', { name: 'Restore' }).click()
    await c.page.getByRole('heading', { name: 'Maple Street' }).waitFor({ timeout: KDF_MS })
    await connected(c.page)
    // The neighborhood's key came along: the post, from the relay, reads here.
    await article(c.page, 'Streetlights out on the north side').waitFor({ timeout: STEP_MS })
    await c.page.getByRole('button', { name: 'Settings' }).click()
    expect(await c.page.getByLabel('Display name').inputValue()).toBe('Ann')
    expect([...a.errors, ...c.errors]).toEqual([])
  }, 180_000)

  it('several neighborhoods: a picker, posts per neighborhood, a fresh invite from Settings, a rename, and leaving', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const { a } = await maple(relay)
    // A second neighborhood, made from Settings; the new one is shown.
    await a.page.getByRole('button', { name: 'Settings' }).click()
    await a.page.getByLabel('Neighborhood name').fill('Oak Lane')
    await a.page.getByLabel('Area (geohash)').fill('u4prv')
    await a.page.getByRole('button', { name: 'Create neighborhood' }).click()
    await a.page.getByRole('heading', { name: 'Invite a neighbor to Oak Lane' }).waitFor({ timeout: STEP_MS })
    await relay.serve(await a.page.getByLabel('Relay token').inputValue())
    await a.page.getByRole('button', { name: 'Posts' }).click()
    await a.page.getByRole('heading', { name: 'Oak Lane', exact: true }).waitFor({ timeout: STEP_MS })
    expect(await a.page.getByLabel('Neighborhood', { exact: true }).inputValue()).not.toBe('')

    await sendPost(a.page, 'safety', 'Oak tree leaning over the lane')
    await article(a.page, 'Oak tree leaning over the lane').waitFor({ timeout: STEP_MS })
    await a.page.getByLabel('Neighborhood', { exact: true }).selectOption({ label: 'Maple Street' })
    await a.page.getByRole('heading', { name: 'Maple Street', exact: true }).waitFor()
    await article(a.page, 'Oak tree leaning over the lane').waitFor({ state: 'detached' })
    await sendPost(a.page, 'info', 'Maple block party moved to the 12th')
    await article(a.page, 'Maple block party moved to the 12th').waitFor({ timeout: STEP_MS })
    await a.page.getByLabel('Neighborhood', { exact: true }).selectOption({ label: 'Oak Lane' })
    await article(a.page, 'Oak tree leaning over the lane').waitFor()
    expect(await article(a.page, 'Maple block party').count()).toBe(0)

    // A fresh invite to Maple Street from Settings admits Ben there.
    await a.page.getByRole('button', { name: 'Settings' }).click()
    await a.page.getByRole('button', { name: 'New invite to Maple Street' }).click()
    await a.page.getByRole('heading', { name: 'Invite a neighbor to Maple Street' }).waitFor({ timeout: STEP_MS })
    const link = await a.page.getByRole('link', { name: 'Invite link' }).getAttribute('href')
    expect(link).toMatch(new RegExp(`^${relay.httpUrl}/#join=porchlight:`))
    const b = await joinFrom(link!, 'Ben')
    await b.page.getByRole('heading', { name: 'Maple Street', exact: true }).waitFor()

    // Ann renames herself (same keys); Ben sees the new name on her next post.
    await a.page.getByLabel('Display name').fill('Annie')
    await a.page.getByRole('button', { name: 'Rename' }).click()
    await a.page.locator('header').getByText('Annie').waitFor({ timeout: STEP_MS })
    await a.page.getByRole('button', { name: 'Posts' }).click()
    await a.page.getByLabel('Neighborhood', { exact: true }).selectOption({ label: 'Maple Street' })
    await sendPost(a.page, 'info', 'Recycling pickup is Thursday this week')
    await article(b.page, 'Recycling pickup is Thursday this week').filter({ hasText: 'Annie' }).waitFor({ timeout: STEP_MS })

    // Ben leaves Maple Street (after a confirm step): with no neighborhood left he is offered to join or create one.
    await b.page.getByRole('button', { name: 'Settings' }).click()
    await b.page.getByRole('button', { name: 'Leave Maple Street' }).click()
    await b.page.getByRole('button', { name: 'Yes, leave Maple Street' }).click()
    await b.page.getByText('Left: Maple Street').waitFor({ timeout: STEP_MS })
    await b.page.getByRole('button', { name: 'Posts' }).click()
    await b.page.getByRole('heading', { name: 'Create a neighborhood' }).waitFor()
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('a post arriving while the tab is hidden notifies, permission asked only from Settings, the text only with previews on', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const { a, link } = await maple(relay)
    // The page's Notification API and visibility, recorded (headless Chromium shows no notifications).
    const fake = (): void => {
      const w = window as unknown as { notes: Array<{ title: string, body?: string }>, asked: number, hidden: boolean, Notification: unknown }
      w.notes = []
      w.asked = 0
      w.hidden = false
      class FakeNotification {
        static permission = 'default'
        static async requestPermission (): Promise<string> { w.asked++; FakeNotification.permission = 'granted'; return 'granted' }
        constructor (title: string, opts?: { body?: string }) { w.notes.push({ title, ...(opts?.body !== undefined ? { body: opts.body } : {}) }) }
      }
      w.Notification = FakeNotification
      Object.defineProperty(document, 'visibilityState', { get: () => w.hidden ? 'hidden' : 'visible' })
    }
    const b = await joinFrom(link, 'Ben', fake)
    const read = async <T>(expr: string): Promise<T> => await b.page.evaluate(expr) as T
    expect(await read<number>('window.asked')).toBe(0)

    // Hidden but not turned on: nothing.
    await b.page.evaluate('window.hidden = true')
    await sendPost(a.page, 'info', 'First: no notification for this one')
    await article(b.page, 'First: no notification for this one').waitFor({ timeout: STEP_MS })
    expect(await read<unknown[]>('window.notes')).toEqual([])

    await b.page.evaluate('window.hidden = false')
    await b.page.getByRole('button', { name: 'Settings' }).click()
    await b.page.getByRole('button', { name: 'Turn on notifications' }).click()
    await b.page.getByRole('button', { name: 'Turn off notifications' }).waitFor()
    expect(await read<number>('window.asked')).toBe(1)

    await b.page.evaluate('window.hidden = true')
    await sendPost(a.page, 'fire', 'Smoke behind the bakery')
    await b.page.waitForFunction('window.notes.length === 1', undefined, { timeout: STEP_MS })
    expect(await read<unknown[]>('window.notes')).toEqual([{ title: 'New post in Maple Street', body: 'Fire' }])

    await b.page.getByLabel('Show the post\'s text in notifications').check()
    await sendPost(a.page, 'pet', 'Brown dog on Elm, friendly')
    await b.page.waitForFunction('window.notes.length === 2', undefined, { timeout: STEP_MS })
    expect((await read<Array<{ body: string }>>('window.notes'))[1]).toEqual({ title: 'New post in Maple Street', body: 'Lost or found pet: Brown dog on Elm, friendly' })

    // A post arriving while the tab is visible does not notify.
    await b.page.evaluate('window.hidden = false')
    await sendPost(a.page, 'info', 'Seen in the open tab')
    await b.page.getByRole('button', { name: 'Posts' }).click()
    await article(b.page, 'Seen in the open tab').waitFor({ timeout: STEP_MS })
    expect(await read<unknown[]>('window.notes')).toHaveLength(2)
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})
