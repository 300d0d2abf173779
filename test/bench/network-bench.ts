/**
 * Network workloads (BENCH.md: relay ingest, delivery latency, catch-up, reconciliation,
 * relay memory), on real libp2p nodes (TCP + Noise + Yamux) on 127.0.0.1 and real relays
 * (node/relay/relay.ts) with LevelDB stores in temp folders. Each function is one suite of
 * test/bench/run.ts; together they take about a minute on a quiet machine.
 *
 *   benchRelayIngest   pushes acked/s: 2,000 sealed posts (1,024 B padded envelopes) pushed
 *                      (/porchlight/push/1) by one client in this process to a relay in a
 *                      child process (so the two do not share one event loop), 32 in flight,
 *                      beside bare LevelDB writes of the same bytes under the store's keys
 *                      (envelope + expiry index) with sync:true in batches of 32 envelopes:
 *                      the most the store's group commit can gather with 32 pushes in flight,
 *                      one fsync per window. The LevelDB baselines run in the relay's process
 *                      (same disk, same libuv pool, folders beside the relay's store) while
 *                      the client is idle, as the relay is while they run. References: one
 *                      synced batch per envelope, and a raw libp2p stream per request to the
 *                      relay's process (same framing, nothing else), and the same pipelined
 *                      push stream to a bare push server in the relay's process that answers
 *                      each turn's requests together without validating, storing or
 *                      publishing (the transport and the client alone). The five alternate in
 *                      8 rounds; the log line gives each process's CPU per push, and what the
 *                      relay would reach if validating and storing cost no CPU, a round being
 *                      then the bare round plus the fsync: 1 / (1/bare + 1/LevelDB) (an
 *                      estimate from rounds measured apart, not a bound).
 *                      With 32 in flight a synced batch holds at most 32 envelopes either way:
 *                      the relay acknowledges a batch in one write and the client sends its
 *                      next pushes in one, so batches fill (the log line gives their
 *                      mean), and a relay round is its CPU for 32 pushes plus one fsync and a
 *                      round trip where the baseline's is the fsync alone.
 *                      PL_BENCH_PROFILE=DIR leaves CPU profiles of the relay's process there,
 *                      one per round of pushes (nothing else in them).
 *   benchDelivery      p50/p99 latency and delivery ratio within 5 s, 20 peers in this process
 *                      (50 in one process measured one saturated event loop: scale:delivery
 *                      has 50 to 500 engines across processes): a real
 *                      relay (validates and stores before forwarding) plus raw Porchlight
 *                      libp2p nodes, every node dialing 4 random others. Residents' topic
 *                      validator decodes, checks the membership tag and decrypts before
 *                      forwarding; a post counts as delivered once its signature verifies
 *                      (as a feed shows it). Baseline: plain gossipsub on another topic of
 *                      the same nodes and connections, random bytes of the same size, no
 *                      validator, delivered at the 'message' event. Halves alternate.
 *   benchCatchUp       10,000 missed posts: one syncTopic from an empty set against a relay,
 *                      every message opened (openPost) and stored in a MessageStore, as a
 *                      resident does. Bytes are sync frame payloads both ways.
 *   benchReconcile     100,000 stored vs a peer missing 1 over /porchlight/sync/2: round trips
 *                      and bytes of reconciliation (sync-open and sync-rec frames), worst of
 *                      4 sessions (client missing oldest, middle, newest; relay missing one).
 *   benchConverge      two relays of one neighborhood, 5,000 stored posts each, 10 % of each
 *                      side's missing on the other (500 + 500, spread at random over time),
 *                      meet: time from identify (when both start reconciling, as relays do
 *                      on meeting) until both hold all 5,500, every message validated and
 *                      stored durably; median of 5 meetings of fresh relays (after 1
 *                      untimed, for the JIT). Baseline: the
 *                      1,000 differing envelopes copied over one raw libp2p stream on the
 *                      same connection (sync's framing, nothing else), after each meeting.
 *   benchRelayMemory   RSS and V8 heap growth (after gc) of a relay child process (the same
 *                      child as benchRelayIngest's) per connected client subscribed to its
 *                      topic (100 clients).
 *
 * Crypto: the node:crypto provider, as every Node entry point installs it (node/native-crypto.ts).
 *
 * Run alone: npm run bench -- --only relay-ingest,delivery,catch-up,reconcile,converge,relay-memory
 */
