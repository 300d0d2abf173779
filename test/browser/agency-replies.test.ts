// Replies to an agency's request from the web app, in real Chromium (playwright-core) with a real
// relay and two CLI agencies following the resident's area: the request shows in the feed
// labelled as an agency request and as unverified; in its thread the resident chooses where the
// reply goes and the app says who will read it before anything is sent (axe on that screen);
// a reply sealed to City PD with a photo cleaned in the page reaches only City PD (`agency
// replies`, `clip get`; City Fire on the same area gets nothing); a public reply shows in the
// agency's feed as a reply to the request. "Show requests from agencies" off in Settings hides
// the requests at once, and one arriving afterwards; on brings them back.
import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cli, startRelay, tcpAddr, tempDir, until } from '../helpers/network.ts'
import { article, connected, createIdentity } from '../helpers/browser.ts'
import { PHONE, screen } from '../helpers/a11y.ts'
import { makeJpeg } from '../helpers/media.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { useAppBrowser } from '../helpers/use-app-browser.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** One step of the UI (a live post, a connection); generous, never a timing assertion. */
const STEP_MS = 30_000
/** A public or sealed reply leaves after a random delay of up to 30 s (public-copy.ts), then the relay has it. */
const DELAYED_SEND_MS = 90_000
const AREA = 'u4pru'
const REQUEST = 'Anyone see a grey van on Maple last night?'

const app = useAppBrowser()

interface SealedReply { id: string, rfa: string, text: string, clips: Array<{ cid: string, mime: string, size: number }> }

