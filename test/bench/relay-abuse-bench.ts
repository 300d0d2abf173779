/**
 * `relay-abuse` (BENCH.md: relay under half-sent frames): the peak RSS of a relay child
 * process, with its default caps (node/relay/caps.ts), while one IP opens 40 connections and on each
 * 64 push streams that send all but the last byte of a largest-size push frame and then
 * nothing; baseline: the same relay's idle RSS, measured in the same run before the attack.
 * Aim: peak ≤ 2 × idle (ratio = idle/peak ≥ 0.5). Without caps this attack took a relay from
 * ~200 to ~1,500 MiB.
 *
 * The attackers are bare libp2p nodes in this process dialing from 127.0.0.2; an honest
 * household on 127.0.0.3 must get a push acknowledged during the attack, else the suite fails
 * (a relay that stays small by refusing everyone has not passed). RSS is sampled by the child
 * every SAMPLE_MS from the start of the attack until SETTLE_MS after its last stream opened.
 *
 * Run alone: npm run bench -- --only relay-abuse
 */
import '../../node/polyfill.ts'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createIdentity } from '../../protocol/identity.ts'
import { createNeighborhood, deriveEpochKeys, newEpochSecret, privateTopic } from '../../protocol/neighborhood.ts'
import { createRelayToken, encodeRelayToken } from '../../protocol/relay-token.ts'
import { createPost } from '../../protocol/post.ts'
import { sealPost } from '../../protocol/envelope.ts'
import { PROTOCOLS } from '../../protocol/wire.ts'
import { Relay } from '../../node/relay/relay.ts'
import { useNativeCrypto } from '../../node/native-crypto.ts'
import { MAX_PUSH_FRAME_BYTES, pushMessage } from '../../protocol/peer/push.ts'
import type { PorchlightNode } from '../../node/libp2p.ts'
import { costWorkload, type Workload } from './report.ts'

const ATTACK_CONNECTIONS = 40
const STREAMS_PER_CONNECTION = 64
const ATTACKER_IP = '127.0.0.2'
const HONEST_IP = '127.0.0.3'
/** Connections dialed at once (libp2p accepts 64 pending inbound connections on a relay). */
const DIAL_BATCH = 10
const SAMPLE_MS = 100
const SETTLE_MS = 3000
const IDLE_SETTLE_MS = 2000
const AIM = 2

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

function varint (n: number): Uint8Array {
  const out: number[] = []
  do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n = Math.floor(n / 128) } while (n > 0)
  return Uint8Array.from(out)
}

/** A largest-size push frame's length prefix and all of its body but the last byte. */
function halfFrame (): Uint8Array {
  const prefix = varint(MAX_PUSH_FRAME_BYTES)
  const out = new Uint8Array(prefix.length + MAX_PUSH_FRAME_BYTES - 1)
  out.set(prefix)
  return out
}

async function household (localAddress: string): Promise<Libp2p> {
  return await createLibp2p({
    // @libp2p/tcp spreads dialOpts into net.connect, which takes localAddress.
    transports: [tcp({ dialOpts: { localAddress } as never })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

interface AttackCount { connections: number, refusedConnections: number, streams: number, refusedStreams: number, errors: Map<string, number> }

async function attack (target: Multiaddr[], nodes: Libp2p[]): Promise<AttackCount> {
  const count: AttackCount = { connections: 0, refusedConnections: 0, streams: 0, refusedStreams: 0, errors: new Map() }
  const noted = (err: unknown, what: string): void => {
    const key = `${what}: ${(err as Error).name}`
    count.errors.set(key, (count.errors.get(key) ?? 0) + 1)
  }
  const frame = halfFrame()
  for (let i = 0; i < ATTACK_CONNECTIONS; i += DIAL_BATCH) {
    await Promise.all(Array.from({ length: Math.min(DIAL_BATCH, ATTACK_CONNECTIONS - i) }, async () => {
      const node = await household(ATTACKER_IP)
      nodes.push(node)
      try {
        await node.dial(target, { signal: AbortSignal.timeout(15_000) })
        count.connections++
      } catch (err) {
        noted(err, 'dial')
        count.refusedConnections++
        return
      }
      await Promise.all(Array.from({ length: STREAMS_PER_CONNECTION }, async () => {
        try {
          const stream = await node.dialProtocol(target, PROTOCOLS.push, { signal: AbortSignal.timeout(15_000) })
          stream.send(frame)
          count.streams++
        } catch (err) {
          noted(err, 'stream')
          count.refusedStreams++
        }
      }))
    }))
  }
  return count
}

interface ChildReply { op: string, rss?: number, peak?: number, metrics?: string, addrs?: string[] }

function ask (child: ChildProcess, msg: Record<string, unknown>, timeoutMs = 20_000): Promise<ChildReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.off('message', on); reject(new Error(`relay child did not answer ${String(msg.op)}`)) }, timeoutMs)
    const on = (reply: unknown): void => {
      const r = reply as ChildReply
      if (r.op !== msg.op) return
      clearTimeout(timer)
      child.off('message', on)
      resolve(r)
    }
    child.on('message', on)
    child.send(msg)
  })
}