import '../../node/polyfill.ts'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Level } from 'level'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { randomBytes, sha256 } from '../../protocol/crypto.ts'
import { toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { checkEnvelopeTag, checkEnvelopeTime, decodeEnvelope, openEnvelope, openPost, openSignedPost, sealPost } from '../../protocol/envelope.ts'
import { createIdentity, type Identity } from '../../protocol/identity.ts'
import { createNeighborhood, deriveEpochKeys, newEpochSecret, privateTopic, type EpochKeys } from '../../protocol/neighborhood.ts'
import { createPost, DEFAULT_TTL_MS, MAX_TTL_MS } from '../../protocol/post.ts'
import { createRelayToken, encodeRelayToken } from '../../protocol/relay-token.ts'
import { SyncItemSet, type SyncItem } from '../../protocol/reconcile/sync.ts'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { Relay } from '../../node/relay/relay.ts'
import { useNativeCrypto } from '../../node/native-crypto.ts'
import { openMessageStore } from '../../node/storage/level-messages.ts'
import { PushServer, PushSession } from '../../protocol/peer/push.ts'
import { soon } from '../../protocol/peer/soon.ts'
import { syncTopic } from '../../protocol/peer/sync.ts'
import { STORE_FORMAT } from '../../protocol/peer/store-format.ts'
import { Frames } from '../../protocol/peer/frames.ts'
import { decodeResult, decodeSyncEnvelopes, encodePushRequest, encodeResult, encodeSyncEnvelopes, encodeSyncWant, MAX_ENVELOPES_PER_FRAME, MAX_FRAME_BYTES } from '../../protocol/wire.ts'
import { costWorkload, rateWorkload, type Workload } from './report.ts'
import { rng } from '../helpers/rng.ts'

// ---- Sizes and bounds

/** Post text: with the other fields the sealed envelope is 826 bytes (as in protocol-bench). */
const POST_TEXT_CHARS = 300
const INGEST_PUSHES = 2_000
const INGEST_WARMUP_PUSHES = 200
const INGEST_IN_FLIGHT = 32
/** Pushes, raw-stream requests and LevelDB writes alternate in this many rounds. */
const INGEST_ROUNDS = 8
/**
 * 20 peers only: 50 peers in one process measured one saturated event loop (every peer's
 * validator and gossipsub in one thread), not delivery; scale:delivery (scale-delivery-bench.ts)
 * measures 50 and more engines across processes.
 */
const DELIVERY_SIZES = [20] as const
const DELIVERY_DIALS_PER_PEER = 4
const DELIVERY_MESSAGES = 100
/** Untimed messages of each kind first (JIT, key caches). */
const DELIVERY_WARMUP_MESSAGES = 10
const DELIVERY_INTERVAL_MS = 50
const DELIVERY_WINDOW_MS = 5_000
/** Quiet time between delivery phases, so one phase's stragglers do not load the next. */
const PHASE_GAP_MS = 500
/** libp2p's connection monitor pings every connection this often (libp2p 3 default). */
const LIBP2P_PING_INTERVAL_MS = 10_000
/** Time for gossipsub meshes to form after subscribing (heartbeat every 1 s). */
const MESH_SETTLE_MS = 3_000
const CATCH_UP_POSTS = 10_000
const CATCH_UP_STEP_MS = 60_000
const CATCH_UP_AIM = 1.2
const RECONCILE_STORED = 100_000
const RECONCILE_BLOB_BYTES = 256
/** Negentropy's published figures for 1 difference in 1,000,000 records. */
const NEGENTROPY_ROUND_TRIPS = 3
const NEGENTROPY_BYTES = 1536
const CONVERGE_POSTS = 5_000
/** Of each relay's posts, the share the other lacks. */
const CONVERGE_DIFFERENT = 0.1
const CONVERGE_MEETINGS = 5
/** Untimed meetings first (JIT): a relay is a long-running process. */
const CONVERGE_WARMUP_MEETINGS = 1
const CONVERGE_AIM = 2
const CONVERGE_TIMEOUT_MS = 120_000
const RAW_COPY_PROTOCOL = '/porchlight-bench/raw-copy/1'
const MEMORY_CLIENTS = 100
const MEMORY_WARMUP_CLIENTS = 5
const MEMORY_DIAL_BATCH = 20
/**
 * Every bench peer dials from 127.0.0.1, where each stands for a household of its own: the
 * relay's per-IP connection cap (node/relay/caps.ts) is raised to its total for these workloads.
 */
const ONE_IP_FOR_ALL = { maxConnectionsPerIp: 300 }
/** Relay limits raised for the ingest bench only: one client pushing as fast as it can. */
const UNLIMITED_RATE = { perSecond: 1e9, burst: 1e9 }

// ---- Shared fixtures

interface Hood { topic: string, keys: EpochKeys, token: string, author: Identity }

async function benchHood (): Promise<Hood> {
  const author = await createIdentity('Bench Author')
  const hood = createNeighborhood('Bench Street', 'u4pruy', author.public.signKey)
  const keys = deriveEpochKeys(hood.id, 1, newEpochSecret())
  return { topic: privateTopic(hood.id), keys, token: encodeRelayToken(createRelayToken(hood, keys)), author }
}

const POST_TEXT = 'Suspicious van idling by the school gate since 7am, engine running, no plates on the back. '
  .repeat(4).slice(0, POST_TEXT_CHARS)

/** `n` distinct sealed posts (signed, encrypted, tagged), created `stepMs` apart ending at `end`. */
async function sealPosts (h: Hood, n: number, end = Date.now(), stepMs = 1): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  const CHUNK = 128
  for (let i = 0; i < n; i += CHUNK) {
    const chunk = await Promise.all(Array.from({ length: Math.min(CHUNK, n - i) }, async (_, j) => {
      const post = createPost({ kind: 'suspicious', text: POST_TEXT, location: 'u4pruy', now: end - (n - i - j) * stepMs })
      return (await sealPost(h.author, h.topic, h.keys, post)).bytes
    }))
    out.push(...chunk)
  }
  return out
}

const keysFor = (h: Hood) => (epoch: number): EpochKeys | undefined => (epoch === h.keys.epoch ? h.keys : undefined)

const dirs: string[] = []
export async function tempDir (prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}
export async function removeDirs (): Promise<void> {
  while (dirs.length > 0) await rm(dirs.pop()!, { recursive: true, force: true }).catch(() => {})
}

async function startRelay (h: Hood, init: { peerRate?: { perSecond: number, burst: number } } = {}): Promise<Relay> {
  return await Relay.start({
    dataDir: await tempDir('pl-bench-relay-'),
    tcpPort: 0,
    wsPort: 0,
    httpPort: 0,
    tokens: [h.token],
    log: () => {},
    caps: ONE_IP_FOR_ALL,
    ...init
  })
}

function tcpAddrs (node: PorchlightNode): Multiaddr[] {
  return node.getMultiaddrs().filter(a => a.toString().includes('/tcp/') && !a.toString().includes('/ws'))
}

/** Dials with retries: every node shares 127.0.0.1, and peers accept 5 inbound connections/s per IP. */
async function dialRetry (from: PorchlightNode, to: Multiaddr[], attempts = 6): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await from.dial(to, { signal: AbortSignal.timeout(5000) })
      return
    } catch (err) {
      if (i >= attempts) throw err
      await sleep(300 * i)
    }
  }
}

/** Mesh peers of a topic (the implementation has getMeshPeers; the exported interface does not). */
function meshPeers (node: PorchlightNode, topic: string): number {
  const pubsub = node.services.pubsub as unknown as { getMeshPeers?: (t: string) => string[], getSubscribers: (t: string) => unknown[] }
  return (pubsub.getMeshPeers?.(topic) ?? pubsub.getSubscribers(topic)).length
}

/** Stops a node or relay, ignoring errors (cleanup). */
export async function stopQuietly (x: { stop: () => void | Promise<void> }): Promise<void> {
  try { await x.stop() } catch {}
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }


export function percentile (sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T> (items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!)
  }))
}

// ---- Relay ingest

/** The store's key layout (node/storage/level-messages.ts): m!topic!ts!id -> bytes, x!exp!id -> empty. */
function storeOps (topic: string, env: Uint8Array, ts: number, exp: number): Array<{ type: 'put', key: string, value: Uint8Array }> {
  const idHex = toHex(sha256(env))
  const t16 = (n: number): string => n.toString(16).padStart(14, '0')
  return [
    { type: 'put', key: `m!${topic}!${t16(ts)}!${idHex}`, value: env },
    { type: 'put', key: `x!${t16(exp)}!${idHex}`, value: new Uint8Array(0) }
  ]
}

/** Bare LevelDB: the same bytes and keys, synced, `perBatch` envelopes per batch, `inFlight` batches at once. Returns ms. */
async function levelWrites (db: Level<string, Uint8Array>, topic: string, envs: readonly Uint8Array[], perBatch: number, inFlight: number): Promise<number> {
  const now = Date.now()
  const batches: Array<ReturnType<typeof storeOps>> = []
  for (let i = 0; i < envs.length; i += perBatch) {
    batches.push(envs.slice(i, i + perBatch).flatMap((env, j) => storeOps(topic, env, now + i + j, now + MAX_TTL_MS)))
  }
  const start = performance.now()
  await pool(batches, inFlight, async (ops) => { await db.batch(ops, { sync: true } as never) })
  return performance.now() - start
}

async function openLevel (dir: string): Promise<Level<string, Uint8Array>> {
  const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' })
  await db.open()
  return db
}

/** Reference transport: one request and one small answer per stream, Porchlight framing, nothing else. */
const ECHO_PROTOCOL = '/porchlight-bench/echo/1'

