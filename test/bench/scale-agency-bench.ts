/**
 * scale:agency (issue 13): an agency following 500 public area channels catches up on a week
 * of public posts, beside the same catch-up for one area, times 500.
 *
 * Sizes. A city of a million households posts about one alert a second in all: 604,800 a
 * week. Neighborhoods publish in their own area's topic, a six-character geohash cell of
 * ~0.7 km², so a city of ~370 km² is AREAS = 500 cells and an agency covering it follows all
 * 500 (protocol/hood-state.ts MAX_FOLLOWED_AREAS). A public copy of an alert is the resident's
 * choice, post by post: taken here as 2 % of alerts, 12,096 a week, so POSTS_PER_AREA = 24
 * (12,000 in all, ~300 bytes each). Each is a valid public post (public-post.ts: signed with
 * its author's pseudonym for the area, 16-bit proof of work), created at a random time in the
 * 7 days before it was mined.
 *
 * Set-up. Mining the proofs (~65,000 SHA-256 a post) takes minutes of CPU, so the posts are
 * mined once, in MINERS child processes, and kept for CACHE_MAX_AGE_MS in the OS temp folder
 * (each post lives POST_TTL_MS, a week plus that day, so all are unexpired while reused).
 * They are written into a relay's store (the real MessageStore on LevelDB), which a real relay
 * (node/relay/relay.ts with its default caps: the abuse bounds on) serves from its own child
 * process on 127.0.0.1.
 *
 * Measured, in another child process (its memory is the agency's alone): the agency engine
 * (node/resident.ts openResidentPeer on a temp home made an agency, following the areas
 * through that relay, as `agency create` and `agency follow --relay` leave it), after one
 * untimed catch-up of another area in a throwaway home (JIT): start() (libp2p node, one
 * subscription per area, dials the relay), then sync() until it holds every post (sync()
 * moves past a topic whose session failed: those are synced again, and counted).
 *   time:   sync() of the 500 areas vs 500 × the median sync() of one area (ONE_AREA_RUNS
 *           catch-ups, a fresh home and engine each, in a child of its own).
 *   memory: V8 heap used of the agency process (after gc) from before the engine opens to
 *           caught up, and its RSS from before its first engine (the warm-up) to caught up, vs
 *           500 × one area's growth (median of the same runs); and, a fairer reading since one
 *           engine serves every area, what each area beyond the first adds, beside its posts' bytes.
 *   start:  start() with 500 subscriptions vs with one (a reference: a start is paid once).
 * Notes print the sync sessions, round trips, and the relay's CPU during each catch-up.
 *
 * Smaller runs while developing: PL_SCALE_AGENCY_AREAS and PL_SCALE_AGENCY_POSTS; with
 * PL_SCALE_AGENCY_PROF=DIR each agency child writes a V8 CPU profile there.
 * Run alone: npm run bench -- --only scale:agency
 */
import '../../node/polyfill.ts'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { sha256 } from '../../protocol/crypto.ts'
import { fromBase64Url, toBase64Url } from '../../protocol/encoding.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { areaTopic } from '../../protocol/neighborhood.ts'
import { createPost, DEFAULT_TTL_MS, POST_KINDS } from '../../protocol/post.ts'
import { openPublicPost, sealPublicPost } from '../../protocol/public-post.ts'
import { STORE_FORMAT } from '../../protocol/peer/store-format.ts'
import { useNativeCrypto } from '../../node/native-crypto.ts'
import { Relay } from '../../node/relay/relay.ts'
import { openMessageStore } from '../../node/storage/level-messages.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { openResidentPeer } from '../../node/resident.ts'
import { costWorkload, type Workload } from './report.ts'
import { rng } from '../helpers/rng.ts'

// ---- Sizes

