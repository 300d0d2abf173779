/**
 * `scale:relay` (issue 13): one relay for a whole district. The real Relay (node/relay/relay.ts)
 * runs in a child process with the abuse bounds at their defaults (node/relay/caps.ts; only
 * --max-connections raised, as a district's operator would), serving 200 neighborhoods
 * (relay tokens) and their 20 areas. 2,000 peers in PEER_PROCESSES other processes
 * (scale-relay-peers.ts; each peer a libp2p node of its own, its own peer id, Noise handshake
 * and connection, built like a resident's createNode without the peer's own timers: its
 * header says exactly what a peer is, and the relay and the plain node meet the same peers)
 * dial it from 250 loopback addresses, 8 per address (households behind
 * shared addresses, under the 32 per IP cap); each subscribes to its neighborhood's private topic
 * and its area's public one, and proves the neighborhood's tag key in a sync session as a
 * resident does, so the relay's private-topic guard lets it in. Then a set of posts is
 * published into the topics: sealed private posts (PRIVATE_POSTS_PER_HOOD per neighborhood) and
 * public posts with their proof of work (PUBLIC_POSTS_PER_AREA per area), each by one subscriber.
 *
 * Baseline, in the same run: a plain libp2p + gossipsub node in a child process (createNode as
 * the relay calls it: the same transports, Noise, Yamux, identify, ping, circuit relay server and
 * gossipsub options; none of Porchlight's services, no guard, validator or store) subscribed
 * to the same 220 topics, with the same peers connecting the same way (no proof: it has no guard).
 *
 *   memory per peer  RSS and V8 heap used after gc, with every peer connected and its
 *                    subscriptions counted, minus the same after start (topics served, no
 *                    peer yet), divided by the peers. No warm-up crowd first: RSS does not
 *                    shrink back after one leaves, so idle would read high; first-use
 *                    allocations are a few MiB, a few KiB per peer at this size
 *   CPU per post     the server process's CPU time during POST_WINDOW_MS from the first publish
 *                    (everything it does then: validating, storing, forwarding, heartbeats,
 *                    pings), divided by the posts delivered to subscribers in that window
 *   admission        time for every peer to connect (relay: and prove its key), and the
 *                    server's event-loop delay (p99) meanwhile; printed beside it, the CPU the
 *                    server and the peer processes spent per peer admitted (what paces it)
 * And what limits it first: connections held against --max-connections, file descriptors
 * against the process's limit, the relay's refusals by cap (per-IP connections, streams),
 * dials refused (libp2p's pending-connection and per-host rate limits), event-loop delay.
 *
 * The plain node gets the same posts with their last byte flipped (peers would drop the relay's as
 * already seen; it reads none).
 *
 * Run alone: npm run bench -- --only scale:relay   (PL_SCALE_RELAY_PEERS=200 for a small run;
 * PL_SCALE_RELAY_PROF=dir writes a CPU profile of each server over its idle and post windows)
 */