export async function benchRelayIngest (): Promise<Workload[]> {
  await useNativeCrypto()
  const h = await benchHood()
  const envs = await sealPosts(h, INGEST_WARMUP_PUSHES + INGEST_PUSHES)
  const profileDir = process.env.PL_BENCH_PROFILE
  const relay = await forkRelay(h, await tempDir('pl-bench-relay-'), { ingest: true, ...(profileDir !== undefined ? { profileDir } : {}) })
  const client = await createNode({})
  try {
    const addrs = relay.addrs
    await client.dial(addrs)
    const bare = await PushSession.open(client, relay.bareAddrs)
    const pushBare = async (env: Uint8Array): Promise<void> => {
      const r = await bare.push(h.topic, env)
      if (!r.ok) throw new Error(`bare push server failed: ${r.code ?? ''}`)
    }
    const cpu = async (): Promise<number> => {
      const c = (await ask<{ cpu: NodeJS.CpuUsage }>(relay.child, { op: 'cpu' })).cpu
      return c.user + c.system
    }
    let retries = 0
    // As the outbox does: pushes pipelined on one stream, an unreachable relay retried, a
    // refusal final.
    let session = await PushSession.open(client, addrs)
    const push = async (env: Uint8Array): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        const r = await session.push(h.topic, env)
        if (r.code === 'UNAVAILABLE') session = await PushSession.open(client, addrs)
        if (r.ok) return
        if ((r.code !== 'UNAVAILABLE' && r.code !== 'TIMEOUT') || attempt >= 3) throw new Error(`push refused: ${r.code ?? ''} ${r.message ?? ''}`)
        retries++
      }
    }
    // A stream per request: on a loaded machine one may miss libp2p's deadlines, retried as a push is.
    const echo = async (env: Uint8Array): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          const f = new Frames(await client.dialProtocol(addrs, ECHO_PROTOCOL))
          await f.write(encodePushRequest({ topic: h.topic, message: env }))
          await f.close()
          if (!decodeResult(await f.read()).ok) throw new Error('echo failed')
          return
        } catch (err) {
          if (attempt >= 3) throw err
          retries++
        }
      }
    }
    // Bare LevelDB in the relay's process (its disk, its libuv pool), while the client is idle.
    const level = async (part: Uint8Array[], perBatch: number, inFlight: number): Promise<number> =>
      (await ask<{ ms: number }>(relay.child, { op: 'level', topic: h.topic, envs: part, perBatch, inFlight }, 60_000)).ms
    await pool(envs.slice(0, INGEST_WARMUP_PUSHES), INGEST_IN_FLIGHT, push)
    await pool(envs.slice(0, INGEST_WARMUP_PUSHES), INGEST_IN_FLIGHT, echo)
    await pool(envs.slice(0, INGEST_WARMUP_PUSHES), INGEST_IN_FLIGHT, pushBare)
    await level(envs.slice(0, INGEST_WARMUP_PUSHES), INGEST_IN_FLIGHT, 1)
    await ask(relay.child, { op: 'ingest' })

    // Interleaved rounds, so the machine's noise hits the relay and its baselines alike.
    const ms = { push: 0, echo: 0, bare: 0, grouped: 0, single: 0 }
    /** CPU time (µs, user + system, all threads) of each process during the rounds of pushes. */
    const used = { client: 0, relay: 0 }
    const timed = envs.slice(INGEST_WARMUP_PUSHES)
    const perRound = Math.ceil(timed.length / INGEST_ROUNDS)
    for (let i = 0; i < timed.length; i += perRound) {
      const part = timed.slice(i, i + perRound)
      if (profileDir !== undefined) await ask(relay.child, { op: 'prof', on: true })
      const client0 = process.cpuUsage()
      const relay0 = await cpu()
      let start = performance.now()
      await pool(part, INGEST_IN_FLIGHT, push)
      ms.push += performance.now() - start
      const client1 = process.cpuUsage(client0)
      used.client += client1.user + client1.system
      used.relay += await cpu() - relay0
      if (profileDir !== undefined) await ask(relay.child, { op: 'prof', on: false })
      start = performance.now()
      await pool(part, INGEST_IN_FLIGHT, echo)
      ms.echo += performance.now() - start
      start = performance.now()
      await pool(part, INGEST_IN_FLIGHT, pushBare)
      ms.bare += performance.now() - start
      ms.grouped += await level(part, INGEST_IN_FLIGHT, 1)
      ms.single += await level(part, 1, INGEST_IN_FLIGHT)
    }
    const stats = await ask<{ messages: number, batchSizes: number[] }>(relay.child, { op: 'ingest' })
    if (stats.messages !== envs.length) throw new Error('relay did not store every acked push')
    const rate = (t: number): number => timed.length / (t / 1000)
    const batchSizes = stats.batchSizes
    const meanBatch = batchSizes.length === 0 ? NaN : batchSizes.reduce((a, b) => a + b, 0) / batchSizes.length
    console.log(`relay-ingest: ${timed.length} pushes of ${envs[0]!.length}-byte envelopes, ${INGEST_IN_FLIGHT} in flight, client in this process, relay in a child: ` +
      `${rate(ms.push).toFixed(0)}/s (${retries} pushes or echoes retried); group commit: ${batchSizes.length} synced batches, mean ${meanBatch.toFixed(1)} envelopes; ` +
      `CPU per push: client ${(used.client / timed.length).toFixed(0)} µs, relay ${(used.relay / timed.length).toFixed(0)} µs; ` +
      `raw stream per request ${rate(ms.echo).toFixed(0)}/s; same push stream to a bare push server ${rate(ms.bare).toFixed(0)}/s ` +
      `(a bare round plus the fsync, i.e. validation and storage at no CPU: ${rate(ms.bare + ms.grouped).toFixed(0)}/s, ${(ms.grouped / (ms.bare + ms.grouped)).toFixed(2)} of LevelDB); LevelDB (in the relay's process) synced batches of ${INGEST_IN_FLIGHT} ${rate(ms.grouped).toFixed(0)}/s, ` +
      `one synced batch per envelope ${rate(ms.single).toFixed(0)}/s`)
    return [
      rateWorkload(`relay ingest (relay and client in separate processes), ${INGEST_IN_FLIGHT} pushes in flight on one pipelined push stream, vs LevelDB synced batches of ${INGEST_IN_FLIGHT} envelopes (same bytes)`,
        rate(ms.push), 'pushes acked/s', rate(ms.grouped)),
      rateWorkload(`reference: relay ingest vs LevelDB one synced batch per envelope, ${INGEST_IN_FLIGHT} in flight`,
        rate(ms.push), 'pushes acked/s', rate(ms.single)),
      rateWorkload(`reference: relay ingest vs raw libp2p stream per request (same framing, no validation/storage), ${INGEST_IN_FLIGHT} in flight`,
        rate(ms.push), 'pushes acked/s', rate(ms.echo)),
      rateWorkload(`reference: the same push stream to a bare push server (answers each turn's requests together; no validation, storage or publish) vs LevelDB synced batches of ${INGEST_IN_FLIGHT}: transport and client alone`,
        rate(ms.bare), 'pushes acked/s', rate(ms.grouped))
    ]
  } finally {
    await stopQuietly(client)
    await relay.stop()
    await removeDirs()
  }
}

