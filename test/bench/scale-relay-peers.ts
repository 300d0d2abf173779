/**
 * A peer process of scale-relay-bench.ts: hosts many libp2p peers, each dialing from its
 * household's loopback address, subscribed to its neighborhood's private topic and its area's
 * public one. Driven over IPC by the bench:
 *
 *   init     {peers: [{addr, hood}], hoods: [{topic, area, epoch, tagKey}]}: create the nodes
 *   connect  {target, prove, timeoutMs}: every peer dials the server; with `prove`, proves its
 *            neighborhood's tag key in a sync session, as a resident does on meeting a relay
 *            (protocol/peer/resident.ts), so the relay's private-topic guard lets it in
 *   publish  {posts: [{peer, topic, data}], spreadMs}: peers publish on gossip, spread evenly
 *   count    messages received on each kind of topic since the last count (and reset), and
 *            the peers that lost their connection and came back (as a resident redials its
 *            relays and proves its key again)
 *   cpu      this process's CPU time so far (ms)
 *   hangup   every peer closes its connections (and stops coming back)
 *   stop
 *
 * What a peer is (benchPeer): a libp2p node of its own (its own Ed25519 peer id, its own Noise
 * handshake with the server, its own TCP connection from its own 127.0.0.x address) with what
 * a resident's node (node/libp2p.ts createNode) shows a server: TCP, Noise, Yamux with
 * createNode's options, identify, ping (it answers the server's connection monitor) and
 * gossipsub with the options every runtime shares (protocol/peer/gossip.ts). It leaves out
 * only what costs the peer's own process and not the server's work per peer:
 * - its own connection monitor (a resident pings its relay every 10 s as well: 200 pings/s
 *   more into the server at 2,000 peers; the server still pings every peer every 10 s);
 * - gossipsub's 1 s heartbeat and 1 s score decay (PEER_TIMER_MS instead). A peer grafts the
 *   server the moment the server's SUBSCRIBE arrives (gossipsub's graft on subscribe, below
 *   Dlo), as a resident's does, so a peer's heartbeat has nothing to do here: it has one
 *   peer, and publishes without a mesh of its own.
 * - the WebSockets transport (no peer listens).
 * 2,000 createNode peers needed ~1.1 of the machine's 2 cores just idle (heartbeats, pings), so
 * the fleet starved and the server lost peers to ping timeouts. The relay and the plain node
 * meet the same peers, created once, so the comparison is like for like.
 */
import '../../node/polyfill.ts'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub } from '@libp2p/gossipsub'
import { fromHex } from '../../protocol/encoding.ts'
import { isPrivateTopic } from '../../protocol/neighborhood.ts'
import { proveKey } from '../../protocol/peer/sync.ts'
import { sharedGossipOptions } from '../../protocol/peer/gossip.ts'
import { MAX_EARLY_STREAMS, MAX_STREAM_READ_BUFFER, type PorchlightNode } from '../../node/libp2p.ts'
import { useNativeCrypto } from '../../node/native-crypto.ts'
import { pool, sleep, stopQuietly } from './network-bench.ts'

/**
 * Dials (and proofs) in flight per peer process. The server aborts a handshake it has not
 * finished in 10 s (libp2p's inbound upgrade timeout) and the peer then dials again, so more in
 * flight than the server handles in that time only adds handshakes it throws away: at 16 per
 * process (64 in all) a loaded server timed out and redialed more than it admitted.
 */
const CONNECT_IN_FLIGHT = 8
const DIAL_ATTEMPTS = 8
const DIAL_TIMEOUT_MS = 15_000
/** A peer's gossipsub heartbeat and score decay: once a minute, not every second (see above). */
const PEER_TIMER_MS = 60_000

export interface PeerSpec { addr: string, hood: number }
export interface HoodSpec { topic: string, area: string, epoch: number, tagKey: string }
export interface ConnectReport { connected: number, proved: number, failed: number, retries: number, errors: string[], ms: number, skipped: number }

interface Peer { node: PorchlightNode, hood: number }

const peers: Peer[] = []
let hoods: HoodSpec[] = []
const received = { private: 0, area: 0 }
/** Where peers come back to when their connection drops (set by connect, cleared by hangup). */
let holding: { target: Multiaddr[], server: string | undefined, prove: boolean } | undefined
let comebacks = 0

/** One bench peer: a resident's node (createNode) without its own timers (see the header). */
async function benchPeer (dialFrom: string): Promise<PorchlightNode> {
  return await createLibp2p({
    // localAddress goes straight to net.connect, as in createNode.
    transports: [tcp({ dialOpts: { localAddress: dialFrom } as never })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxEarlyStreams: MAX_EARLY_STREAMS, streamOptions: { maxReadBufferLength: MAX_STREAM_READ_BUFFER } })],
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ ...sharedGossipOptions(), heartbeatInterval: PEER_TIMER_MS, scoreParams: { decayInterval: PEER_TIMER_MS } })
    }
  }) as unknown as PorchlightNode
}

