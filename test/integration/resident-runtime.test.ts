// The Node runtime's dialFrom (a household on its own address: the relay's per-IP caps see it)
// and the feed's post event saying how each post came: live gossip, or a later sync.
import { describe, it, expect, afterAll } from 'vitest'
import { Home } from '../../node/storage/home-dir.ts'
import { openResidentPeer, type Arrival } from '../../node/resident.ts'
import { cleanUp, neighborhood, peer, startRelay, until } from '../helpers/network.ts'

afterAll(cleanUp)

describe('the resident runtime', () => {
  it('dials from the address given, and tells gossip from sync in the post event', async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben', 'Cleo'])
    const [anaHome, benHome, cleoHome] = hood.members as [string, string, string]
    const ben = await openResidentPeer(await Home.open(benHome), { publicDelayMs: () => 0 }, { dialFrom: '127.0.0.9' })
    await ben.start()
    try {
      expect(relay.node.getConnections().some(c => c.remoteAddr.toString().startsWith('/ip4/127.0.0.9/'))).toBe(true)
      const ana = await peer(anaHome)
      const heard: Arrival[] = []
      ben.onPost((_, via) => { heard.push(via) })
      expect((await ana.post({ kind: 'info', text: 'gate left open' })).result.ok).toBe(true)
      await until(() => heard.length === 1, 15_000, 'Ben hears the post')
      expect(heard).toEqual(['gossip'])

      // Cleo was away: the post reaches her feed by sync when she starts.
      const cleo = await openResidentPeer(await Home.open(cleoHome), { publicDelayMs: () => 0 })
      const cleoHeard: Arrival[] = []
      cleo.onPost((_, via) => { cleoHeard.push(via) })
      await cleo.start()
      await cleo.sync()
      await cleo.stop()
      expect(cleoHeard).toContain('sync')
    } finally {
      await ben.stop()
    }
  }, 120_000)
})
