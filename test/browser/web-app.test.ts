// The web app end to end in real Chromium (playwright-core): a relay on 127.0.0.1 serving the
// built app (web/dist, built by the test setup), two browser contexts (two residents, each
// with its own IndexedDB), and a CLI resident. Accessible names are the app's stable interface.
import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { cli, startRelay, tcpAddr, tempDir, until } from '../helpers/network.ts'
import { killAll, runOk, spawnWatch } from '../helpers/processes.ts'
import { article, connected, createIdentity } from '../helpers/browser.ts'
import { HELD } from '../helpers/fair-corpus.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { useAppBrowser } from '../helpers/use-app-browser.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** Waits for one step of the UI (a live post, a connection); generous, never a timing assertion. */
const STEP_MS = 20_000

const app = useAppBrowser(killAll)

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
    // The week beside the usual week: counted as the posts arrived; Ben joined today, so no usual week yet.
    const week = b.page.getByRole('region', { name: 'This week' })
    await week.getByText(/^Suspicious activity: 1 this week$/).waitFor({ timeout: STEP_MS })
    await week.getByText(/^Information: 1 this week$/).waitFor({ timeout: STEP_MS })
    await week.getByText(/^Not enough history yet/).waitFor()
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

  it('a browser resident and a CLI resident see each other\'s posts, replies and retractions', async () => {
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

    // Carol's CLI: a `watch` process holds her home and prints what it hears; her other
    // commands, separate processes, run inside it.
    const carol = await spawnWatch(admin)
    const feedIds = async (): Promise<string[]> => (await runOk(admin, ['--json', 'feed'])).json.posts.map((p: { id: string }) => p.id)

    const outage = (await runOk(admin, ['--json', 'post', '--kind', 'outage', '--text', 'Power is out on the east side'])).json.id as string
    await article(b.page, 'Power is out on the east side').waitFor({ timeout: STEP_MS })

    await send(b.page, 'info', 'Water main fixed')
    const water = await carol.next(p => p.text === 'Water main fixed', STEP_MS)
    expect(water.authorName).toBe('Dev')

    // Carol replies to Dev's post (by the short id `feed` prints): Dev sees it in the post's thread.
    await runOk(admin, ['post', '--kind', 'reply', '--text', 'Thanks, the tap runs here too', '--reply-to', (water.id as string).slice(0, 12)])
    await article(b.page, 'Water main fixed').filter({ hasText: '1 reply' }).waitFor({ timeout: STEP_MS })
    await article(b.page, 'Water main fixed').getByRole('button', { name: 'Open' }).click()
    const carolsReply = b.page.getByRole('region', { name: 'Replies' }).getByRole('article').filter({ hasText: 'Thanks, the tap runs here too' })
    await carolsReply.waitFor({ timeout: STEP_MS })
    expect(await carolsReply.textContent()).toContain('Carol')
    await b.page.getByRole('button', { name: 'Back to feed' }).click()

    // Dev replies to Carol's post: her CLI hears it as a reply to that post.
    await article(b.page, 'Power is out on the east side').getByRole('button', { name: 'Open' }).click()
    await b.page.getByLabel('Your reply').fill('We have a generator if anyone needs one')
    await b.page.getByRole('button', { name: 'Reply' }).click()
    const devsReply = await carol.next(p => p.text === 'We have a generator if anyone needs one', STEP_MS)
    expect(devsReply).toMatchObject({ kind: 'reply', replyTo: outage, authorName: 'Dev' })
    await b.page.getByRole('button', { name: 'Back to feed' }).click()

    // Carol retracts her post: it leaves Dev's feed.
    await runOk(admin, ['retract', outage])
    await article(b.page, 'Power is out on the east side').waitFor({ state: 'detached', timeout: STEP_MS })

    // Dev retracts his: it leaves Carol's feed (read by the CLI, which asks the relay first).
    expect(await feedIds()).toContain(water.id)
    await article(b.page, 'Water main fixed').getByRole('button', { name: 'Open' }).click()
    await b.page.getByRole('button', { name: 'Retract' }).click()
    await b.page.getByRole('button', { name: 'Yes, take it back' }).click()
    await b.page.getByText(/This post is no longer here/).waitFor({ timeout: STEP_MS })
    await until(async () => !(await feedIds()).includes(water.id), STEP_MS * 3, 'Carol\'s feed to drop the retracted post')
    expect(b.errors).toEqual([])
  })

  it('the composer holds a post the fair-posting check holds, says why and what is missing, and sends it once they are given', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const admin = await tempDir('pl-cli-admin-')
    await cli(admin, ['id', 'create', '--name', 'Carol'])
    await cli(admin, ['hood', 'create', 'Oak Lane', '--area', 'u4pru', '--relay', tcpAddr(relay), '--relay', relay.webInfo().ws[0]!])
    await relay.serve((await cli(admin, ['--json', 'hood', 'relay-token'])).json.token as string)
    await cli(admin, ['hood', 'announce'])
    const invite = (await cli(admin, ['--json', 'hood', 'invite'])).json.invite as string
    const b = await openApp(`${relay.httpUrl}/#join=${invite}`)
    await createIdentity(b.page, 'Dev')
    await b.page.getByRole('button', { name: 'Join' }).click()
    await connected(b.page)

    const held = HELD.find(p => p.text === 'Suspicious black man on Elm St')!
    const text = b.page.getByLabel('What happened')
    await b.page.getByRole('button', { name: 'New post' }).click()
    await b.page.getByLabel('Kind').selectOption(held.kind)
    await b.page.getByText('Why Porchlight may ask for more detail').click()
    await b.page.getByText(/It is an English word list .* cannot judge intent/).waitFor()
    await text.fill(held.text)
    await b.page.getByRole('button', { name: 'Send' }).click()
    const alert = b.page.getByRole('alert').filter({ hasText: 'Say what the person did' })
    await alert.waitFor()
    expect(await alert.textContent()).toMatch(/Race alone puts every neighbor .*Missing: what the person did; 2 more details \(clothing, hair, height, build, vehicle\)\./)
    // Held: the text is still being written, and nothing reached the feed.
    expect(await text.inputValue()).toBe(held.text)
    expect(await text.getAttribute('aria-describedby')).toMatch(/fair-hold/)
    expect(await b.page.getByRole('article').count()).toBe(0)

    // With the action, one detail is still missing; with two, the hold is gone and it sends.
    await text.fill('Black man in a red cap tried the gate at 4 Elm St')
    await b.page.getByRole('alert').filter({ hasText: 'Missing: 1 more detail' }).waitFor()
    const fair = 'Black man in a red cap and a long grey coat tried the gate at 4 Elm St'
    await text.fill(fair)
    await alert.waitFor({ state: 'detached' })
    await b.page.getByRole('button', { name: 'Send' }).click()
    await article(b.page, fair).waitFor({ timeout: STEP_MS })
    expect(b.errors).toEqual([])
  })
})
