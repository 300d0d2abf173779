// A relay, three residents and an agency on loopback: private posts reach members only, the
// relay and the agency see nothing but ciphertext, public posts reach the agency signed by an
// area pseudonym.
import { describe, it, expect, afterAll } from 'vitest'
import { createNode } from '../../node/libp2p.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { containsBytes, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { privateTopic, areaTopic } from '../../protocol/neighborhood.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { cleanUp, cli, filesUnder, neighborhood, nextPost, peer, startRelay, tcpAddr, tempDir, until } from '../helpers/network.ts'

afterAll(cleanUp)

describe('relay, residents and an agency', () => {
  it('delivers private posts to members only and public posts to the agency', async () => {
    const relay = await startRelay({ areas: ['u4pruy'] })
    const hood = await neighborhood(relay, ['Ana', 'Ben', 'Cleo'])
    const [anaHome, benHome, cleoHome] = hood.members as [string, string, string]
    const state = (await (await Home.open(anaHome)).hoods())[0]!
    const topic = privateTopic(state.hood.id)

    // The agency: an identity following the area, plus a raw libp2p node that subscribes to
    // every topic it can name, including the private one, and records every byte it gets.
    const agencyHome = await tempDir('pl-agency-')
    await cli(agencyHome, ['agency', 'create', '--name', 'City PD'])
    await cli(agencyHome, ['agency', 'follow', 'u4pruy'])
    const agency = await peer(agencyHome, [tcpAddr(relay)])
    const snoop = await createNode({})
    const seen: Uint8Array[] = []
    const seenTopics: string[] = []
    snoop.services.pubsub.addEventListener('message', (evt) => { seen.push(evt.detail.data); seenTopics.push(evt.detail.topic) })
    snoop.services.pubsub.subscribe(topic)
    snoop.services.pubsub.subscribe(areaTopic('u4pruy'))
    await snoop.dial(multiaddr(tcpAddr(relay)))

    const ben = await peer(benHome)
    const cleo = await peer(cleoHome)
    // Ben and Cleo proved the tag key when they connected; the snoop, which only names the
    // topic, is not let in, and never even hears that the relay carries it.
    await until(() => relay.node.services.pubsub.getSubscribers(topic).length >= 2, 15_000, 'subscriptions')
    await until(() => snoop.services.pubsub.getSubscribers(areaTopic('u4pruy')).length > 0, 15_000, 'the area subscription')
    expect(relay.node.services.pubsub.getSubscribers(topic).some(p => p.equals(snoop.peerId))).toBe(false)
    expect(snoop.services.pubsub.getSubscribers(topic)).toEqual([])

    const marker = `marker-${toHex(randomBytes(12))}`
    const ana = await peer(anaHome)
    const benGets = nextPost(ben, p => p.text.includes(marker))
    const cleoGets = nextPost(cleo, p => p.text.includes(marker))
    const sent = await ana.post({ kind: 'suspicious', text: `Someone trying car doors ${marker}`, geohash: 'u4pruydqqv' })
    expect(sent.result.ok).toBe(true)
    const [b, c] = await Promise.all([benGets, cleoGets])
    expect(b.authorName).toBe('Ana')
    expect(c.text).toContain(marker)
    expect(b.location).toBe('u4pruy') // cut to the neighborhood's default precision: its area's length

    // Public opt-in: reaches the agency, signed by Ana's pseudonym for the area, not her key.
    const publicMarker = `public-${toHex(randomBytes(8))}`
    const agencyGets = nextPost(agency, p => p.text.includes(publicMarker))
    const pub = await ana.post({ kind: 'safety', text: `Street light out ${publicMarker}`, public: true })
    expect(pub.result.ok).toBe(true)
    const seenByAgency = await agencyGets
    expect(seenByAgency.channel).toBe('public')
    const anaKey = toHex((await (await Home.open(anaHome)).requireIdentity()).public.signKey)
    expect(seenByAgency.author).not.toBe(anaKey)
    expect(seenByAgency.authorName).toBeUndefined()

    // The agency's feed holds the public post and nothing private.
    const agencyFeed = await agency.feed()
    expect(agencyFeed.some(p => p.text.includes(marker))).toBe(false)
    expect(agencyFeed.every(p => p.channel !== 'private')).toBe(true)

    // Bytes: the snoop got the public post and nothing of the private topic; the relay stored
    // the private envelope without the text, the author's key or name, or the neighborhood's name.
    await until(() => seen.length >= 1, 10_000, 'snooped messages')
    await snoop.stop()
    expect(seenTopics).toEqual([areaTopic('u4pruy')])
    const secrets = [utf8Bytes(marker), utf8Bytes('Someone trying car doors'), utf8Bytes('Maple Street'), utf8Bytes('Ana'),
      (await (await Home.open(anaHome)).requireIdentity()).public.signKey, state.hood.id]
    for (const bytes of seen) for (const s of secrets) expect(containsBytes(bytes, s)).toBe(false)
    const relayDir = (relay as unknown as { init: { dataDir: string } }).init.dataDir
    await relay.stop()
    const files = await filesUnder(relayDir)
    expect(files.length).toBeGreaterThan(0)
    for (const f of files) for (const s of secrets) expect(containsBytes(f.bytes, s), f.path).toBe(false)
    // The public post is public by choice, and is on the relay's disk.
    expect(files.some(f => containsBytes(f.bytes, utf8Bytes(publicMarker)))).toBe(true)
  })
})