import '../../node/polyfill.ts'
import { fork, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { toHex } from '../../protocol/encoding.ts'
import { sealPost } from '../../protocol/envelope.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { areaTopic, createNeighborhood, deriveEpochKeys, newEpochSecret, privateTopic } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { sealPublicPost } from '../../protocol/public-post.ts'
import { createRelayToken, encodeRelayToken } from '../../protocol/relay-token.ts'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { useNativeCrypto } from '../../node/native-crypto.ts'
import { Relay } from '../../node/relay/relay.ts'
import { ask, memoryAfterGc, removeDirs, sleep, tempDir } from './network-bench.ts'
import type { ConnectReport, HoodSpec, PeerSpec } from './scale-relay-peers.ts'
import { costWorkload, type Workload } from './report.ts'

// ---- Sizes and bounds

const PEERS = Number(process.env.PL_SCALE_RELAY_PEERS ?? 2_000)
const HOODS = Math.max(1, Math.round(PEERS / 10))
const AREAS = Math.max(1, Math.round(HOODS / 10))
/** Peers behind one loopback address: households sharing a building's or a carrier's address. */
const PEERS_PER_ADDRESS = 8
const PEER_PROCESSES = 4
/** The relay's --max-connections for this run: above the peers, as a district operator sets it. */
const MAX_CONNECTIONS = PEERS + 500
/** Peers graft the server when its SUBSCRIBE arrives; a server heartbeat (1 s) or two settles the rest. */
const MESH_SETTLE_MS = 2_000
/** Peers not started on their way in by then are left out (and the figures are per peer held). */
const ADMIT_TIMEOUT_MS = 120_000
/** After the dials, how long to wait for every subscription to count (proofs, SUBSCRIBEs in flight). */
const SUBSCRIBE_TIMEOUT_MS = 20_000
/** Creating a peer takes ~8 ms of CPU; on a loaded machine much longer. */
const INIT_TIMEOUT_MS = 300_000
const PRIVATE_POSTS_PER_HOOD = 2
const PUBLIC_POSTS_PER_AREA = 2
/** Posts go out evenly over this long (about 200 posts/s at full size). */
const PUBLISH_SPREAD_MS = 2_000
/** CPU and deliveries are counted over this long from the first publish. */
const POST_WINDOW_MS = 6_000
const AIM = 1.5
/** Every area a geohash cell of 5 characters next to the others. */
const AREA_CHARS = '0123456789bcdefghjkmnpqrstuvwxyz'
const POST_TEXT = 'Suspicious van idling by the school gate since 7am, engine running, no plates on the back.'

type Mode = 'relay' | 'plain'

interface World {
  hoods: HoodSpec[]
  tokens: string[]
  topics: string[]
  peers: PeerSpec[]
  /** Sealed posts for each server, base64, with the peer (global index) that publishes each. */
  posts: Record<Mode, Array<{ peer: number, topic: string, data: string, area: boolean }>>
  /** Deliveries if every subscriber but the publisher gets every post. */
  expected: { private: number, area: number }
}

async function makeWorld (): Promise<World> {
  const areas = Array.from({ length: AREAS }, (_, a) => `u4p${AREA_CHARS[Math.floor(a / 32) % 32]!}${AREA_CHARS[a % 32]!}`)
  const hoods: HoodSpec[] = []
  const tokens: string[] = []
  const authors = []
  for (let h = 0; h < HOODS; h++) {
    const author = await createIdentity(`Author ${h}`)
    const area = areas[h % AREAS]!
    const hood = createNeighborhood(`Street ${h}`, area, author.public.signKey)
    const keys = deriveEpochKeys(hood.id, 1, newEpochSecret())
    tokens.push(encodeRelayToken(createRelayToken(hood, keys, { includeArea: true })))
    const topic = privateTopic(hood.id)
    hoods.push({ topic, area: areaTopic(area), epoch: keys.epoch, tagKey: toHex(keys.tagKey) })
    authors.push({ author, keys, topic, area })
  }
  const peers: PeerSpec[] = Array.from({ length: PEERS }, (_, i) => ({ addr: `127.0.0.${2 + Math.floor(i / PEERS_PER_ADDRESS)}`, hood: i % HOODS }))
  if (peers.at(-1)!.addr.endsWith('.256')) throw new Error('too many peers for 127.0.0.x at this many per address')
  const members = (h: number): number[] => peers.flatMap((p, i) => (p.hood === h ? [i] : []))
  const now = Date.now()
  const relayPosts: World['posts']['relay'] = []
  for (const [h, { author, keys, topic, area }] of authors.entries()) {
    for (let k = 0; k < PRIVATE_POSTS_PER_HOOD; k++) {
      const post = createPost({ kind: 'suspicious', text: `${POST_TEXT} (${h}.${k})`, location: `${area}y`, now: now - k })
      const m = members(h)
      relayPosts.push({ peer: m[k % m.length]!, topic, data: Buffer.from((await sealPost(author, topic, keys, post)).bytes).toString('base64'), area: false })
    }
  }
  for (const [a, area] of areas.entries()) {
    const author = await createIdentity(`Neighbor ${a}`)
    for (let k = 0; k < PUBLIC_POSTS_PER_AREA; k++) {
      const post = createPost({ kind: 'suspicious', text: `${POST_TEXT} (area ${a}.${k})`, location: `${area}y`, now: now - k })
      // Published by a member of the area's k-th neighborhood.
      const m = members((a + k * AREAS) % HOODS)
      relayPosts.push({ peer: m[0]!, topic: areaTopic(area), data: Buffer.from((await sealPublicPost(author, area, post)).bytes).toString('base64'), area: true })
    }
  }
  // Peers keep the ids of messages they have seen (gossipsub's seen cache, 2 min), so the same
  // bytes published again would be dropped as duplicates. The plain node (no validator) and
  // the counting peers read no post: it gets the same posts with their last byte flipped
  // (same sizes, new ids), and sealing a second set (proof of work) is not needed.
  const flip = (data: string): string => { const b = Buffer.from(data, 'base64'); b[b.length - 1] = b[b.length - 1]! ^ 0xff; return b.toString('base64') }
  const posts = { relay: relayPosts, plain: relayPosts.map(p => ({ ...p, data: flip(p.data) })) }
  const subscribers = (topic: string): number => peers.filter(p => hoods[p.hood]!.topic === topic || hoods[p.hood]!.area === topic).length
  const expected = { private: 0, area: 0 }
  for (const p of posts.relay) expected[p.area ? 'area' : 'private'] += subscribers(p.topic) - 1
  return { hoods, tokens, topics: [...new Set(hoods.flatMap(h => [h.topic, h.area]))], peers, posts, expected }
}

// ---- Peer processes

interface PeerProcess { child: ChildProcess, first: number, count: number }

const repo = fileURLToPath(new URL('../../', import.meta.url))

function forkTs (file: string, args: string[]): ChildProcess {
  return fork(fileURLToPath(new URL(file, import.meta.url)), args, {
    cwd: repo,
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
}

async function askOk<T> (child: ChildProcess, msg: Record<string, unknown>, timeoutMs?: number): Promise<T> {
  const r = await ask<T & { error?: string }>(child, msg, timeoutMs)
  if (r.error !== undefined) throw new Error(`${String(msg.op)} failed in a child process: ${r.error}`)
  return r
}

/** Forks the peer processes (they load while the posts are sealed). */
function forkPeers (): PeerProcess[] {
  const per = Math.ceil(PEERS / PEER_PROCESSES)
  const procs: PeerProcess[] = []
  for (let p = 0; p * per < PEERS; p++) {
    procs.push({ child: forkTs('./scale-relay-peers.ts', []), first: p * per, count: Math.min(per, PEERS - p * per) })
  }
  return procs
}

async function initPeers (procs: PeerProcess[], world: World): Promise<void> {
  await Promise.all(procs.map(async ({ child, first, count }) => {
    await askOk(child, { op: 'init', peers: world.peers.slice(first, first + count), hoods: world.hoods }, INIT_TIMEOUT_MS)
  }))
}

async function connectAll (procs: PeerProcess[], target: string[], prove: boolean): Promise<ConnectReport> {
  const reports = await Promise.all(procs.map(async ({ child }) =>
    await askOk<ConnectReport>(child, { op: 'connect', target, prove, timeoutMs: ADMIT_TIMEOUT_MS }, ADMIT_TIMEOUT_MS + 120_000)))
  return {
    connected: reports.reduce((n, r) => n + r.connected, 0),
    proved: reports.reduce((n, r) => n + r.proved, 0),
    failed: reports.reduce((n, r) => n + r.failed, 0),
    retries: reports.reduce((n, r) => n + r.retries, 0),
    skipped: reports.reduce((n, r) => n + r.skipped, 0),
    errors: [...new Set(reports.flatMap(r => r.errors))].slice(0, 5),
    ms: Math.max(...reports.map(r => r.ms))
  }
}

interface Counts { private: number, area: number, comebacks: number, rss: number }

/** Messages received and connections lost since the last count, over every peer process. */
async function countAll (procs: PeerProcess[]): Promise<Counts> {
  const counts = await Promise.all(procs.map(async ({ child }) => await askOk<Counts>(child, { op: 'count' })))
  return counts.reduce((a, c) => ({ private: a.private + c.private, area: a.area + c.area, comebacks: a.comebacks + c.comebacks, rss: a.rss + c.rss }),
    { private: 0, area: 0, comebacks: 0, rss: 0 })
}

/** CPU time (ms) of the server process and of all peer processes together. */
async function cpuNow (server: ChildProcess, procs: PeerProcess[]): Promise<{ server: number, fleet: number }> {
  const [s, ...f] = await Promise.all([server, ...procs.map(p => p.child)].map(async c => await askOk<{ ms: number }>(c, { op: 'cpu' })))
  return { server: s!.ms, fleet: f.reduce((n, x) => n + x.ms, 0) }
}

// ---- One server (relay or plain node) under the whole crowd

interface ServerMemory {
  rss: number, heapUsed: number, peers: number, connections: number, subscribers: number, fds: number, fdLimit: number
  /** Connections closed since start (by either side). */
  closed: number
}
interface Lag { p50: number, p99: number, max: number }

interface ServerRun {
  idle: ServerMemory
  full: ServerMemory
  admit: ConnectReport
  admitLag: Lag
  /** CPU time (ms) the server and the peer processes spent from the first dial until every subscription counted. */
  admitCpu: { server: number, fleet: number }
  idleCpuMs: number
  postCpuMs: number
  postLag: Lag
  delivered: Counts
  /** Peers that lost their connection while arriving and settling (they come back, as residents do). */
  dropped: number
  /** Peer processes' RSS with every peer connected. */
  peersRss: number
  published: number
  refusals: string[]
}

async function runServer (mode: Mode, world: World, procs: PeerProcess[]): Promise<ServerRun> {
  const dataDir = await tempDir('pl-bench-scale-relay-')
  const child = forkTs('./scale-relay-bench.ts', ['--scale-relay-server', mode, dataDir])
  try {
    const { addrs } = await askOk<{ addrs: string[] }>(child, { op: 'start', tokens: world.tokens, topics: world.topics, maxConnections: MAX_CONNECTIONS }, 120_000)
    const target = addrs.filter(a => a.includes('/tcp/') && !a.includes('/ws'))
    const wantSubscribers = 2 * PEERS
    const prove = mode === 'relay'
    await sleep(2000)
    const idle = await askOk<ServerMemory>(child, { op: 'mem' })

    await askOk(child, { op: 'lag' })
    await countAll(procs)
    const admitCpu0 = await cpuNow(child, procs)
    const admit = await connectAll(procs, target, prove)
    const end = Date.now() + SUBSCRIBE_TIMEOUT_MS
    let seen = await askOk<ServerMemory>(child, { op: 'mem', gc: false })
    while (seen.subscribers < wantSubscribers && Date.now() < end) {
      await sleep(500)
      seen = await askOk<ServerMemory>(child, { op: 'mem', gc: false })
    }
    const admitLag = await askOk<Lag>(child, { op: 'lag' })
    const admitCpu1 = await cpuNow(child, procs)
    const admitCpu = { server: admitCpu1.server - admitCpu0.server, fleet: admitCpu1.fleet - admitCpu0.fleet }
    await sleep(MESH_SETTLE_MS)
    const full = await askOk<ServerMemory>(child, { op: 'mem' })
    if (process.env.PL_BENCH_DEBUG !== undefined) console.log(`scale:relay ${mode}:`, JSON.stringify({ idle, full, admit }))

    await askOk(child, { op: 'profile', phase: 'start' })
    // The same window with nothing published: what the crowd alone costs (heartbeats, pings).
    let cpu = await askOk<{ ms: number }>(child, { op: 'cpu' })
    await sleep(POST_WINDOW_MS)
    const idleCpuMs = (await askOk<{ ms: number }>(child, { op: 'cpu' })).ms - cpu.ms

    const settled = await countAll(procs)
    await askOk(child, { op: 'lag' })
    cpu = await askOk<{ ms: number }>(child, { op: 'cpu' })
    const start = performance.now()
    const results = await Promise.all(procs.map(async ({ child: c, first, count }) => {
      const posts = world.posts[mode].filter(p => p.peer >= first && p.peer < first + count).map(p => ({ ...p, peer: p.peer - first }))
      return await askOk<{ published: number, failed: number }>(c, { op: 'publish', posts, spreadMs: PUBLISH_SPREAD_MS }, POST_WINDOW_MS + 10_000)
    }))
    await sleep(start + POST_WINDOW_MS - performance.now())
    const postCpuMs = (await askOk<{ ms: number }>(child, { op: 'cpu' })).ms - cpu.ms
    const postLag = await askOk<Lag>(child, { op: 'lag' })
    const delivered = await countAll(procs)
    await askOk(child, { op: 'profile', phase: 'stop', file: `scale-relay-${mode}-${PEERS}.cpuprofile` })
    const { lines } = await askOk<{ lines: string[] }>(child, { op: 'refusals' })
    await Promise.all(procs.map(async ({ child }) => await askOk(child, { op: 'hangup' })))
    return {
      idle, full, admit, admitLag, admitCpu, idleCpuMs, postCpuMs, postLag, delivered, dropped: settled.comebacks, peersRss: settled.rss,
      published: results.reduce((n, r) => n + r.published, 0),
      refusals: lines
    }
  } finally {
    if (child.connected) await ask(child, { op: 'stop' }, 20_000).catch(() => {})
    if (child.exitCode === null) child.kill()
  }
}

// ---- The suite

export async function benchScaleRelay (): Promise<Workload[]> {
  await useNativeCrypto()
  const t0 = performance.now()
  const procs = forkPeers()
  try {
    const world = await makeWorld()
    const t1 = performance.now()
    await initPeers(procs, world)
    console.log(`scale:relay: ${PEERS} peers on ${Math.ceil(PEERS / PEERS_PER_ADDRESS)} addresses in ${procs.length} processes, ${HOODS} neighborhoods, ${AREAS} areas; ` +
      `${world.posts.relay.length} posts sealed in ${((t1 - t0) / 1000).toFixed(1)} s, peers created in ${((performance.now() - t1) / 1000).toFixed(1)} s more`)
    const runs = {} as Record<Mode, ServerRun>
    for (const mode of ['relay', 'plain'] as const) {
      runs[mode] = await runServer(mode, world, procs)
      report(mode, runs[mode], world)
    }
    // Per peer held when measured (on a loaded machine some are still on their way back).
    const perPeer = (r: ServerRun, key: 'rss' | 'heapUsed'): number => (r.full[key] - r.idle[key]) / 1024 / Math.max(1, r.full.peers)
    const delivered = (r: ServerRun): number => r.delivered.private + r.delivered.area
    const cpuPerPost = (r: ServerRun): number => (r.postCpuMs * 1000) / Math.max(1, delivered(r))
    const { relay, plain } = runs
    const n = PEERS.toLocaleString('en-US')
    return [
      costWorkload(`scale:relay: relay RSS per connected peer, ${n} peers in ${HOODS} private + ${AREAS} area topics, vs plain libp2p + gossipsub node (aim <= ${AIM}x)`,
        perPeer(relay, 'rss'), 'KiB/peer', perPeer(plain, 'rss')),
      costWorkload(`scale:relay: relay V8 heap per connected peer, ${n} peers, vs plain libp2p + gossipsub node (aim <= ${AIM}x)`,
        perPeer(relay, 'heapUsed'), 'KiB/peer', perPeer(plain, 'heapUsed')),
      costWorkload(`scale:relay: relay CPU per delivered post (${world.posts.relay.length} posts into ${n} peers' topics), vs plain node`,
        cpuPerPost(relay), 'µs/delivery', cpuPerPost(plain)),
      costWorkload(`scale:relay: time for ${n} peers to connect and prove their key, vs connect to the plain node`,
        relay.admit.ms / 1000, 's', plain.admit.ms / 1000),
      costWorkload(`scale:relay: relay event-loop delay p99 while ${n} peers arrive, vs plain node`,
        relay.admitLag.p99, 'ms', plain.admitLag.p99)
    ]
  } finally {
    await Promise.all(procs.map(async ({ child }) => {
      if (child.connected) await ask(child, { op: 'stop' }, 30_000).catch(() => {})
      if (child.exitCode === null) child.kill()
    }))
    await removeDirs()
  }
}

function report (mode: Mode, r: ServerRun, world: World): void {
  const mib = (b: number): string => (b / 2 ** 20).toFixed(0)
  const delivered = r.delivered.private + r.delivered.area
  const expected = world.expected.private + world.expected.area
  console.log(`scale:relay ${mode === 'relay' ? 'relay' : 'baseline (plain node)'}: admitted ${r.admit.connected}${mode === 'relay' ? ` (proved ${r.admit.proved})` : ''} of ${PEERS} in ${(r.admit.ms / 1000).toFixed(1)} s, ` +
    `CPU ${(r.admitCpu.server / Math.max(1, r.admit.connected)).toFixed(1)} ms per peer in the server, ${(r.admitCpu.fleet / Math.max(1, r.admit.connected)).toFixed(1)} in the peer processes; ` +
    `${r.admit.failed} failed, ${r.admit.skipped} not started in ${ADMIT_TIMEOUT_MS / 1000} s, ${r.admit.retries} dials retried${r.admit.errors.length > 0 ? ` (${r.admit.errors.join('; ')})` : ''}; ` +
    `event-loop delay p50/p99/max ${r.admitLag.p50.toFixed(0)}/${r.admitLag.p99.toFixed(0)}/${r.admitLag.max.toFixed(0)} ms; ` +
    `${r.full.peers} peers, ${r.full.connections} connections, ${r.full.subscribers} of ${2 * PEERS} subscriptions counted; ` +
    `RSS ${mib(r.idle.rss)} -> ${mib(r.full.rss)} MiB, heap ${mib(r.idle.heapUsed)} -> ${mib(r.full.heapUsed)} MiB (after gc); ` +
    `fds ${r.full.fds} of ${r.full.fdLimit}; ${r.dropped} peers lost their connection and came back (server saw ${r.full.closed} closes); peer processes' RSS ${mib(r.peersRss)} MiB`)
  console.log(`scale:relay ${mode === 'relay' ? 'relay' : 'baseline (plain node)'}: ${r.published} of ${world.posts[mode].length} posts published; delivered in ${POST_WINDOW_MS / 1000} s: private ${r.delivered.private} of ${world.expected.private}, ` +
    `area ${r.delivered.area} of ${world.expected.area} (${((100 * delivered) / expected).toFixed(1)} %), ${r.delivered.comebacks} peers dropped meanwhile; server CPU ${r.postCpuMs.toFixed(0)} ms ` +
    `(idle, same window: ${r.idleCpuMs.toFixed(0)} ms); event-loop delay p99/max ${r.postLag.p99.toFixed(0)}/${r.postLag.max.toFixed(0)} ms` +
    `${r.refusals.length > 0 ? `; ${r.refusals.join(', ')}` : ''}`)
}

// ---- The server child: the relay, or the plain node

async function serverChild (mode: Mode, dataDir: string): Promise<void> {
  await useNativeCrypto()
  let relay: Relay | undefined
  let node: PorchlightNode | undefined
  let topics: string[] = []
  let closed = 0
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  const start = async (msg: { tokens: string[], topics: string[], maxConnections: number }): Promise<Record<string, unknown>> => {
    topics = msg.topics
    if (mode === 'relay') {
      // The defaults of every cap, but the total a district needs.
      relay = await Relay.start({ dataDir, tcpPort: 0, wsPort: 0, httpPort: 0, tokens: msg.tokens, log: () => {}, caps: { maxConnections: msg.maxConnections } })
      node = relay.node
    } else {
      node = await createNode({ tcpPort: 0, wsPort: 0, relayServer: true, maxConnections: msg.maxConnections })
      for (const t of topics) node.services.pubsub.subscribe(t)
    }
    node.addEventListener('connection:close', () => { closed++ })
    return { addrs: node.getMultiaddrs().map(String) }
  }
  const memory = async (gc: boolean): Promise<ServerMemory> => {
    const m = gc ? await memoryAfterGc() : process.memoryUsage()
    const limits = readFileSync('/proc/self/limits', 'utf8')
    return {
      rss: m.rss,
      heapUsed: m.heapUsed,
      peers: node!.getPeers().length,
      connections: node!.getConnections().length,
      subscribers: topics.reduce((n, t) => n + node!.services.pubsub.getSubscribers(t).length, 0),
      fds: readdirSync('/proc/self/fd').length,
      fdLimit: Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? NaN),
      closed
    }
  }
  // PL_SCALE_RELAY_PROF=dir: a CPU profile of the server over the idle and post windows.
  const profDir = process.env.PL_SCALE_RELAY_PROF
  let session: Session | undefined
  const profile = async (phase: 'start' | 'stop', file: string): Promise<void> => {
    if (profDir === undefined) return
    if (phase === 'start') {
      session = new Session()
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.start')
    } else if (session !== undefined) {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(join(profDir, file), JSON.stringify(profile))
      session.disconnect()
    }
  }
  process.on('message', (msg: { op: string } & Record<string, any>) => {
    void (async () => {
      try {
        let reply: Record<string, unknown> = {}
        if (msg.op === 'start') reply = await start(msg as never)
        if (msg.op === 'mem') reply = { ...await memory(msg.gc !== false) }
        if (msg.op === 'cpu') { const u = process.cpuUsage(); reply = { ms: (u.user + u.system) / 1000 } }
        if (msg.op === 'lag') {
          reply = { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 }
          lag.reset()
        }
        if (msg.op === 'profile') await profile(msg.phase as 'start' | 'stop', msg.file as string)
        if (msg.op === 'refusals') {
          // Every cap's refusal counter that moved (only the relay has them).
          const text = relay?.metrics.render() ?? ''
          reply = { lines: text.split('\n').filter(l => /^porchlight_(connections_refused|streams_refused|messages_rejected|ip_refusals)/.test(l) && !l.endsWith(' 0')) }
        }
        if (msg.op === 'stop') {
          await (relay ?? node)?.stop()
          process.send!({ op: 'stop' }, () => process.exit(0))
          return
        }
        process.send!({ op: msg.op, ...reply })
      } catch (err) {
        process.send!({ op: msg.op, error: (err as Error).stack ?? String(err) })
      }
    })()
  })
  process.on('disconnect', () => { void Promise.resolve((relay ?? node)?.stop()).finally(() => process.exit(0)) })
}

if (process.argv[2] === '--scale-relay-server' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await serverChild(process.argv[3] as Mode, process.argv[4]!)
}
