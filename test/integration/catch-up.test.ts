// Offline catch-up: Ben is offline while Ana makes 200 posts through the relay; when he comes
// back, one sync hands him exactly those 200, and the bytes it costs track the difference
// (the 200 missed envelopes), not the history he already holds.
import { describe, it, expect, afterAll } from 'vitest'
import { fromHex } from '../../protocol/encoding.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { cleanUp, neighborhood, peer, startRelay } from '../helpers/network.ts'

afterAll(cleanUp)

/** Generous: a loaded 2-core machine runs these beside the other integration tests. */
const TEST_TIMEOUT_MS = 180_000

/** Posts Ben already holds before he goes offline (history a good sync must not resend). */
const HISTORY = 60
const MISSED = 200
/** Sync may cost at most this many times the bytes of the missed envelopes. */
const MAX_OVERHEAD = 1.5
// The test posts far faster than a person would; the per-peer rate limit is not under test.
const RELAY_RATE = { perSecond: 10_000, burst: 10_000 }
const GOSSIP_CACHE_MS = 4_000

describe('offline catch-up through sync', () => {
  it('hands a returning resident exactly the 200 posts he missed, for bytes near their size', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay({ peerRate: RELAY_RATE })
    const hood = await neighborhood(relay, ['Ana', 'Ben'])
    const [anaHome, benHome] = hood.members as [string, string]
    const topic = privateTopic((await (await Home.open(anaHome)).hoods())[0]!.hood.id)

    const ana = await peer(anaHome)
    for (let i = 0; i < HISTORY; i++) {
      expect((await ana.post({ kind: 'info', text: `history ${i}` })).result.ok).toBe(true)
    }

    // Ben catches up on the history, then goes offline.
    let ben = await peer(benHome)
    await ben.sync()
    expect((await ben.feed()).filter(p => p.text.startsWith('history ')).length).toBe(HISTORY)
    const before = new Set((await ben.feed()).map(p => p.id))
    const heldBefore = ben.messages.items(topic).size
    await ben.stop()

    const sent: string[] = []
    let missedBytes = 0
    for (let i = 0; i < MISSED; i++) {
      const out = await ana.post({ kind: 'safety', text: `missed ${i}: gate left open on the corner` })
      expect(out.result.ok, out.result.message).toBe(true)
      sent.push(out.id)
      missedBytes += (await relay.store.get(fromHex(out.id)))!.bytes.length
    }
    expect(new Set(sent).size).toBe(MISSED)
    for (const id of sent) expect(relay.store.has(fromHex(id))).toBe(true)

    // Ben returns once the relay's gossip cache (gossipsub keeps ~3 heartbeats of 1 s for
    // IHAVE) no longer holds Ana's last posts, so only sync can deliver what he missed.
    await new Promise(resolve => setTimeout(resolve, GOSSIP_CACHE_MS))
    ben = await peer(benHome)
    expect(ben.messages.items(topic).size).toBe(heldBefore)
    const stats = await ben.sync()
    const s = stats.find(x => x.topic === topic)
    expect(s, 'a sync of the private topic').toBeDefined()
    const bytes = s!.bytesIn + s!.bytesOut
    console.log(`catch-up sync: ${s!.received} received, ${s!.sent} given, bytes in ${s!.bytesIn} out ${s!.bytesOut} ` +
      `(total ${bytes}, ${(bytes / missedBytes).toFixed(3)}x of ${missedBytes} missed-envelope bytes), ` +
      `${s!.roundTrips} round trips, history held ${heldBefore}`)

    expect(s!.received).toBe(MISSED)
    expect(s!.sent).toBe(0)
    expect(ben.messages.items(topic).size).toBe(heldBefore + MISSED)
    const feed = await ben.feed()
    const fresh = feed.filter(p => !before.has(p.id))
    expect(fresh.map(p => p.id).sort()).toEqual([...sent].sort())
    expect(fresh.every(p => p.authorName === 'Ana' && p.text.startsWith('missed '))).toBe(true)
    for (const id of sent) expect(ben.messages.has(fromHex(id))).toBe(true)
    expect(bytes).toBeLessThanOrEqual(MAX_OVERHEAD * missedBytes)

    // A second sync finds nothing to move.
    const again = (await ben.sync()).find(x => x.topic === topic)!
    expect(again.received + again.sent).toBe(0)
  })
})
