// What a resident does with each post on its way, with a real relay and real LevelDB: a post
// received by gossip is stored without an fsync (its relay holds it; sync brings back one lost
// in a crash), while the resident's own post is written durably.
import { describe, it, expect, afterAll, vi } from 'vitest'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import type { BackendOp } from '../../protocol/peer/storage.ts'
import { LevelMessageBackend } from '../../node/storage/level-messages.ts'
import { cleanUp, neighborhood, nextPost, peer, startRelay } from '../helpers/network.ts'

afterAll(async () => {
  vi.restoreAllMocks()
  await cleanUp()
})

describe('a resident on the delivery path', () => {
  it('keeps its own post with an fsync and a received one without', { timeout: 90_000 }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben'])
    const [ana, ben] = [await peer(hood.members[0]!), await peer(hood.members[1]!)]
    // Every message-store batch, by which LevelDB it went to and whether it was synced.
    const batches: Array<{ db: unknown, ops: readonly BackendOp[], sync: boolean }> = []
    const real = LevelMessageBackend.prototype.batch
    vi.spyOn(LevelMessageBackend.prototype, 'batch').mockImplementation(async function (this: LevelMessageBackend, ops, options) {
      batches.push({ db: this, ops, sync: options?.sync !== false })
      return await real.call(this, ops, options)
    })
    const marker = `marker-${toHex(randomBytes(8))}`
    const got = nextPost(ben, p => p.text.includes(marker))
    const sent = await ana.post({ kind: 'suspicious', text: `Van by the gate ${marker}` })
    expect(sent.result.ok).toBe(true)
    const shown = await got
    expect(ben.messages.has(fromHex(shown.id))).toBe(true)
    const writes = batches.filter(b => b.ops.some(op => op.type === 'put' && op.key.endsWith(sent.id)))
    // Ana's own copy (before the push), the relay's (before its ack), then Ben's from gossip.
    expect(new Set(writes.map(w => w.db)).size).toBe(3)
    expect(writes.map(w => w.sync)).toEqual([true, true, false])
    vi.restoreAllMocks()
  })
})
