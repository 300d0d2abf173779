/**
 * The child processes of the scale:delivery bench (scale-delivery-bench.ts), driven over IPC:
 *
 *   --relay   one real relay (node/relay/relay.ts, its own LevelDB, the hoods' tokens, the
 *             other relays as `peers`) and, beside it, the plain gossipsub hub that stands
 *             at the same place in the baseline's star (Porchlight's node factory, gossipsub
 *             defaults, no validator).
 *   --fleet   a share of the households: for each, a real resident engine (openResidentPeer
 *             on a home written by the code the CLI runs: hood-actions.ts saveJoin) and a
 *             plain gossipsub node, both dialing from the household's own 127.0.x.y address.
 *
 * Times are wall-clock milliseconds with sub-millisecond precision (performance.timeOrigin +
 * performance.now()), comparable between the processes of one machine.
 */
import '../../node/polyfill.ts'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { randomBytes } from '../../protocol/crypto.ts'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { readInvite, saveJoin } from '../../protocol/peer/hood-actions.ts'
import type { Invite } from '../../protocol/invite.ts'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { useNativeCrypto } from '../../node/native-crypto.ts'
import { Relay } from '../../node/relay/relay.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { openResidentPeer, type ResidentPeer } from '../../node/resident.ts'

export const now = (): number => performance.timeOrigin + performance.now()

/** One household of a fleet. */
export interface Household {
  index: number
  hood: number
  home: string
  invite: string
  relay: string
  hub: string
  from: string
  plainTopic: string
}

/** A post or plain message sent: key (post id, or the plain payload's first 8 bytes in hex), when, by whom. */
export type Sent = [key: string, t: number, household: number]
/** One display (a feed's post event) or plain delivery: key, when, where, and how it came. */
export type Got = [key: string, t: number, household: number, via: 'gossip' | 'sync']

export interface ChildStats {
  cpuMs: number
  rssMiB: number
  /** Event-loop delay since the last stats call (ms): what a saturated process shows first. */
  loopP99: number
  loopMax: number
  /** Fleet children: connections to a relay or hub lost (and redialled) so far. */
  lost?: number
  unconnected?: number
  /** Relay children: members per private topic in the relay's and the hub's gossipsub mesh, and connected peers. */
  relayMesh?: number[]
  relayTopicPeers?: number[]
  hubMesh?: number[]
  hubTopicPeers?: number[]
  relayPeers?: number
  stored?: number
}

const POST_TEXT = 'Suspicious van idling by the school gate since 7am, engine running, no plates on the back. '
  .repeat(4).slice(0, 300)
/** Households set up at once in one fleet process. */
const SETUP_BATCH = 5
const DIAL_TIMEOUT_MS = 10_000
const DIAL_ATTEMPTS = 10

const connectedTo = (node: PorchlightNode, addr: string): boolean => {
  const id = multiaddr(addr).getComponents().find(c => c.name === 'p2p')?.value
  return node.getConnections().some(c => c.remotePeer.toString() === id)
}

/** Runs `check`; while it throws, runs `again` (or `check` itself) after a growing pause, up to DIAL_ATTEMPTS times. */
async function retry (check: () => Promise<void>, again: () => Promise<unknown> = check): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await check()
      return
    } catch (err) {
      if (i >= DIAL_ATTEMPTS) throw err
      await new Promise(resolve => setTimeout(resolve, 300 * i))
      if (again !== check) await again().catch(() => {})
    }
  }
}

const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()
let cpuMark = process.cpuUsage()

function baseStats (): ChildStats {
  const cpu = process.cpuUsage(cpuMark)
  cpuMark = process.cpuUsage()
  const s = { cpuMs: (cpu.user + cpu.system) / 1000, rssMiB: process.memoryUsage().rss / 2 ** 20, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 }
  loop.reset()
  return s
}

type Handler = (msg: Record<string, any>) => Promise<unknown>

/** Answers each request `{ op, seq, ... }` with `{ op, seq, value }` or `{ op, seq, error }`. */
function serve (handlers: Record<string, Handler>): void {
  process.on('message', (msg: Record<string, any>) => {
    const handler = handlers[msg.op as string]
    if (handler === undefined) return
    handler(msg).then(
      value => { process.send!({ op: msg.op, seq: msg.seq, value }) },
      (err: unknown) => { process.send!({ op: msg.op, seq: msg.seq, error: err instanceof Error ? err.stack ?? err.message : String(err) }) }
    )
  })
  process.on('disconnect', () => { process.exit(0) })
  process.send!({ op: 'ready' })
}

