// A relay pings its connections less often than residents do (RELAY_PING_INTERVAL_MS, not
// libp2p's 10 s): libp2p pings every connection at once, and at a district's thousands of
// peers that burst stalled the relay and closed live connections whose pings timed out in it.
import { describe, it, expect, afterAll } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, RELAY_PING_INTERVAL_MS, type PorchlightNode } from '../../node/libp2p.ts'
import { cleanUp, startRelay, tcpAddr, until } from '../helpers/network.ts'

const PING = '/ipfs/ping/1.0.0'
const nodes: PorchlightNode[] = []
afterAll(async () => {
  for (const n of nodes) await Promise.resolve(n.stop()).catch(() => {})
  await cleanUp()
})

describe('a relay\'s pings', () => {
  it('come less often than a resident\'s, whose own reach the relay meanwhile', { timeout: 60_000 }, async () => {
    expect(RELAY_PING_INTERVAL_MS).toBeGreaterThan(20_000)
    const relay = await startRelay()
    const peer = await createNode({})
    nodes.push(peer)
    // The peer answers pings as libp2p's ping service does, counting those the relay opens.
    let fromRelay = 0
    await peer.unhandle(PING)
    await peer.handle(PING, async (stream) => {
      fromRelay++
      for await (const chunk of stream) stream.send(chunk.subarray())
      await stream.close()
    }, { runOnLimitedConnection: true })
    const relayConnection = await peer.dial(multiaddr(tcpAddr(relay)))
    expect(relayConnection.rtt).toBeUndefined()
    // Long enough for libp2p's default interval (10 s) to ping once each way.
    const end = Date.now() + 14_000
    await until(() => Date.now() > end, 20_000, 'the window')
    expect(relayConnection.status).toBe('open')
    // The peer's monitor pinged the relay (a resident's, at the default: the rtt it measured)...
    expect(relayConnection.rtt).toBeDefined()
    // ...and the relay has not pinged the peer yet.
    expect(fromRelay).toBe(0)
  })
})
