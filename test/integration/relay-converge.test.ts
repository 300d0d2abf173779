// Two relays that each hold hundreds of large posts the other lacks converge in one
// reconciliation: a sync frame counts the ids it wants against its bound as well as the
// messages it gives (before, ~150+ messages over 1 KB each way made a 'pl/sync-want' frame over
// 256 KiB, and the relays never converged).
import { describe, it, expect, afterAll } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { sha256 } from '../../protocol/crypto.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { sealPost } from '../../protocol/envelope.ts'
import { Home, currentEpochKeys } from '../../node/storage/home-dir.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { cleanUp, neighborhood, startRelay, tcpAddr } from '../helpers/network.ts'

afterAll(cleanUp)

const PER_SIDE = 300
const TEXT = 'Streetlight out on the corner of Elm and 5th; the crossing is dark after 9pm. '.repeat(20).slice(0, 1500)

describe('relay to relay reconciliation', () => {
  it('converges with hundreds of 1.6 KB posts missing on each side', { timeout: 180_000 }, async () => {
    const a = await startRelay()
    const hood = await neighborhood(a, ['Ana'])
    const b = await startRelay({ tokens: [hood.token] })
    const state = (await (await Home.open(hood.admin)).hoods())[0]!
    const topic = privateTopic(state.hood.id)
    const author = await createIdentity('Ana')
    const now = Date.now()
    const put = async (relay: Relay, offset: number): Promise<void> => {
      for (let i = 0; i < PER_SIDE; i++) {
        const post = createPost({ kind: 'info', text: `${offset + i} ${TEXT}`, now: now - 60_000 + offset + i })
        const { bytes } = await sealPost(author, topic, currentEpochKeys(state), post)
        await relay.store.put({ topic, id: sha256(bytes), ts: post.created, exp: post.expires, bytes })
      }
    }
    await put(a, 0)
    await put(b, 10_000)
    const before = a.store.items(topic).size
    await a.node.dial(multiaddr(tcpAddr(b)))
    await a.syncWith(b.node.peerId)
    expect(a.store.items(topic).size).toBe(before + PER_SIDE)
    expect(b.store.items(topic).size).toBe(a.store.items(topic).size)
    expect(a.metrics.get('porchlight_sync_sessions_total', { role: 'client', outcome: 'error' })).toBe(0)
  })
})
