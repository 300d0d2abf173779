// Attacks a review found after the first round of relay hardening (issue 10), each against a
// real relay on loopback, each failing on the code before its fix:
// - a stranger speaking the sync protocol was told every private topic and epoch the relay
//   carries (the relay opened syncs with any peer);
// - IHAVE answered whether the relay carries a private topic, IWANT handed out cached messages;
// - a peer answering with empty "more" pages held the relay's sync client forever;
// - one IP took every circuit relay reservation, and kept them after leaving.
import { describe, it, expect, afterAll } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { lpStream, pbStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { RPC } from '@libp2p/gossipsub/message'
// The circuit relay's protobuf messages (not in the package's exports map).
import { HopMessage, Status } from '../../node_modules/@libp2p/circuit-relay-v2/dist/src/pb/index.js'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { Frames } from '../../protocol/peer/frames.ts'
import { syncTopic } from '../../protocol/peer/sync.ts'
import { pushMessage } from '../../protocol/peer/push.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { MAX_RESERVATIONS_PER_IP } from '../../node/relay/relay.ts'
import { areaTopic, privateTopic } from '../../protocol/neighborhood.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import { toHex } from '../../protocol/encoding.ts'
import { SyncItemSet } from '../../protocol/reconcile/sync.ts'
import {
  decodeSyncOpen, decodeSyncRec, encodeResult, encodeSyncEnvelopes, encodeSyncHello, encodeSyncReady, encodeSyncRec, PROTOCOLS
} from '../../protocol/wire.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { cleanUp, neighborhood, startRelay, tcpAddr } from '../helpers/network.ts'

const MESHSUB = '/meshsub/1.1.0'
const stops: Array<() => Promise<unknown>> = []
afterAll(async () => { for (const s of stops) await s().catch(() => {}); await cleanUp() })
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function bareNode (from = '127.0.0.1'): Promise<Libp2p> {
  const node = await createLibp2p({
    transports: [tcp({ dialOpts: { localAddress: from } as never })], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() }
  })
  stops.push(async () => { await node.stop() })
  return node
}

describe('a stranger connected to a relay', () => {
  it('is never sent a sync open, so it never hears a private topic or its epoch', async () => {
    const relay = await startRelay({ resyncIntervalMs: 200 })
    const hood = await neighborhood(relay, ['Ana'])
    const topic = privateTopic((await (await Home.open(hood.admin)).hoods())[0]!.hood.id)
    expect(relay.store.items(topic).size).toBeGreaterThan(0)
    const stranger: PorchlightNode = await createNode({ tcpPort: 0 })
    stops.push(async () => { await stranger.stop() })
    const heard: string[] = []
    await stranger.handle(PROTOCOLS.sync, async (stream: Stream) => {
      const frames = new Frames(stream)
      await frames.write(encodeSyncHello(randomBytes(32)))
      heard.push(decodeSyncOpen(await frames.read()).topic)
      await frames.write(encodeResult({ ok: false, code: 'NOT_FOUND', message: 'no' }))
      await frames.close().catch(() => {})
    })
    await stranger.dial(multiaddr(tcpAddr(relay)))
    await sleep(2500) // a dozen resync rounds, and the meeting itself
    expect(heard).toEqual([])
  })

  it('gets no IWANT for a private topic it names in an IHAVE', async () => {
    const relay = await startRelay({ areas: ['u4pruy'] })
    const hood = await neighborhood(relay, ['Ana', 'Ben'])
    const topic = privateTopic((await (await Home.open(hood.admin)).hoods())[0]!.hood.id)
    const stranger = await bareNode()
    const iwants: string[] = []
    await stranger.handle(MESHSUB, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: 1 << 20 })
      for (;;) {
        const rpc = RPC.decode((await lp.read()).subarray())
        for (const w of rpc.control?.iwant ?? []) for (const id of w.messageIDs ?? []) iwants.push(toHex(id))
      }
    })
    const conn = await stranger.dial(multiaddr(tcpAddr(relay)))
    const out = lpStream(await conn.newStream(MESHSUB))
    await sleep(1000)
    const ask = async (t: string): Promise<string> => {
      const id = randomBytes(32)
      await out.write(RPC.encode({ subscriptions: [], messages: [], control: { ihave: [{ topicID: t, messageIDs: [id] }], iwant: [], graft: [], prune: [], idontwant: [] } }))
      return toHex(id)
    }
    const privateAsk = await ask(topic)
    const areaAsk = await ask(areaTopic('u4pruy')) // public: answered, which shows the IHAVE got through
    for (let i = 0; i < 100 && !iwants.includes(areaAsk); i++) await sleep(100)
    expect(iwants).toContain(areaAsk)
    expect(iwants).not.toContain(privateAsk)
  })
})

