/**
 * The one libp2p node factory for every Node peer (resident, agency, relay): TCP and
 * WebSockets, Noise, Yamux, identify, ping, gossipsub with the options every runtime shares
 * (protocol/peer/gossip.ts); relays add the circuit relay v2 server so browsers can reach
 * each other.
 */
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub } from '@libp2p/gossipsub'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { randomBytes } from '../protocol/crypto.ts'
import { toHex } from '../protocol/encoding.ts'
import { sharedGossipOptions, type PorchlightNode } from '../protocol/peer/gossip.ts'

/**
 * Streams a peer may open on a new connection before this side has finished setting it up
 * (yamux buffers them). libp2p's default of 10 aborts the whole connection when a client
 * opens more at once (a burst of pushes, a sync per topic) while a loaded relay is still
 * upgrading it; the push handler's own limit is 64.
 */
export const MAX_EARLY_STREAMS = 64

/**
 * Unread bytes yamux keeps per stream before it stops granting the sender window: libp2p's
 * default is 4 MiB, and a stream nobody reads (identify's, after it has written) held that
 * much per connection. Flow control makes a reader that keeps up unaffected.
 */
export const MAX_STREAM_READ_BUFFER = 256 * 1024

/** Circuit relay reservations a relay holds at most, and for how long (browsers renew theirs). */
export const MAX_RELAY_RESERVATIONS = 256
export const RELAY_RESERVATION_TTL_MS = 10 * 60_000

/**
 * How often a relay pings each connection to find dead ones (libp2p's connection monitor; 10 s
 * by default, what residents keep to notice a lost relay soon). The monitor pings every
 * connection at once, a new stream each: at 2,000 peers that burst every 10 s stalled a relay
 * for seconds, and pings timing out in the stall closed live connections (scale:relay).
 */
export const RELAY_PING_INTERVAL_MS = 60_000

/** Connections a node keeps at most (NodeInit.maxConnections). */
const DEFAULT_MAX_CONNECTIONS = 300

export type { PorchlightNode }

export interface NodeInit {
  privateKey?: PrivateKey
  /** TCP port on 127.0.0.1 or `host`; undefined = no TCP listener, 0 = any free port. */
  tcpPort?: number
  /** WebSockets port; undefined = none. */
  wsPort?: number
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string
  /** Run the circuit relay v2 server (relays only). */
  relayServer?: boolean
  /** Max connections. @default 300 */
  maxConnections?: number
  /** Local address TCP dials leave from (a test's second loopback address, a multi-homed host). */
  dialFrom?: string
  /** Refuses connections libp2p's limits let through (a relay's per-IP cap, caps.ts). */
  connectionGater?: ConnectionGater
  /** PEM certificate and key: the WebSockets listener serves WSS (`/tls/ws`) instead of WS. */
  wsTls?: { cert: string, key: string }
  /** Public addresses the node announces instead of the ones it listens on (a relay behind NAT or a proxy). */
  announce?: string[]
}

export async function createNode (init: NodeInit = {}): Promise<PorchlightNode> {
  const host = init.host ?? '127.0.0.1'
  const listen: string[] = []
  if (init.tcpPort !== undefined) listen.push(`/ip4/${host}/tcp/${init.tcpPort}`)
  if (init.wsPort !== undefined) listen.push(`/ip4/${host}/tcp/${init.wsPort}/${init.wsTls !== undefined ? 'tls/ws' : 'ws'}`)
  const services: Record<string, unknown> = {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({
      ...sharedGossipOptions(),
      // gossipsub's IP-colocation penalty (-5 x surplus squared past 10 peers per IP) graylists
      // every peer past the ~14th behind one address, and a relay ignores a graylisted peer's
      // subscriptions, so it gets no live gossip. Households behind one CGNAT or building NAT
      // (and every test peer on 127.0.0.1) share an IP: relays allow their connection limit.
      ...(init.relayServer === true ? { scoreParams: { IPColocationFactorThreshold: init.maxConnections ?? DEFAULT_MAX_CONNECTIONS } } : {}),
      // Members connect to relays only (a star): a member a relay leaves out of its mesh hears
      // a post only from the relay's IHAVE at a later heartbeat (1 s; and not at all past what
      // the gossip of 3 heartbeats reaches). gossipsub refuses GRAFTs past Dhi (12): a relay
      // takes every member that grafts it, up to its connection limit.
      ...(init.relayServer === true ? { Dhi: init.maxConnections ?? DEFAULT_MAX_CONNECTIONS } : {})
    })
  }
  if (init.relayServer === true) {
    // libp2p keeps 15 reservations for 2 hours each, after their holder has gone: one IP could
    // take them all. More, shorter ones; the relay drops a reservation when its peer leaves and
    // limits them per IP (relay.ts).
    services.relay = circuitRelayServer({ reservations: { maxReservations: MAX_RELAY_RESERVATIONS, reservationTtl: RELAY_RESERVATION_TTL_MS } })
  }
  return await createLibp2p({
    ...(init.privateKey !== undefined ? { privateKey: init.privateKey } : {}),
    ...(init.connectionGater !== undefined ? { connectionGater: init.connectionGater } : {}),
    addresses: { listen, ...(init.announce !== undefined && init.announce.length > 0 ? { announce: init.announce } : {}) },
    // localAddress goes straight to net.connect (TCPSocketOptions lists only a subset of its options).
    transports: [tcp(init.dialFrom !== undefined ? { dialOpts: { localAddress: init.dialFrom } as never } : {}), webSockets(init.wsTls !== undefined ? { https: { cert: init.wsTls.cert, key: init.wsTls.key } } : {})],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxEarlyStreams: MAX_EARLY_STREAMS, streamOptions: { maxReadBufferLength: MAX_STREAM_READ_BUFFER } })],
    connectionManager: {
      maxConnections: init.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      // A relay serves a whole neighborhood; many households can share one public IP (and
      // every test peer shares 127.0.0.1), so the per-IP inbound rate is looser than libp2p's 5/s.
      inboundConnectionThreshold: init.relayServer === true ? 100 : 5,
      maxIncomingPendingConnections: init.relayServer === true ? 64 : 10
    },
    ...(init.relayServer === true ? { connectionMonitor: { pingInterval: RELAY_PING_INTERVAL_MS } } : {}),
    services: services as never
  }) as unknown as PorchlightNode
}

/** Loads the node's libp2p key from `file`, creating it on first use (mode 0600). */
export async function loadOrCreateNodeKey (file: string): Promise<PrivateKey> {
  try {
    return privateKeyFromProtobuf(await readFile(file))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  // An exclusive temp file with a random suffix: nothing else (no planted link) is written to.
  const tmp = `${file}.tmp-${process.pid}-${toHex(randomBytes(6))}`
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  await rename(tmp, file)
  return key
}
