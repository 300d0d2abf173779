/**
 * What every peer's gossipsub must agree on, in Node and in the browser: no peer id or
 * signature stamped on messages (StrictNoSign; posts carry their own signatures), message
 * ids that are the SHA-256 of the data (the same message relayed twice is one message), and
 * the largest message accepted. A peer that differs breaks de-duplication for everyone.
 */
import type { Libp2p } from '@libp2p/interface'
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub'
import { sha256 } from '../crypto.ts'
import { MAX_MESSAGE_BYTES } from '../wire.ts'

/** The libp2p node every peer protocol runs on: identify, ping and gossipsub (relays add the circuit relay server). */
export type PorchlightNode = Libp2p<{ identify: unknown, ping: unknown, pubsub: GossipSub, relay?: unknown }>

/** Gossipsub frames around a message: the inbound limit is the message limit plus this. */
export const GOSSIP_FRAME_OVERHEAD = 4096

/** The gossipsub options both runtimes share; a runtime adds its own (scoring) on top. */
export function sharedGossipOptions (): Partial<GossipsubOpts> {
  return {
    globalSignaturePolicy: 'StrictNoSign',
    // Content-addressed ids: the same message relayed twice is one message.
    msgIdFn: (msg) => sha256(msg.data),
    fastMsgIdFn: undefined,
    allowPublishToZeroTopicPeers: true,
    emitSelf: false,
    maxInboundDataLength: MAX_MESSAGE_BYTES + GOSSIP_FRAME_OVERHEAD,
    // Validators do protocol checks; REJECT lowers the sender's score.
    asyncValidation: false
  }
}