const AREAS = Number(process.env.PL_SCALE_AGENCY_AREAS ?? 500)
const POSTS_PER_AREA = Number(process.env.PL_SCALE_AGENCY_POSTS ?? 24)
/** Timed one-area catch-ups of the baseline (each a fresh home and engine). */
const ONE_AREA_RUNS = 7
const WEEK_MS = 7 * 24 * 3600_000
const DAY_MS = 24 * 3600_000
/** Mined posts are reused this long after mining. */
const CACHE_MAX_AGE_MS = DAY_MS
/** A week, as residents' posts live (DEFAULT_TTL_MS), plus the day the mined posts are reused. */
const POST_TTL_MS = DEFAULT_TTL_MS + CACHE_MAX_AGE_MS
/** Rounds of catching up again on the topics whose session failed. */
const MAX_RETRY_ROUNDS = 3
/** Child processes mining proofs of work (the machine's two cores). */
const MINERS = 2
const CACHE_VERSION = 1
/** Authors per area (each signs with its own pseudonym for the area). */
const AUTHORS = 16
const TEXTS = [
  'Car window smashed on the corner, glass all over the pavement',
  'Streetlight out by the bus stop since last night',
  'Grey dog with a red collar loose near the school, friendly',
  'Smoke from the back of the bakery, fire brigade on the way',
  'Water main burst, the road is closed both ways',
  'Someone trying car door handles along the street around 2am'
]

const CHILD_ARGS = ['--import', 'tsx', '--expose-gc']
const GEOHASH_CHARS = '0123456789bcdefghjkmnpqrstuvwxyz'

/** `n` six-character cells under one prefix, as a city's cells share one. */
function cityAreas (n: number): string[] {
  const c = (i: number): string => GEOHASH_CHARS[i & 31]!
  return Array.from({ length: n }, (_, i) => `u4p${c(i >> 10)}${c(i >> 5)}${c(i)}`)
}

// ---- Children and IPC

function child (mode: string, args: string[] = []): ChildProcess {
  return fork(fileURLToPath(import.meta.url), [mode, ...args], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    execArgv: mode === '--agency-child' && process.env.PL_SCALE_AGENCY_PROF !== undefined
      ? [...CHILD_ARGS, '--cpu-prof', `--cpu-prof-dir=${process.env.PL_SCALE_AGENCY_PROF}`]
      : CHILD_ARGS,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
}

/** Sends `msg` and waits for the child's answer of the same op. */
function ask<T> (proc: ChildProcess, msg: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`child did not answer ${String(msg.op)} in ${timeoutMs} ms`)) }, timeoutMs)
    const onExit = (code: number | null): void => { cleanup(); reject(new Error(`child exited (${code}) before answering ${String(msg.op)}`)) }
    const on = (reply: unknown): void => {
      const r = reply as { op?: string, error?: string }
      if (r.op !== msg.op) return
      cleanup()
      if (r.error !== undefined) reject(new Error(r.error))
      else resolve(reply as T)
    }
    const cleanup = (): void => { clearTimeout(timer); proc.off('message', on); proc.off('exit', onExit) }
    proc.on('message', on)
    proc.on('exit', onExit)
    proc.send(msg)
  })
}

async function stopChild (proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return
  const exited = new Promise(resolve => proc.once('exit', resolve))
  if (proc.connected) await ask(proc, { op: 'stop' }, 20_000).catch(() => {})
  // It exits once its answer is sent (and writes its CPU profile, if asked): give it the time.
  await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 10_000))])
  if (proc.exitCode === null) proc.kill()
}

/** Answers each IPC message with `handle`'s result (or its error), under the same op. */
function serveIpc (handle: (msg: Record<string, unknown>) => Promise<Record<string, unknown>>): void {
  process.on('message', (msg: Record<string, unknown>) => {
    void handle(msg).then(
      r => { process.send!({ op: msg.op, ...r }, () => { if (msg.op === 'stop') process.exit(0) }) },
      (err: unknown) => { process.send!({ op: msg.op, error: err instanceof Error ? err.stack ?? err.message : String(err) }) }
    )
  })
  process.on('disconnect', () => process.exit(0))
}

