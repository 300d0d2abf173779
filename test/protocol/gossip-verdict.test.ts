// One gossip verdict for relays and residents (protocol/peer/intake.ts gossipVerdict): the same
// message gets the same verdict from a relay's intake (validateMessage, refusals as a Result)
// and from a resident's engine (ResidentPeer.ingest, refusals thrown), here on an in-memory
// runtime. A post ahead of a rekey neither has seen is IGNOREd (no score penalty for the honest
// forwarder that saw the rekey first); a post with a forged membership tag is REJECTed.
import { describe, it, expect } from 'vitest'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { isPorchlightError } from '../../protocol/errors.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { deriveEpochKeys, newEpochSecret, privateTopic } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { encodeSignedPost, sealEnvelope } from '../../protocol/envelope.ts'
import { newHoodState } from '../../protocol/hood-state.ts'
import type { Result } from '../../protocol/wire.ts'
import { gossipVerdict, ServedTopics, validateMessage } from '../../protocol/peer/intake.ts'
import { ResidentPeer } from '../../protocol/peer/resident.ts'
import { MemoryHome, memoryRuntime } from '../helpers/memory-runtime.ts'
import { testHood } from '../helpers/protocol-fixtures.ts'

async function setup () {
  const now = Date.now()
  const admin = await createIdentity('Ana')
  const member = await createIdentity('Ben')
  const hood = testHood(admin)
  const topic = privateTopic(hood.id)
  const secret0 = newEpochSecret()
  const keys0 = deriveEpochKeys(hood.id, 0, secret0)
  // Epoch 1: an admin's rekey that neither the relay nor the resident has seen yet.
  const keys1 = deriveEpochKeys(hood.id, 1, newEpochSecret())
  const seal = async (keys: typeof keys0, text: string): Promise<Uint8Array> => {
    const post = createPost({ kind: 'info', text, now })
    return sealEnvelope(keys, topic, await encodeSignedPost(admin, topic, post), { ts: post.created, exp: post.expires })
  }
  // The relay: serves the hood with epoch 0's tag key.
  const served = new ServedTopics()
  served.addHood(topic, hood.founder, hood.salt)
  served.addPrivate(topic, 0, keys0.tagKey, now)
  const relayVerdict = async (bytes: Uint8Array): Promise<TopicValidatorResult> => {
    const result: Result = await validateMessage(topic, bytes, served, Date.now()).then(
      () => ({ ok: true }),
      (err: unknown) => isPorchlightError(err) ? { ok: false, code: err.code, message: err.message } : { ok: false, code: 'IO', message: 'internal error' })
    return result.ok ? TopicValidatorResult.Accept : gossipVerdict(result)
  }
  // The resident: a member holding epoch 0, on memory.
  const state = newHoodState({ hood, epoch: 0, secret: secret0, members: [admin.public, member.public], joined: now })
  const peer = await ResidentPeer.open(await memoryRuntime(new MemoryHome(member, [state])))
  const residentVerdict = async (bytes: Uint8Array): Promise<TopicValidatorResult> => {
    try {
      await peer.ingest(topic, bytes, sha256(bytes), 'gossip')
      return TopicValidatorResult.Accept
    } catch (err) {
      return gossipVerdict(err)
    }
  }
  return { keys0, keys1, seal, relayVerdict, residentVerdict, peer, hood }
}

describe('one gossip verdict on relays and residents', () => {
  it('a post ahead of its rekey: IGNORE on both (UNKNOWN_EPOCH is not the sender\'s fault)', async () => {
    const s = await setup()
    const ahead = await s.seal(s.keys1, 'posted right after the rekey')
    expect(await s.relayVerdict(ahead)).toBe(TopicValidatorResult.Ignore)
    expect(await s.residentVerdict(ahead)).toBe(TopicValidatorResult.Ignore)
    // For the same reason on both sides.
    await expect(s.peer.ingest(privateTopic(s.hood.id), ahead, sha256(ahead), 'gossip')).rejects.toMatchObject({ code: 'UNKNOWN_EPOCH' })
  })

  it('a post in the known epoch: ACCEPT on both; a forged membership tag: REJECT on both', async () => {
    const s = await setup()
    const good = await s.seal(s.keys0, 'hello')
    expect(await s.relayVerdict(good)).toBe(TopicValidatorResult.Accept)
    expect(await s.residentVerdict(good)).toBe(TopicValidatorResult.Accept)
    expect((await s.peer.feed()).map(p => p.text)).toEqual(['hello'])
    // Epoch 0 under another secret: right epoch, wrong tag key (an outsider's guess).
    const forged = await s.seal(deriveEpochKeys(s.hood.id, 0, newEpochSecret()), 'not a member')
    expect(await s.relayVerdict(forged)).toBe(TopicValidatorResult.Reject)
    expect(await s.residentVerdict(forged)).toBe(TopicValidatorResult.Reject)
  })

  it('an error that is not a PorchlightError is trouble on this side: IGNORE', () => {
    expect(gossipVerdict(new Error('disk on fire'))).toBe(TopicValidatorResult.Ignore)
    expect(gossipVerdict({ ok: false, code: 'BAD_TAG' })).toBe(TopicValidatorResult.Reject)
    expect(gossipVerdict({ ok: false, code: 'UNKNOWN_EPOCH' })).toBe(TopicValidatorResult.Ignore)
  })
})