describe('replies to an agency request in the web app', () => {
  it('labelled request; sealed reply with a photo only the agency opens; public reply as a reply; the switch hides requests', { timeout: 600_000 }, async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const { page, errors } = await app.open(relay.httpUrl, { contextOptions: { viewport: PHONE, deviceScaleFactor: 1 } })
    await createIdentity(page, 'Ann')
    await page.getByLabel('Neighborhood name').fill('Maple Street')
    await page.getByLabel('Area (geohash)').fill(AREA)
    await page.getByRole('button', { name: 'Create neighborhood' }).click()
    await relay.serve(await page.getByLabel('Relay token').inputValue({ timeout: STEP_MS }))
    await connected(page, STEP_MS)

    const [pd, fire] = [await tempDir('pl-pd-'), await tempDir('pl-fire-')]
    const pdId = (await cli(pd, ['--json', 'agency', 'create', '--name', 'City PD'])).json as { fingerprint: string }
    await cli(fire, ['agency', 'create', '--name', 'City Fire'])
    await cli(pd, ['agency', 'follow', AREA, '--relay', tcpAddr(relay)])
    await cli(fire, ['agency', 'follow', AREA, '--relay', tcpAddr(relay)])
    const rfaId = (await cli(pd, ['--json', 'agency', 'rfa', '--area', AREA, '--text', REQUEST, '--relay', tcpAddr(relay)])).json.id as string

    // In the feed: an agency request, from City PD, which no admin vouched for.
    const requestPost = article(page, REQUEST)
    await requestPost.waitFor({ timeout: STEP_MS })
    const label = await requestPost.textContent()
    expect(label).toContain('Agency request')
    expect(label).toContain('City PD')
    expect(label).toContain('Unverified agency: no admin of your neighborhoods vouched for it')

    // Its thread: three places a reply can go, the neighborhood chosen.
    await requestPost.getByRole('button', { name: 'Open' }).click()
    const where = page.getByRole('group', { name: 'Where your reply goes' })
    await where.waitFor({ timeout: STEP_MS })
    expect(await where.getByRole('radio', { name: 'In the neighborhood (members only)' }).isChecked()).toBe(true)
    await page.getByText('Only members of Maple Street will read this reply').waitFor({ timeout: STEP_MS })

    // Sealed to City PD, with a photo: who reads it is said first, by name, fingerprint and UNVERIFIED.
    await where.getByRole('radio', { name: 'Sealed to City PD (only it can open it)' }).check()
    const sealedText = 'Grey van parked by number 12 around 11pm, photo attached'
    await page.getByLabel('Your reply').fill(sealedText)
    const photo = makeJpeg({ width: 40, height: 30 })
    await page.getByLabel('Photo or video for the agency (optional)').setInputFiles({ name: 'van.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(photo.bytes) })
    await page.getByText(/^Removed from the photo before anything is sent:/).waitFor({ timeout: STEP_MS })
    const who = page.getByText(/^Only the UNVERIFIED agency City PD/)
    await who.waitFor({ timeout: STEP_MS })
    expect(await who.textContent()).toContain(`City PD (fingerprint ${pdId.fingerprint}) can open this reply`)
    expect(await who.textContent()).toContain('only City PD can see it')
    await screen(page, 'reply-options')
    await page.getByRole('button', { name: 'Reply' }).click()
    await page.getByText('Reply sent sealed to City PD.').waitFor({ timeout: DELAYED_SEND_MS })

    const replies = (await cli(pd, ['--json', 'agency', 'replies'])).json.replies as SealedReply[]
    expect(replies).toHaveLength(1)
    expect(replies[0]).toMatchObject({ rfa: rfaId, text: sealedText })
    expect(replies[0]!.clips).toEqual([expect.objectContaining({ mime: 'image/jpeg' })])
    const work = await tempDir('pl-reply-clip-')
    const saved = join(work, 'van.jpg')
    const got = (await cli(pd, ['--json', 'clip', 'get', replies[0]!.id.slice(0, 12), '-o', saved])).json as { mime: string, size: number }
    expect(got.mime).toBe('image/jpeg')
    expect((await readFile(saved)).length).toBe(got.size)
    // The other agency on the same area: nothing it can read.
    expect((await cli(fire, ['--json', 'agency', 'replies'])).json.replies).toEqual([])
    expect(((await cli(fire, ['--json', 'agency', 'feed', '--no-sync'])).json.posts as FeedPost[]).map(p => p.text)).not.toContain(sealedText)

    // In public: the agency's feed shows it as a reply to its request.
    const publicText = 'I saw it too, it left towards the park'
    await where.getByRole('radio', { name: `In public, on area ${AREA}` }).check()
    await page.getByText(`Everyone following area ${AREA} will read this reply`).waitFor({ timeout: STEP_MS })
    await page.getByLabel('Your reply').fill(publicText)
    await page.getByRole('button', { name: 'Reply' }).click()
    await page.getByText(`Reply sent in public on area ${AREA}.`).waitFor({ timeout: DELAYED_SEND_MS })
    const pdFeed = (await cli(pd, ['--json', 'agency', 'feed'])).json.posts as FeedPost[]
    expect(pdFeed.find(p => p.text === publicText)).toMatchObject({ channel: 'public', kind: 'reply', replyTo: rfaId })
    await page.getByRole('button', { name: 'Back to feed' }).click()

    // Requests off: gone from the feed at once, and a new one is not shown.
    await page.getByRole('button', { name: 'Settings' }).click()
    const requests = page.getByRole('switch', { name: 'Show requests from agencies' })
    expect(await requests.isChecked()).toBe(true)
    await requests.uncheck()
    await page.getByRole('button', { name: 'Posts' }).click()
    await requestPost.waitFor({ state: 'detached', timeout: STEP_MS })
    const later = 'Second request: water main inspection tomorrow'
    const laterId = (await cli(pd, ['--json', 'agency', 'rfa', '--area', AREA, '--text', later, '--relay', tcpAddr(relay)])).json.id as string
    // The relay has it (City Fire catches up from it), and the page had time to hear it.
    await until(async () => ((await cli(fire, ['--json', 'agency', 'feed'])).json.posts as FeedPost[]).some(p => p.id === laterId), STEP_MS, 'the relay to hold the second request')
    await new Promise(resolve => setTimeout(resolve, 3000))
    expect(await article(page, later).count()).toBe(0)
    expect(await article(page, REQUEST).count()).toBe(0)

    // On again: both requests are back.
    await page.getByRole('button', { name: 'Settings' }).click()
    await requests.check()
    await page.getByRole('button', { name: 'Posts' }).click()
    await article(page, REQUEST).waitFor({ timeout: STEP_MS })
    await article(page, later).waitFor({ timeout: STEP_MS })
    expect(errors).toEqual([])
  })
})