// ---- The posts: mined once, kept a day

interface Fixture { minedAt: number, areas: Record<string, string[]> }

function cachePath (): string {
  return join(tmpdir(), 'porchlight-bench-cache', `scale-agency-v${CACHE_VERSION}-${AREAS}x${POSTS_PER_AREA}.json`)
}

async function loadFixture (): Promise<{ posts: Map<string, Uint8Array[]>, mined: number, minedAt: number }> {
  const areas = cityAreas(AREAS)
  let cached: Fixture = { minedAt: Date.now(), areas: {} }
  try {
    const f = JSON.parse(await readFile(cachePath(), 'utf8')) as Fixture
    if (Date.now() - f.minedAt < CACHE_MAX_AGE_MS) cached = f
  } catch {}
  // What an interrupted run mined is kept: only the areas still missing are mined, for the same week.
  const out = cached.areas
  const missing = areas.filter(a => out[a]?.length !== POSTS_PER_AREA)
  const file = cachePath()
  const save = async (): Promise<void> => {
    await mkdir(join(file, '..'), { recursive: true })
    await writeFile(`${file}.tmp-${process.pid}`, JSON.stringify({ minedAt: cached.minedAt, areas: out } satisfies Fixture))
    await rename(`${file}.tmp-${process.pid}`, file)
  }
  let saving = Promise.resolve()
  let unsaved = 0
  const shares = Array.from({ length: MINERS }, (_, m) => missing.filter((_, i) => i % MINERS === m)).filter(s => s.length > 0)
  await Promise.all(shares.map(async (share, m) => {
    const miner = child('--mine-child')
    miner.on('message', (msg: { op?: string, area?: string, posts?: string[] }) => {
      if (msg.op !== 'mined-area') return
      out[msg.area!] = msg.posts!
      if (++unsaved >= 20) { unsaved = 0; saving = saving.then(save) }
    })
    try {
      await ask(miner, { op: 'mine', areas: share, posts: POSTS_PER_AREA, end: cached.minedAt, seed: m + 1 + areas.indexOf(share[0]!) }, 3_600_000)
    } finally {
      await stopChild(miner)
    }
  }))
  await saving
  if (missing.length > 0) await save()
  return { posts: new Map(areas.map(a => [a, out[a]!.map(s => fromBase64Url(s))])), mined: missing.length * POSTS_PER_AREA, minedAt: cached.minedAt }
}

/** The miner child: seals `posts` public posts per area, at random times in the week before `end`. */
async function mine (msg: Record<string, unknown>): Promise<Record<string, unknown>> {
  const areas = msg.areas as string[]
  const n = msg.posts as number
  const end = msg.end as number
  const r = rng(msg.seed as number)
  const authors = await Promise.all(Array.from({ length: AUTHORS }, async (_, i) => await createIdentity(`Neighbor ${i}`)))
  for (const area of areas) {
    const posts: string[] = []
    for (let i = 0; i < n; i++) {
      const created = end - Math.floor(r() * WEEK_MS)
      const post = createPost({
        kind: POST_KINDS[Math.floor(r() * 8)]!, text: `${TEXTS[Math.floor(r() * TEXTS.length)]!} (${area} #${i})`,
        location: area, now: created, ttlMs: POST_TTL_MS
      })
      const { bytes } = await sealPublicPost(authors[Math.floor(r() * AUTHORS)]!, area, post)
      posts.push(toBase64Url(bytes))
    }
    process.send!({ op: 'mined-area', area, posts })
  }
  return {}
}

// ---- The relay