/** Lines of the child's /metrics text that the caps wrote, for the log. */
function capLines (metrics: string): string {
  return metrics.split('\n').filter(l => /^porchlight_(connections_refused|streams_refused|inbound_)/.test(l)).join('; ')
}

export async function benchRelayAbuse (): Promise<Workload[]> {
  await useNativeCrypto()
  const author = await createIdentity('Bench Author')
  const hood = createNeighborhood('Bench Street', 'u4pruy', author.public.signKey)
  const keys = deriveEpochKeys(hood.id, 1, newEpochSecret())
  const topic = privateTopic(hood.id)
  const token = encodeRelayToken(createRelayToken(hood, keys))
  const dataDir = await mkdtemp(join(tmpdir(), 'pl-bench-abuse-'))
  const child = fork(fileURLToPath(import.meta.url), ['--abuse-relay-child', dataDir, token], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const nodes: Libp2p[] = []
  try {
    const ready = await ask(child, { op: 'ready' }, 60_000)
    const target = ready.addrs!.map(a => multiaddr(a)).filter(a => !a.toString().includes('/ws'))
    const honest = await household(HONEST_IP)
    nodes.push(honest)
    const honestPush = async (text: string): Promise<{ ok: boolean, code?: string }> => {
      const sealed = await sealPost(author, topic, keys, createPost({ kind: 'info', text }))
      return await pushMessage(honest as unknown as PorchlightNode, target, topic, sealed.bytes, 30_000)
    }
    // Warm-up: one push, so code paths and the store are loaded before the idle measurement.
    const warm = await honestPush('warm-up')
    if (!warm.ok) throw new Error(`relay-abuse: warm-up push refused: ${warm.code ?? ''}`)
    await sleep(IDLE_SETTLE_MS)
    const idle = (await ask(child, { op: 'idle' })).rss!

    await ask(child, { op: 'watch' })
    const count = await attack(target, nodes)
    const during = await honestPush('during the attack')
    await sleep(SETTLE_MS)
    const { peak, metrics } = await ask(child, { op: 'peak' })
    const dropped = count.connections - nodes.filter(n => n !== honest && n.getConnections().length > 0).length
    if (!during.ok) throw new Error(`relay-abuse: an honest household's push was refused during the attack: ${during.code ?? ''}`)

    const mib = (b: number): string => (b / 2 ** 20).toFixed(1)
    console.log(`relay-abuse: ${count.connections} connections (${count.refusedConnections} refused), ${count.streams} push streams opened ` +
      `(${count.refusedStreams} refused at open: ${[...count.errors].map(([k, n]) => `${k} x${n}`).join(', ')}); relay RSS idle ${mib(idle)} MiB, peak ${mib(peak!)} MiB (${(peak! / idle).toFixed(2)}x, aim <= ${AIM}x); ` +
      `${dropped} attack connections ended during the attack; honest push during the attack acked; ${capLines(metrics!)}`)
    return [costWorkload(`relay peak RSS under half-sent push frames (${ATTACK_CONNECTIONS} connections x ${STREAMS_PER_CONNECTION} streams, one IP)`,
      peak! / 2 ** 20, `MiB, baseline = idle RSS, aim ratio >= ${1 / AIM}`, idle / 2 ** 20)]
  } finally {
    await Promise.all(nodes.map(async n => { await n.stop() }))
    if (child.connected) await ask(child, { op: 'stop' }, 10_000).catch((err: Error) => { console.error(`relay-abuse: ${err.message}`) })
    if (child.exitCode === null) child.kill()
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** The relay child: default caps; answers 'ready', 'idle' (RSS after gc), 'watch' (start sampling), 'peak', 'stop'. */
async function relayChild (dataDir: string, token: string): Promise<void> {
  await useNativeCrypto()
  const relay = await Relay.start({ dataDir, tcpPort: 0, wsPort: 0, httpPort: 0, tokens: [token], log: () => {} })
  const gc = (globalThis as { gc?: () => void }).gc
  let peak = 0
  let sampler: NodeJS.Timeout | undefined
  process.on('message', (msg: { op: string }) => {
    void (async () => {
      if (msg.op === 'ready') process.send!({ op: 'ready', addrs: relay.addresses().map(String) })
      if (msg.op === 'idle') {
        for (let i = 0; i < 3; i++) { gc?.(); await sleep(20) }
        process.send!({ op: 'idle', rss: process.memoryUsage().rss })
      }
      if (msg.op === 'watch') {
        peak = process.memoryUsage().rss
        sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, SAMPLE_MS)
        process.send!({ op: 'watch' })
      }
      if (msg.op === 'peak') {
        clearInterval(sampler)
        peak = Math.max(peak, process.memoryUsage().rss)
        process.send!({ op: 'peak', peak, metrics: relay.metrics.render() })
      }
      if (msg.op === 'stop') {
        await relay.stop()
        process.send!({ op: 'stop' }, () => process.exit(0))
      }
    })()
  })
  process.on('disconnect', () => { void relay.stop().finally(() => process.exit(0)) })
}

if (process.argv[2] === '--abuse-relay-child' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await relayChild(process.argv[3]!, process.argv[4]!)
}
