/**
 * scale:delivery (issue 13): post-to-display latency and delivery share with hundreds of
 * resident engines in several processes, beside plain gossipsub in the same harness and
 * topology, at SIZES engines (the curve).
 *
 * Network, one for the whole curve, growing from one size to the next (a stage adds households
 * and measures with everyone present; building each size afresh cost a minute or more each):
 * RELAYS real relays (node/relay/relay.ts, each in its own child
 * process with its LevelDB, serving all HOODS neighborhoods by their tokens, peered with each
 * other by `peers`, abuse bounds at their defaults), and FLEETS child processes holding the
 * households (scale-fleet.ts). Every household is a real resident engine (openResidentPeer:
 * LevelDB home in a temp folder, written by the code `hood join` runs) that dials one relay of
 * its hood (household g: relay g mod RELAYS; a relay holds at most 300 connections) over
 * loopback TCP from its own 127.0.x.y address, so the relays' per-IP caps see households.
 * Households are spread evenly over hoods, relays and fleets.
 *
 * Measured: POSTS_PER_HOOD posts in each hood (half sealed, half plain), sent by random members with the engine's
 * post() (seal, keep, acknowledged push to the relay, which stores and publishes it), from
 * the call until the post event of every other member's feed (onPost: after decrypting,
 * verifying and storing), in wall-clock time across processes. Delivered = shown by gossip
 * within WINDOW_MS. After the last half the relays reconcile with each other and every engine
 * syncs with its relay (what a restarting or reconnecting engine does): the share shown at the
 * end, by any route, is reported too.
 *
 * Baseline: plain gossipsub in the same processes, at the same positions: a hub node beside
 * each relay (hubs connected to each other), one plain node per household dialing its relay's
 * hub from the household's address, a topic per hood; no validator, no encryption, random
 * payloads of the sealed envelope's size, published by the same members at the same times,
 * delivered at gossipsub's 'message' event. Plain and sealed halves alternate (plain, sealed,
 * plain, sealed) after an untimed warm-up of each, so drift in the machine's load reaches both.
 *
 * Rate: the hoods take turns; OPENS_PER_SECOND posts opened per second on the whole machine
 * (every member opens every post of its hood: 49 opens per post at 500 engines), so 10.2
 * posts/s in all at 500 engines, 26.3/s at 200, 40/s (MAX_POSTS_PER_SECOND) at 50: far above
 * a real city's (a million households post about one alert a second, 500 households one every
 * half hour), below what saturates the 2-core machine, and within the suite's 6-minute budget.
 *
 * Run alone: npm run bench -- --only scale:delivery   (PL_SCALE_SIZES=20,40 for a small run: sizes
 * grow, at least 2 per hood; PL_BENCH_DEBUG=1 prints progress)
 */
import '../../node/polyfill.ts'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createIdentity } from '../../protocol/identity.ts'
import { encodeInvite } from '../../protocol/invite.ts'
import { foundHood, relayToken } from '../../protocol/peer/hood-actions.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { loadOrCreateNodeKey } from '../../node/libp2p.ts'
import { useNativeCrypto } from '../../node/native-crypto.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { costWorkload, rateWorkload, type Workload } from './report.ts'
import { percentile, sleep } from './network-bench.ts'
import { rng } from '../helpers/rng.ts'
import type { ChildStats, Got, Household, Sent } from './scale-fleet.ts'

// ---- Sizes and rates

const SIZES = [50, 200, 500] as const
const HOODS = 10
const RELAYS = 3
const FLEETS = 4
/** libuv threads per fleet process (libuv's maximum is 1,024; its default 4 is one household's). */
const FLEET_THREADS = Number(process.env.PL_SCALE_FLEET_THREADS ?? 64)
/** Posts per hood: half sealed, half plain, each in two halves. */
const POSTS_PER_HOOD = 100
const WARMUP_POSTS_PER_HOOD = 2
/**
 * The rate (all hoods together) is set by the work it makes: posts opened per second on the
 * whole machine (each post is opened by every other member of its hood), at most
 * MAX_POSTS_PER_SECOND: 500 engines post 10.2/s, 200 engines 26.3/s, 50 engines 40/s.
 */