/** Writes the posts into a relay's store, as its own intake would have kept them (validated first). */
async function seedRelayStore (dataDir: string, posts: Map<string, Uint8Array[]>): Promise<number> {
  const store = await openMessageStore(join(dataDir, 'messages'))
  const now = Date.now()
  let n = 0
  try {
    for (const [area, list] of posts) {
      const topic = areaTopic(area)
      await Promise.all(list.map(async bytes => {
        const opened = await openPublicPost(bytes, now)
        if (opened.topic !== topic) throw new Error('a mined post is for another area')
        if (await store.put({ topic, id: sha256(bytes), ts: opened.post.created, exp: opened.post.expires, bytes })) n++
      }))
    }
    // Marked current, as a relay's own store is (the check at start would read every message).
    await store.migrate(STORE_FORMAT, async () => false)
  } finally {
    await store.close()
  }
  return n
}

let relay: Relay | undefined

async function relayOp (msg: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (msg.op === 'start') {
    await useNativeCrypto()
    relay = await Relay.start({ dataDir: msg.dataDir as string, tcpPort: 0, wsPort: 0, httpPort: 0, areas: msg.areas as string[], log: () => {} })
    return { addrs: relay.addresses().map(String), stored: relay.store.stats().messages }
  }
  if (msg.op === 'cpu') {
    const u = process.cpuUsage()
    return {
      cpuMs: (u.user + u.system) / 1000,
      sessions: relay?.metrics.get('porchlight_sync_sessions_total', { role: 'server', outcome: 'ok' }) ?? 0,
      refusedStreams: ['streams', 'streams-per-ip', 'buffered', 'buffered-per-ip', 'idle', 'partial-frame']
        .reduce((s, reason) => s + (relay?.metrics.get('porchlight_streams_refused_total', { reason }) ?? 0), 0)
    }
  }
  if (msg.op === 'stop') { await relay?.stop(); return {} }
  throw new Error(`unknown op ${String(msg.op)}`)
}

// ---- The agency

interface CatchUp {
  areas: number
  held: number
  startMs: number
  syncMs: number
  /** CPU of the agency process from start() to caught up (user + system). */
  cpuMs: number
  sessions: number
  /** Rounds of sync() again for topics a failed session left behind. */
  retries: number
  roundTrips: number
  heapGrowth: number
  rssGrowth: number
}

async function settledMemory (): Promise<{ heap: number, rss: number }> {
  const gc = (globalThis as { gc?: () => void }).gc
  for (let i = 0; i < 3; i++) { gc?.(); await new Promise(resolve => setTimeout(resolve, 20)) }
  const m = process.memoryUsage()
  return { heap: m.heapUsed, rss: m.rss }
}

/**
 * RSS of the agency process before its first engine (after gc). RSS growth is counted from
 * here: an engine stopped gives its pages back to the allocator, not to the system, so growth
 * from just before a later engine would not see them used again.
 */
let freshRss: number | undefined

