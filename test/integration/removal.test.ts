// Removal: admin Ana removes Cleo with `hood remove`. The rekey reaches Ben through gossip and
// Dan, offline meanwhile, through sync (both read what Ana posts next), and the relay (it learns
// the next tag key and stores the new epoch's posts); Cleo cannot open anything posted after
// her removal, and everyone keeps what came before.
import { describe, it, expect, afterAll } from 'vitest'
import { fromHex, peekDomain } from '../../protocol/encoding.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { deriveEpochKeys, privateTopic } from '../../protocol/neighborhood.ts'
import { decodeEnvelope, openEnvelope } from '../../protocol/envelope.ts'
import { decodeRekey, openRekey } from '../../protocol/rekey.ts'
import { Home, currentEpochKeys, epochKeys, type HoodState } from '../../node/storage/home-dir.ts'
import { cleanUp, cli, neighborhood, nextPost, peer, startRelay, until } from '../helpers/network.ts'

afterAll(cleanUp)

/** Generous: a loaded 2-core machine runs these beside the other integration tests. */
const TEST_TIMEOUT_MS = 180_000

const WAIT_MS = 30_000
/** How far behind Ana's clock Ben's runs (members' clocks differ; only the future is bounded). */
const SLOW_CLOCK_MS = 20_000

async function hoodOf (home: string): Promise<HoodState> {
  return (await (await Home.open(home)).hoods())[0]!
}

/** The PorchlightError code `fn` throws (fails the test if it returns or throws anything else). */
async function codeOf (fn: () => unknown): Promise<string> {
  try {
    await fn()
  } catch (err) {
    if (isPorchlightError(err)) return err.code
    throw err
  }
  throw new Error('expected a PorchlightError')
}