const OPENS_PER_SECOND = 500
const MAX_POSTS_PER_SECOND = 40
const postsPerSecond = (n: number): number => Math.min(MAX_POSTS_PER_SECOND, OPENS_PER_SECOND / (n / HOODS - 1))
const WINDOW_MS = 5_000
/** Quiet time between phases, so one phase's stragglers do not load the next. */
const PHASE_GAP_MS = 1_000
/** Time for gossipsub meshes to form after every member subscribed (heartbeat every 1 s). */
const MESH_SETTLE_MS = 3_000
/** The schedule starts this long after it is sent, so every fleet has it in time. */
const LEAD_MS = 500
const AREA = 'u4pruy'
const SETUP_TIMEOUT_MS = 30 * 60_000
/** PL_SCALE_RELAY_DHI=12 measures relays with gossipsub's default mesh bound (before they kept every member in mesh). */
const RELAY_DHI = process.env.PL_SCALE_RELAY_DHI !== undefined ? Number(process.env.PL_SCALE_RELAY_DHI) : undefined

const FLEET_MODULE = fileURLToPath(new URL('./scale-fleet.ts', import.meta.url))
const REPO = fileURLToPath(new URL('../../', import.meta.url))
const now = (): number => performance.timeOrigin + performance.now()
const debug = (line: string): void => { if (process.env.PL_BENCH_DEBUG !== undefined) console.log(`scale:delivery ${new Date().toISOString().slice(11, 19)} ${line}`) }

// ---- Child processes

class Child {
  private seq = 0
  readonly proc: ChildProcess
  /** Resolves once the child listens for requests (one sent before would be lost). */
  private readonly ready: Promise<void>
  constructor (role: '--relay' | '--fleet') {
    // A household's engine has libuv's 4 threads for its LevelDB and file work; a fleet holds
    // up to ~125 engines in one process, whose reads and synced writes queued behind 4 threads,
    // which no household sees (at 50 engines the sealed p50 went from 3.3 s to 0.48 s with
    // FLEET_THREADS per fleet).
    const env = role === '--fleet' ? { ...process.env, UV_THREADPOOL_SIZE: String(FLEET_THREADS) } : process.env
    this.proc = fork(FLEET_MODULE, [role], { cwd: REPO, env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.ready = new Promise((resolve, reject) => {
      this.proc.on('message', (m: { op?: string }) => { if (m.op === 'ready') resolve() })
      this.proc.once('exit', () => { reject(new Error('scale:delivery child exited before it was ready')) })
    })
    this.ready.catch(() => {})
  }

  async ask<T> (op: string, args: Record<string, unknown> = {}, timeoutMs = 300_000): Promise<T> {
    const seq = ++this.seq
    await this.ready
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new Error(`scale:delivery child did not answer ${op}`)) }, timeoutMs)
      const exit = (): void => { off(); reject(new Error(`scale:delivery child exited during ${op}`)) }
      const on = (m: { op: string, seq: number, value?: T, error?: string }): void => {
        if (m.op !== op || m.seq !== seq) return
        off()
        if (m.error !== undefined) reject(new Error(`${op}: ${m.error}`))
        else resolve(m.value as T)
      }
      const off = (): void => { clearTimeout(timer); this.proc.off('message', on); this.proc.off('exit', exit) }
      this.proc.on('message', on)
      this.proc.once('exit', exit)
      this.proc.send({ op, seq, ...args })
    })
  }

  async stop (): Promise<void> {
    if (this.proc.exitCode === null && this.proc.connected) await this.ask('stop', {}, 30_000).catch(() => {})
    if (this.proc.exitCode === null) this.proc.kill()
  }
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => { resolve(port) })
    })
  })
}

/** Household g's own loopback address (127.0.0.1 is the relays'). */
function householdAddress (g: number): string {
  return `127.0.${1 + Math.floor(g / 250)}.${1 + (g % 250)}`
}

// ---- One network, growing

type Kind = 'sealed' | 'plain'
interface Result { p50: number, p99: number, inWindow: number, atEnd: number, expected: number, bySync: number }

interface StageOutcome {
  n: number
  sealed: Result
  plain: Result
  envBytes: number
  setupS: number
  totalS: number
  notes: string[]
}

/** The relays, hubs and fleets of one run, households added stage by stage. */
interface Network {
  root: string
  relays: Child[]
  fleets: Child[]
  children: Child[]
  relayAddrs: string[]
  hubAddrs: string[]
  hoods: Array<{ topic: string, plainTopic: string, invite: string, token: string }>
  households: Household[]
  envBytes: number
}

const fleetOf = (g: number): number => g % FLEETS