// ---- Delivery latency

interface PhaseResult { p50: number, p99: number, delivered: number, expected: number }
interface Phase { latencies: number[], expected: number }

function summarize (phases: readonly Phase[]): PhaseResult {
  const sorted = phases.flatMap(p => p.latencies).sort((a, b) => a - b)
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), delivered: sorted.length, expected: phases.reduce((n, p) => n + p.expected, 0) }
}

/**
 * Publishes `payloads` DELIVERY_INTERVAL_MS apart, each from the resident `publishers[k]`,
 * and measures publish → delivered at every other node, the relay included: the 'message'
 * event (after any validator), then `show` if given. Counts what arrives within
 * DELIVERY_WINDOW_MS of its publication.
 */
async function deliveryPhase (nodes: PorchlightNode[], topic: string, payloads: Uint8Array[], publishers: number[],
  show?: (node: number, data: Uint8Array) => Promise<void>): Promise<Phase> {
  const sentAt = new Map<string, { t: number, from: number }>()
  const latencies: number[] = []
  const got = new Set<string>()
  const listeners = nodes.map((node, i) => {
    const onMessage = (evt: CustomEvent<{ topic: string, data: Uint8Array }>): void => {
      if (evt.detail.topic !== topic) return
      const data = evt.detail.data
      const key = toHex(sha256(data))
      const sent = sentAt.get(key)
      if (sent === undefined || sent.from === i || got.has(`${i}:${key}`)) return
      got.add(`${i}:${key}`)
      const record = (): void => {
        const ms = performance.now() - sent.t
        if (ms <= DELIVERY_WINDOW_MS) latencies.push(ms)
      }
      if (show === undefined) record()
      else show(i, data).then(record, () => {})
    }
    node.services.pubsub.addEventListener('message', onMessage as never)
    return () => { node.services.pubsub.removeEventListener('message', onMessage as never) }
  })
  const start = performance.now()
  for (const [k, data] of payloads.entries()) {
    const wait = start + k * DELIVERY_INTERVAL_MS - performance.now()
    if (wait > 0) await sleep(wait)
    const from = publishers[k]!
    sentAt.set(toHex(sha256(data)), { t: performance.now(), from })
    void nodes[from]!.services.pubsub.publish(topic, data).catch(() => {})
  }
  const expected = payloads.length * (nodes.length - 1)
  const deadline = performance.now() + DELIVERY_WINDOW_MS
  while (latencies.length < expected && performance.now() < deadline) await sleep(50)
  for (const off of listeners) off()
  return { latencies, expected }
}

async function deliveryNetwork (size: number, seed: number): Promise<{ plain: PhaseResult, sealed: PhaseResult, envBytes: number }> {
  const h = await benchHood()
  const plainTopic = '/bench/plain-gossipsub'
  const relay = await startRelay(h)
  const residents: PorchlightNode[] = []
  try {
    // Starts spread over one libp2p ping interval: every node pings all its connections every
    // 10 s from its start, and 50 nodes started at once in one process stall it ~100-200 ms
    // together every 10 s, which real peers (started at different times) never do.
    const stagger = LIBP2P_PING_INTERVAL_MS / size
    for (let i = 1; i < size; i++) {
      const next = performance.now() + stagger
      residents.push(await createNode({ tcpPort: 0 }))
      await sleep(next - performance.now())
    }
    const nodes = [relay.node, ...residents]
    relay.node.services.pubsub.subscribe(plainTopic)
    // Residents: the validator (before forwarding) decodes, checks the membership tag and
    // decrypts; the post is shown once its signature verifies (after forwarding, as a feed).
    const opened = nodes.map(() => new WeakMap<Uint8Array, Uint8Array>())
    for (const [k, node] of residents.entries()) {
      const pubsub = node.services.pubsub
      pubsub.topicValidators.set(h.topic, (_peer, msg) => {
        try {
          const env = decodeEnvelope(msg.data)
          if (env.topic !== h.topic || env.epoch !== h.keys.epoch || !checkEnvelopeTag(env, h.keys.tagKey)) return TopicValidatorResult.Reject
          checkEnvelopeTime(env, Date.now())
          opened[k + 1]!.set(msg.data, openEnvelope(env, h.keys, h.topic))
          return TopicValidatorResult.Accept
        } catch {
          return TopicValidatorResult.Reject
        }
      })
      pubsub.subscribe(h.topic)
      pubsub.subscribe(plainTopic)
    }
    // Topology: every node (the relay too) dials DELIVERY_DIALS_PER_PEER distinct random others.
    const r = rng(seed)
    const dials: Array<Promise<void>> = []
    for (const [i, node] of nodes.entries()) {
      const targets = new Set<number>()
      while (targets.size < Math.min(DELIVERY_DIALS_PER_PEER, size - 1)) {
        const j = Math.floor(r() * size)
        if (j !== i) targets.add(j)
      }
      for (const j of targets) dials.push(dialRetry(node, tcpAddrs(nodes[j]!)))
    }
    await Promise.all(dials)
    const settleEnd = Date.now() + 15_000
    while (Date.now() < settleEnd && nodes.some(n => meshPeers(n, h.topic) === 0 || meshPeers(n, plainTopic) === 0)) await sleep(200)
    await sleep(MESH_SETTLE_MS)

    const publishers = Array.from({ length: DELIVERY_MESSAGES }, () => 1 + Math.floor(r() * (size - 1)))
    const [sealed, warmSealed] = [await sealPosts(h, DELIVERY_MESSAGES), await sealPosts(h, DELIVERY_WARMUP_MESSAGES)]
    const plain = sealed.map(env => randomBytes(env.length))
    const degree = (): string => (nodes.reduce((a, n) => a + n.getPeers().length, 0) / size).toFixed(1)
    const degrees = [degree()]
    // Plain and sealed halves alternate (plain, sealed, plain, sealed), so drift in the
    // machine's load reaches both; same publishers, same payload sizes.
    const half = DELIVERY_MESSAGES / 2
    const plainPhases: Phase[] = []
    const sealedPhases: Phase[] = []
    const show = async (i: number, data: Uint8Array): Promise<void> => {
      if (i === 0) return // the relay: delivered once stored (its validator stores)
      const inner = opened[i]!.get(data)
      if (inner === undefined) { await openPost(data, keysFor(h), Date.now(), { topic: h.topic }); return }
      await openSignedPost(inner, h.topic, Date.now())
    }
    // Untimed warm-up of both paths (JIT, key caches), then the measured halves.
    const warmFrom = publishers.slice(0, DELIVERY_WARMUP_MESSAGES)
    await deliveryPhase(nodes, plainTopic, warmSealed.map(env => randomBytes(env.length)), warmFrom)
    await deliveryPhase(nodes, h.topic, warmSealed, warmFrom, show)
    await sleep(PHASE_GAP_MS)
    for (let k = 0; k < DELIVERY_MESSAGES; k += half) {
      plainPhases.push(await deliveryPhase(nodes, plainTopic, plain.slice(k, k + half), publishers.slice(k, k + half)))
      await sleep(PHASE_GAP_MS)
      sealedPhases.push(await deliveryPhase(nodes, h.topic, sealed.slice(k, k + half), publishers.slice(k, k + half), show))
      await sleep(PHASE_GAP_MS)
      degrees.push(degree())
    }
    const plainResult = summarize(plainPhases)
    const sealedResult = summarize(sealedPhases)
    console.log(`delivery ${size} peers: connected peers per node on average ${degrees.join(' -> ')}; ` +
      `plain p50 ${plainResult.p50.toFixed(1)} ms p99 ${plainResult.p99.toFixed(1)} ms ${plainResult.delivered}/${plainResult.expected}; ` +
      `sealed p50 ${sealedResult.p50.toFixed(1)} ms p99 ${sealedResult.p99.toFixed(1)} ms ${sealedResult.delivered}/${sealedResult.expected}; ` +
      `relay stored ${relay.store.stats().messages}`)
    return { plain: plainResult, sealed: sealedResult, envBytes: sealed[0]!.length }
  } finally {
    await Promise.all(residents.map(stopQuietly))
    await stopQuietly(relay)
    await removeDirs()
  }
}

