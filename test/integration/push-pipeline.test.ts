// One push stream carries many requests: answers come back in request order, each only
// after its message is stored, and a refused request in the middle does not disturb the rest.
import { describe, it, expect, afterAll } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode } from '../../node/libp2p.ts'
import { PushSession } from '../../protocol/peer/push.ts'
import { sealPost } from '../../protocol/envelope.ts'
import { createPost } from '../../protocol/post.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { currentEpochKeys } from '../../node/storage/home-dir.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { cleanUp, neighborhood, startRelay, tcpAddr, until } from '../helpers/network.ts'

afterAll(cleanUp)

describe('pipelined push', () => {
  it('acks many messages on one stream in order, refusing only the bad one', async () => {
    const relay = await startRelay({ peerRate: { perSecond: 1000, burst: 1000 } })
    const hood = await neighborhood(relay, ['Ana'])
    const state = (await (await Home.open(hood.admin)).hoods())[0]!
    const topic = privateTopic(state.hood.id)
    const author = await createIdentity('Ana')
    const envelopes = await Promise.all(Array.from({ length: 120 }, async (_, i) =>
      (await sealPost(author, topic, currentEpochKeys(state), createPost({ kind: 'info', text: `note ${i}` }))).bytes))
    const garbage = new Uint8Array([0xa1, 0x61, 0x74, 0x61, 0x78])
    const acceptedBefore = relay.metrics.get('porchlight_messages_accepted_total', { via: 'push' })
    const client = await createNode({})
    try {
      const session = await PushSession.open(client, multiaddr(tcpAddr(relay)))
      const sent = [...envelopes.slice(0, 60), garbage, ...envelopes.slice(60)]
      const results = await Promise.all(sent.map(async m => session.push(topic, m)))
      await session.close()
      expect(results[60]).toMatchObject({ ok: false, code: 'BAD_DOMAIN' })
      expect(results.filter(r => r.ok)).toHaveLength(120)
      for (const e of envelopes) expect(relay.store.has(sha256(e))).toBe(true)
      expect(relay.metrics.get('porchlight_messages_accepted_total', { via: 'push' }) - acceptedBefore).toBe(120)
      // A stream that ends cleanly after its last request is no refusal (it was counted as one).
      await until(() => relay.metrics.get('porchlight_pushes_total', { outcome: 'refused' }) >= 1, 5000, 'the garbage refusal to be counted')
      expect(relay.metrics.get('porchlight_messages_rejected_total', { reason: 'UNAVAILABLE' })).toBe(0)
      expect(relay.metrics.get('porchlight_pushes_total', { outcome: 'refused' })).toBe(1)
    } finally {
      await client.stop()
    }
  })
})
