// An agency following many areas catches up on several at once, not one after another: each
// topic's session is a handful of round trips and a store commit, and 500 of them in a row took
// most of a city agency's catch-up (test/bench/scale-agency-bench.ts). Never more at once than
// SYNC_TOPICS_AT_ONCE, well inside what a relay lets one connection open (SYNC_MAX_INBOUND_STREAMS)
// and the streams it always keeps for an address holding few.
import { describe, it, expect, afterAll } from 'vitest'
import { createIdentity } from '../../protocol/identity.ts'
import { Frames } from '../../protocol/peer/frames.ts'
import { SYNC_TOPICS_AT_ONCE } from '../../protocol/peer/resident.ts'
import { SYNC_MAX_INBOUND_STREAMS } from '../../protocol/peer/sync.ts'
import { encodeResult, PROTOCOLS } from '../../protocol/wire.ts'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { openResidentPeer } from '../../node/resident.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { cleanUp, tempDir } from '../helpers/network.ts'

const AREAS = Array.from({ length: 24 }, (_, i) => `u4pr${'0123456789bcdefghjkmnpqrstuvwxyz'[i]!}`)
/** How long the stand-in relay holds each session: long enough that sessions in flight overlap. */
const HOLD_MS = 150

let relay: PorchlightNode | undefined
afterAll(async () => {
  await relay?.stop()
  await cleanUp()
})

describe('catching up on many topics', () => {
  it('syncs several topics at once, at most SYNC_TOPICS_AT_ONCE', { timeout: 60_000 }, async () => {
    expect(SYNC_TOPICS_AT_ONCE).toBeGreaterThan(1)
    expect(SYNC_TOPICS_AT_ONCE).toBeLessThanOrEqual(SYNC_MAX_INBOUND_STREAMS / 4)
    // A stand-in relay that serves no topic: each session is held a while, then answered NOT_FOUND.
    relay = await createNode({ tcpPort: 0 })
    let open = 0
    let most = 0
    let sessions = 0
    await relay.handle(PROTOCOLS.sync, async (stream) => {
      open++
      sessions++
      most = Math.max(most, open)
      const f = new Frames(stream)
      await new Promise(resolve => setTimeout(resolve, HOLD_MS))
      open--
      await f.write(encodeResult({ ok: false, code: 'NOT_FOUND', message: 'not served here' }))
      await f.close()
    }, { maxInboundStreams: 64 })
    const addr = relay.getMultiaddrs().map(String).find(a => a.includes('/tcp/') && !a.includes('/ws'))!

    const home = await Home.open(await tempDir('pl-agency-'))
    await home.saveAgency({ areas: AREAS, attestations: [], relays: [addr] })
    await home.saveIdentity(await createIdentity('City PD'))
    const peer = await openResidentPeer(home)
    try {
      await peer.start()
      await peer.sync()
      expect(sessions).toBe(AREAS.length)
      // One after another, `most` would be 1.
      expect(most).toBe(SYNC_TOPICS_AT_ONCE)
    } finally {
      await peer.stop()
    }
  })
})
