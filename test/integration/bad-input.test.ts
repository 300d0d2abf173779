// Bad input on the wire, over push and over gossip: garbage, oversize, a bad membership tag,
// a bad signature, a replay, future-dated and expired envelopes, an unknown version, a flood
// from one peer. Each is refused with its code, counted in /metrics by reason, nothing
// invalid is stored, and the relay keeps serving.
import { describe, it, expect, afterAll, beforeAll } from 'vitest'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { MAX_PUSH_FRAME_BYTES, pushMessage } from '../../protocol/peer/push.ts'
import { syncTopic } from '../../protocol/peer/sync.ts'
import { Frames } from '../../protocol/peer/frames.ts'
import { Home, currentEpochKeys } from '../../node/storage/home-dir.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { createPost, postFields, type PostInput } from '../../protocol/post.ts'
import { sealPost } from '../../protocol/envelope.ts'
import { openPublicPost, PUBLIC_POST_POW_BITS, sealPublicPost } from '../../protocol/public-post.ts'
import { mineProofSync } from '../../protocol/pow.ts'
import { areaKey } from '../../protocol/identity.ts'
import { areaTopic, privateTopic, type EpochKeys } from '../../protocol/neighborhood.ts'
import { concatBytes, decodeCbor, encodeCbor, encodeStruct, type CborValue } from '../../protocol/encoding.ts'
import { randomBytes, sha256 } from '../../protocol/crypto.ts'
import { decodeResult, MAX_MESSAGE_BYTES, PROTOCOLS, type Result } from '../../protocol/wire.ts'
import { SyncItemSet } from '../../protocol/reconcile/sync.ts'
import type { ErrorCode } from '../../protocol/errors.ts'
import type { Identity } from '../../protocol/identity.ts'
import { cleanUp, cli, neighborhood, scrapeMetrics, startRelay, tcpAddr, tempDir, until } from '../helpers/network.ts'

const AREA = 'u4pruy'
/** Low enough that a test can flood past it; the other senders stay well under the burst. */
const PEER_RATE = { perSecond: 0.2, burst: 20 }
const FLOOD = 40
const HOUR_MS = 3_600_000

let relay: Relay
let relayAddr: Multiaddr
let topic: string
let me: Identity
let keys: EpochKeys
let otherKeys: EpochKeys
let pushNode: PorchlightNode
let gossipNode: PorchlightNode
const nodes: PorchlightNode[] = []

async function node (): Promise<PorchlightNode> {
  const n = await createNode({})
  nodes.push(n)
  return n
}

beforeAll(async () => {
  relay = await startRelay({ areas: [AREA], peerRate: PEER_RATE })
  relayAddr = multiaddr(tcpAddr(relay))
  const hood = await neighborhood(relay, ['Ana'], AREA)
  const home = await Home.open(hood.admin)
  const state = (await home.hoods())[0]!
  me = await home.requireIdentity()
  keys = currentEpochKeys(state)
  topic = privateTopic(state.hood.id)
  // Another neighborhood, whose keys are no good on this one's topic.
  const eve = await tempDir('pl-eve-')
  await cli(eve, ['id', 'create', '--name', 'Eve'])
  await cli(eve, ['hood', 'create', 'Elm Street', '--area', AREA, '--relay', tcpAddr(relay)])
  otherKeys = currentEpochKeys((await (await Home.open(eve)).hoods())[0]!)

  pushNode = await node()
  // Publishes without subscribing, so the relay's re-publishes never reach its seen cache.
  gossipNode = await node()
  await gossipNode.dial(relayAddr)
  // A relay shows a neighborhood's topic only to a peer that proved its tag key (in a sync).
  await syncTopic(gossipNode, relayAddr, topic, new SyncItemSet(), { auth: keys, getLocal: async () => undefined, onMessage: async () => {} })
  await until(() => [topic, areaTopic(AREA)].every(t => gossipNode.services.pubsub.getSubscribers(t).some(p => p.equals(relay.node.peerId))),
    15_000, 'the relay\'s subscriptions')
})

afterAll(async () => {
  for (const n of nodes) await Promise.resolve(n.stop()).catch(() => {})
  await cleanUp()
})

// ---- what is sent

async function envelope (input: Partial<PostInput> = {}, sealKeys = keys): Promise<Uint8Array> {
  const post = createPost({ kind: 'suspicious', text: `car doors ${Math.random()}`, ...input })
  return (await sealPost(me, topic, sealKeys, post)).bytes
}

/** Garbage: 0xff is a CBOR "break" with nothing to break. */
function garbage (): Uint8Array {
  const b = randomBytes(200)
  b[0] = 0xff
  return b
}

/** One byte over the bound; a random start keeps each one a new message. */
function oversize (): Uint8Array {
  const b = new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(0x5a)
  b.set(randomBytes(32))
  return b
}

/** Decoded CBOR maps back to plain objects, to re-encode them after a change. */
function plain (v: unknown): CborValue {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k as string, plain(x)]))
  if (Array.isArray(v)) return v.map(plain)
  return v as CborValue
}

