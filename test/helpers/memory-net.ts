/**
 * Peers that speak the framed protocols of protocol/peer/ (push, sync) to each other over
 * in-memory stream pairs (@libp2p/utils `streamPair`): no TCP, no muxer negotiation, no
 * libp2p node. Each MemoryPeer has a real peer id and the slice of the libp2p node API those
 * protocols use (`handle`, `dialProtocol`, `dial` → `newStream`); a cast makes it the
 * PorchlightNode they take.
 */
import { streamPair } from '@libp2p/utils'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import type { PorchlightNode } from '../../protocol/peer/gossip.ts'
import { SILENT_LOGGER } from '../../protocol/peer/log.ts'

export class MemoryNet {
  readonly peers = new Map<string, MemoryPeer>()
  /** Handler failures (they would be unhandled rejections in libp2p's hands). */
  readonly handlerErrors: unknown[] = []
  /** Handlers still running: `settled()` waits for them. */
  private readonly running = new Set<Promise<void>>()

  async peer (): Promise<MemoryPeer> {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const p = new MemoryPeer(this, peerId)
    this.peers.set(peerId.toString(), p)
    return p
  }

  /** Opens a stream from `from` to `to`'s handler of `protocol`; the handler runs on the far end. */
  async open (from: MemoryPeer, to: PeerId, protocol: string): Promise<Stream> {
    const target = this.peers.get(to.toString())
    if (target === undefined) throw Object.assign(new Error(`no peer ${to.toString()}`), { name: 'DialError' })
    const handler = target.handlers.get(protocol)
    if (handler === undefined) throw Object.assign(new Error(`protocol ${protocol} not supported`), { name: 'UnsupportedProtocolError' })
    const [outbound, inbound] = await streamPair({ protocol, delay: 0 })
    const connection = fakeConnection(from.peerId, to, this)
    const run = (async () => { await handler(inbound, connection) })()
      .catch((err: unknown) => { this.handlerErrors.push(err) })
    this.running.add(run)
    void run.finally(() => { this.running.delete(run) })
    return outbound
  }

  /** Resolves when every handler started so far has returned. */
  async settled (): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running])
  }
}

function fakeConnection (remote: PeerId, local: PeerId, net: MemoryNet): Connection {
  return {
    remotePeer: remote,
    remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/4001'),
    direction: 'inbound',
    status: 'open',
    newStream: async (protocol: string | string[]) => {
      const from = net.peers.get(local.toString())!
      return await net.open(from, remote, Array.isArray(protocol) ? protocol[0]! : protocol)
    }
  } as unknown as Connection
}

export class MemoryPeer {
  readonly handlers = new Map<string, StreamHandler>()

  constructor (private readonly net: MemoryNet, readonly peerId: PeerId) {}

  /** This peer as the libp2p node the protocol modules take. */
  get node (): PorchlightNode { return this as unknown as PorchlightNode }

  /** Components log through the node's logger; here nothing is printed. */
  readonly logger = { forComponent: () => SILENT_LOGGER }

  async handle (protocol: string, handler: StreamHandler): Promise<void> {
    this.handlers.set(protocol, handler)
  }

  async unhandle (protocol: string): Promise<void> {
    this.handlers.delete(protocol)
  }

  async dialProtocol (peer: PeerId, protocol: string): Promise<Stream> {
    return await this.net.open(this, peer, protocol)
  }

  async dial (peer: PeerId): Promise<Connection> {
    if (!this.net.peers.has(peer.toString())) throw Object.assign(new Error(`no peer ${peer.toString()}`), { name: 'DialError' })
    const outbound = fakeConnection(peer, this.peerId, this.net)
    return outbound
  }
}