async function openNetwork (): Promise<Network> {
  const root = await mkdtemp(join(tmpdir(), 'pl-scale-delivery-'))
  const children: Child[] = []
  try {
    // Relays' keys and ports first: hoods name them, and each relay names the others as peers.
    const relayAddrs: string[] = []
    for (let r = 0; r < RELAYS; r++) {
      const key = await loadOrCreateNodeKey(join(root, `relay-${r}`, 'node-key'))
      relayAddrs.push(`/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${peerIdFromPrivateKey(key).toString()}`)
    }
    const hoods = await Promise.all(Array.from({ length: HOODS }, async (_, h) => {
      const home = await Home.open(join(root, `admin-${h}`))
      const me = await createIdentity(`Admin ${h}`)
      await home.saveIdentity(me)
      const { state, invite } = await foundHood(home, me, { name: `Street ${h}`, area: AREA, relays: relayAddrs, now: Date.now() })
      return { topic: privateTopic(state.hood.id), plainTopic: `/bench/plain-gossipsub/${h}`, invite: encodeInvite(invite), token: relayToken(state, Date.now()) }
    }))
    const relays = Array.from({ length: RELAYS }, () => new Child('--relay'))
    children.push(...relays)
    const started = await Promise.all(relays.map(async (c, r) => await c.ask<{ relay: string, hub: string }>('start', {
      dataDir: join(root, `relay-${r}`),
      port: Number(/\/tcp\/(\d+)/.exec(relayAddrs[r]!)![1]),
      tokens: hoods.map(h => h.token),
      topics: hoods.map(h => h.topic),
      peers: relayAddrs.filter((_, i) => i !== r),
      ...(RELAY_DHI !== undefined ? { relayDhi: RELAY_DHI } : {})
    })))
    const hubAddrs = started.map(s => s.hub)
    debug(`relays started: ${started.map(s => s.relay).join(' ')}`)
    // Hub r dials the hubs after it, as relays dial their peers.
    await Promise.all(relays.map(async (c, r) => await c.ask('hubs', { all: hubAddrs, dial: hubAddrs.slice(r + 1), topics: hoods.map(h => h.plainTopic) })))
    const fleets = Array.from({ length: FLEETS }, () => new Child('--fleet'))
    children.push(...fleets)
    return { root, relays, fleets, children, relayAddrs, hubAddrs, hoods, households: [], envBytes: 0 }
  } catch (err) {
    await Promise.all(children.map(async c => { await c.stop() }))
    await rm(root, { recursive: true, force: true }).catch(() => {})
    throw err
  }
}

async function closeNetwork (net: Network): Promise<void> {
  await Promise.all(net.children.map(async c => { await c.stop() }))
  await rm(net.root, { recursive: true, force: true }).catch(() => {})
}

/**
 * Grows the network to `n` households (the new ones join, connect and subscribe; they may
 * catch up on the earlier stages' posts as any joining member does, which is not measured),
 * then measures this stage's posts after an untimed warm-up.
 */
