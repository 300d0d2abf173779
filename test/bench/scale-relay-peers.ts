/**
 * A peer process of scale-relay-bench.ts: hosts many libp2p peers (createNode, as residents'
 * are), each dialing from its household's loopback address, subscribed to its neighborhood's
 * private topic and its area's public one. Driven over IPC by the bench:
 *
 *   init     {peers: [{addr, hood}], hoods: [{topic, area, epoch, tagKey}]}: create the nodes
 *   connect  {target, prove, timeoutMs}: every peer dials the server; with `prove`, proves its
 *            neighborhood's tag key in a sync session, as a resident does on meeting a relay
 *            (protocol/peer/resident.ts), so the relay's private-topic guard lets it in
 *   publish  {posts: [{peer, topic, data}], spreadMs}: peers publish on gossip, spread evenly
 *   count    messages received on each kind of topic since the last count (and reset), and
 *            the peers that lost their connection and came back (as a resident redials its
 *            relays and proves its key again)
 *   hangup   every peer closes its connections (and stops coming back)
 *   stop
 */
import '../../node/polyfill.ts'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { fromHex } from '../../protocol/encoding.ts'
import { isPrivateTopic } from '../../protocol/neighborhood.ts'
import { proveKey } from '../../protocol/peer/sync.ts'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { useNativeCrypto } from '../../node/native-crypto.ts'
import { pool, sleep, stopQuietly } from './network-bench.ts'

/** Dials (and proofs) in flight per peer process: a crowd arriving, not a queue. */
const CONNECT_IN_FLIGHT = 16
const DIAL_ATTEMPTS = 8
const DIAL_TIMEOUT_MS = 10_000

export interface PeerSpec { addr: string, hood: number }
export interface HoodSpec { topic: string, area: string, epoch: number, tagKey: string }
export interface ConnectReport { connected: number, proved: number, failed: number, retries: number, errors: string[], ms: number, skipped: number }

interface Peer { node: PorchlightNode, hood: number }

const peers: Peer[] = []
let hoods: HoodSpec[] = []
const received = { private: 0, area: 0 }
/** Where peers come back to when their connection drops (set by connect, cleared by hangup). */
let holding: { target: Multiaddr[], prove: boolean } | undefined
let comebacks = 0

async function init (specs: PeerSpec[], hoodSpecs: HoodSpec[]): Promise<void> {
  await useNativeCrypto()
  hoods = hoodSpecs
  for (const spec of specs) {
    const node = await createNode({ dialFrom: spec.addr })
    const h = hoods[spec.hood]!
    node.services.pubsub.subscribe(h.topic)
    node.services.pubsub.subscribe(h.area)
    node.services.pubsub.addEventListener('message', (evt) => {
      if (isPrivateTopic(evt.detail.topic)) received.private++
      else received.area++
    })
    const peer = { node, hood: spec.hood }
    node.addEventListener('peer:disconnect', () => {
      const back = holding
      if (back === undefined) return
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
  holding = { target, prove }
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
