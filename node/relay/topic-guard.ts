/**
 * Keeps a relay's private topics out of reach of peers that have not proven the topic's tag
 * key (in a sync session: protocol/sync-auth.ts). gossipsub picks whom it forwards to, gossips
 * to and floods from the peers it believes subscribed to a topic (and the mesh grafted from
 * them), so the guard stands at the doors of that belief:
 * - a peer's SUBSCRIBE to a private topic is held back until the peer proves the key;
 * - a GRAFT into a private topic's mesh from an unproven peer is ignored (as gossipsub
 *   ignores GRAFTs for unknown topics);
 * - the relay's own SUBSCRIBE to a private topic is sent only to peers that proved it, so an
 *   outsider connected to the relay does not even learn which topics it carries;
 * - IHAVE and IWANT about a private topic from an unproven peer are ignored (the first would
 *   answer whether the relay carries a topic, the second hands out cached messages by id).
 * A proof lasts while its epoch is open; when a rekey closes it the peer is let go from the
 * topic until it proves the new key (honest members re-sync after a rekey).
 *
 * gossipsub offers no hook for this, so the guard wraps six of its methods on the instance
 * (the six names are those of @libp2p/gossipsub 17: the constructor throws if one is missing, and
 * test/integration/sync-auth.test.ts checks the behaviour).
 */
import type { PeerId } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import { isPrivateTopic } from '../../protocol/neighborhood.ts'

/** Subscriptions held back per peer (a bound against a peer naming endless topics). */
const MAX_HELD_PER_PEER = 64

/** The gossipsub internals the guard wraps. */
interface GossipInternals {
  handleReceivedSubscription: (from: PeerId, topic: string, subscribe: boolean) => boolean
  handleGraft: (id: string, graft: Array<{ topicID?: string }>) => Promise<unknown[]>
  handleIHave: (id: string, ihave: Array<{ topicID?: string }>) => unknown[]
  handleIWant: (id: string, iwant: unknown[]) => Array<{ topic?: string }>
  sendSubscriptions: (toPeer: string, topics: string[], subscribe: boolean) => void
  removePeer: (peerId: PeerId) => void
  graftOnSubscribe: (id: string, topic: string) => boolean
  sendGraft: (id: string, topics: string[]) => void
  sendPrune: (id: string, topic: string) => Promise<void>
  mesh: Map<string, Set<string>>
  topics: Map<string, Set<string>>
  subscriptions: Set<string>
}

export class PrivateTopicGuard {
  /** peer → topic → epoch proven. */
  private readonly proven = new Map<string, { peer: PeerId, topics: Map<string, number> }>()
  /** peer → its held-back subscriptions. */
  private readonly held = new Map<string, { peer: PeerId, topics: Set<string> }>()
  private readonly gossip: GossipInternals
  private readonly original: Pick<GossipInternals, 'handleReceivedSubscription' | 'handleGraft' | 'handleIHave' | 'handleIWant' | 'sendSubscriptions' | 'removePeer'>