async function measureStage (net: Network, n: number, seed: number): Promise<StageOutcome> {
  const stageStart = performance.now()
  const { relays, fleets, children, hoods } = net
  const rate = postsPerSecond(n)
  const notes: string[] = []
  if (n < net.households.length) throw new Error(`scale:delivery sizes grow: ${n} after ${net.households.length}`)
  const added: Household[] = []
  for (let g = net.households.length; g < n; g++) {
    added.push({
      index: g,
      hood: g % HOODS,
      home: join(net.root, `home-${g}`),
      invite: hoods[g % HOODS]!.invite,
      relay: net.relayAddrs[g % RELAYS]!,
      hub: net.hubAddrs[g % RELAYS]!,
      from: householdAddress(g),
      plainTopic: hoods[g % HOODS]!.plainTopic
    })
  }
  net.households.push(...added)
  await Promise.all(fleets.map(async (c, f) => await c.ask('setup', { households: added.filter(h => fleetOf(h.index) === f) }, SETUP_TIMEOUT_MS)))
  debug(`${n} households set up`)
  // Every member is in its relay's topic (proven) and its hub's before anything is measured.
  const settleEnd = Date.now() + 60_000
  for (;;) {
    const s = await Promise.all(relays.map(async c => await c.ask<ChildStats>('stats')))
    const sum = (xs: number[][]): number => xs.flat().reduce((a, b) => a + b, 0)
    const sealedIn = sum(s.map(x => x.relayTopicPeers!))
    const plainIn = sum(s.map(x => x.hubTopicPeers!))
    debug(`subscribed: ${sealedIn} at relays, ${plainIn} at hubs`)
    if ((sealedIn >= n && plainIn >= n) || Date.now() > settleEnd) {
      if (Date.now() > settleEnd) notes.push(`not settled: ${sealedIn} relay and ${plainIn} hub topic subscriptions for ${n} members`)
      break
    }
    await sleep(500)
  }
  await sleep(MESH_SETTLE_MS)
  // Late displays of the last stage's posts (and new members' catch-up) are not this stage's.
  await Promise.all(fleets.map(async f => await f.ask('collect')))
  const setupS = (performance.now() - stageStart) / 1000

  // ---- Phases
  const r = rng(seed)
  const members = Array.from({ length: HOODS }, (_, h) => net.households.filter(x => x.hood === h).map(x => x.index))
  const sentAll = new Map<string, { t: number, hood: number, kind: Kind, timed: boolean }>()
  const got: Got[] = []
  const collect = async (kind: Kind, timed: boolean): Promise<void> => {
    for (const c of await Promise.all(fleets.map(async f => await f.ask<{ sent: Sent[], got: Got[] }>('collect')))) {
      for (const [key, t, g] of c.sent) sentAll.set(key, { t, hood: g % HOODS, kind, timed })
      got.push(...c.got)
    }
  }
  const phase = async (kind: Kind, perHood: number, timed: boolean): Promise<ChildStats[]> => {
    debug(`phase ${kind} ${perHood}/hood`)
    await Promise.all(children.map(async c => await c.ask('stats'))) // resets the loop-delay window
    const start = now() + LEAD_MS
    const posts: Array<[number, number]> = []
    for (let j = 0; j < perHood; j++) {
      for (let h = 0; h < HOODS; h++) {
        const list = members[h]!
        posts.push([list[Math.floor(r() * list.length)]!, start + ((j * HOODS + h) / rate) * 1000])
      }
    }
    const bytes = await Promise.all(fleets.map(async (c, f) => await c.ask<number>('phase', {
      kind, bytes: net.envBytes, posts: posts.filter(([g]) => fleetOf(g) === f)
    })))
    if (kind === 'sealed') net.envBytes ||= Math.max(...bytes)
    const last = posts[posts.length - 1]![1]
    await sleep(Math.max(0, last + WINDOW_MS - now()))
    const stats = await Promise.all(children.map(async c => await c.ask<ChildStats>('stats')))
    await collect(kind, timed)
    await sleep(PHASE_GAP_MS)
    return stats
  }
  // Untimed warm-up in every stage (the new members' first posts, and their catch-up on the
  // earlier stages' posts, are not measured): sealed first, which gives the plain payloads their size.
  await phase('sealed', WARMUP_POSTS_PER_HOOD, false)
  await phase('plain', WARMUP_POSTS_PER_HOOD, false)
  const half = POSTS_PER_HOOD / 4
  const phaseStats: Array<{ kind: Kind, stats: ChildStats[] }> = []
  for (let k = 0; k < 2; k++) {
    phaseStats.push({ kind: 'plain', stats: await phase('plain', half, true) })
    phaseStats.push({ kind: 'sealed', stats: await phase('sealed', half, true) })
  }
  // The relays reconcile with each other, then every engine syncs with its relay.
  await Promise.all(relays.map(async c => await c.ask('sync-relays')))
  const syncStart = performance.now()
  await Promise.all(fleets.map(async c => await c.ask('sync')))
  const syncS = (performance.now() - syncStart) / 1000
  await collect('sealed', true)
  const relayStats = await Promise.all(relays.map(async c => await c.ask<ChildStats>('stats')))
  const fleetStats = await Promise.all(fleets.map(async c => await c.ask<ChildStats>('stats')))

  const result = (kind: Kind): Result => {
    const latencies: number[] = []
    const shown = new Set<string>()
    let inWindow = 0
    let bySync = 0
    for (const [key, t, g, via] of got) {
      const s = sentAll.get(key)
      if (s === undefined || s.kind !== kind || !s.timed || shown.has(`${g} ${key}`)) continue
      shown.add(`${g} ${key}`)
      if (via === 'sync') { bySync++; continue }
      const ms = t - s.t
      if (ms <= WINDOW_MS) { inWindow++; latencies.push(ms) }
    }
    latencies.sort((a, b) => a - b)
    let expected = 0
    for (const s of sentAll.values()) if (s.kind === kind && s.timed) expected += members[s.hood]!.length - 1
    return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), inWindow, atEnd: shown.size, expected, bySync }
  }
  const sealed = result('sealed')
  const plain = result('plain')

  // What limits it: event-loop delay and CPU of each process in the measured halves, and the meshes.
  const fmt = (xs: number[]): string => xs.map(x => x.toFixed(0)).join('/')
  for (const [i, { kind, stats }] of phaseStats.entries()) {
    notes.push(`${kind}, half ${1 + Math.floor(i / 2)}: loop p99 ms relays ${fmt(stats.slice(0, RELAYS).map(s => s.loopP99))} fleets ${fmt(stats.slice(RELAYS).map(s => s.loopP99))}, ` +
      `CPU s relays ${stats.slice(0, RELAYS).map(s => (s.cpuMs / 1000).toFixed(1)).join('/')} fleets ${stats.slice(RELAYS).map(s => (s.cpuMs / 1000).toFixed(1)).join('/')}`)
  }
  const mean = (xs: number[]): string => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)
  notes.push(`relay mesh per hood topic ${relayStats.map(s => mean(s.relayMesh!)).join('/')} of ${relayStats.map(s => mean(s.relayTopicPeers!)).join('/')} households (+ the other relays); ` +
    `hub mesh ${relayStats.map(s => mean(s.hubMesh!)).join('/')} of ${relayStats.map(s => mean(s.hubTopicPeers!)).join('/')}; ` +
    `relay peers ${relayStats.map(s => s.relayPeers).join('/')}, stored in all stages ${relayStats.map(s => s.stored).join('/')}; ` +
    `fleet RSS MiB ${fleetStats.map(s => s.rssMiB.toFixed(0)).join('/')}; connections lost and redialled ${fleetStats.map(s => s.lost).join('/')}, engines or plain nodes that did not reach their relay or hub in setup ${fleetStats.map(s => s.unconnected).join('/')}; sync ${syncS.toFixed(1)} s`)
  return { n, sealed, plain, envBytes: net.envBytes, setupS, totalS: (performance.now() - stageStart) / 1000, notes }
}