/** One catch-up: a fresh agency home following `areas` through `relayAddr`, opened, started, synced. */
async function catchUp (areas: string[], relayAddr: string): Promise<CatchUp> {
  const dir = await mkdtemp(join(tmpdir(), 'pl-bench-agency-'))
  try {
    const home = await Home.open(dir)
    await home.saveAgency({ areas, attestations: [], relays: [relayAddr] })
    await home.saveIdentity(await createIdentity('City PD'))
    const before = await settledMemory()
    freshRss ??= before.rss
    const peer = await openResidentPeer(home)
    try {
      const cpu = process.cpuUsage()
      const t0 = performance.now()
      await peer.start()
      const t1 = performance.now()
      // Until it holds every post: a topic whose session failed is caught up again (sync() moves
      // on past a failed session without saying so; `agency feed` would show it incomplete).
      const stats = await peer.sync()
      const expected = areas.length * POSTS_PER_AREA
      let retries = 0
      while (peer.messages.stats().messages < expected && retries < MAX_RETRY_ROUNDS) {
        retries++
        const synced = new Set(stats.map(s => s.topic))
        stats.push(...await peer.sync(areas.map(a => areaTopic(a)).filter(t => !synced.has(t))))
      }
      const t2 = performance.now()
      const used = process.cpuUsage(cpu)
      const held = peer.messages.stats().messages
      const after = await settledMemory()
      return {
        areas: areas.length,
        held,
        startMs: t1 - t0,
        syncMs: t2 - t1,
        cpuMs: (used.user + used.system) / 1000,
        sessions: stats.length,
        retries,
        roundTrips: stats.reduce((s, x) => s + x.roundTrips, 0),
        heapGrowth: after.heap - before.heap,
        rssGrowth: after.rss - freshRss
      }
    } finally {
      await peer.stop()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function agencyOp (msg: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (msg.op === 'catch-up') {
    await useNativeCrypto()
    return { result: await catchUp(msg.areas as string[], msg.relay as string) }
  }
  if (msg.op === 'stop') return {}
  throw new Error(`unknown op ${String(msg.op)}`)
}

// ---- The suite

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const mib = (bytes: number): number => bytes / 2 ** 20

export async function benchScaleAgency (): Promise<Workload[]> {
  await useNativeCrypto()
  const areas = cityAreas(AREAS)
  const total = AREAS * POSTS_PER_AREA
  const t0 = performance.now()
  const fixture = await loadFixture()
  const setupNote = `${fixture.mined} of the posts mined now, in ${((performance.now() - t0) / 1000).toFixed(1)} s, the rest reused (mined for the week ending ${((Date.now() - fixture.minedAt) / 3600_000).toFixed(1)} h ago)`
  const dataDir = await mkdtemp(join(tmpdir(), 'pl-bench-agency-relay-'))
  const procs: ChildProcess[] = []
  try {
    const seeded = await seedRelayStore(dataDir, fixture.posts)
    if (seeded !== total) throw new Error(`seeded ${seeded} of ${total} posts`)
    const relayProc = child('--relay-child')
    procs.push(relayProc)
    const ready = await ask<{ addrs: string[], stored: number }>(relayProc, { op: 'start', dataDir, areas }, 120_000)
    if (ready.stored !== total) throw new Error(`the relay holds ${ready.stored} of ${total} posts`)
    const relayAddr = ready.addrs.find(a => a.includes('/tcp/') && !a.includes('/ws'))!
    const relayCpu = async (): Promise<{ cpuMs: number, sessions: number, refusedStreams: number }> => await ask(relayProc, { op: 'cpu' })

    type Measured = CatchUp & { relayCpuMs: number, relaySessions: number, refusedStreams: number }
    const run = async (agency: ChildProcess, list: string[]): Promise<Measured> => {
      const before = await relayCpu()
      const { result } = await ask<{ result: CatchUp }>(agency, { op: 'catch-up', areas: list, relay: relayAddr }, 600_000)
      const after = await relayCpu()
      if (result.held !== list.length * POSTS_PER_AREA) {
        throw new Error(`an agency following ${list.length} areas holds ${result.held} of ${list.length * POSTS_PER_AREA} posts (streams refused by the relay: ${after.refusedStreams})`)
      }
      return { ...result, relayCpuMs: after.cpuMs - before.cpuMs, relaySessions: after.sessions - before.sessions, refusedStreams: after.refusedStreams - before.refusedStreams }
    }

    // Baseline: one area at a time, a fresh home and engine each, after one untimed (JIT).
    const single = child('--agency-child')
    procs.push(single)
    await run(single, [areas[ONE_AREA_RUNS % AREAS]!])
    const ones: Measured[] = []
    for (let i = 0; i < ONE_AREA_RUNS; i++) ones.push(await run(single, [areas[i % AREAS]!]))
    await stopChild(single)

    // The agency of the whole city, in a fresh process warmed the same way.
    const city = child('--agency-child')
    procs.push(city)
    await run(city, [areas[AREAS - 1]!])
    const all = await run(city, areas)
    await stopChild(city)

    const one = (f: (c: CatchUp) => number): number => median(ones.map(f))
    const [oneSync, oneStart, oneCpu, oneHeap, oneRss] = [one(o => o.syncMs), one(o => o.startMs), one(o => o.cpuMs), one(o => o.heapGrowth), one(o => o.rssGrowth)]
    const oneRelayCpu = median(ones.map(o => o.relayCpuMs))
    // The bytes of one area's posts: what each further area adds at the least.
    const areaBytes = [...fixture.posts.values()].reduce((n, list) => n + list.reduce((m, b) => m + b.length, 0), 0) / AREAS
    const perArea = (g500: number, g1: number): number => (g500 - g1) / (AREAS - 1) / 1024
    console.log(`scale:agency: ${AREAS} areas x ${POSTS_PER_AREA} public posts (${total}, ${(areaBytes / POSTS_PER_AREA).toFixed(0)} B each; ${setupNote}); relay in its own process, default caps.\n` +
      `  one area (median of ${ONE_AREA_RUNS}): start ${oneStart.toFixed(0)} ms, sync ${oneSync.toFixed(1)} ms (${ones[0]!.sessions} session, ${ones[0]!.roundTrips} reconciliation round trips), agency CPU ${oneCpu.toFixed(0)} ms, rounds again ${ones.reduce((n, o) => n + o.retries, 0)}, ` +
      `heap +${mib(oneHeap).toFixed(2)} MiB, RSS +${mib(oneRss).toFixed(2)} MiB, relay CPU ${oneRelayCpu.toFixed(0)} ms; syncs ${ones.map(o => o.syncMs.toFixed(0)).join(', ')} ms\n` +
      `  ${AREAS} areas: start ${all.startMs.toFixed(0)} ms, sync ${all.syncMs.toFixed(0)} ms (${all.sessions} sessions, ${all.roundTrips} round trips, ${all.retries} rounds again for failed sessions, ${(all.syncMs / AREAS).toFixed(1)} ms an area), agency CPU ${all.cpuMs.toFixed(0)} ms, ` +
      `heap +${mib(all.heapGrowth).toFixed(1)} MiB, RSS +${mib(all.rssGrowth).toFixed(1)} MiB, relay CPU ${all.relayCpuMs.toFixed(0)} ms (${all.relaySessions} sessions served, ${all.refusedStreams} streams refused)`)
    const what = `agency catch-up, ${AREAS} areas x ${POSTS_PER_AREA} public posts (${total.toLocaleString('en-US')}), vs ${AREAS} x one area`
    return [
      costWorkload(`${what}: sync time`, all.syncMs, 'ms', AREAS * oneSync),
      costWorkload(`${what}: agency CPU (start to caught up)`, all.cpuMs, 'ms', AREAS * oneCpu),
      costWorkload(`${what}: V8 heap growth (after gc)`, mib(all.heapGrowth), 'MiB', mib(AREAS * oneHeap)),
      costWorkload(`${what}: RSS growth (after gc)`, mib(all.rssGrowth), 'MiB', mib(AREAS * oneRss)),
      // A fairer reading of memory: one engine serves all the areas, so what each further area
      // costs, beside the bytes of its posts.
      costWorkload(`agency memory per followed area beyond the first (${AREAS} vs 1): V8 heap vs its posts' bytes`, perArea(all.heapGrowth, oneHeap), 'KiB/area', areaBytes / 1024),
      costWorkload(`agency memory per followed area beyond the first (${AREAS} vs 1): RSS vs its posts' bytes`, perArea(all.rssGrowth, oneRss), 'KiB/area', areaBytes / 1024),
      costWorkload(`reference: agency start() with ${AREAS} area subscriptions vs with one`, all.startMs, 'ms', oneStart)
    ]
  } finally {
    for (const p of procs) await stopChild(p)
    await rm(dataDir, { recursive: true, force: true })
  }
}

const mode = process.argv[2]
if (mode !== undefined && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (mode === '--mine-child') serveIpc(async msg => msg.op === 'stop' ? {} : await mine(msg))
  else if (mode === '--relay-child') serveIpc(relayOp)
  else if (mode === '--agency-child') serveIpc(agencyOp)
}
