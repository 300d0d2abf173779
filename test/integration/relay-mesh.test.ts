// Members reach a relay only (a star): the relay keeps every member of a topic in its gossipsub
// mesh, so each post is pushed to each member at once, not announced (IHAVE) at a later
// heartbeat to the members past gossipsub's default upper degree (Dhi 12).
import { describe, it, expect, afterAll } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { areaTopic } from '../../protocol/neighborhood.ts'
import { cleanUp, startRelay, tcpAddr, until } from '../helpers/network.ts'

afterAll(cleanUp)

/** More than gossipsub's default Dhi (12), fewer than the relay's per-IP cap (32): all dial from 127.0.0.1. */
const MEMBERS = 20

describe('a relay\'s gossip mesh', () => {
  it('holds every member of a topic, past gossipsub\'s default degree', async () => {
    const relay = await startRelay({ areas: ['u4pruy'] })
    const topic = areaTopic('u4pruy')
    const members: PorchlightNode[] = []
    try {
      for (let i = 0; i < MEMBERS; i++) {
        const m = await createNode({})
        members.push(m)
        m.services.pubsub.subscribe(topic)
        await m.dial(multiaddr(tcpAddr(relay)))
      }
      const mesh = (): number => (relay.node.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(topic).length
      await until(() => relay.node.services.pubsub.getSubscribers(topic).length === MEMBERS, 15_000, 'every member subscribed at the relay')
      // Members graft the relay at their first heartbeats; a relay over Dhi would prune them again at its next.
      await new Promise(resolve => setTimeout(resolve, 3_000))
      expect(mesh()).toBe(MEMBERS)

    } finally {
      await Promise.all(members.map(async m => { await m.stop() }))
    }
  }, 60_000)
})