export async function benchDelivery (): Promise<Workload[]> {
  await useNativeCrypto()
  const rows: Workload[] = []
  for (const [k, size] of DELIVERY_SIZES.entries()) {
    const { plain, sealed, envBytes } = await deliveryNetwork(size, 1000 + k)
    const what = `${size} peers, ${DELIVERY_MESSAGES} msgs ${DELIVERY_INTERVAL_MS} ms apart, ${envBytes} B, vs plain gossipsub`
    rows.push(
      costWorkload(`delivery p50, ${what}`, sealed.p50, 'ms', plain.p50),
      costWorkload(`delivery p99, ${what}`, sealed.p99, 'ms', plain.p99),
      rateWorkload(`delivered within ${DELIVERY_WINDOW_MS / 1000} s (gossip only, no sync), ${size} peers, vs plain gossipsub`,
        100 * sealed.delivered / sealed.expected, '%', 100 * plain.delivered / plain.expected)
    )
  }
  return rows
}

// ---- Catch-up after missed posts

export async function benchCatchUp (): Promise<Workload[]> {
  await useNativeCrypto()
  const h = await benchHood()
  // Posts a minute apart ending now: the last week, all still live.
  const end = Date.now()
  const envs = await sealPosts(h, CATCH_UP_POSTS, end, CATCH_UP_STEP_MS)
  const relay = await startRelay(h)
  const client = await createNode({})
  const store = await openMessageStore(join(await tempDir('pl-bench-resident-'), 'messages'))
  try {
    // The relay already holds them: stored the way it stores an accepted message (sealPosts
    // dates post i at end - (n - i) * step, expiring DEFAULT_TTL_MS later).
    await Promise.all(envs.map(async (bytes, i) => {
      const ts = end - (CATCH_UP_POSTS - i) * CATCH_UP_STEP_MS
      await relay.store.put({ topic: h.topic, id: sha256(bytes), ts, exp: ts + DEFAULT_TTL_MS, bytes })
    }))
    const missedBytes = envs.reduce((n, e) => n + e.length, 0)
    const start = performance.now()
    const stats = await syncTopic(client, tcpAddrs(relay.node), h.topic, store.items(h.topic), {
      auth: h.keys,
      getLocal: async (id) => (await store.get(id))?.bytes,
      // As a resident does: open (decode, decrypt, verify, tag) then store durably.
      onMessage: async (bytes) => {
        const p = await openPost(bytes, keysFor(h), Date.now(), { topic: h.topic })
        await store.put({ topic: h.topic, id: p.id, ts: p.post.created, exp: p.post.expires, bytes })
      }
    })
    const seconds = (performance.now() - start) / 1000
    if (store.stats().messages !== CATCH_UP_POSTS || stats.received !== CATCH_UP_POSTS) throw new Error(`catch-up got ${stats.received} of ${CATCH_UP_POSTS}`)
    const bytes = stats.bytesIn + stats.bytesOut
    console.log(`catch-up: ${CATCH_UP_POSTS} posts (${missedBytes} B) in ${seconds.toFixed(2)} s, ${stats.roundTrips} reconciliation round trips, ` +
      `frames ${stats.bytesOut} B out + ${stats.bytesIn} B in = ${(bytes / missedBytes).toFixed(3)}x the envelopes (aim <= ${CATCH_UP_AIM}x)`)
    return [
      costWorkload(`catch-up ${CATCH_UP_POSTS.toLocaleString('en-US')} missed posts: time (sync + open + store each)`, seconds, 's', null),
      costWorkload(`catch-up ${CATCH_UP_POSTS.toLocaleString('en-US')} missed posts: sync bytes both ways vs bytes of the missed envelopes`, bytes, 'bytes', missedBytes)
    ]
  } finally {
    await stopQuietly(client)
    await store.close().catch(() => {})
    await stopQuietly(relay)
    await removeDirs()
  }
}

// ---- Reconciliation, 100,000 vs 1 missing

