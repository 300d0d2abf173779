/**
 * The relay's member directory for browsers (`/porchlight/neighbors/1`, asked by
 * web/engine/webrtc.ts): a peer names a private topic and hears the peer ids of the others that
 * proved that topic's tag key to this relay (topic-guard.ts) and hold a circuit relay
 * reservation here, so the browsers of one neighborhood can dial each other over WebRTC
 * through this relay. A peer that has not proven the topic hears an empty list (the same as a
 * topic with no one else), so a stranger learns neither members nor whether the topic is served.
 * The relay learns nothing it did not know: who proved which topic, who holds a reservation.
 * Not on relayed (limited) connections: only a peer connected to this relay asks it.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { Frames } from '../../protocol/peer/frames.ts'
import { isPrivateTopic, MAX_TOPIC_BYTES } from '../../protocol/neighborhood.ts'
import type { PorchlightNode } from '../libp2p.ts'
import type { PrivateTopicGuard } from './topic-guard.ts'

/** The same string as web/engine/webrtc.ts. */
export const NEIGHBORS_PROTOCOL = '/porchlight/neighbors/1'

/** Peer ids in one answer at most (the browser takes no more either). */
const MAX_ANSWER = 64
const TIMEOUT_MS = 5_000

export async function serveNeighbors (node: PorchlightNode, guard: PrivateTopicGuard, reserved: () => Iterable<PeerId>): Promise<void> {
  await node.handle(NEIGHBORS_PROTOCOL, async (stream: Stream, connection: Connection) => {
    const frames = new Frames(stream, TIMEOUT_MS, MAX_TOPIC_BYTES + 16)
    try {
      const topic = new TextDecoder().decode(await frames.read())
      const asker = connection.remotePeer.toString()
      let peers: string[] = []
      if (isPrivateTopic(topic) && guard.isProven(asker, topic)) {
        const proven = new Set(guard.provenPeers(topic))
        peers = [...reserved()].map(String).filter(p => p !== asker && proven.has(p)).slice(0, MAX_ANSWER)
      }
      await frames.write(new TextEncoder().encode(JSON.stringify({ peers })))
      await frames.close()
    } catch {
      frames.abort('neighbors request failed')
    }
  }, { maxInboundStreams: 2 })
}
