// The relay's member directory for WebRTC between browsers (node/relay/neighbors.ts, asked by
// web/engine/webrtc.ts): a peer that proved a private topic's tag key hears the other provers
// that hold a circuit relay reservation; an outsider hears no one and is named to no one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { Libp2p } from '@libp2p/interface'
import { proveKey } from '../../protocol/peer/sync.ts'
import { sharedGossipOptions } from '../../protocol/peer/gossip.ts'
import { Home, currentEpochKeys } from '../../node/storage/home-dir.ts'
import { privateTopic, type EpochKeys } from '../../protocol/neighborhood.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { askRelay } from '../../web/engine/webrtc.ts'
import { NEIGHBORS_PROTOCOL } from '../../node/relay/neighbors.ts'
import { NEIGHBORS_PROTOCOL as PAGE_PROTOCOL } from '../../web/engine/webrtc.ts'
import { cleanUp, neighborhood, startRelay, tcpAddr, until } from '../helpers/network.ts'

const nodes: Libp2p[] = []
let relay: Relay
let relayAddr: Multiaddr
let topic: string
let keys: EpochKeys

/** A peer like a browser: a reservation on the relay (when `reserve`), gossipsub, connected to the relay. */
async function member (reserve: boolean): Promise<Libp2p> {
  const n = await createLibp2p({
    addresses: { listen: reserve ? ['/p2p-circuit'] : [] },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub(sharedGossipOptions()) }
  })
  nodes.push(n)
  await n.dial(relayAddr)
  if (reserve) await until(() => n.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit')), 15_000, 'a reservation')
  return n
}

async function ask (n: Libp2p, t = topic): Promise<string[]> {
  const conn = n.getConnections(relay.node.peerId)[0] ?? await n.dial(relayAddr)
  return (await askRelay(conn, t)).sort()
}

beforeAll(async () => {
  relay = await startRelay()
  relayAddr = multiaddr(tcpAddr(relay))
  const hood = await neighborhood(relay, ['Ana'])
  const state = (await (await Home.open(hood.admin)).hoods())[0]!
  keys = currentEpochKeys(state)
  topic = privateTopic(state.hood.id)
})

afterAll(async () => {
  for (const n of nodes) await Promise.resolve(n.stop()).catch(() => {})
  await cleanUp()
})

describe('the relay\'s member directory', () => {
  it('names to a prover the other provers holding a reservation, and to an outsider no one', async () => {
    expect(PAGE_PROTOCOL).toBe(NEIGHBORS_PROTOCOL)
    const [a, b, noReservation, outsider] = await Promise.all([member(true), member(true), member(false), member(true)])
    for (const n of [a, b, noReservation]) await proveKey(n as never, relayAddr, topic, keys)

    expect(await ask(a)).toEqual([b.peerId.toString()])
    expect(await ask(b)).toEqual([a.peerId.toString()])
    // The outsider holds a reservation and names the right topic: it hears no one, and no one hears of it.
    expect(await ask(outsider)).toEqual([])
    expect(await ask(a)).not.toContain(outsider.peerId.toString())
    // A public or made-up topic names no one either.
    expect(await ask(a, 'not-a-topic')).toEqual([])
    // A prover that leaves is no longer named.
    await b.stop()
    await until(async () => (await ask(a)).length === 0, 15_000, 'Ben to leave the directory')
  })
})