function reencode (bytes: Uint8Array, change: (fields: Record<string, CborValue>) => void): Uint8Array {
  const fields = plain(decodeCbor(bytes)) as Record<string, CborValue>
  change(fields)
  return encodeCbor(fields)
}

/** A public post for the area with one bit of its signature flipped, and a proof of work for the flipped signature. */
async function badSignature (): Promise<Uint8Array> {
  const post = createPost({ kind: 'safety', text: `light out ${Math.random()}` })
  const pub = await sealPublicPost(me, AREA, post)
  const key = await areaKey(me, AREA)
  const body = encodeStruct({ domain: 'pl/public-post-body', version: 1, required: [], maxBytes: 8192 }, { ...postFields(post), area: AREA, pk: key.publicKey })
  return reencode(pub.bytes, f => {
    (f.sig as Uint8Array)[10]! ^= 0x01
    f.pow = mineProofSync(sha256(concatBytes(body, f.sig as Uint8Array)), PUBLIC_POST_POW_BITS)
  })
}

/** A public post whose proof of work is below the difficulty. */
async function weakProof (): Promise<Uint8Array> {
  for (;;) {
    const pub = await sealPublicPost(me, AREA, createPost({ kind: 'safety', text: `light out ${Math.random()}` }), { powBits: 0 })
    try { await openPublicPost(pub.bytes, Date.now()) } catch { return pub.bytes }
  }
}

/** An envelope labelled with the version before padding and whole minutes (v1): refused as BAD_VERSION. */
async function unknownVersion (): Promise<Uint8Array> {
  return reencode(await envelope(), f => { f.v = 1 })
}

// ---- what the relay says

async function metrics (): Promise<Map<string, number>> { return await scrapeMetrics(relay.httpUrl) }

async function rejected (reason: ErrorCode): Promise<number> {
  return (await metrics()).get(`porchlight_messages_rejected_total{reason="${reason}"}`) ?? 0
}

async function duplicates (): Promise<number> {
  return (await metrics()).get('porchlight_messages_duplicate_total') ?? 0
}

function stored (): number { return relay.store.stats().messages }

async function push (bytes: Uint8Array, on = topic, from = pushNode): Promise<Result> {
  return pushMessage(from, relayAddr, on, bytes, 15_000)
}

async function expectPushRefused (bytes: Uint8Array, code: ErrorCode, on = topic): Promise<void> {
  const before = await rejected(code)
  const count = stored()
  const r = await push(bytes, on)
  expect(r).toMatchObject({ ok: false, code })
  expect(await rejected(code)).toBe(before + 1)
  expect(stored()).toBe(count)
}

async function publish (bytes: Uint8Array, on = topic, from = gossipNode): Promise<void> {
  const { recipients } = await from.services.pubsub.publish(on, bytes)
  expect(recipients.map(String)).toContain(relay.node.peerId.toString())
}

async function expectGossipRefused (bytes: Uint8Array, code: ErrorCode, on = topic): Promise<void> {
  const before = await rejected(code)
  const count = stored()
  await publish(bytes, on)
  await until(async () => await rejected(code) > before, 15_000, `a gossip ${code} to be counted`)
  expect(await rejected(code)).toBe(before + 1)
  expect(verdict(bytes)).toBe('invalid')
  expect(stored()).toBe(count)
}

/**
 * What the relay told gossipsub about a message it validated: REJECT marks it invalid (and
 * counts against the sender's score), IGNORE marks it ignored. Read from gossipsub's
 * delivery records, the only place the difference shows.
 */
function verdict (bytes: Uint8Array): string | undefined {
  const ps = relay.node.services.pubsub as unknown as {
    msgIdToStrFn: (id: Uint8Array) => string
    score: { deliveryRecords: { getRecord: (id: string) => { status: number } | undefined } }
  }
  const status = ps.score.deliveryRecords.getRecord(ps.msgIdToStrFn(sha256(bytes)))?.status
  return status === undefined ? undefined : ['unknown', 'valid', 'invalid', 'ignored'][status]
}

async function expectStillServes (): Promise<void> {
  const health = await (await fetch(`${relay.httpUrl}/health`)).json() as { status: string }
  expect(health.status).toBe('ok')
  const count = stored()
  expect(await push(await envelope())).toEqual({ ok: true })
  expect(stored()).toBe(count + 1)
}

