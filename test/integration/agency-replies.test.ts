// Replies to an agency's request, every step a real `porchlight` process with its own home and
// a real relay process: a resident answers a request by its short id in the neighborhood (the
// agency never sees it), in public (the agency's feed shows it as a reply to the request), and
// sealed to the agency with a clip (only that agency's `agency replies` shows it, and it fetches
// the clip; a second agency on the same area gets nothing readable). The bytes the relay and the
// agencies stored are searched for each text. The refusals are one line and send nothing; the
// resident's one switch hides requests from feed and watch, and brings them back.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { containsBytes, utf8Bytes } from '../../protocol/encoding.ts'
import { LevelLocalStore } from '../../node/storage/level-local.ts'
import { Home } from '../../node/storage/home-dir.ts'
import type { FeedPost } from '../../node/resident.ts'
import { cleanUp, filesUnder, tempDir, until } from '../helpers/network.ts'
import { hoodWithRelayProcess, killAll, run, runOk, spawnWatch, stopProcess, type RelayProcess } from '../helpers/processes.ts'
import { makePng } from '../helpers/media.ts'

const AREA = 'u4pruy'
const TEST_TIMEOUT_MS = 300_000

afterAll(async () => {
  await killAll()
  await cleanUp()
})

/** A text no compressor shortens and nothing else contains. */
const marker = (what: string): string => `${what}-${randomBytes(12).toString('hex')}`

async function anyFileContains (dir: string, text: string): Promise<string[]> {
  const needle = utf8Bytes(text)
  return (await filesUnder(dir)).filter(f => containsBytes(f.bytes, needle)).map(f => f.path)
}

async function storedMessages (relay: RelayProcess): Promise<number> {
  return ((await (await fetch(`${relay.http}/health`)).json()) as { storedMessages: number }).storedMessages
}

let relay: RelayProcess
let relayData: string
let ana: string
let pd: string
let fire: string
let rfaId: string

beforeAll(async () => {
  const setup = await hoodWithRelayProcess()
  await stopProcess(setup.relay(), 'SIGTERM')
  relay = await setup.serve()
  ana = setup.ana
  relayData = /--data (\S+)/.exec(relay.child.spawnargs.join(' '))![1]!
  ;[pd, fire] = [await tempDir('pl-pd-'), await tempDir('pl-fire-')]
  await Promise.all([
    runOk(pd, ['agency', 'create', '--name', 'City PD']),
    runOk(fire, ['agency', 'create', '--name', 'City Fire'])
  ])
  await Promise.all([
    runOk(pd, ['agency', 'follow', AREA, '--relay', relay.tcp]),
    runOk(fire, ['agency', 'follow', AREA, '--relay', relay.tcp])
  ])
  rfaId = (await runOk(pd, ['--json', 'agency', 'rfa', '--area', AREA, '--text', 'Anyone see a grey van on Maple last night?'])).json.id as string
}, TEST_TIMEOUT_MS)