describe('removing a member', () => {
  it('locks the removed member out of new posts while the others read them', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben', 'Cleo', 'Dan'])
    const [anaHome, benHome, cleoHome, danHome] = hood.members as [string, string, string, string]
    const topic = privateTopic((await hoodOf(anaHome)).hood.id)

    // Ana learns the members' box keys from their join announcements (her feed syncs).
    await cli(anaHome, ['feed'])
    const members = (await cli(anaHome, ['--json', 'hood', 'members'])).json.members as Array<{ name: string, boxKey: string }>
    const cleoId = (await cli(cleoHome, ['--json', 'id', 'show'])).json as { boxKey: string }
    expect(members.map(m => m.name).sort()).toEqual(['Ana', 'Ben', 'Cleo', 'Dan'])
    expect(members.find(m => m.name === 'Cleo')!.boxKey).toBe(cleoId.boxKey)

    const ben = await peer(benHome)
    const cleo = await peer(cleoHome)
    await until(() => relay.node.services.pubsub.getSubscribers(topic).length >= 2, WAIT_MS, 'Ben and Cleo subscribed at the relay')

    // Before the removal: everyone reads Ana's post.
    const benGetsOld = nextPost(ben, p => p.text === 'before: van parked on Elm', WAIT_MS)
    const cleoGetsOld = nextPost(cleo, p => p.text === 'before: van parked on Elm', WAIT_MS)
    const oldId = (await cli(anaHome, ['--json', 'post', '--kind', 'suspicious', '--text', 'before: van parked on Elm'])).json.id as string
    expect((await benGetsOld).id).toBe(oldId)
    expect((await cleoGetsOld).id).toBe(oldId)

    // The removal: a rekey to epoch 1 sealed to Ana, Ben and Dan only, acknowledged by the relay.
    const removed = await cli(anaHome, ['--json', 'hood', 'remove', 'Cleo'])
    expect(removed.json).toEqual({ epoch: 1, remaining: 3, sent: true })
    const after = (await cli(anaHome, ['--json', 'hood', 'members'])).json.members as Array<{ name: string }>
    expect(after.map(m => m.name).sort()).toEqual(['Ana', 'Ben', 'Dan'])

    // Ben gets the new epoch through gossip; Cleo's copy of the rekey opens nothing for her.
    await until(async () => epochKeys(await hoodOf(benHome), 1) !== undefined, WAIT_MS, 'Ben to learn epoch 1 from the rekey')
    const rekeys: Uint8Array[] = []
    for await (const m of relay.store.list(topic)) if (peekDomain(m.bytes) === 'pl/rekey') rekeys.push(m.bytes)
    expect(rekeys.length, 'the relay stored the rekey').toBe(1)
    const cleoIdentity = await (await Home.open(cleoHome)).requireIdentity()
    const cleoBefore = await hoodOf(cleoHome)
    expect(await codeOf(async () => openRekey(rekeys[0]!, cleoIdentity, cleoBefore.hood))).toBe('DECRYPT_FAILED')

    const newText = 'after: someone checking car doors on Oak'
    const benGetsNew = nextPost(ben, p => p.text === newText, WAIT_MS)
    const sent = await cli(anaHome, ['--json', 'post', '--kind', 'crime', '--text', newText])
    const newId = sent.json.id as string
    expect((await benGetsNew).id).toBe(newId)

    // The relay learned epoch 1's tag key from the rekey, so it accepted and stored the post.
    const stored = await relay.store.get(fromHex(newId))
    expect(stored, 'the relay stored the new-epoch post').toBeDefined()
    const env = decodeEnvelope(stored!.bytes)
    expect(env.epoch).toBe(1)

    // Ben's clock runs behind Ana's: his first epoch-1 post is dated before the rekey.
    const rekeyTs = decodeRekey(rekeys[0]!).ts
    const benLate = await ben.post({ kind: 'info', text: 'after: Ben with a slow clock', now: rekeyTs - SLOW_CLOCK_MS })
    expect(benLate.result.ok, benLate.result.message).toBe(true)

    // Dan was offline through all of it: one sync brings the rekey and the posts it unlocks,
    // including Ben's, which sync order puts before the rekey.
    const dan = await peer(danHome)
    await dan.sync()
    expect(epochKeys(await hoodOf(danHome), 1)).toBeDefined()
    const danFeed = (await dan.feed()).map(p => p.id)
    expect(danFeed).toContain(newId)
    expect(danFeed).toContain(benLate.id)
    expect(danFeed).toContain(oldId)

    // Cleo: gossip and a full sync later, the post is not in her feed and she has no epoch 1.
    await cleo.sync()
    await ben.sync()
    expect((await ben.feed()).map(p => p.id)).toContain(newId)
    const cleoFeed = await cleo.feed()
    expect(cleoFeed.map(p => p.id)).not.toContain(newId)
    expect(cleoFeed.some(p => p.text.includes('car doors'))).toBe(false)
    const cleoState = await hoodOf(cleoHome)
    expect(cleoState.epochs.map(e => e.epoch)).toEqual([0])
    expect(epochKeys(cleoState, 1)).toBeUndefined()

    // Her keys cannot open the envelope: the peer refuses it, her current (old) keys are for
    // another epoch, and her old secret stretched to epoch 1 is not the new key.
    expect(await codeOf(async () => cleo.ingest(topic, stored!.bytes))).toBe('UNKNOWN_EPOCH')
    expect(await codeOf(() => openEnvelope(env, currentEpochKeys(cleoState), topic))).toBe('DECRYPT_FAILED')
    const guessed = deriveEpochKeys(cleoState.hood.id, 1, cleoState.epochs[0]!.secret)
    expect(['DECRYPT_FAILED', 'BAD_TAG']).toContain(await codeOf(() => openEnvelope(env, guessed, topic)))

    // What came before the removal stays readable to both.
    expect((await ben.feed()).map(p => p.id)).toContain(oldId)
    expect(cleoFeed.map(p => p.id)).toContain(oldId)
    const oldEnv = decodeEnvelope((await relay.store.get(fromHex(oldId)))!.bytes)
    expect(oldEnv.epoch).toBe(0)
    expect(openEnvelope(oldEnv, currentEpochKeys(cleoState), topic).length).toBeGreaterThan(0)
  })
})