describe('bad input at the relay', () => {
  it('refuses bad pushes with their codes and counts them', async () => {
    await expectPushRefused(garbage(), 'MALFORMED')
    await expectPushRefused(oversize(), 'TOO_LARGE')
    // A frame longer than any message needs is refused before it is buffered (a half-sent one
    // holds at most MAX_PUSH_FRAME_BYTES of the relay's memory, not 256 KiB).
    expect(MAX_PUSH_FRAME_BYTES).toBeLessThan(MAX_MESSAGE_BYTES + 2048)
    const before = await rejected('TOO_LARGE')
    expect(await push(new Uint8Array(MAX_PUSH_FRAME_BYTES + 1).fill(7))).toMatchObject({ ok: false, code: 'TOO_LARGE', message: 'frame too large' })
    expect(await rejected('TOO_LARGE')).toBe(before + 1)
    await expectPushRefused(await envelope({}, otherKeys), 'BAD_TAG')
    await expectPushRefused(await badSignature(), 'BAD_SIGNATURE', areaTopic(AREA))
    await expectPushRefused(await weakProof(), 'WEAK_PROOF', areaTopic(AREA))
    await expectPushRefused(await envelope({ now: Date.now() + HOUR_MS }), 'FUTURE_DATED')
    await expectPushRefused(await envelope({ now: Date.now() - 2 * HOUR_MS, ttlMs: HOUR_MS }), 'EXPIRED')
    await expectPushRefused(await unknownVersion(), 'BAD_VERSION')

    // Replay: the second push of the same envelope is acknowledged again (the relay has it)
    // and counted as a duplicate, but stored once.
    const once = await envelope()
    const count = stored()
    expect(await push(once)).toEqual({ ok: true })
    const dups = await duplicates()
    expect(await push(once)).toEqual({ ok: true })
    expect(await duplicates()).toBe(dups + 1)
    expect(stored()).toBe(count + 1)

    await expectStillServes()
  })

  it('refuses a push stream that is not a push request', async () => {
    const before = await rejected('MALFORMED')
    const stream = await pushNode.dialProtocol(relayAddr, PROTOCOLS.push)
    const frames = new Frames(stream, 15_000)
    await frames.write(garbage())
    const r = decodeResult(await frames.read())
    await frames.close()
    expect(r).toMatchObject({ ok: false, code: 'MALFORMED' })
    expect(await rejected('MALFORMED')).toBe(before + 1)
    await expectStillServes()
  })

  it('rejects bad gossip with its codes and counts it', async () => {
    await expectGossipRefused(garbage(), 'MALFORMED')
    await expectGossipRefused(oversize(), 'TOO_LARGE')
    await expectGossipRefused(await envelope({}, otherKeys), 'BAD_TAG')
    await expectGossipRefused(await badSignature(), 'BAD_SIGNATURE', areaTopic(AREA))
    await expectGossipRefused(await weakProof(), 'WEAK_PROOF', areaTopic(AREA))
    await expectGossipRefused(await envelope({ now: Date.now() + HOUR_MS }), 'FUTURE_DATED')
    await expectGossipRefused(await envelope({ now: Date.now() - 2 * HOUR_MS, ttlMs: HOUR_MS }), 'EXPIRED')
    await expectGossipRefused(await unknownVersion(), 'BAD_VERSION')

    // Valid gossip is stored.
    const good = await envelope()
    const count = stored()
    await publish(good)
    await until(() => relay.store.has(sha256(good)), 15_000, 'valid gossip to be stored')
    expect(stored()).toBe(count + 1)
    expect(verdict(good)).toBe('valid')

    // Replay: a message the relay already stores (here: from sync, so gossipsub has not seen
    // it) arriving again over gossip is a duplicate: ignored, not held against the sender,
    // not stored twice.
    const replayer = await node()
    const ts = Date.now()
    const synced = await envelope({ now: ts })
    await syncTopic(replayer, relayAddr, topic, new SyncItemSet([{ ts, id: sha256(synced) }]), {
      auth: keys,
      getLocal: async () => synced,
      onMessage: async () => {}
    })
    expect(relay.store.has(sha256(synced))).toBe(true)
    const afterSync = stored()
    const dups = await duplicates()
    await until(() => replayer.services.pubsub.getSubscribers(topic).length > 0, 15_000, 'the replayer to see the relay\'s topics')
    await publish(synced, topic, replayer)
    await until(async () => await duplicates() > dups, 15_000, 'the gossip replay to be counted')
    expect(await duplicates()).toBe(dups + 1)
    expect(verdict(synced)).toBe('ignored')
    expect(stored()).toBe(afterSync)

    await expectStillServes()
  })

  it('limits a flood from one peer, and keeps serving the others', async () => {
    const flooder = await node()
    const envelopes = await Promise.all(Array.from({ length: FLOOD }, async () => envelope()))
    const before = await rejected('RATE_LIMITED')
    const count = stored()
    const results = await Promise.all(envelopes.map(async e => push(e, topic, flooder)))
    const limited = results.filter(r => r.code === 'RATE_LIMITED').length
    const acked = results.filter(r => r.ok).length
    expect(limited + acked, JSON.stringify(results.filter(r => !r.ok && r.code !== 'RATE_LIMITED').slice(0, 3))).toBe(FLOOD)
    expect(acked).toBeLessThanOrEqual(PEER_RATE.burst + 2)
    expect(limited).toBeGreaterThanOrEqual(FLOOD - PEER_RATE.burst - 2)
    expect(await rejected('RATE_LIMITED')).toBe(before + limited)
    expect(stored()).toBe(count + acked)
    // Refused ones were not stored.
    for (const [i, r] of results.entries()) expect(relay.store.has(sha256(envelopes[i]!))).toBe(r.ok)

    // The flooder stays limited; everyone else is served.
    expect(await push(await envelope(), topic, flooder)).toMatchObject({ ok: false, code: 'RATE_LIMITED' })
    await expectStillServes()
  })
})