describe('replies to an agency request', () => {
  it('privately, publicly and sealed, each read by exactly whom the CLI said', { timeout: TEST_TIMEOUT_MS }, async () => {
    const feed = await runOk(ana, ['--json', 'feed'])
    expect((feed.json.posts as FeedPost[]).find(p => p.id === rfaId)).toMatchObject({ channel: 'rfa', authorName: 'City PD' })
    const short = rfaId.slice(0, 10)

    // In the neighborhood: members only.
    const privateText = marker('private')
    const priv = await runOk(ana, ['--json', 'reply', short, '--text', privateText])
    expect(priv.json).toMatchObject({ mode: 'private', replyTo: rfaId, audience: { mode: 'private', hood: 'Maple Street' } })
    expect(priv.json.relay).not.toBeNull()
    expect(priv.err).toContain('Only members of Maple Street will read this reply')
    const own = (await runOk(ana, ['--json', 'feed'])).json.posts as FeedPost[]
    expect(own.find(p => p.id === priv.json.id)).toMatchObject({ channel: 'private', kind: 'reply', replyTo: rfaId, text: privateText })

    // In public: the area's readers, the agency among them, see a reply to the request.
    const publicText = marker('public')
    const pub = await runOk(ana, ['--json', 'reply', short, '--public', '--text', publicText])
    expect(pub.json).toMatchObject({ mode: 'public', replyTo: rfaId, audience: { mode: 'public', area: AREA } })
    expect(pub.err).toContain(`Everyone following area ${AREA} will read this reply`)

    // Sealed, with a clip: only City PD.
    const work = await tempDir('pl-reply-work-')
    const png = makePng(24, 16).bytes
    const clipFile = join(work, 'van.png')
    await writeFile(clipFile, png)
    const sealedText = marker('sealed')
    const sealed = await runOk(ana, ['--json', 'reply', short, '--sealed', '--text', sealedText, '--clip', clipFile])
    expect(sealed.json).toMatchObject({ mode: 'sealed', replyTo: rfaId, audience: { mode: 'sealed', area: AREA, agency: { name: 'City PD' } } })
    expect(sealed.json.clip.pinnedBy).toEqual([relay.tcp])
    expect(sealed.err).toMatch(/Only the UNVERIFIED agency City PD \[[0-9A-Z-]+\] can open this reply/)

    // One command at a time per home (a home is held by the command using it); the two agencies side by side.
    const [[pdFeed, pdFeedText, pdReplies], [fireReplies, fireFeed]] = await Promise.all([
      (async () => [await runOk(pd, ['--json', 'agency', 'feed']), await runOk(pd, ['agency', 'feed', '--no-sync']), await runOk(pd, ['--json', 'agency', 'replies'])])(),
      (async () => [await runOk(fire, ['--json', 'agency', 'replies']), await runOk(fire, ['--json', 'agency', 'feed', '--no-sync'])])()
    ])
    const pdPosts = pdFeed.json.posts as FeedPost[]
    expect(pdPosts.find(p => p.text === publicText)).toMatchObject({ channel: 'public', kind: 'reply', replyTo: rfaId, area: AREA })
    expect(pdFeedText.out).toContain(`↳ reply to request ${rfaId.slice(0, 16)}`)
    expect(pdPosts.map(p => p.text)).not.toContain(privateText)
    expect(pdPosts.map(p => p.text)).not.toContain(sealedText)

    const replies = pdReplies.json.replies as Array<{ id: string, rfa: string, text: string, clips: Array<{ mime: string, size: number, cid: string }>, created: number }>
    expect(replies).toHaveLength(1)
    expect(replies[0]).toMatchObject({ id: sealed.json.id, rfa: rfaId, text: sealedText })
    expect(replies[0]!.clips).toHaveLength(1)
    expect(replies[0]!.clips[0]).toMatchObject({ mime: 'image/png', cid: sealed.json.clip.cid })
    expect(replies[0]!.created).toBeGreaterThan(0)
    expect(replies[0]).not.toHaveProperty('author')
    // The other agency on the same area: nothing readable.
    expect(fireReplies.json.replies).toEqual([])
    expect((fireFeed.json.posts as FeedPost[]).map(p => p.text)).not.toContain(sealedText)

    // The agency fetches the clip by the reply's id, and only it holds the key.
    const saved = join(work, 'from-reply.png')
    const got = await runOk(pd, ['--json', 'clip', 'get', sealed.json.id.slice(0, 12), '-o', saved])
    expect(got.json).toMatchObject({ mime: 'image/png', path: saved })
    expect((await readFile(saved)).length).toBe(got.json.size)
    expect((await run(fire, ['clip', 'get', sealed.json.id.slice(0, 12), '-o', join(work, 'fire.png')])).code).toBe(1)

    // Bytes: the relay keeps the public reply in the clear and nothing else; City PD's home holds
    // the sealed text it opened, City Fire's not; neither agency nor the relay holds the private one.
    expect(await anyFileContains(relayData, publicText)).not.toEqual([])
    expect(await anyFileContains(relayData, privateText)).toEqual([])
    expect(await anyFileContains(relayData, sealedText)).toEqual([])
    expect(await anyFileContains(pd, privateText)).toEqual([])
    expect(await anyFileContains(fire, privateText)).toEqual([])
    expect(await anyFileContains(fire, sealedText)).toEqual([])
    expect(await anyFileContains(pd, sealedText)).not.toEqual([])
  })

  it('refuses in one line and sends nothing: unknown, ambiguous or malformed ids, --sealed on a non-request, --public with --sealed', { timeout: TEST_TIMEOUT_MS }, async () => {
    const own = (await runOk(ana, ['--json', 'post', '--kind', 'info', '--text', 'Street fair on Sunday'])).json.id as string
    const before = await storedMessages(relay)
    const oneLine = (r: { err: string }): string => {
      expect(r.err.trim().split('\n')).toHaveLength(1)
      return r.err
    }
    const both = await run(ana, ['reply', rfaId.slice(0, 10), '--public', '--sealed', '--text', 'x'])
    expect(both.code).toBe(2)
    expect(oneLine(both)).toContain('--public and --sealed exclude each other')
    const unknown = await run(ana, ['reply', 'deadbeefdeadbeef', '--text', 'x'])
    expect(unknown.code).toBe(1)
    expect(oneLine(unknown)).toContain('no post deadbeefdeadbeef')
    const short = await run(ana, ['reply', 'abc', '--text', 'x'])
    expect(short.code).toBe(1)
    expect(oneLine(short)).toContain('8 to 64 hex')
    const sealedOnPost = await run(ana, ['reply', own.slice(0, 10), '--sealed', '--text', 'x'])
    expect(sealedOnPost.code).toBe(1)
    expect(oneLine(sealedOnPost)).toContain('only an agency\'s request can take a sealed reply')
    const publicOnPrivate = await run(ana, ['reply', own.slice(0, 10), '--public', '--text', 'x'])
    expect(publicOnPrivate.code).toBe(1)
    expect(oneLine(publicOnPrivate)).toContain('cannot be answered in public')
    expect(await storedMessages(relay)).toBe(before)
    expect((await runOk(ana, ['--json', 'feed', '--no-sync'])).json.outbox).toBe(0)

    // Two posts sharing a prefix (written into a home's feed directly: ids are hashes, and no
    // one mints a collision for a test).
    const home = await tempDir('pl-ambiguous-')
    await runOk(home, ['id', 'create', '--name', 'Cleo'])
    const h = await Home.open(home)
    await h.ensure()
    const local = await LevelLocalStore.open(join(h.dataDir, 'local'))
    const fake = (id: string): FeedPost => ({
      id, channel: 'private', topic: '/porchlight/1/n/x', kind: 'info', text: 'x', created: Date.now(), expires: Date.now() + 3600_000,
      media: [], author: '00'.repeat(32), authorFingerprint: 'X', mine: false
    })
    const posts = local.section<FeedPost>('posts')
    await posts.put(`a!${'ab'.repeat(32)}`, fake('ab'.repeat(32)))
    await posts.put(`b!${'ab'.repeat(16)}${'cd'.repeat(16)}`, fake(`${'ab'.repeat(16)}${'cd'.repeat(16)}`))
    await local.close()
    const ambiguous = await run(home, ['reply', 'abababab', '--text', 'x'])
    expect(ambiguous.code).toBe(1)
    expect(oneLine(ambiguous)).toContain('2 posts start with abababab')
  })

  it('settings rfa off hides requests in feed and watch; on shows them again', { timeout: TEST_TIMEOUT_MS }, async () => {
    expect((await runOk(ana, ['--json', 'settings', 'rfa', 'off'])).json).toEqual({ rfa: 'off' })
    const feed = (await runOk(ana, ['--json', 'feed'])).json.posts as FeedPost[]
    expect(feed.filter(p => p.channel === 'rfa')).toEqual([])
    expect(feed.length).toBeGreaterThan(0)
    const refused = await run(ana, ['reply', rfaId.slice(0, 10), '--sealed', '--text', 'x'])
    expect(refused.code).toBe(1) // hidden, so no such post for this home

    const watch = await spawnWatch(ana)
    const hidden = marker('hidden-request')
    const hiddenId = (await runOk(pd, ['--json', 'agency', 'rfa', '--area', AREA, '--text', hidden])).json.id as string
    // A post after it: once the watch printed that, the request had its chance to show.
    const after = marker('after')
    await runOk(ana, ['post', '--kind', 'info', '--text', after])
    await watch.next(p => p.text === after)
    await new Promise(resolve => setTimeout(resolve, 2000))
    const shownRequest = await watch.next(p => p.channel === 'rfa', 1).catch(() => undefined)
    expect(shownRequest).toBeUndefined()

    // On again, inside the running watch: the next request shows, and the feed has them all.
    expect((await runOk(ana, ['--json', 'settings', 'rfa', 'on'])).json).toEqual({ rfa: 'on' })
    const shown = marker('shown-request')
    await runOk(pd, ['agency', 'rfa', '--area', AREA, '--text', shown])
    expect(await watch.next(p => p.text === shown, 60_000)).toMatchObject({ channel: 'rfa', authorName: 'City PD' })
    await until(async () => ((await runOk(ana, ['--json', 'feed'])).json.posts as FeedPost[]).some(p => p.id === hiddenId), 60_000, 'the hidden request in the feed')
    const again = (await runOk(ana, ['--json', 'feed'])).json.posts as FeedPost[]
    expect(again.filter(p => p.channel === 'rfa').map(p => p.text)).toEqual(expect.arrayContaining([hidden, shown]))
    watch.child.kill('SIGTERM')
  })
})
