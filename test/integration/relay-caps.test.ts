// Issue 10: a relay's memory stays bounded whatever one IP does. The relay runs as its own
// process (`porchlight --json relay`) with small caps from its config file; attackers are real
// libp2p nodes, each household on its own loopback address (all of 127.0.0.0/8 is loopback
// on Linux), opening push streams that send most of a frame and then nothing. Bounds are read
// from the relay's /metrics; an honest household on another address must still get its push
// acknowledged during the attack.
import { describe, it, expect, afterAll } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { pushMessage } from '../../protocol/peer/push.ts'
import { Home, currentEpochKeys } from '../../node/storage/home-dir.ts'
import { createPost } from '../../protocol/post.ts'
import { sealPost } from '../../protocol/envelope.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { PROTOCOLS } from '../../protocol/wire.ts'
import { cleanUp, cli, scrapeMetrics, tempDir, until } from '../helpers/network.ts'
import { killAll, spawnRelay, type RelayProcess } from '../helpers/processes.ts'

/** Small caps so a handful of attacker nodes reach them (the defaults are larger, not different). */
const CAPS = {
  maxConnectionsPerIp: 4,
  maxInboundStreams: 48,
  maxInboundStreamsPerIp: 24,
  maxBufferedBytes: 2 * 1024 * 1024,
  maxBufferedBytesPerIp: 1024 * 1024,
  // The deadlines have a test of their own; here they must not free the attack's streams early.
  idleTimeoutMs: 120_000,
  partialFrameTimeoutMs: 120_000
}
/** A push frame's declared length (under MAX_PUSH_FRAME_BYTES) and the part of it that is sent. */
const FRAME_LENGTH = 64 * 1024
const SENT_PART = 60 * 1024
const STREAMS_PER_CONNECTION = 16

const nodes: Libp2p[] = []
afterAll(async () => {
  for (const n of nodes) await Promise.resolve(n.stop()).catch(() => {})
  await killAll()
  await cleanUp()
})

