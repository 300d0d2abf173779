// /porchlight/sync/2 (protocol/peer/sync.ts) over an in-memory stream pair: reconciliation
// and the transfer of exactly the difference both ways, paging, proof of the tag key on a
// private topic (both directions), scopes, and the refusals a peer can meet.
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import type { PeerId } from '@libp2p/interface'
import { SyncServer, syncTopic, proveKey, type SyncSource } from '../../protocol/peer/sync.ts'
import { Frames } from '../../protocol/peer/frames.ts'
import { SyncItemSet } from '../../protocol/reconcile/sync.ts'
import { PROTOCOLS, RETIRED_PROTOCOLS, MAX_ENVELOPES_PER_FRAME, decodeResult, decodeSyncHello, decodeSyncOpen, encodeSyncHello, encodeSyncReady, type Result } from '../../protocol/wire.ts'
import { sha256, randomBytes } from '../../protocol/crypto.ts'
import { toHex } from '../../protocol/encoding.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import type { SyncScope } from '../../protocol/sync-auth.ts'
import { MemoryNet, type MemoryPeer } from '../helpers/memory-net.ts'

const AREA = '/porchlight/1/area/u4pruy'
const HOOD = `/porchlight/1/n/${'ab'.repeat(16)}`
const T0 = 1_800_000_000_000

const message = (i: number, size = 40): Uint8Array => {
  const m = new Uint8Array(size)
  new TextEncoder().encodeInto(`message ${i} `, m)
  return m
}

/** A peer's messages of one topic, as a sync responder and as a client's local copy. */
class Held {
  readonly items = new SyncItemSet()
  readonly byId = new Map<string, Uint8Array>()
  constructor (indices: Iterable<number> = [], size = 40) { for (const i of indices) this.add(message(i, size)) }
  /** Stored under the message's own time (T0 + its number), as a real store would. */
  add (m: Uint8Array, ts = T0 + Number(new TextDecoder().decode(m.subarray(0, 20)).split(' ')[1])): boolean {
    const id = sha256(m)
    if (this.byId.has(toHex(id))) return false
    this.byId.set(toHex(id), m)
    this.items.add({ ts, id })
    return true
  }
  get (id: Uint8Array): Uint8Array | undefined { return this.byId.get(toHex(id)) }
  names (): string[] { return [...this.byId.values()].map(m => new TextDecoder().decode(m).split(' ').slice(0, 2).join(' ')).sort() }
}

const names = (indices: Iterable<number>): string[] => [...indices].map(i => `message ${i}`).sort()
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

interface Responder {
  held: Held
  accepted: string[]
  sessions: string[]
  proofs: Array<{ peer: PeerId, topic: string, epoch: number, scope: SyncScope }>
}

let net: MemoryNet
let server: MemoryPeer
let client: MemoryPeer

beforeEach(async () => {
  net = new MemoryNet()
  server = await net.peer()
  client = await net.peer()
})

afterEach(async () => {
  await net.settled()
  expect(net.handlerErrors).toEqual([])
})

async function serve (held: Held, opts: {
  topic?: string
  keys?: Map<number, { tagKeys: Uint8Array[], scope: SyncScope }>
  rekeys?: Held
  get?: (id: Uint8Array) => Uint8Array | undefined
} = {}): Promise<Responder> {
  const r: Responder = { held, accepted: [], sessions: [], proofs: [] }
  const topic = opts.topic ?? AREA
  const source: SyncSource = {
    serves: t => t === topic,
    items: (_t, scope) => scope === 'rekeys' ? (opts.rekeys ?? new Held()).items : held.items,
    epochKeys: (_t, epoch) => opts.keys?.get(epoch),
    get: async (_t, id) => (opts.get ?? (x => held.get(x) ?? opts.rekeys?.get(x)))(id),
    accept: async (_t, msg): Promise<Result> => {
      r.accepted.push(new TextDecoder().decode(msg).split(' ').slice(0, 2).join(' '))
      held.add(msg)
      return { ok: true }
    },
    onProof: (peer, t, epoch, scope) => { r.proofs.push({ peer, topic: t, epoch, scope }) },
    onSession: (outcome) => { r.sessions.push(outcome) }
  }
  await new SyncServer(server.node, source).start()
  return r
}