describe('streams kept busy by a few addresses', () => {
  it('leave room for a household that comes after them', async () => {
    // Scaled caps: 64 in all, 16 per address, so four addresses could hold every slot.
    const relay = await startRelay({ areas: ['u4pruy'], caps: { maxInboundStreams: 64, maxInboundStreamsPerIp: 16 } })
    const addr = multiaddr(tcpAddr(relay))
    for (const ip of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      const conn = await (await bareNode(ip)).dial(addr)
      for (let i = 0; i < 16; i++) {
        const s = await conn.newStream(PROTOCOLS.push).catch(() => undefined)
        try { s?.send(Uint8Array.of(1, 0)) } catch {} // a 1-byte frame now and then keeps a stream from ever being idle
      }
    }
    const refused = (reason: string): number => relay.metrics.get('porchlight_streams_refused_total', { reason }) ?? 0
    for (let i = 0; i < 100 && refused('streams') === 0; i++) await sleep(50)
    expect(refused('streams')).toBeGreaterThan(0)
    const honest = await createNode({ dialFrom: '127.0.0.9' })
    stops.push(async () => { await honest.stop() })
    const r = await pushMessage(honest, addr, areaTopic('u4pruy'), new Uint8Array(10), 10_000)
    // It reached the push handler (which refuses ten zero bytes as garbage); before, its stream was refused.
    expect(r.code).toBe('MALFORMED')
  })
})

describe('a relay\'s sync client', () => {
  it('refuses empty pages that say more follows, instead of reading them forever', async () => {
    const fake = await createNode({ tcpPort: 0 })
    stops.push(async () => { await fake.stop() })
    await fake.handle(PROTOCOLS.sync, async (stream: Stream) => {
      const frames = new Frames(stream)
      await frames.write(encodeSyncHello(randomBytes(32)))
      decodeSyncOpen(await frames.read())
      await frames.write(encodeSyncReady({ scope: 'all' }))
      // Claim one message the client lacks: answer the first rec with a list holding it.
      decodeSyncRec(await frames.read())
      const { Reconciler } = await import('../../protocol/reconcile/sync.ts')
      await frames.write(encodeSyncRec(new Reconciler(new SyncItemSet([{ ts: Date.now(), id: randomBytes(32) }])).respond(new Reconciler(new SyncItemSet()).initiate())))
      try {
        for (;;) {
          await frames.read()
          // Empty pages that say more follows, yielding between them so that the client (in this
          // same process) keeps running on a loaded machine.
          for (;;) {
            await frames.write(encodeSyncEnvelopes([], true))
            await new Promise(resolve => setImmediate(resolve))
          }
        }
      } catch {}
    })
    const client = await createNode({})
    stops.push(async () => { await client.stop() })
    let code = 'accepted'
    try {
      await syncTopic(client, fake.getMultiaddrs(), areaTopic('u4pruy'), new SyncItemSet(), { getLocal: async () => undefined, onMessage: async () => {}, timeoutMs: 120_000 })
    } catch (err) {
      code = isPorchlightError(err) ? err.code : String(err)
    }
    // Before: the client read such pages as long as they came (here it timed out, TIMEOUT).
    expect(code).toBe('MALFORMED')
  })
})

describe('circuit relay reservations', () => {
  async function reserve (addr: string, from: string): Promise<{ status: Status | undefined, node: Libp2p }> {
    const node = await bareNode(from)
    const stream = await (await node.dial(multiaddr(addr))).newStream('/libp2p/circuit/relay/0.2.0/hop')
    const pb = pbStream(stream).pb(HopMessage)
    await pb.write({ type: HopMessage.Type.RESERVE })
    return { status: (await pb.read()).status, node }
  }

  it('are limited per IP and dropped when their holder leaves', async () => {
    const relay = await startRelay()
    const addr = tcpAddr(relay)
    const held = relay.node.services.relay as unknown as { reservations: { size: number } }
    const attacker: Array<{ status: Status | undefined, node: Libp2p }> = []
    for (let i = 0; i <= MAX_RESERVATIONS_PER_IP; i++) attacker.push(await reserve(addr, '127.0.0.2'))
    expect(attacker.slice(0, MAX_RESERVATIONS_PER_IP).every(r => r.status === Status.OK)).toBe(true)
    expect(attacker[MAX_RESERVATIONS_PER_IP]!.status).not.toBe(Status.OK)
    const honest = await reserve(addr, '127.0.0.3')
    expect(honest.status).toBe(Status.OK)
    for (const a of attacker) await a.node.stop()
    for (let i = 0; i < 100 && held.reservations.size > 1; i++) await sleep(50)
    expect(held.reservations.size).toBe(1) // the honest one
  })
})