export async function benchReconcile (): Promise<Workload[]> {
  await useNativeCrypto()
  const h = await benchHood()
  // The history is written straight into the relay's database in the store's layout (100,000
  // puts through the store take ~10 s here) and loaded by the relay at start. Reconciliation
  // only sees (ts, id): the stored messages are random 256-byte blobs, spread over 7 days.
  const dataDir = await tempDir('pl-bench-relay-')
  const now = Date.now()
  const span = 7 * 86_400_000
  const r = rng(7)
  const items: SyncItem[] = []
  const db = new Level<string, Uint8Array>(join(dataDir, 'messages'), { valueEncoding: 'view' })
  await db.open()
  const CHUNK = 10_000
  for (let i = 0; i < RECONCILE_STORED; i += CHUNK) {
    const ops: ReturnType<typeof storeOps> = []
    for (let j = i; j < Math.min(i + CHUNK, RECONCILE_STORED); j++) {
      const ts = now - span + Math.floor(r() * span)
      const bytes = randomBytes(RECONCILE_BLOB_BYTES)
      items.push({ ts, id: sha256(bytes) })
      ops.push(...storeOps(h.topic, bytes, ts, ts + MAX_TTL_MS))
    }
    await db.batch(ops)
  }
  await db.close()
  const relay = await Relay.start({ dataDir, tcpPort: 0, wsPort: 0, httpPort: 0, tokens: [h.token], log: () => {} })
  const client = await createNode({})
  try {
    if (relay.store.stats().messages !== RECONCILE_STORED) throw new Error(`reconcile: the relay loaded ${relay.store.stats().messages} of ${RECONCILE_STORED} messages`)
    const addrs = tcpAddrs(relay.node)
    await client.dial(addrs)
    const local = new SyncItemSet(items)
    const sorted = [...items].sort((a, b) => a.ts - b.ts)
    let worstRt = 0
    let worstBytes = 0
    let worstTotal = 0
    const runs: string[] = []
    const session = async (set: SyncItemSet, give: Uint8Array | undefined, expectIn: number): Promise<void> => {
      let received: Uint8Array | undefined
      const start = performance.now()
      const stats = await syncTopic(client, addrs, h.topic, set, {
        auth: h.keys,
        getLocal: async () => give,
        onMessage: async (msg) => { received = msg }
      })
      if (stats.received !== expectIn || stats.sent !== (give === undefined ? 0 : 1)) throw new Error('reconcile: wrong difference found')
      // The frames after reconciliation, re-encoded: the transfer exchange and the closing
      // want/result. What is left is the reconciliation itself (sync-open and sync-rec frames).
      const transfer = (give !== undefined
        ? encodeSyncWant([], [give]).length + encodeSyncEnvelopes([], false).length
        : encodeSyncWant([sha256(received!)], []).length + encodeSyncEnvelopes([received!], false).length) +
        encodeSyncWant([], []).length + encodeResult({ ok: true }).length
      const total = stats.bytesIn + stats.bytesOut
      if (transfer >= total) throw new Error('reconcile: transfer frames exceed the session')
      worstRt = Math.max(worstRt, stats.roundTrips)
      worstBytes = Math.max(worstBytes, total - transfer)
      worstTotal = Math.max(worstTotal, total)
      runs.push(`${stats.roundTrips} rt/${total - transfer} B reconciling/${total} B in all/${(performance.now() - start).toFixed(0)} ms`)
    }
    // The client is missing one item: oldest, middle, newest.
    for (const idx of [0, RECONCILE_STORED >> 1, RECONCILE_STORED - 1]) {
      const item = sorted[idx]!
      local.remove(item)
      await session(local, undefined, 1)
      local.add(item)
    }
    // The relay is missing one the client has: a fresh sealed post it validates and stores.
    const [extra] = await sealPosts(h, 1)
    const opened = await openPost(extra!, keysFor(h), Date.now())
    local.add({ ts: opened.post.created, id: opened.id })
    await session(local, extra, 0)
    if (relay.store.stats().messages !== RECONCILE_STORED + 1) throw new Error('reconcile: the relay did not store what it lacked')
    console.log(`reconcile ${RECONCILE_STORED} vs 1 missing over /porchlight/sync/2 (client missing oldest, middle, newest; relay missing one): ` +
      `${runs.join(', ')}; round trips and bytes of reconciliation exclude the transfer exchange and the closing want/result`)
    return [
      costWorkload(`reconcile ${RECONCILE_STORED.toLocaleString('en-US')} vs 1 missing: round trips (worst of 4) vs Negentropy`, worstRt, 'round trips', NEGENTROPY_ROUND_TRIPS),
      costWorkload(`reconcile ${RECONCILE_STORED.toLocaleString('en-US')} vs 1 missing: reconciliation bytes both ways (worst of 4) vs Negentropy`, worstBytes, 'bytes', NEGENTROPY_BYTES),
      costWorkload(`reference: reconcile ${RECONCILE_STORED.toLocaleString('en-US')} vs 1 missing: whole session bytes incl. transfer of the 1 message (worst of 4)`, worstTotal, 'bytes', NEGENTROPY_BYTES)
    ]
  } finally {
    await stopQuietly(client)
    await stopQuietly(relay)
    await removeDirs()
  }
}

// ---- Two relays converge

/** A relay whose store holds `envs` at start (written in the store's layout, as benchReconcile does). */
async function relayHolding (h: Hood, envs: readonly Uint8Array[]): Promise<Relay> {
  const dataDir = await tempDir('pl-bench-converge-')
  const db = new Level<string, Uint8Array>(join(dataDir, 'messages'), { valueEncoding: 'view' })
  await db.open()
  const ops: ReturnType<typeof storeOps> = []
  for (const env of envs) {
    const { ts, exp } = decodeEnvelope(env)
    ops.push(...storeOps(h.topic, env, ts, exp))
  }
  // Marked current, as a relay's own store is: the format check at start would read every message.
  await db.batch([...ops, { type: 'put', key: 'f!format', value: utf8Bytes(String(STORE_FORMAT)) }])
  await db.close()
  const relay = await Relay.start({ dataDir, tcpPort: 0, wsPort: 0, httpPort: 0, tokens: [h.token], log: () => {} })
  if (relay.store.stats().messages !== envs.length) throw new Error(`converge: a relay loaded ${relay.store.stats().messages} of ${envs.length} messages`)
  return relay
}

/** Copies `envs` from `from` to `to` over one raw stream in sync's pages; resolves once `to` has read them all. */
async function rawCopy (from: PorchlightNode, to: PorchlightNode, envs: readonly Uint8Array[]): Promise<number> {
  const budget = MAX_FRAME_BYTES - 4096
  const stream = await from.dialProtocol(to.peerId, RAW_COPY_PROTOCOL)
  const f = new Frames(stream)
  let page: Uint8Array[] = []
  let size = 0
  for (const env of envs) {
    if (page.length > 0 && (size + env.length > budget || page.length >= MAX_ENVELOPES_PER_FRAME)) {
      await f.write(encodeSyncEnvelopes(page, true))
      page = []
      size = 0
    }
    page.push(env)
    size += env.length + 8
  }
  await f.write(encodeSyncEnvelopes(page, false))
  const r = decodeResult(await f.read())
  await f.close()
  if (!r.ok) throw new Error('raw copy failed')
  return envs.length
}

