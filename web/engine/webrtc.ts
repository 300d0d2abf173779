/**
 * Direct WebRTC connections between the browsers of one neighborhood, so two neighbors' tabs
 * keep gossiping when their relay is gone (a restart, an outage).
 *
 * - The page listens on `/p2p-circuit` (a circuit relay v2 reservation on each relay it is
 *   connected to) and on `/webrtc` (it answers WebRTC signalling that arrives over a relayed
 *   connection).
 * - It learns which browsers to dial from its relays: `/porchlight/neighbors/1` names the peers
 *   that proved the tag key of the same private topic to that relay and hold a reservation there
 *   (node/relay/neighbors.ts). The relay answers only a peer that proved that topic itself.
 * - It dials each over `<relay>/p2p-circuit/webrtc/p2p/<peer>`: the relayed connection (limited
 *   by the relay, and gossipsub does not run on it) carries only the signalling, which is
 *   Noise-encrypted end to end, so the relay does not read the offers and their addresses.
 *   Gossipsub then runs over the direct connection with the same options and message ids as
 *   everywhere (protocol/peer/gossip.ts).
 * - The gater refuses relayed connections from peers no relay named as a member (gater hook
 *   below), so a stranger who knows a browser's peer id cannot reach it through the relay, see
 *   which topics it subscribes to, or learn its addresses from WebRTC.
 * - No third-party STUN server by default (libp2p's default asks Google's, Twilio's, Cloudflare's
 *   and Mozilla's, telling each the browser's address): host candidates only, which connects
 *   browsers on one network; `iceServers` adds a STUN server (for example the relay's own).
 */
