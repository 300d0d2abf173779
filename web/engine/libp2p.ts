/**
 * The browser's libp2p node: WebSockets to relays, and WebRTC to the neighborhood's other
 * browsers signalled through the relays' circuit relay v2 (webrtc.ts), Noise, Yamux, identify,
 * ping, and gossipsub with the options every runtime shares (protocol/peer/gossip.ts), behind
 * the page's connection gater (gater.ts; relayed connections only from members, webrtc.ts).
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
import { WEBRTC_LISTEN, WebRtcNeighbors, webrtcTransports, type WebRtcOptions } from './webrtc.ts'

/** The page's running nodes, for diagnostics (and the WebRTC browser test): `globalThis.porchlightNodes`. */
const nodes = new Set<PorchlightNode>()
;(globalThis as { porchlightNodes?: Set<PorchlightNode> }).porchlightNodes = nodes

export interface BrowserNodeOptions {
  /** Direct WebRTC connections to the neighborhood's other browsers. @default true */
  webrtc?: boolean | WebRtcOptions
}

export async function createBrowserNode (policy: GatePolicy, privateKey?: PrivateKey, options: BrowserNodeOptions = {}): Promise<PorchlightNode> {
  const rtc = options.webrtc === false ? undefined : (options.webrtc === true || options.webrtc === undefined ? {} : options.webrtc)
  const neighbors = rtc !== undefined ? new WebRtcNeighbors() : undefined
  const node = await createLibp2p({
    ...(privateKey !== undefined ? { privateKey } : {}),
    addresses: { listen: rtc !== undefined ? WEBRTC_LISTEN : [] },
    transports: [webSockets(), ...(rtc !== undefined ? webrtcTransports(rtc) : [])],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      denyDialMultiaddr: (ma) => denyDial(policy, ma),
      // Without WebRTC nothing may reach the page through a relay; with it, members only.
      denyInboundRelayedConnection: async (_relay, remote) => neighbors === undefined ? true : await neighbors.denies(remote)
    },
    peerDiscovery: [],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(sharedGossipOptions())
    }
  }) as unknown as PorchlightNode
  neighbors?.start(node)
  nodes.add(node)
  node.addEventListener('stop', () => { nodes.delete(node) })
  return node
}