async function init (specs: PeerSpec[], hoodSpecs: HoodSpec[]): Promise<void> {
  await useNativeCrypto()
  hoods = hoodSpecs
  for (const spec of specs) {
    const node = await benchPeer(spec.addr)
    const h = hoods[spec.hood]!
    node.services.pubsub.subscribe(h.topic)
    node.services.pubsub.subscribe(h.area)
    node.services.pubsub.addEventListener('message', (evt) => {
      if (isPrivateTopic(evt.detail.topic)) received.private++
      else received.area++
    })
    const peer = { node, hood: spec.hood }
    node.addEventListener('peer:disconnect', (evt) => {
      const back = holding
      // Only the current server counts (a late close from the previous one is not a drop).
      if (back === undefined || evt.detail.toString() !== back.server) return
      comebacks++
      void sleep(500 + Math.random() * 1000).then(async () => {
        if (holding === back) await join(peer, back.target, back.prove, () => {})
      }).catch(() => {})
    })
    peers.push(peer)
  }
}

/** Dials the server and, for the relay, proves the neighborhood's key. Returns the dials retried. */
async function join (p: Peer, target: Multiaddr[], prove: boolean, note: (err: unknown) => void): Promise<{ retries: number, proved: boolean }> {
  const retries = await dial(p.node, target, note)
  if (!prove) return { retries, proved: false }
  const h = hoods[p.hood]!
  await proveKey(p.node, target, h.topic, { epoch: h.epoch, tagKey: fromHex(h.tagKey) })
  return { retries, proved: true }
}

/** Dials with retries and backoff: a server past a rate or pending-connection limit refuses. */
async function dial (node: PorchlightNode, target: Multiaddr[], note: (err: unknown) => void): Promise<number> {
  for (let i = 1; ; i++) {
    try {
      await node.dial(target, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      return i - 1
    } catch (err) {
      note(err)
      if (i >= DIAL_ATTEMPTS) throw err
      await sleep(200 * i + Math.random() * 200)
    }
  }
}

/** Every peer joins, CONNECT_IN_FLIGHT at a time; those not started within `timeoutMs` are skipped. */
async function connect (target: Multiaddr[], prove: boolean, timeoutMs: number): Promise<ConnectReport> {
  const start = performance.now()
  const report: ConnectReport = { connected: 0, proved: 0, failed: 0, retries: 0, errors: [], ms: 0, skipped: 0 }
  const note = (err: unknown): void => {
    const text = (err as Error).message?.slice(0, 120) ?? String(err)
    if (report.errors.length < 5 && !report.errors.includes(text)) report.errors.push(text)
  }
  holding = { target, server: target[0]?.getComponents().find(c => c.name === 'p2p')?.value, prove }
  await pool(peers, CONNECT_IN_FLIGHT, async (p) => {
    if (performance.now() - start > timeoutMs) { report.skipped++; return }
    try {
      const r = await join(p, target, prove, note)
      report.retries += r.retries
      report.connected++
      if (r.proved) report.proved++
    } catch (err) {
      note(err)
      report.failed++
    }
  })
  report.ms = performance.now() - start
  return report
}

/** Publishes each post from its peer, spread over `spreadMs`, once the peer sees the server on the topic. */
async function publish (posts: Array<{ peer: number, topic: string, data: string }>, spreadMs: number): Promise<{ published: number, failed: number }> {
  let published = 0
  let failed = 0
  const start = performance.now()
  await Promise.all(posts.map(async (post, k) => {
    await sleep(start + (k * spreadMs) / posts.length - performance.now())
    const pubsub = peers[post.peer]!.node.services.pubsub
    for (let i = 0; i < 50 && pubsub.getSubscribers(post.topic).length === 0; i++) await sleep(100)
    try {
      const r = await pubsub.publish(post.topic, Buffer.from(post.data, 'base64'))
      if (r.recipients.length > 0) published++
      else failed++
    } catch {
      failed++
    }
  }))
  return { published, failed }
}

async function hangup (): Promise<void> {
  holding = undefined
  await pool(peers, 64, async (p) => {
    await Promise.all(p.node.getConnections().map(async c => { await c.close().catch(() => {}) }))
  })
}

process.on('message', (msg: { op: string } & Record<string, any>) => {
  void (async () => {
    try {
      let reply: Record<string, unknown> = {}
      if (msg.op === 'init') await init(msg.peers as PeerSpec[], msg.hoods as HoodSpec[])
      if (msg.op === 'connect') reply = { ...await connect((msg.target as string[]).map(a => multiaddr(a)), msg.prove === true, msg.timeoutMs as number) }
      if (msg.op === 'publish') reply = await publish(msg.posts, msg.spreadMs as number)
      if (msg.op === 'count') {
        reply = { ...received, comebacks, rss: process.memoryUsage().rss }
        received.private = 0
        received.area = 0
        comebacks = 0
      }
      if (msg.op === 'cpu') { const u = process.cpuUsage(); reply = { ms: (u.user + u.system) / 1000 } }
      if (msg.op === 'hangup') await hangup()
      if (msg.op === 'stop') {
        await pool(peers, 64, async (p) => { await stopQuietly(p.node) })
        process.send!({ op: 'stop' }, () => process.exit(0))
        return
      }
      process.send!({ op: msg.op, ...reply })
    } catch (err) {
      process.send!({ op: msg.op, error: (err as Error).stack ?? String(err) })
    }
  })()
})
process.on('disconnect', () => { process.exit(0) })