/** What the stats read of gossipsub (getMeshPeers is there, not in its typed interface). */
interface MeshView { getMeshPeers: (topic: string) => string[], getSubscribers: (topic: string) => unknown[] }

const quietly = async (x: { stop: () => unknown } | undefined): Promise<void> => {
  try { await x?.stop() } catch {}
}

async function relayChild (): Promise<void> {
  await useNativeCrypto()
  let relay: Relay | undefined
  let hub: PorchlightNode | undefined
  let topics: string[] = []
  let plainTopics: string[] = []
  let peers: string[] = []
  let hubPeers = new Set<string>()
  let relayPeers = new Set<string>()
  const idOf = (addr: string): string => multiaddr(addr).getComponents().find(c => c.name === 'p2p')!.value!
  /** Members of a topic: its subscribers but the other relays (or hubs). */
  const members = (pubsub: MeshView, topic: string, others: Set<string>): number =>
    pubsub.getSubscribers(topic).filter(p => !others.has(String(p))).length
  serve({
    start: async (m) => {
      relay = await Relay.start({ dataDir: m.dataDir, host: '127.0.0.1', tcpPort: m.port, wsPort: 0, httpPort: 0, tokens: m.tokens, peers: m.peers, log: () => {} })
      peers = m.peers
      relayPeers = new Set(peers.map(idOf))
      // A bench-only knob: the relay's gossipsub mesh as gossipsub has it by default (before node/libp2p.ts raised Dhi for relays).
      if (m.relayDhi !== undefined) (relay.node.services.pubsub as unknown as { opts: { Dhi: number } }).opts.Dhi = m.relayDhi
      topics = m.topics
      hub = await createNode({ tcpPort: 0 })
      const tcp = (n: PorchlightNode): string => n.getMultiaddrs().map(String).find(a => !a.includes('/ws'))!
      hubPeers = new Set([hub.peerId.toString()])
      return { relay: tcp(relay.node), hub: tcp(hub) }
    },
    hubs: async (m) => {
      plainTopics = m.topics
      hubPeers = new Set((m.all as string[]).map(idOf))
      for (const t of plainTopics) hub!.services.pubsub.subscribe(t)
      await Promise.all((m.dial as string[]).map(async a => await hub!.dial(multiaddr(a))))
    },
    'sync-relays': async () => {
      for (const p of peers) await relay!.syncWith(peerIdFromString(multiaddr(p).getComponents().find(c => c.name === 'p2p')!.value!))
    },
    stats: async () => {
      const r = relay!.node.services.pubsub as unknown as MeshView
      const h = hub!.services.pubsub as unknown as MeshView
      return {
        ...baseStats(),
        relayMesh: topics.map(t => r.getMeshPeers(t).length),
        relayTopicPeers: topics.map(t => members(r, t, relayPeers)),
        hubMesh: plainTopics.map(t => h.getMeshPeers(t).length),
        hubTopicPeers: plainTopics.map(t => members(h, t, hubPeers)),
        relayPeers: relay!.node.getPeers().length,
        stored: relay!.store.stats().messages
      } satisfies ChildStats
    },
    stop: async () => {
      await quietly(hub)
      await quietly(relay)
    }
  })
}

interface Member { h: Household, peer: ResidentPeer, plain: PorchlightNode }