  constructor (pubsub: GossipSub) {
    const g = pubsub as unknown as GossipInternals
    for (const name of ['handleReceivedSubscription', 'handleGraft', 'handleIHave', 'handleIWant', 'sendSubscriptions', 'removePeer', 'graftOnSubscribe', 'sendGraft', 'sendPrune'] as const) {
      if (typeof g[name] !== 'function') throw new Error(`gossipsub has no ${name}(): the private topic guard needs updating`)
    }
    this.gossip = g
    this.original = {
      handleReceivedSubscription: g.handleReceivedSubscription.bind(g),
      handleGraft: g.handleGraft.bind(g),
      handleIHave: g.handleIHave.bind(g),
      handleIWant: g.handleIWant.bind(g),
      sendSubscriptions: g.sendSubscriptions.bind(g),
      removePeer: g.removePeer.bind(g)
    }
    g.handleReceivedSubscription = (from, topic, subscribe) => {
      if (!isPrivateTopic(topic) || this.isProven(from.toString(), topic)) return this.original.handleReceivedSubscription(from, topic, subscribe)
      this.hold(from, topic, subscribe)
      return false
    }
    g.handleGraft = async (id, graft) => await this.original.handleGraft(id, graft.filter(({ topicID }) =>
      topicID == null || !isPrivateTopic(topicID) || this.isProven(id, topicID)))
    // IHAVE would let a stranger ask whether the relay carries a topic (it answers IWANT), and
    // IWANT hands out any cached message by id: both only for topics the peer proved.
    g.handleIHave = (id, ihave) => this.original.handleIHave(id, ihave.filter(({ topicID }) =>
      topicID == null || !isPrivateTopic(topicID) || this.isProven(id, topicID)))
    g.handleIWant = (id, iwant) => this.original.handleIWant(id, iwant).filter(m =>
      m.topic == null || !isPrivateTopic(m.topic) || this.isProven(id, m.topic))
    g.sendSubscriptions = (toPeer, topics, subscribe) => {
      const shown = topics.filter(t => !isPrivateTopic(t) || this.isProven(toPeer, t))
      if (shown.length > 0) this.original.sendSubscriptions(toPeer, shown, subscribe)
    }
    g.removePeer = (peerId) => {
      const id = peerId.toString()
      this.proven.delete(id)
      this.held.delete(id)
      this.original.removePeer(peerId)
    }
  }

  isProven (peer: string, topic: string): boolean {
    return this.proven.get(peer)?.topics.has(topic) === true
  }

  /** Peers currently let into a private topic. */
  provenPeers (topic: string): string[] {
    return [...this.proven].filter(([, p]) => p.topics.has(topic)).map(([peer]) => peer)
  }

  /**
   * `peer` proved `topic`'s tag key for `epoch`: from now on it hears the relay's subscription,
   * its own (held back) subscription counts, and it may join the mesh.
   */
  prove (peer: PeerId, topic: string, epoch: number): void {
    const id = peer.toString()
    let p = this.proven.get(id)
    const before = p?.topics.get(topic)
    if (p === undefined) { p = { peer, topics: new Map() }; this.proven.set(id, p) }
    p.topics.set(topic, Math.max(epoch, before ?? epoch))
    if (before !== undefined) return
    if (this.gossip.subscriptions.has(topic)) this.original.sendSubscriptions(id, [topic], true)
    const held = this.held.get(id)
    if (held?.topics.delete(topic) === true) {
      this.original.handleReceivedSubscription(held.peer, topic, true)
      if (this.gossip.graftOnSubscribe(id, topic)) this.gossip.sendGraft(id, [topic])
    }
  }

  /** Lets go every peer whose proof of `topic` is for an epoch `stillOpen` no longer accepts. */
  expire (topic: string, stillOpen: (epoch: number) => boolean): number {
    let n = 0
    for (const [id, p] of this.proven) {
      const epoch = p.topics.get(topic)
      if (epoch === undefined || stillOpen(epoch)) continue
      p.topics.delete(topic)
      n++
      this.original.sendSubscriptions(id, [topic], false)
      // The peer is out of the mesh already; the PRUNE only tells it so (a peer gone cannot hear it).
      if (this.gossip.mesh.get(topic)?.delete(id) === true) void this.gossip.sendPrune(id, topic).catch(() => {})
      // Its subscription is held again, to count once it proves the new epoch's key.
      if (this.gossip.topics.get(topic)?.has(id) === true) {
        this.original.handleReceivedSubscription(p.peer, topic, false)
        this.hold(p.peer, topic, true)
      }
    }
    return n
  }

  private hold (from: PeerId, topic: string, subscribe: boolean): void {
    const id = from.toString()
    let h = this.held.get(id)
    if (h === undefined) { h = { peer: from, topics: new Set() }; this.held.set(id, h) }
    if (!subscribe) h.topics.delete(topic)
    else if (h.topics.size < MAX_HELD_PER_PEER) h.topics.add(topic)
  }
}
