// A relay and a resident give the same gossip verdict for the same message, so no honest
// forwarder is ever penalised by one and not the other: a post ahead of its epoch's rekey and
// a post in an epoch just closed are IGNOREd by both (not the forwarder's fault); a forgery is
// REJECTed by both.
import { describe, it, expect, afterAll } from 'vitest'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { createIdentity } from '../../protocol/identity.ts'
import { deriveEpochKeys, newEpochSecret, privateTopic } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { encodeSignedPost, sealEnvelope } from '../../protocol/envelope.ts'
import { Home, currentEpochKeys } from '../../node/storage/home-dir.ts'
import { cleanUp, cli, neighborhood, peer, startRelay } from '../helpers/network.ts'

afterAll(cleanUp)

describe('gossip verdicts', () => {
  it('are the same on a relay and on a resident', { timeout: 120_000 }, async () => {
    const relay = await startRelay({ epochGraceMs: 0 })
    const hood = await neighborhood(relay, ['Ana', 'Ben', 'Cleo'])
    const [anaHome, benHome] = hood.members as [string, string, string]
    await cli(anaHome, ['feed'])
    const before = (await (await Home.open(benHome)).hoods())[0]!
    const topic = privateTopic(before.hood.id)
    const epoch0 = currentEpochKeys(before)
    const author = await createIdentity('Someone')
    const seal = async (keys: ReturnType<typeof deriveEpochKeys>, text: string): Promise<Uint8Array> => {
      const post = createPost({ kind: 'info', text })
      return sealEnvelope(keys, topic, await encodeSignedPost(author, topic, post), { ts: post.created, exp: post.expires })
    }
    await cli(anaHome, ['hood', 'remove', 'Cleo'])
    const ben = await peer(benHome)
    await ben.sync()
    const ahead = await seal(deriveEpochKeys(before.hood.id, 7, newEpochSecret()), 'an epoch nobody knows yet')
    const closed = await seal(epoch0, 'in the epoch the rekey closed')
    const forged = (await seal(epoch0, 'tampered')).map((b, i, a) => i === a.length - 1 ? b ^ 1 : b)
    const verdict = async (which: 'relay' | 'resident', data: Uint8Array): Promise<TopicValidatorResult> => {
      const node = which === 'relay' ? relay.node : ben.node()
      const validate = node.services.pubsub.topicValidators.get(topic)!
      return await validate(node.peerId, { type: 'unsigned', topic, data } as never) as TopicValidatorResult
    }
    // The resident judges live gossip by when it arrives, with its own grace: make it zero too.
    ;(ben as unknown as { init: { epochGraceMs: number } }).init.epochGraceMs = 0
    for (const [data, expected] of [[ahead, TopicValidatorResult.Ignore], [closed, TopicValidatorResult.Ignore], [forged, TopicValidatorResult.Reject]] as const) {
      expect([await verdict('relay', data), await verdict('resident', data)]).toEqual([expected, expected])
    }
  })
})