export async function benchConverge (): Promise<Workload[]> {
  await useNativeCrypto()
  const h = await benchHood()
  const differ = Math.round(CONVERGE_POSTS * CONVERGE_DIFFERENT)
  const all = await sealPosts(h, CONVERGE_POSTS + differ)
  // Which posts only one side holds: spread at random over the history, so reconciliation
  // has to find them in many ranges, not in one block at either end.
  const r = rng(11)
  const order = all.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  const onlyA = new Set(order.slice(0, differ))
  const onlyB = new Set(order.slice(differ, 2 * differ))
  const envsA = all.filter((_, i) => !onlyB.has(i))
  const envsB = all.filter((_, i) => !onlyA.has(i))
  const difference = [...onlyA, ...onlyB].map(i => all[i]!)
  const total = all.length
  const converged: number[] = []
  const copied: number[] = []
  const notes: string[] = []
  for (let m = 0; m < CONVERGE_WARMUP_MEETINGS + CONVERGE_MEETINGS; m++) {
    const timed = m >= CONVERGE_WARMUP_MEETINGS
    const a = await relayHolding(h, envsA)
    const b = await relayHolding(h, envsB)
    try {
      await b.node.handle(RAW_COPY_PROTOCOL, async (stream) => {
        const f = new Frames(stream)
        for (;;) {
          const frame = await f.readOrEnd()
          if (frame === null) break
          if (!decodeSyncEnvelopesMore(frame)) break
        }
        await f.write(encodeResult({ ok: true }))
        await f.close()
      })
      let start: number | undefined
      let cpuStart: NodeJS.CpuUsage | undefined
      const identified = (): void => { start ??= performance.now(); cpuStart ??= process.cpuUsage() }
      a.node.addEventListener('peer:identify', identified)
      b.node.addEventListener('peer:identify', identified)
      await a.node.dial(tcpAddrs(b.node))
      // What a relay does on meeting a --peer sibling it dialed: reconcile every served topic.
      void a.syncWith(b.node.peerId)
      const deadline = Date.now() + CONVERGE_TIMEOUT_MS
      while (a.store.stats().messages < total || b.store.stats().messages < total) {
        if (Date.now() > deadline) throw new Error(`converge: not converged after ${CONVERGE_TIMEOUT_MS} ms (${a.store.stats().messages}, ${b.store.stats().messages} of ${total})`)
        await sleep(2)
      }
      const ms = performance.now() - start!
      const cpu = cpuMs(process.cpuUsage(cpuStart))
      if (timed) converged.push(ms)
      const synced = (x: Relay): number => x.metrics.get('porchlight_messages_accepted_total', { via: 'sync' })
      const dups = (x: Relay): number => x.metrics.get('porchlight_messages_duplicate_total')
      const refused = (x: Relay): number => x.metrics.get('porchlight_messages_rejected_total', { reason: 'UNKNOWN_EPOCH' }) +
        x.metrics.get('porchlight_messages_rejected_total', { reason: 'STALE_EPOCH' })
      if (synced(a) < differ || synced(b) < differ || refused(a) + refused(b) > 0) throw new Error(`converge: wrong messages stored or refused: stored by sync ${synced(a)}, ${synced(b)}; refused ${refused(a)}, ${refused(b)}`)
      // Baseline on the same connection, once the relays are quiet.
      await sleep(200)
      const t = performance.now()
      const rawCpuStart = process.cpuUsage()
      await rawCopy(a.node, b.node, difference)
      const raw = performance.now() - t
      const rawCpu = cpuMs(process.cpuUsage(rawCpuStart))
      if (timed) copied.push(raw)
      notes.push(`${timed ? '' : 'warm-up '}${ms.toFixed(0)} ms, CPU ${cpu.toFixed(0)} ms (duplicates offered: ${dups(a)} + ${dups(b)}) vs raw ${raw.toFixed(0)} ms, CPU ${rawCpu.toFixed(0)} ms`)
    } finally {
      await stopQuietly(a)
      await stopQuietly(b)
    }
  }
  await removeDirs()
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!
  const value = median(converged)
  const baseline = median(copied)
  const bytes = difference.reduce((n, e) => n + e.length, 0)
  console.log(`converge: 2 relays x ${CONVERGE_POSTS} posts of ${all[0]!.length} B, ${differ} + ${differ} different (${(bytes / 1024).toFixed(0)} KiB), ` +
    `${CONVERGE_MEETINGS} meetings: ${notes.join('; ')}; median ${value.toFixed(0)} ms vs ${baseline.toFixed(0)} ms raw = ${(value / baseline).toFixed(2)}x (aim <= ${CONVERGE_AIM}x)`)
  return [
    costWorkload(`two relays converge, ${CONVERGE_POSTS.toLocaleString('en-US')} posts each, ${CONVERGE_DIFFERENT * 100} % different, vs copying the difference over one raw stream (aim <= ${CONVERGE_AIM}x)`,
      value, 'ms', baseline)
  ]
}

/** User + system CPU of this process (both relays, both ends of the raw stream), ms. */
export function cpuMs (u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000
}

/** Whether a raw-copy page says more pages follow (the `more` flag of a sync-envs frame). */
function decodeSyncEnvelopesMore (frame: Uint8Array): boolean {
  return decodeSyncEnvelopes(frame).more
}

// ---- Relay memory per connected peer (relay in a child process)

interface ChildMemory { rss: number, heapUsed: number, peers: number, subscribers: number }

/** Sends `msg` to a child process and resolves with its reply of the same `op`. */
export function ask<T> (child: ChildProcess, msg: Record<string, unknown>, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.off('message', on); reject(new Error(`child process did not answer ${String(msg.op)} within ${timeoutMs} ms`)) }, timeoutMs)
    const on = (reply: unknown): void => {
      const r = reply as { op?: string }
      if (r.op !== msg.op) return
      clearTimeout(timer)
      child.off('message', on)
      resolve(reply as T)
    }
    child.on('message', on)
    child.send(msg)
  })
}

async function connectClients (n: number, topic: string, relayAddrs: Multiaddr[]): Promise<PorchlightNode[]> {
  const clients: PorchlightNode[] = []
  for (let i = 0; i < n; i += MEMORY_DIAL_BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(MEMORY_DIAL_BATCH, n - i) }, async () => {
      const c = await createNode({})
      c.services.pubsub.subscribe(topic)
      await dialRetry(c, relayAddrs)
      return c
    }))
    clients.push(...batch)
  }
  return clients
}

async function settledMemory (child: ChildProcess, wantSubscribers: number): Promise<ChildMemory> {
  const end = Date.now() + 20_000
  for (;;) {
    const m = await ask<ChildMemory>(child, { op: 'mem' })
    if (process.env.PL_BENCH_DEBUG !== undefined) console.log('relay-memory:', JSON.stringify(m))
    if (m.subscribers === wantSubscribers || Date.now() > end) return m
    await sleep(250)
  }
}

export async function benchRelayMemory (): Promise<Workload[]> {
  await useNativeCrypto()
  const h = await benchHood()
  const relay = await forkRelay(h, await tempDir('pl-bench-relay-mem-'))
  const child = relay.child
  let clients: PorchlightNode[] = []
  try {
    const addrs = relay.addrs
    // Warm-up: a few clients come and go, so code paths and pools are not counted per peer.
    const warm = await connectClients(MEMORY_WARMUP_CLIENTS, h.topic, addrs)
    await settledMemory(child, MEMORY_WARMUP_CLIENTS)
    await Promise.all(warm.map(async c => { await c.stop() }))
    await sleep(2000)
    const before = await settledMemory(child, 0)
    clients = await connectClients(MEMORY_CLIENTS, h.topic, addrs)
    await settledMemory(child, MEMORY_CLIENTS)
    await sleep(3000) // a few gossipsub heartbeats: mesh grafted, scores allocated
    const after = await settledMemory(child, MEMORY_CLIENTS)
    if (after.subscribers !== MEMORY_CLIENTS) throw new Error(`relay sees ${after.subscribers} of ${MEMORY_CLIENTS} subscribers`)
    const rssKiB = (after.rss - before.rss) / 1024 / MEMORY_CLIENTS
    const heapKiB = (after.heapUsed - before.heapUsed) / 1024 / MEMORY_CLIENTS
    console.log(`relay-memory: relay child RSS ${(before.rss / 2 ** 20).toFixed(1)} -> ${(after.rss / 2 ** 20).toFixed(1)} MiB, ` +
      `heapUsed ${(before.heapUsed / 2 ** 20).toFixed(1)} -> ${(after.heapUsed / 2 ** 20).toFixed(1)} MiB with ${after.peers} peers (after gc)`)
    return [
      costWorkload(`relay memory per connected subscribed peer (${MEMORY_CLIENTS} peers): RSS`, rssKiB, 'KiB/peer', null),
      costWorkload(`relay memory per connected subscribed peer (${MEMORY_CLIENTS} peers): V8 heap used`, heapKiB, 'KiB/peer', null)
    ]
  } finally {
    await Promise.all(clients.map(stopQuietly))
    await relay.stop()
    await removeDirs()
  }
}

