// A received post's message and its feed entry and week count go to two LevelDBs, neither write
// synced: a power cut can keep the count and lose the message (simulated here by deleting the
// message only). Sync then fetches the post again, and it is counted once, not twice.
import { describe, it, expect, afterAll } from 'vitest'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import { cleanUp, neighborhood, nextPost, peer, startRelay } from '../helpers/network.ts'

afterAll(async () => { await cleanUp() })

describe('a received post lost from the message store but not from the local store', () => {
  it('is counted once in its week after sync fetches it again', { timeout: 90_000 }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben'])
    const [ana, ben] = [await peer(hood.members[0]!), await peer(hood.members[1]!)]
    const marker = `marker-${toHex(randomBytes(8))}`
    const got = nextPost(ben, p => p.text.includes(marker))
    const sent = await ana.post({ kind: 'suspicious', text: `Van by the gate ${marker}` })
    expect(sent.result.ok).toBe(true)
    const shown = await got
    const thisWeek = async (): Promise<number> => (await ben.weekContext()).kinds.find(k => k.kind === 'suspicious')?.thisWeek ?? 0
    expect(await thisWeek()).toBe(1)
    // The crash's outcome on disk: the unsynced message is gone, the feed entry and count stayed.
    await ben.messages.delete(fromHex(shown.id))
    await ben.sync()
    expect(ben.messages.has(fromHex(shown.id))).toBe(true)
    expect(await thisWeek()).toBe(1)
  })
})