export async function benchScaleDelivery (): Promise<Workload[]> {
  await useNativeCrypto()
  const rows: Workload[] = []
  const sizes = process.env.PL_SCALE_SIZES !== undefined ? process.env.PL_SCALE_SIZES.split(',').map(Number) : SIZES
  // Checked before anything is built: the network only grows, and a hood needs a second member to deliver to.
  if (sizes.some((n, i) => !Number.isInteger(n) || n < 2 * HOODS || (i > 0 && n <= sizes[i - 1]!))) {
    throw new Error(`PL_SCALE_SIZES must be whole numbers of at least ${2 * HOODS}, each larger than the one before: ${sizes.join(',')}`)
  }
  const net = await openNetwork()
  try {
    for (const [k, n] of sizes.entries()) {
      const { sealed, plain, envBytes, setupS, totalS, notes } = await measureStage(net, n, 2000 + k)
      const pct = (x: number, of: number): string => `${(100 * x / of).toFixed(2)} %`
      console.log(`scale:delivery ${n} engines (${HOODS} hoods, ${RELAYS} relays, ${FLEETS} fleet processes): growing ${setupS.toFixed(1)} s, stage ${totalS.toFixed(1)} s; ` +
        `sealed p50 ${sealed.p50.toFixed(0)} ms p99 ${sealed.p99.toFixed(0)} ms, ${pct(sealed.inWindow, sealed.expected)} by gossip in ${WINDOW_MS / 1000} s, ` +
        `${pct(sealed.atEnd, sealed.expected)} at the end (${sealed.bySync} by sync); plain p50 ${plain.p50.toFixed(0)} ms p99 ${plain.p99.toFixed(0)} ms, ${pct(plain.inWindow, plain.expected)}\n  ${notes.join('\n  ')}`)
      const what = `${n} engines in ${HOODS} hoods, ${RELAYS} relays, ${FLEETS + RELAYS} processes, ${POSTS_PER_HOOD / 2} sealed + ${POSTS_PER_HOOD / 2} plain posts/hood, ${postsPerSecond(n).toFixed(1)}/s in all, ${envBytes} B, vs plain gossipsub`
      rows.push(
        costWorkload(`scale:delivery p50 post to display, ${what}`, sealed.p50, 'ms', plain.p50),
        costWorkload(`scale:delivery p99 post to display, ${what} (aim <= 1.5x)`, sealed.p99, 'ms', plain.p99),
        rateWorkload(`scale:delivery shown within ${WINDOW_MS / 1000} s by gossip alone, ${n} engines, vs plain gossipsub (aim >= 1x)`,
          100 * sealed.inWindow / sealed.expected, '%', 100 * plain.inWindow / plain.expected),
        rateWorkload(`scale:delivery shown at the end with the relays' sync, ${n} engines (aim 100 %), vs plain gossipsub within ${WINDOW_MS / 1000} s`,
          100 * sealed.atEnd / sealed.expected, '%', 100 * plain.inWindow / plain.expected)
      )
    }
  } finally {
    await closeNetwork(net)
  }
  return rows
}