async function sync (local: Held, topic = AREA, extra: Partial<Parameters<typeof syncTopic>[4]> = {}): ReturnType<typeof syncTopic> {
  return await syncTopic(client.node, server.peerId, topic, local.items, {
    getLocal: async id => local.get(id),
    onMessage: async (m) => { local.add(m) },
    timeoutMs: 10_000,
    ...extra
  })
}

async function refusal (p: Promise<unknown>): Promise<string> {
  try { await p } catch (err) { expect(isPorchlightError(err), String(err)).toBe(true); return (err as { code: string }).code }
  throw new Error('expected a refusal')
}

describe('sync over a stream pair: public topic', () => {
  it('transfers exactly the difference, both ways', async () => {
    const r = await serve(new Held(range(20, 50)))
    const mine = new Held(range(0, 30))
    const stats = await sync(mine)
    expect(stats).toMatchObject({ topic: AREA, scope: 'all', received: 20, sent: 20 })
    expect(stats.roundTrips).toBeGreaterThan(0)
    expect(mine.names()).toEqual(names(range(0, 50)))
    expect(r.accepted.sort()).toEqual(names(range(0, 20)))
    expect(r.held.names()).toEqual(names(range(0, 50)))
    await net.settled()
    expect(r.sessions).toEqual(['ok'])
  })

  it('a second session finds nothing to transfer', async () => {
    const r = await serve(new Held(range(0, 40)))
    const mine = new Held(range(10, 60))
    await sync(mine)
    const again = await sync(mine)
    expect(again).toMatchObject({ received: 0, sent: 0 })
    expect(r.accepted.sort()).toEqual(names(range(40, 60)))
    expect(mine.names()).toEqual(names(range(0, 60)))
  })

  it('pages a difference larger than one frame holds, each message once', async () => {
    const n = MAX_ENVELOPES_PER_FRAME * 2 + 17
    await serve(new Held(range(0, n)))
    const mine = new Held()
    const got: string[] = []
    const stats = await sync(mine, AREA, { onMessage: async (m) => { got.push(toHex(sha256(m))); mine.add(m) } })
    expect(stats.received).toBe(n)
    expect(new Set(got).size).toBe(n)
    expect(mine.names()).toEqual(names(range(0, n)))
  })

  it('pages by bytes too: large messages fill a frame before the count does', async () => {
    await serve(new Held(range(0, 40), 30_000))
    const mine = new Held()
    expect((await sync(mine)).received).toBe(40)
  })

  it('does not ask for what `skip` names', async () => {
    const r = await serve(new Held(range(0, 10)))
    const mine = new Held()
    const skipped = new Set(range(0, 5).map(i => toHex(sha256(message(i)))))
    const stats = await sync(mine, AREA, { skip: id => skipped.has(toHex(id)) })
    expect(stats.received).toBe(5)
    expect(mine.names()).toEqual(names(range(5, 10)))
    expect(r.accepted).toEqual([])
  })

  it('refuses a responder that sends a message other than the one asked for', async () => {
    const held = new Held(range(0, 5))
    await serve(held, { get: id => held.get(id) === undefined ? undefined : message(99) })
    const mine = new Held()
    expect(await refusal(sync(mine))).toBe('REFUSED')
    expect(mine.byId.size).toBe(0)
  })

  it('a topic the peer does not serve is NOT_FOUND, and the peer counts it as not served', async () => {
    const r = await serve(new Held(range(0, 3)))
    expect(await refusal(sync(new Held(), '/porchlight/1/area/gcpvj'))).toBe('NOT_FOUND')
    await net.settled()
    expect(r.sessions).toEqual(['not-served'])
  })

  it('a peer without the protocol, or asked by the retired one, says BAD_VERSION', async () => {
    expect(await refusal(sync(new Held()))).toBe('BAD_VERSION')
    await serve(new Held())
    const frames = new Frames(await client.node.dialProtocol(server.peerId, RETIRED_PROTOCOLS.sync), 5_000)
    const r = decodeResult(await frames.read())
    expect(r).toMatchObject({ ok: false, code: 'BAD_VERSION' })
    expect(r.message).toContain(PROTOCOLS.sync)
    await frames.close()
  })
})

