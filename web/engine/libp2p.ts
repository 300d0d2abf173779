/**
 * The browser's libp2p node: WebSockets to relays (no listener, no WebRTC in this version),
 * Noise, Yamux, identify, ping, and gossipsub with the options every runtime shares
 * (protocol/peer/gossip.ts), behind the page's connection gater (gater.ts).
 */
import { createLibp2p } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import { sharedGossipOptions, type PorchlightNode } from '../../protocol/peer/gossip.ts'
import { denyDial, type GatePolicy } from './gater.ts'

export async function createBrowserNode (policy: GatePolicy, privateKey?: PrivateKey): Promise<PorchlightNode> {
  return await createLibp2p({
    ...(privateKey !== undefined ? { privateKey } : {}),
    addresses: { listen: [] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: (ma) => denyDial(policy, ma) },
    peerDiscovery: [],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(sharedGossipOptions())
    }
  }) as unknown as PorchlightNode
}
