// Issue 10: what a relay receives cannot link a public copy to its private copy, and the
// private topic's envelopes say little by their shape. The relay's intake is watched (every
// message it is handed, with the libp2p peer id that handed it), and the checks look only at
// those bytes: the public copy carries its own created time (not the private envelope's ts),
// arrives after a delay from a short-lived peer id (not the resident's persistent one), the
// CLI says whether a relay acknowledged the public copy, and a copy nobody took is "not sent".
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { cleanUp, cli, neighborhood, startRelay } from '../helpers/network.ts'
import { loadOrCreateNodeKey } from '../../node/libp2p.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { decodeEnvelope } from '../../protocol/envelope.ts'
import { openPublicPost } from '../../protocol/public-post.ts'
import { isAreaTopic, isPrivateTopic } from '../../protocol/neighborhood.ts'
import { DEFAULT_TTL_MS } from '../../protocol/post.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import { toHex } from '../../protocol/encoding.ts'

const AREA = 'u4pruy'
const BUCKETS = [1024, 4096, 16 * 1024, 64 * 1024]
const MINUTE = 60_000

afterAll(cleanUp)

interface Received { topic: string, bytes: Uint8Array, from: string, via: string, at: number }

/** Records every message handed to the relay's intake (push, gossip, sync) and who handed it. */
function watch (relay: Relay): Received[] {
  const seen: Received[] = []
  const r = relay as unknown as { accept: (topic: string, bytes: Uint8Array, from: PeerId, via: string, ...rest: unknown[]) => Promise<unknown> }
  const accept = r.accept.bind(relay)
  r.accept = async (topic, bytes, from, via, ...rest) => {
    seen.push({ topic, bytes: new Uint8Array(bytes), from: from.toString(), via, at: Date.now() })
    return accept(topic, bytes, from, via, ...rest)
  }
  return seen
}

async function persistentPeerId (home: string): Promise<string> {
  return peerIdFromPrivateKey(await loadOrCreateNodeKey(join(home, 'node-key'))).toString()
}

describe('a public copy and its private copy, as a relay receives them', () => {
  it('are dated apart, sent apart and from different peer ids; the CLI says the public copy was acknowledged', { timeout: 120_000 }, async () => {
    const relay = await startRelay({ areas: [AREA] })
    const seen = watch(relay)
    const hood = await neighborhood(relay, ['Ana', 'Ben'], AREA)
    const ana = hood.admin
    const resident = await persistentPeerId(ana)
    const marker = `Loose dog on Birch ${toHex(randomBytes(6))}`

    const start = seen.length
    const sent = await cli(ana, ['--json', 'post', '--kind', 'pet', '--text', marker, '--public'], 0, undefined, { PORCHLIGHT_PUBLIC_DELAY_MS: '400' })
    expect(sent.json.publicSent).toBe(true)
    expect(sent.json.publicCopy).toBe('acknowledged')
    const pushed = seen.slice(start).filter(m => m.via === 'push')
    const priv = pushed.filter(m => isPrivateTopic(m.topic))
    const pub = pushed.filter(m => isAreaTopic(m.topic))
    expect(priv).toHaveLength(1)
    expect(pub).toHaveLength(1)

    // From the resident's persistent id, and from another one.
    expect(priv[0]!.from).toBe(resident)
    expect(pub[0]!.from).not.toBe(resident)
    // After the (injected) delay.
    expect(pub[0]!.at - priv[0]!.at).toBeGreaterThanOrEqual(400)
    // Dated on its own: not the private envelope's clear ts, nor its exact created.
    const env = decodeEnvelope(priv[0]!.bytes)
    const opened = await openPublicPost(pub[0]!.bytes, Date.now())
    expect(opened.post.text).toBe(marker)
    expect(opened.post.created).not.toBe(env.ts)
    const feed = await cli(ana, ['--json', 'feed', '--no-sync'])
    const mine = (feed.json.posts as Array<{ text: string, channel: string, created: number }>).find(p => p.channel === 'private' && p.text === marker)!
    expect(opened.post.created).not.toBe(mine.created)
    expect(opened.post.created).toBeGreaterThan(mine.created)
    // Synced back from the relay, the author's own public copy is not a second post in their
    // feed: the private post names it.
    const synced = (await cli(ana, ['--json', 'feed'])).json.posts as Array<{ id: string, text: string, channel: string, publicId?: string }>
    expect(synced.filter(p => p.text === marker).map(p => [p.channel, p.publicId])).toEqual([['private', sent.json.publicId]])

    // The human output says it too.
    const human = await cli(ana, ['post', '--kind', 'info', '--text', 'Street fair Sunday', '--public'], 0, undefined, { PORCHLIGHT_PUBLIC_DELAY_MS: '0' })
    expect(human.out).toMatch(/public copy [0-9a-f]{16} acknowledged/i)
    expect(human.err).toMatch(/^Sending; the public copy follows after a random delay of up to 30 s/) // not 30 s of silence

    // Every private envelope the relay took (joins, rosters, posts): bucketed sizes, whole-minute
    // times, and a join's lifetime is a default post's.
    const envelopes = seen.filter(m => isPrivateTopic(m.topic)).map(m => ({ size: m.bytes.length, env: decodeEnvelope(m.bytes) }))
    expect(envelopes.length).toBeGreaterThanOrEqual(4)
    for (const { size, env } of envelopes) {
      expect(BUCKETS).toContain(size)
      expect(env.ts % MINUTE).toBe(0)
      expect(env.exp % MINUTE).toBe(0)
      expect(env.exp - env.ts).toBe(DEFAULT_TTL_MS)
    }
  })

  it('a public copy that no relay took is reported as not sent, never as stored', { timeout: 120_000 }, async () => {
    // This relay serves the neighborhood but not the area.
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Cleo'], 'u4pruz', { tokenWithoutArea: true })
    const sent = await cli(hood.admin, ['--json', 'post', '--kind', 'info', '--text', 'Water main work', '--public'], 0, undefined, { PORCHLIGHT_PUBLIC_DELAY_MS: '0' })
    expect(sent.json.publicSent).toBe(false)
    expect(sent.json.publicCopy).toBe('not sent')
    const human = await cli(hood.admin, ['post', '--kind', 'info', '--text', 'Water main work again', '--public'], 0, undefined, { PORCHLIGHT_PUBLIC_DELAY_MS: '0' })
    expect(human.out).toMatch(/public copy NOT sent/)
    expect(human.err).toMatch(/public copy was not sent/i)
  })
})