/** This process's memory after a full gc (run with --expose-gc; a few passes, so finalizers' garbage goes too). */
export async function memoryAfterGc (): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc
  for (let i = 0; i < 3; i++) { gc?.(); await sleep(20) }
  return process.memoryUsage()
}

// ---- The relay child process (relay memory, relay ingest)

interface RelayChildInit {
  dataDir: string
  token: string
  topic: string
  /**
   * For the ingest bench: the per-peer push rate unlimited (one client pushes as fast as it
   * can), the echo reference protocol served, the group commit's batches counted, and the bare
   * LevelDB baselines written on request.
   */
  ingest?: boolean
  /** With PL_BENCH_PROFILE=DIR: the 'prof' op profiles the relay's CPU, a file in DIR per window. */
  profileDir?: string
}

/** Starts a relay in a child process and returns its TCP addresses. */
async function forkRelay (h: Hood, dataDir: string, opts: Pick<RelayChildInit, 'ingest' | 'profileDir'> = {}): Promise<{ child: ChildProcess, addrs: Multiaddr[], bareAddrs: Multiaddr[], stop: () => Promise<void> }> {
  const self = fileURLToPath(import.meta.url)
  const repo = fileURLToPath(new URL('../../', import.meta.url))
  const init: RelayChildInit = { dataDir, token: h.token, topic: h.topic, ...opts }
  const child = fork(self, ['--relay-child', JSON.stringify(init)], {
    cwd: repo,
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Structured clone: envelopes cross as Uint8Arrays.
    serialization: 'advanced'
  })
  const stop = async (): Promise<void> => {
    const exited = new Promise<void>(resolve => {
      if (child.exitCode !== null) { resolve(); return }
      const timer = setTimeout(() => { child.kill(); resolve() }, 10_000)
      child.once('exit', () => { clearTimeout(timer); resolve() })
    })
    if (child.connected) await ask(child, { op: 'stop' }, 10_000).catch(() => {})
    await exited
  }
  try {
    const ready = await ask<{ addrs: string[], bareAddrs: string[] }>(child, { op: 'ready' }, 60_000)
    return { child, addrs: ready.addrs.map(a => multiaddr(a)).filter(a => !a.toString().includes('/ws')), bareAddrs: ready.bareAddrs.map(a => multiaddr(a)), stop }
  } catch (err) {
    if (child.exitCode === null) child.kill()
    throw err
  }
}

/** The relay child: answers 'ready', 'mem' and 'stop' over IPC; with `ingest`, also 'ingest' and 'level'. */
async function relayChild (init: RelayChildInit): Promise<void> {
  await useNativeCrypto()
  const relay = await Relay.start({
    dataDir: init.dataDir, tcpPort: 0, wsPort: 0, httpPort: 0, tokens: [init.token], log: () => {}, caps: ONE_IP_FOR_ALL,
    ...(init.ingest === true ? { peerRate: UNLIMITED_RATE } : {})
  })
  const batchSizes: number[] = []
  const levels = new Map<number, Level<string, Uint8Array>>()
  let bare: PorchlightNode | undefined
  if (init.ingest === true) {
    // The transport reference: a push server on its own node that acknowledges each turn's
    // requests together (as a group commit releases them), validating and storing nothing.
    bare = await createNode({ tcpPort: 0 })
    let turn: Promise<{ ok: true }> | undefined
    const server = new PushServer(bare, { accept: async () => await (turn ??= new Promise(resolve => { soon(() => { turn = undefined; resolve({ ok: true }) }) })) })
    await server.start()
    // Group-commit shape actually produced (instrumentation only: the store's private backend).
    const db = (relay.store as unknown as { db?: { batch: (...a: unknown[]) => Promise<void> } }).db
    if (db !== undefined) {
      const batch = db.batch.bind(db)
      db.batch = async (...a: unknown[]) => { batchSizes.push((a[0] as unknown[]).length / 2); await batch(...a) }
    }
    await relay.node.handle(ECHO_PROTOCOL, async (stream) => {
      const f = new Frames(stream)
      await f.read()
      await f.write(encodeResult({ ok: true }))
      await f.close()
    }, { maxInboundStreams: 64 })
  }
  /** A bare LevelDB per batch shape, beside the relay's own store. */
  const level = async (perBatch: number): Promise<Level<string, Uint8Array>> => {
    let db = levels.get(perBatch)
    if (db === undefined) { db = await openLevel(join(init.dataDir, `bench-level-${perBatch}`)); levels.set(perBatch, db) }
    return db
  }
  let session: Session | undefined
  let windows = 0
  /** Starts or stops a CPU profile of this process (only the windows asked for: no start-up, no baselines). */
  const profile = async (on: boolean): Promise<void> => {
    if (init.profileDir === undefined) return
    if (session === undefined) { session = new Session(); session.connect(); await session.post('Profiler.enable') }
    if (on) { await session.post('Profiler.start'); return }
    const { profile: p } = await session.post('Profiler.stop')
    await writeFile(join(init.profileDir, `relay-${process.pid}-${++windows}.cpuprofile`), JSON.stringify(p))
  }
  process.on('message', (msg: { op: string } & Record<string, unknown>) => {
    void (async () => {
      if (msg.op === 'ready') process.send!({ op: 'ready', addrs: relay.addresses().map(String), bareAddrs: bare === undefined ? [] : tcpAddrs(bare).map(String) })
      if (msg.op === 'cpu') process.send!({ op: 'cpu', cpu: process.cpuUsage() })
      if (msg.op === 'mem') {
        const m = await memoryAfterGc()
        process.send!({
          op: 'mem',
          rss: m.rss,
          heapUsed: m.heapUsed,
          peers: relay.node.getPeers().length,
          subscribers: relay.node.services.pubsub.getSubscribers(init.topic).length
        })
      }
      if (msg.op === 'prof') {
        await profile(msg.on === true)
        process.send!({ op: 'prof' })
      }
      if (msg.op === 'ingest') process.send!({ op: 'ingest', messages: relay.store.stats().messages, batchSizes: batchSizes.splice(0) })
      if (msg.op === 'level') {
        const perBatch = msg.perBatch as number
        const ms = await levelWrites(await level(perBatch), msg.topic as string, msg.envs as Uint8Array[], perBatch, msg.inFlight as number)
        process.send!({ op: 'level', ms })
      }
      if (msg.op === 'stop') {
        for (const db of levels.values()) await db.close().catch(() => {})
        if (bare !== undefined) await stopQuietly(bare)
        await relay.stop()
        // process.exit (not a kill) so that --cpu-prof writes its profile.
        process.send!({ op: 'stop' }, () => process.exit(0))
      }
    })()
  })
  process.on('disconnect', () => { void relay.stop().finally(() => process.exit(0)) })
}

if (process.argv[2] === '--relay-child' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await relayChild(JSON.parse(process.argv[3]!) as RelayChildInit)
}