async function fleetChild (): Promise<void> {
  await useNativeCrypto()
  const members = new Map<number, Member>()
  let sent: Sent[] = []
  let got: Got[] = []
  let envBytes = 0
  let lost = 0
  /** Engines and plain nodes that could not reach their relay or hub during setup (counted, not fatal: the figures show it; plain nodes keep trying). */
  let unconnected = 0
  let stopping = false
  const invites = new Map<string, Promise<Invite>>()

  async function open (h: Household): Promise<Member> {
    const t0 = now()
    const lap = (what: string): void => { if (process.env.PL_BENCH_DEBUG !== undefined) console.log(`scale-fleet household ${h.index}: ${what} at ${(now() - t0).toFixed(0)} ms`) }
    const home = await Home.open(h.home)
    const me = await createIdentity(`Resident ${h.index}`)
    await home.saveIdentity(me)
    if (!invites.has(h.invite)) invites.set(h.invite, readInvite(h.invite, Date.now()))
    const state = await saveJoin(home, me, await invites.get(h.invite)!, Date.now())
    // Each household uses one of the hood's relays (a relay holds at most 300 connections).
    await home.updateHood(state.hood.id, s => ({ ...s!, relays: [h.relay] }))
    lap('home written')
    const peer = await openResidentPeer(home, { publicDelayMs: () => 0 }, { dialFrom: h.from })
    lap('engine open')
    await peer.start()
    lap('engine started')
    // A relay busy with other handshakes may time one out: dial again (proving the key follows identify).
    await retry(async () => { if (!connectedTo(peer.node(), h.relay)) throw new Error('not connected') }, async () => { await peer.connect() })
      .catch(() => { unconnected++ })
    // As a long-running resident (`watch`) does: a relay lost is redialled with backoff.
    peer.stayConnected((event) => { if (event === 'lost') lost++ })
    peer.onPost((post, via) => { if (via !== 'local') got.push([post.id, now(), h.index, via]) })
    const plain = await createNode({ dialFrom: h.from })
    plain.services.pubsub.subscribe(h.plainTopic)
    plain.services.pubsub.addEventListener('message', (evt) => {
      got.push([toHex(evt.detail.data.subarray(0, 8)), now(), h.index, 'gossip'])
    })
    const dialHub = async (): Promise<void> => { await plain.dial(multiaddr(h.hub), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }) }
    await retry(dialHub).catch(() => {
      unconnected++
      const again = (): void => { if (!stopping) dialHub().catch(() => { setTimeout(again, 1000) }) }
      again()
    })
    // The plain node comes back as the engine does (after a second, without the doubling).
    plain.addEventListener('peer:disconnect', () => {
      if (stopping) return
      lost++
      const again = (): void => { if (!stopping) plain.dial(multiaddr(h.hub), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).catch(() => { setTimeout(again, 1000) }) }
      setTimeout(again, 1000)
    })
    lap('plain node connected')
    return { h, peer, plain }
  }

  async function send (m: Member, kind: 'sealed' | 'plain', bytes: number): Promise<void> {
    const t = now()
    if (kind === 'plain') {
      const data = randomBytes(bytes)
      sent.push([toHex(data.subarray(0, 8)), t, m.h.index])
      await m.plain.services.pubsub.publish(m.h.plainTopic, data)
      return
    }
    const out = await m.peer.post({ kind: 'suspicious', text: POST_TEXT })
    sent.push([out.id, t, m.h.index])
    if (!out.result.ok) console.error(`scale-fleet: post of household ${m.h.index} not acknowledged: ${out.result.code ?? ''} ${out.result.message ?? ''}`)
    if (envBytes === 0) envBytes = (await m.peer.messages.get(fromHex(out.id)))?.bytes.length ?? 0
  }

  serve({
    setup: async (m) => {
      const list = m.households as Household[]
      for (let i = 0; i < list.length; i += SETUP_BATCH) {
        for (const member of await Promise.all(list.slice(i, i + SETUP_BATCH).map(open))) members.set(member.h.index, member)
        if (process.env.PL_BENCH_DEBUG !== undefined) console.log(`scale-fleet ${process.pid}: ${members.size} of ${list.length} households up`)
      }
      return members.size
    },
    // Posts on the schedule: [household, wall-clock time] pairs of this fleet's households.
    phase: async (m) => {
      const pending: Array<Promise<void>> = []
      for (const [index, at] of m.posts as Array<[number, number]>) {
        const member = members.get(index)!
        pending.push(new Promise<void>(resolve => {
          setTimeout(() => { send(member, m.kind, m.bytes).catch((err: unknown) => { console.error('scale-fleet: send failed', err) }).finally(resolve) }, Math.max(0, at - now()))
        }))
      }
      await Promise.all(pending)
      return envBytes
    },
    collect: async () => {
      const out = { sent, got }
      sent = []
      got = []
      return out
    },
    sync: async () => {
      const list = [...members.values()]
      for (let i = 0; i < list.length; i += SETUP_BATCH) {
        await Promise.all(list.slice(i, i + SETUP_BATCH).map(async x => await x.peer.sync().catch(() => [])))
      }
    },
    stats: async () => ({ ...baseStats(), lost, unconnected }),
    stop: async () => {
      stopping = true
      await Promise.all([...members.values()].map(async x => {
        await quietly(x.plain)
        await quietly(x.peer)
      }))
    }
  })
}

if (process.argv.includes('--relay')) await relayChild()
else if (process.argv.includes('--fleet')) await fleetChild()