/** A bare libp2p node whose TCP dials leave from `localAddress` (a household's address). */
async function household (localAddress: string): Promise<Libp2p> {
  const node = await createLibp2p({
    // @libp2p/tcp spreads dialOpts into net.connect, which takes localAddress.
    transports: [tcp({ dialOpts: { localAddress } as never })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
  nodes.push(node)
  return node
}

/** An unsigned varint, as the length prefix of a frame. */
function varint (n: number): Uint8Array {
  const out: number[] = []
  do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n = Math.floor(n / 128) } while (n > 0)
  return Uint8Array.from(out)
}

/** The length prefix of a FRAME_LENGTH frame and SENT_PART bytes of it: then silence. */
const HALF_FRAME = (() => {
  const prefix = varint(FRAME_LENGTH)
  const out = new Uint8Array(prefix.length + SENT_PART)
  out.set(prefix)
  return out
})()

interface AttackOutcome { nodes: Libp2p[], connected: number, refusedConnections: number, streams: Stream[], refusedStreams: number }

/** `connections` attacker nodes on `localAddress`, each opening `streams` streams of `protocol` that send `payload` (a half frame). */
async function halfFrameAttack (relay: RelayProcess, localAddress: string, connections: number, streams: number, payload = HALF_FRAME, protocol: string = PROTOCOLS.push): Promise<AttackOutcome> {
  const outcome: AttackOutcome = { nodes: [], connected: 0, refusedConnections: 0, streams: [], refusedStreams: 0 }
  const target = multiaddr(relay.tcp)
  await Promise.all(Array.from({ length: connections }, async () => {
    const node = await household(localAddress)
    outcome.nodes.push(node)
    try {
      await node.dial(target, { signal: AbortSignal.timeout(15_000) })
      outcome.connected++
    } catch {
      outcome.refusedConnections++
      return
    }
    await Promise.all(Array.from({ length: streams }, async () => {
      try {
        const stream = await node.dialProtocol(target, protocol, { signal: AbortSignal.timeout(15_000) })
        stream.send(payload)
        outcome.streams.push(stream)
      } catch {
        outcome.refusedStreams++
      }
    }))
  }))
  return outcome
}

/** The relay's /metrics as { 'name{labels}': value }. */
async function metrics (relay: RelayProcess): Promise<Map<string, number>> { return await scrapeMetrics(relay.http) }

function sum (m: Map<string, number>, name: string): number {
  let n = 0
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) n += v
  return n
}

interface Hood { push: (node: Libp2p, relay: RelayProcess) => Promise<{ ok: boolean, code?: string }>, token: string }

async function hood (): Promise<Hood> {
  const home = await tempDir('pl-caps-home-')
  await cli(home, ['id', 'create', '--name', 'Ana'])
  await cli(home, ['--json', 'hood', 'create', 'Maple Street', '--area', 'u4pruy', '--relay', '/ip4/127.0.0.1/tcp/4001'])
  const token = (await cli(home, ['--json', 'hood', 'relay-token'])).json.token as string
  const h = await Home.open(home)
  const state = (await h.hoods())[0]!
  const me = await h.requireIdentity()
  const keys = currentEpochKeys(state)
  const topic = privateTopic(state.hood.id)
  return {
    token,
    push: async (node, relay) => {
      const sealed = await sealPost(me, topic, keys, createPost({ kind: 'info', text: `honest post ${Math.random()}` }))
      return await pushMessage(node as never, multiaddr(relay.tcp), topic, sealed.bytes, 20_000)
    }
  }
}

/** A relay process with `caps` in its config file and `flags` on its command line. */
async function relayWith (h: Hood, caps: Record<string, number>, flags: string[] = []): Promise<RelayProcess> {
  const data = await tempDir('pl-caps-relay-')
  const config = join(data, 'relay.json')
  await writeFile(config, JSON.stringify({ caps }))
  return await spawnRelay(['--data', data, '--tcp', '0', '--ws', '0', '--http', '0', '--serve', h.token, '--config', config, ...flags])
}

// A relay process starts in seconds when idle, far slower on a busy machine: generous timeouts.
describe('relay caps against half-sent frames (separate process)', { timeout: 240_000 }, () => {
  it('one IP cannot exhaust the relay: per-IP connection, stream and buffer caps hold, another household is served', async () => {
    const h = await hood()
    const relay = await relayWith(h, CAPS)
    const before = await household('127.0.0.9')
    expect(await h.push(before, relay)).toEqual({ ok: true })

    // One IP: more connections than it may hold, more streams than it may open, more bytes than it may buffer.
    const attack = await halfFrameAttack(relay, '127.0.0.2', CAPS.maxConnectionsPerIp + 2, STREAMS_PER_CONNECTION)
    expect(attack.connected).toBeLessThanOrEqual(CAPS.maxConnectionsPerIp)

    await until(async () => {
      const m = await metrics(relay)
      return (m.get('porchlight_connections_refused_total{reason="per-ip"}') ?? 0) >= 2 &&
        (m.get('porchlight_streams_refused_total{reason="streams-per-ip"}') ?? 0) > 0 &&
        (m.get('porchlight_streams_refused_total{reason="buffered-per-ip"}') ?? 0) > 0
    }, 30_000, 'per-IP refusals in /metrics')
    const m = await metrics(relay)
    // (The streams still open may by now have met a frame's own 20 s read deadline on a slow machine: bounds, not counts.)
    expect(m.get('porchlight_inbound_buffered_bytes')).toBeLessThanOrEqual(CAPS.maxBufferedBytesPerIp)
    expect(sum(m, 'porchlight_inbound_streams')).toBeLessThanOrEqual(CAPS.maxInboundStreamsPerIp)
    expect(m.has('porchlight_inbound_streams{protocol="push"}')).toBe(true)
    expect(m.get('porchlight_connections_refused_total{reason="per-ip"}')).toBeLessThanOrEqual(attack.refusedConnections)

    // The attack holds its streams open; a household on another address is served meanwhile.
    const honest = await household('127.0.0.3')
    expect(await h.push(honest, relay)).toEqual({ ok: true })
    const after = await metrics(relay)
    expect(after.get('porchlight_pushes_total{outcome="ok"}')).toBe(2)

    // Once the attacker's connections end, its address gets its slots back.
    await Promise.all(attack.nodes.map(async n => { await n.stop() }))
    await until(async () => sum(await metrics(relay), 'porchlight_inbound_streams') === 0, 30_000, 'the attack streams to be released')
    const back = await household('127.0.0.2')
    expect(await h.push(back, relay)).toEqual({ ok: true })
    expect((await metrics(relay)).get('porchlight_inbound_buffered_bytes')).toBe(0)
  })

  it('many households together stay within the global stream and buffer caps', async () => {
    const h = await hood()
    const relay = await relayWith(h, CAPS)
    const households = ['127.0.0.21', '127.0.0.22', '127.0.0.23', '127.0.0.24']
    // Each address within its own caps (10 x 60 KiB < 1 MiB), together past the total buffer cap (2 MiB).
    await Promise.all(households.map(async (ip) => await halfFrameAttack(relay, ip, 1, 10)))
    await until(async () => ((await metrics(relay)).get('porchlight_streams_refused_total{reason="buffered"}') ?? 0) > 0,
      30_000, 'a refusal by the total buffer cap')
    // Then streams that send little: each address within its own stream cap, together past the total.
    const small = HALF_FRAME.subarray(0, 100)
    await Promise.all(households.map(async (ip) => await halfFrameAttack(relay, ip, 1, 8, small)))
    await until(async () => ((await metrics(relay)).get('porchlight_streams_refused_total{reason="streams"}') ?? 0) > 0,
      30_000, 'a refusal by the total stream cap')

    const m = await metrics(relay)
    expect(m.get('porchlight_inbound_buffered_bytes')).toBeLessThanOrEqual(CAPS.maxBufferedBytes)
    expect(sum(m, 'porchlight_inbound_streams')).toBeLessThanOrEqual(CAPS.maxInboundStreams)
    expect(m.get('porchlight_connections_refused_total{reason="per-ip"}') ?? 0).toBe(0)
    expect(m.get('porchlight_streams_refused_total{reason="streams-per-ip"}') ?? 0).toBe(0)
    expect(m.get('porchlight_streams_refused_total{reason="buffered-per-ip"}') ?? 0).toBe(0)
  })

  it("counts Helia's bitswap streams too: half-sent bitswap messages from one IP stay within its caps", async () => {
    const h = await hood()
    const relay = await relayWith(h, CAPS)
    // 100 KiB of a 4 MiB bitswap message (the most bitswap reads) on each of 20 streams.
    const prefix = varint(4 * 1024 * 1024)
    const partial = new Uint8Array(prefix.length + 100 * 1024)
    partial.set(prefix)
    await halfFrameAttack(relay, '127.0.0.41', 1, 20, partial, '/ipfs/bitswap/1.2.0')
    await until(async () => ((await metrics(relay)).get('porchlight_streams_refused_total{reason="buffered-per-ip"}') ?? 0) > 0,
      30_000, 'a refusal of a bitswap stream by the per-IP buffer cap')
    const m = await metrics(relay)
    expect(m.get('porchlight_inbound_buffered_bytes')).toBeLessThanOrEqual(CAPS.maxBufferedBytesPerIp)
    expect(m.has('porchlight_inbound_streams{protocol="bitswap"}')).toBe(true)
    const honest = await household('127.0.0.42')
    expect(await h.push(honest, relay)).toEqual({ ok: true })
  })

  it('closes streams that send nothing, streams whose frame stops half-way, and streams the peer never closes', async () => {
    const h = await hood()
    // Flags win over the config file's deadlines.
    const relay = await relayWith(h, { idleTimeoutMs: 60_000, partialFrameTimeoutMs: 60_000 }, ['--idle-timeout', '1s', '--frame-timeout', '1s'])
    const node = await household('127.0.0.31')
    const target = multiaddr(relay.tcp)
    const silent = await node.dialProtocol(target, PROTOCOLS.push)
    const halfway = await node.dialProtocol(target, PROTOCOLS.push)
    halfway.send(HALF_FRAME)
    // Refused (a frame longer than a push may be), answered, and then never closed by the peer.
    const lingering = await node.dialProtocol(target, PROTOCOLS.push)
    lingering.send(varint(10 * 1024 * 1024))
    const closed = (s: Stream): boolean => s.status !== 'open'
    await until(() => closed(silent) && closed(halfway) && closed(lingering), 30_000, 'the relay to close all three streams')
    const m = await metrics(relay)
    expect(m.get('porchlight_streams_refused_total{reason="idle"}')).toBe(2)
    expect(m.get('porchlight_streams_refused_total{reason="partial-frame"}')).toBe(1)
    expect(sum(m, 'porchlight_inbound_streams')).toBe(0)
    expect(m.get('porchlight_inbound_buffered_bytes')).toBe(0)
  })
})