describe('sync over a stream pair: private topic', () => {
  const key1 = randomBytes(32)
  const key2 = randomBytes(32)

  it('needs a tag key before anything is dialed', async () => {
    const r = await serve(new Held(), { topic: HOOD })
    expect(await refusal(sync(new Held(), HOOD))).toBe('BAD_ARGUMENT')
    expect(r.sessions).toEqual([])
  })

  it('with the epoch\'s tag key: proofs both ways, then the difference', async () => {
    const r = await serve(new Held(range(0, 8)), { topic: HOOD, keys: new Map([[3, { tagKeys: [key2, key1], scope: 'all' }]]) })
    const mine = new Held(range(6, 12))
    const stats = await sync(mine, HOOD, { auth: { epoch: 3, tagKey: key1 } })
    expect(stats).toMatchObject({ scope: 'all', received: 6, sent: 4 })
    expect(r.proofs).toHaveLength(1)
    expect(r.proofs[0]).toMatchObject({ topic: HOOD, epoch: 3, scope: 'all' })
    expect(r.proofs[0]!.peer.equals(client.peerId)).toBe(true)
  })

  it('a wrong key is NOT_MEMBER and an unknown epoch UNKNOWN_EPOCH: nothing reconciled, nothing given', async () => {
    const r = await serve(new Held(range(0, 8)), { topic: HOOD, keys: new Map([[3, { tagKeys: [key1], scope: 'all' }]]) })
    const mine = new Held(range(20, 25))
    let asked = 0
    const getLocal = async (id: Uint8Array): Promise<Uint8Array | undefined> => { asked++; return mine.get(id) }
    expect(await refusal(sync(mine, HOOD, { auth: { epoch: 3, tagKey: key2 }, getLocal }))).toBe('NOT_MEMBER')
    expect(await refusal(sync(mine, HOOD, { auth: { epoch: 4, tagKey: key1 }, getLocal }))).toBe('UNKNOWN_EPOCH')
    expect(asked).toBe(0)
    expect(mine.byId.size).toBe(5)
    expect(r.accepted).toEqual([])
    await net.settled()
    expect(r.sessions).toEqual(['unproven', 'unproven'])
    expect(r.proofs).toEqual([])
  })

  it('a responder that cannot prove the key back gets nothing', async () => {
    // A peer that answers the open without the key: a ready frame with a made-up proof.
    await server.handle(PROTOCOLS.sync, async (stream) => {
      const frames = new Frames(stream, 5_000)
      await frames.write(encodeSyncHello(randomBytes(32)))
      decodeSyncOpen(await frames.read())
      await frames.write(encodeSyncReady({ scope: 'all', proof: randomBytes(32) }))
      await frames.readOrEnd().catch(() => null)
      frames.abort('done')
    })
    const mine = new Held(range(0, 5))
    let asked = 0
    expect(await refusal(sync(mine, HOOD, { auth: { epoch: 1, tagKey: key1 }, getLocal: async (id) => { asked++; return mine.get(id) } }))).toBe('NOT_MEMBER')
    expect(asked).toBe(0)
  })

  it('a closed epoch\'s key earns only the rekeys, and the client gives nothing', async () => {
    const rekeys = new Held([100, 101])
    const r = await serve(new Held(range(0, 8)), { topic: HOOD, rekeys, keys: new Map([[1, { tagKeys: [key1], scope: 'rekeys' }]]) })
    const mine = new Held(range(50, 53))
    const stats = await sync(mine, HOOD, { auth: { epoch: 1, tagKey: key1 } })
    expect(stats).toMatchObject({ scope: 'rekeys', received: 2, sent: 0 })
    expect(mine.names()).toEqual(names([50, 51, 52, 100, 101]))
    expect(r.accepted).toEqual([])
  })

  it('proveKey proves the key and reconciles nothing', async () => {
    const r = await serve(new Held(range(0, 8)), { topic: HOOD, keys: new Map([[2, { tagKeys: [key1], scope: 'all' }]]) })
    const stats = await proveKey(client.node, server.peerId, HOOD, { epoch: 2, tagKey: key1 }, 5_000)
    expect(stats).toMatchObject({ roundTrips: 0, received: 0, sent: 0 })
    expect(r.proofs.map(p => p.epoch)).toEqual([2])
  })

  it('the hello carries a fresh challenge each session', async () => {
    await serve(new Held(), { topic: HOOD })
    const seen = new Set<string>()
    for (let i = 0; i < 3; i++) {
      const frames = new Frames(await client.node.dialProtocol(server.peerId, PROTOCOLS.sync), 5_000)
      seen.add(toHex(decodeSyncHello(await frames.read())))
      frames.abort('enough')
    }
    expect(seen.size).toBe(3)
  })
})