import { webRTC } from '@libp2p/webrtc'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { Connection, PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { Frames } from '../../protocol/peer/frames.ts'
import { isPrivateTopic } from '../../protocol/neighborhood.ts'
import type { PorchlightNode } from '../../protocol/peer/gossip.ts'

/** The relay's member directory (the same string as node/relay/neighbors.ts). */
export const NEIGHBORS_PROTOCOL = '/porchlight/neighbors/1'

/** Addresses the page listens on: a reservation on each relay, and WebRTC through it. */
export const WEBRTC_LISTEN = ['/p2p-circuit', '/webrtc']

/** How often the page asks its relays for neighbors (also on each relay connection and subscription). */
const REFRESH_MS = 15_000
const ASK_TIMEOUT_MS = 5_000
const DIAL_TIMEOUT_MS = 20_000
/** Most peer ids taken from one answer (a bound against a relay naming endless peers). */
const MAX_NEIGHBORS = 64

export interface WebRtcOptions {
  /** STUN/TURN servers for ICE. @default [] (no third party learns the browser's address) */
  iceServers?: RTCIceServer[]
}

/** The transports the page adds for WebRTC between browsers. */
export function webrtcTransports (options: WebRtcOptions = {}): ReturnType<typeof webRTC | typeof circuitRelayTransport>[] {
  return [
    circuitRelayTransport(),
    webRTC({ rtcConfiguration: { iceServers: options.iceServers ?? [] } })
  ]
}

/** True for a direct WebRTC connection (not the relayed one its signalling used). */
export function isWebRtc (connection: Connection): boolean {
  return connection.limits === undefined && connection.remoteAddr.getComponents().some(c => c.name === 'webrtc')
}

/**
 * Finds the neighborhood's other browsers through the relays and keeps a direct WebRTC
 * connection to each. `denies(peer)` is the gater's answer for an inbound relayed connection.
 */
export class WebRtcNeighbors {
  /** Peers a relay named as members of one of our private topics. */
  private readonly members = new Set<string>()
  private readonly dialing = new Set<string>()
  private timer: ReturnType<typeof setInterval> | undefined
  private refreshing: Promise<void> | undefined
  private node: PorchlightNode | undefined

  /** Starts on a running node (the gater built before it asks `denies` from then on). */
  start (node: PorchlightNode): void {
    this.node = node
    const soon = (): void => { void this.refresh() }
    node.addEventListener('peer:identify', (evt) => { if (evt.detail.protocols.includes(NEIGHBORS_PROTOCOL)) soon() })
    node.services.pubsub.addEventListener('subscription-change', soon)
    this.timer = setInterval(soon, REFRESH_MS)
    node.addEventListener('stop', () => { this.stop() })
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.node = undefined
  }

  /** The gater: refuse a relayed connection from a peer no relay named as a member (asking again first). */
  async denies (remote: PeerId): Promise<boolean> {
    const id = remote.toString()
    if (this.members.has(id)) return false
    await this.refresh(false)
    return !this.members.has(id)
  }

  /** Asks every connected relay for the members of each private topic; dials the new ones. */
  async refresh (dial = true): Promise<void> {
    this.refreshing ??= this.ask().finally(() => { this.refreshing = undefined })
    await this.refreshing
    if (dial) this.dialAll()
  }

  /** Members known now (for tests and diagnostics). */
  known (): string[] { return [...this.members] }

  private async ask (): Promise<void> {
    const node = this.node
    if (node === undefined) return
    const topics = node.services.pubsub.getTopics().filter(isPrivateTopic)
    if (topics.length === 0) return
    const relays = node.getConnections().filter(c => c.limits === undefined && c.status === 'open' && !isWebRtc(c))
    // The answers replace what relays said before: a member removed (or gone) is no longer let in.
    const named = new Set<string>()
    let answered = false
    await Promise.all(relays.map(async conn => {
      const protocols = await node.peerStore.get(conn.remotePeer).then(p => p.protocols, (): string[] => [])
      if (!protocols.includes(NEIGHBORS_PROTOCOL)) return
      for (const topic of topics) {
        try {
          for (const peer of await askRelay(conn, topic)) {
            if (peer === node.peerId.toString()) continue
            named.add(peer)
            this.via.set(peer, conn)
          }
          answered = true
        } catch { /* a relay that did not answer names no one this time */ }
      }
    }))
    if (!answered) return
    this.members.clear()
    for (const peer of named) this.members.add(peer)
    for (const peer of this.via.keys()) if (!named.has(peer)) this.via.delete(peer)
  }

  /** The relay connection each member was last named on (its circuit address goes through it). */
  private readonly via = new Map<string, Connection>()

  private dialAll (): void {
    const node = this.node
    if (node === undefined) return
    for (const peer of this.members) {
      if (this.dialing.has(peer) || node.getConnections().some(c => c.remotePeer.toString() === peer && isWebRtc(c))) continue
      const relay = this.via.get(peer)
      if (relay === undefined || relay.status !== 'open') continue
      this.dialing.add(peer)
      void node.dial(circuitWebRtcAddr(relay, peer), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
        .catch(() => { /* tried again at the next refresh */ })
        .finally(() => { this.dialing.delete(peer) })
    }
  }
}

/** `<relay address>/p2p/<relay>/p2p-circuit/webrtc/p2p/<peer>`: WebRTC signalled through the relay. */
export function circuitWebRtcAddr (relay: Connection, peer: string): Multiaddr {
  const base = relay.remoteAddr.getComponents().filter(c => c.name !== 'p2p').map(c => `/${c.name}${c.value !== undefined ? `/${c.value}` : ''}`).join('')
  return multiaddr(`${base}/p2p/${relay.remotePeer.toString()}/p2p-circuit/webrtc/p2p/${peer}`)
}

/** One question to a relay: the browsers it knows as members of `topic` (node/relay/neighbors.ts). */
export async function askRelay (conn: Connection, topic: string): Promise<string[]> {
  const stream = await conn.newStream(NEIGHBORS_PROTOCOL, { signal: AbortSignal.timeout(ASK_TIMEOUT_MS) })
  const frames = new Frames(stream, ASK_TIMEOUT_MS, 64 * 1024)
  try {
    await frames.write(new TextEncoder().encode(topic))
    const answer = JSON.parse(new TextDecoder().decode(await frames.read())) as { peers?: unknown }
    const peers = Array.isArray(answer.peers) ? answer.peers.filter((p): p is string => typeof p === 'string' && p.length < 128) : []
    return peers.slice(0, MAX_NEIGHBORS)
  } finally {
    await frames.close()
  }
}
