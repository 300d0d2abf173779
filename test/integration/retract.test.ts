// Issue 11: the author retracts a post before it expires, its public copy too. A real relay,
// a neighbor and an agency: after `retract`, the relay's store holds neither post (its bytes
// are gone, only the small tombstones are left), both feeds drop them, and a home that syncs
// later never sees them. A wrong secret is refused and changes nothing; nobody else can retract.
import { afterAll, describe, expect, it } from 'vitest'
import { cleanUp, cli, neighborhood, peer, startRelay, tcpAddr, tempDir, until } from '../helpers/network.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { areaTopic } from '../../protocol/neighborhood.ts'
import { containsBytes, fromHex, utf8Bytes } from '../../protocol/encoding.ts'
import { encodeRetraction, retractedBy } from '../../protocol/retract.ts'
import { randomBytes, sha256 } from '../../protocol/crypto.ts'
import { PushSession } from '../../protocol/peer/push.ts'
import { multiaddr } from '@multiformats/multiaddr'

const AREA = 'u4pruy'

afterAll(cleanUp)

/** Every message the relay stores, with its bytes. */
async function stored (relay: Relay): Promise<Array<{ topic: string, id: Uint8Array, bytes: Uint8Array }>> {
  const out: Array<{ topic: string, id: Uint8Array, bytes: Uint8Array }> = []
  for (const topic of relay.store.topicNames()) for await (const m of relay.store.list(topic)) out.push(m)
  return out
}

describe('retract', () => {
  it('takes a post and its public copy off the relay and out of every feed, for good', { timeout: 180_000 }, async () => {
    const relay = await startRelay({ areas: [AREA] })
    const hood = await neighborhood(relay, ['Ana', 'Ben'], AREA)
    const [ana, ben] = hood.members as [string, string]
    const agency = await tempDir('pl-agency-')
    await cli(agency, ['agency', 'create', '--name', 'City PD'])
    await cli(agency, ['agency', 'follow', AREA, '--relay', tcpAddr(relay)])

    const text = 'Gas smell near the school on Oak'
    const sent = await cli(ana, ['--json', 'post', '--kind', 'safety', '--text', text, '--public'])
    expect(sent.json.publicSent).toBe(true)
    const id = sent.json.id as string
    const publicId = sent.json.publicId as string
    expect((await cli(ben, ['--json', 'feed'])).json.posts.map((p: { id: string }) => p.id)).toContain(id)
    expect((await cli(agency, ['--json', 'agency', 'feed'])).json.posts.map((p: { id: string }) => p.id)).toContain(publicId)
    expect(relay.store.has(fromHex(id))).toBe(true)
    expect(relay.store.has(fromHex(publicId))).toBe(true)

    // Someone else (Ben, a member) cannot retract Ana's post: he holds no secret for it.
    const notHis = await cli(ben, ['--json', 'retract', id.slice(0, 12)], 1)
    expect(JSON.parse(notHis.err).error.code).toBe('NOT_FOUND')
    // A retraction with a wrong secret, pushed straight to the relay, is refused and changes nothing.
    const before = await stored(relay)
    const privateTopic = before.find(m => containsBytes(m.id, fromHex(id)) && m.id.length === 32)!.topic
    const env = await relay.store.get(fromHex(id))
    const forged = encodeRetraction({ topic: privateTopic, post: fromHex(id), ts: env!.ts, exp: env!.exp, secret: randomBytes(32) })
    const pub = await relay.store.get(fromHex(publicId))
    const forgedPublic = encodeRetraction({ topic: areaTopic(AREA), post: fromHex(publicId), ts: pub!.ts, exp: pub!.exp, secret: randomBytes(32) })
    const mallory = await peer(await tempDir('pl-mallory-'))
    const session = await PushSession.open(mallory.node(), multiaddr(tcpAddr(relay)))
    const refused = await Promise.all([session.push(privateTopic, forged), session.push(areaTopic(AREA), forgedPublic)])
    await session.close().catch(() => {})
    expect(refused.map(r => r.code)).toEqual(['BAD_SECRET', 'BAD_SECRET'])
    expect((await stored(relay)).length).toBe(before.length)
    expect(relay.store.has(fromHex(id)) && relay.store.has(fromHex(publicId))).toBe(true)

    const done = await cli(ana, ['--json', 'retract', id.slice(0, 10)])
    expect(done.json).toMatchObject({ id, publicId, publicRetracted: true })
    expect(done.json.relay).not.toBeNull()

    // The relay: neither post is stored, no stored byte holds the text, and a tombstone names each.
    const after = await stored(relay)
    expect(relay.store.has(fromHex(id)) || relay.store.has(fromHex(publicId))).toBe(false)
    expect(after.some(m => containsBytes(m.bytes, utf8Bytes(text)))).toBe(false)
    const tombstones = after.map(m => retractedBy(m.bytes)).filter(t => t !== undefined).map(t => Buffer.from(t).toString('hex'))
    expect(tombstones.sort()).toEqual([id, publicId].sort())
    expect(relay.store.tombstones(privateTopic)).toBe(1)
    expect(relay.store.tombstones(areaTopic(AREA))).toBe(1)

    // Feeds: Ana's at once; Ben's and the agency's once they sync.
    expect((await cli(ana, ['--json', 'feed', '--no-sync'])).json.posts.map((p: { id: string }) => p.id)).not.toContain(id)
    await until(async () => !(await cli(ben, ['--json', 'feed'])).json.posts.some((p: { id: string }) => p.id === id), 30_000, 'Ben\'s feed to drop the post')
    await until(async () => !(await cli(agency, ['--json', 'agency', 'feed'])).json.posts.some((p: { id: string }) => p.id === publicId), 30_000, 'the agency\'s feed to drop the copy')

    // A neighbor who joins now and syncs from the relay never sees either.
    const late = await tempDir('pl-Cleo-')
    await cli(late, ['id', 'create', '--name', 'Cleo'])
    await cli(late, ['hood', 'join', (await cli(hood.admin, ['--json', 'hood', 'invite'])).json.invite])
    const cleo = (await cli(late, ['--json', 'feed'])).json.posts.map((p: { id: string, text: string }) => p.text)
    expect(cleo).not.toContain(text)

    // Pushing the post's bytes again (a replay) does not bring it back: the tombstone refuses it.
    const replay = await PushSession.open(mallory.node(), multiaddr(tcpAddr(relay)))
    const again = await replay.push(areaTopic(AREA), pub!.bytes)
    await replay.close().catch(() => {})
    expect(again.code).toBe('RETRACTED')
    expect(relay.store.has(fromHex(publicId))).toBe(false)
    expect(sha256(pub!.bytes)).toEqual(fromHex(publicId))
  })

  it('a running peer hears each retraction that takes a post out of its feed (onRetract), with the post\'s id', async () => {
    const relay = await startRelay()
    const [ana, ben] = (await neighborhood(relay, ['Ana', 'Ben'])).members as [string, string]
    const id = (await cli(ana, ['--json', 'post', '--kind', 'info', '--text', 'Bake sale moved to Sunday'])).json.id as string
    const live = await peer(ben)
    await live.sync()
    expect((await live.feed()).map(p => p.id)).toContain(id)
    const heard: string[] = []
    live.onRetract(retracted => { heard.push(retracted) })
    await cli(ana, ['retract', id])
    // Live gossip or, if the mesh was not formed yet, the next sync brings the retraction.
    await until(async () => { if (heard.length === 0) await live.sync(); return heard.length > 0 }, 30_000, 'the retraction')
    expect(heard).toEqual([id])
    expect((await live.feed()).map(p => p.id)).not.toContain(id)
  })
})
