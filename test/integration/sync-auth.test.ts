// Outsiders get nothing of a private topic (issue 10): sync needs proof of the tag key over a
// fresh challenge, both ways; a proof made for one session is worthless in another; a closed
// epoch's key fetches only the rekeys; and a relay's gossip of a private topic reaches only
// peers that proved the key, for as long as their epoch is open.
import { describe, it, expect, afterAll, beforeAll } from 'vitest'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { proveKey, syncTopic } from '../../protocol/peer/sync.ts'
import { Frames } from '../../protocol/peer/frames.ts'
import { Home, currentEpochKeys, epochKeys } from '../../node/storage/home-dir.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { privateTopic, type EpochKeys } from '../../protocol/neighborhood.ts'
import { peekDomain, toHex } from '../../protocol/encoding.ts'
import { randomBytes, sha256 } from '../../protocol/crypto.ts'
import {
  decodeResult, decodeSyncHello, decodeSyncOpen, encodeSyncHello, encodeSyncOpen, encodeSyncReady, PROTOCOLS, RETIRED_PROTOCOLS
} from '../../protocol/wire.ts'
import { syncProof } from '../../protocol/sync-auth.ts'
import { SyncItemSet } from '../../protocol/reconcile/sync.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { cleanUp, cli, neighborhood, startRelay, tcpAddr, until } from '../helpers/network.ts'

const GRACE_MS = 300
const nodes: PorchlightNode[] = []
let relay: Relay
let relayAddr: Multiaddr
let topic: string
let keys: EpochKeys
let hood: Awaited<ReturnType<typeof neighborhood>>

async function node (): Promise<PorchlightNode> {
  const n = await createNode({})
  nodes.push(n)
  return n
}

async function refusal (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'accepted'
  } catch (err) {
    return isPorchlightError(err) ? err.code : `not a PorchlightError: ${(err as Error).message}`
  }
}

/** Everything a sync with these keys fetches from the relay. */
async function fetchAll (auth: { epoch: number, tagKey: Uint8Array } | undefined, via?: PorchlightNode): Promise<{ msgs: Uint8Array[], scope: string }> {
  const msgs: Uint8Array[] = []
  const stats = await syncTopic(via ?? await node(), relayAddr, topic, new SyncItemSet(), {
    ...(auth !== undefined ? { auth } : {}), getLocal: async () => undefined, onMessage: async (m) => { msgs.push(m) }
  })
  return { msgs, scope: stats.scope }
}

const sessions = (outcome: string): number => relay.metrics.get('porchlight_sync_sessions_total', { role: 'server', outcome }) ?? 0

beforeAll(async () => {
  relay = await startRelay({ epochGraceMs: GRACE_MS })
  relayAddr = multiaddr(tcpAddr(relay))
  hood = await neighborhood(relay, ['Ana', 'Ben', 'Cleo'])
  const state = (await (await Home.open(hood.admin)).hoods())[0]!
  keys = currentEpochKeys(state)
  topic = privateTopic(state.hood.id)
  await cli(hood.admin, ['post', '--kind', 'info', '--text', 'epoch zero'])
})

afterAll(async () => {
  for (const n of nodes) await Promise.resolve(n.stop()).catch(() => {})
  await cleanUp()
})

describe('authenticated sync of a private topic', () => {
  it('gives an outsider who names the topic nothing, with or without a made-up key', async () => {
    const stored = relay.store.items(topic).size
    expect(stored).toBeGreaterThan(0)
    const unproven = sessions('unproven')
    // No proof at all: the client refuses to try, and a raw open without one is refused.
    expect(await refusal(fetchAll(undefined))).toBe('BAD_ARGUMENT')
    const outsider = await node()
    const raw = new Frames(await outsider.dialProtocol(relayAddr, PROTOCOLS.sync))
    decodeSyncHello(await raw.read())
    await raw.write(encodeSyncOpen({ topic, nonce: randomBytes(32) }))
    expect(decodeResult(await raw.read())).toMatchObject({ ok: false, code: 'NOT_MEMBER' })
    // A wrong key for the right epoch.
    expect(await refusal(fetchAll({ epoch: keys.epoch, tagKey: randomBytes(32) }))).toBe('NOT_MEMBER')
    // An epoch the relay does not know.
    expect(await refusal(fetchAll({ epoch: keys.epoch + 7, tagKey: keys.tagKey }))).toBe('UNKNOWN_EPOCH')
    expect(sessions('unproven')).toBe(unproven + 3)
    // A member's key fetches everything.
    const member = await fetchAll(keys)
    expect(member.scope).toBe('all')
    expect(member.msgs.length).toBe(stored)
  })

  it('refuses a proof replayed from another session', async () => {
    const thief = await node()
    // A proof genuinely made with the key, but for an earlier challenge (as a peer in the middle would pass on).
    const first = new Frames(await thief.dialProtocol(relayAddr, PROTOCOLS.sync))
    const challenge = decodeSyncHello(await first.read())
    const nonce = randomBytes(32)
    const session = { topic, epoch: keys.epoch, challenge, nonce, initiator: thief.peerId.toMultihash().bytes, responder: relay.node.peerId.toMultihash().bytes }
    const proof = syncProof(keys.tagKey, 'initiator', session)
    first.abort('first session dropped')
    const second = new Frames(await thief.dialProtocol(relayAddr, PROTOCOLS.sync))
    decodeSyncHello(await second.read())
    await second.write(encodeSyncOpen({ topic, nonce, epoch: keys.epoch, proof }))
    expect(decodeResult(await second.read())).toMatchObject({ ok: false, code: 'NOT_MEMBER' })
    // The same proof from another peer id than the one it was made for: refused too.
    const other = await node()
    const third = new Frames(await other.dialProtocol(relayAddr, PROTOCOLS.sync))
    const c3 = decodeSyncHello(await third.read())
    const forged = syncProof(keys.tagKey, 'initiator', { ...session, challenge: c3 }) // made for the thief's peer id
    await third.write(encodeSyncOpen({ topic, nonce, epoch: keys.epoch, proof: forged }))
    expect(decodeResult(await third.read())).toMatchObject({ ok: false, code: 'NOT_MEMBER' })
  })

  it('gives nothing to a peer that answers without proving the key back', async () => {
    // A stranger posing as a relay: it challenges properly but cannot prove the key.
    const fake = await createNode({ tcpPort: 0 })
    nodes.push(fake)
    const gotFrames: string[] = []
    await fake.handle(PROTOCOLS.sync, async (stream: Stream) => {
      const frames = new Frames(stream)
      await frames.write(encodeSyncHello(randomBytes(32)))
      decodeSyncOpen(await frames.read())
      await frames.write(encodeSyncReady({ scope: 'all', proof: randomBytes(32) }))
      for (;;) {
        const f = await frames.readOrEnd().catch(() => null)
        if (f === null) return
        gotFrames.push(peekDomain(f))
      }
    })
    const member = await node()
    const mine = sha256(new TextEncoder().encode('a message the stranger must not get'))
    const code = await refusal(syncTopic(member, fake.getMultiaddrs(), topic, new SyncItemSet([{ ts: Date.now(), id: mine }]), {
      auth: keys, getLocal: async () => { throw new Error('asked to give to an unproven peer') }, onMessage: async () => {}
    }))
    expect(code).toBe('NOT_MEMBER')
    expect(gotFrames).toEqual([]) // not even a reconciliation frame
  })

  it('answers a peer of the previous protocol with a clear version error', async () => {
    const old = await node()
    const frames = new Frames(await old.dialProtocol(relayAddr, RETIRED_PROTOCOLS.sync))
    const r = decodeResult(await frames.read())
    expect(r.ok).toBe(false)
    expect(r.code).toBe('BAD_VERSION')
    expect(r.message).toContain(PROTOCOLS.sync)
  })
})

describe('a relay\'s gossip of a private topic', () => {
  it('reaches only peers that proved the key, and lets a removed member go with its epoch', async () => {
    const ben = hood.members[1]!
    const benKeys = currentEpochKeys((await (await Home.open(ben)).hoods())[0]!)
    // An outsider and Ben's raw node both subscribe; only Ben proves.
    const outsider = await node()
    const benNode = await node()
    for (const n of [outsider, benNode]) {
      n.services.pubsub.subscribe(topic)
      await n.dial(relayAddr)
    }
    const seenBy = new Map<PorchlightNode, string[]>([[outsider, []], [benNode, []]])
    for (const [n, seen] of seenBy) n.services.pubsub.addEventListener('message', (evt) => { if (evt.detail.topic === topic) seen.push(toHex(sha256(evt.detail.data))) })
    await proveKey(benNode, relayAddr, topic, benKeys)
    const subscribers = (): string[] => relay.node.services.pubsub.getSubscribers(topic).map(String)
    await until(() => subscribers().includes(benNode.peerId.toString()), 15_000, 'Ben\'s subscription to count')
    await until(() => benNode.services.pubsub.getSubscribers(topic).some(p => p.equals(relay.node.peerId)), 15_000, 'Ben to hear the relay\'s subscription')
    expect(subscribers()).not.toContain(outsider.peerId.toString())
    expect(outsider.services.pubsub.getSubscribers(topic)).toEqual([])

    const post1 = (await cli(hood.admin, ['--json', 'post', '--kind', 'info', '--text', 'for members'])).json.id as string
    await until(() => seenBy.get(benNode)!.includes(post1), 15_000, 'Ben to get the post by gossip')
    expect(seenBy.get(outsider)).toEqual([])

    await cli(hood.admin, ['feed']) // the admin learns who joined (and their box keys)
    // Ben is removed: once the grace is over his epoch-0 proof no longer holds. The relay drops
    // him from the topic and tells him it left; his old key fetches only the rekey.
    expect((await cli(hood.admin, ['--json', 'hood', 'remove', 'Ben'])).json.sent).toBe(true)
    await until(() => !subscribers().includes(benNode.peerId.toString()), 15_000, 'the relay to let Ben go')
    await until(() => !benNode.services.pubsub.getSubscribers(topic).some(p => p.equals(relay.node.peerId)), 15_000, 'Ben to hear the relay left')
    const old = await fetchAll(benKeys)
    expect(old.scope).toBe('rekeys')
    expect(old.msgs.length).toBeGreaterThan(0)
    expect(old.msgs.every(m => peekDomain(m) === 'pl/rekey')).toBe(true)
    expect(await refusal(proveKey(benNode, relayAddr, topic, benKeys))).toBe('accepted') // proves, but only for the rekeys
    const post2 = (await cli(hood.admin, ['--json', 'post', '--kind', 'info', '--text', 'after the removal'])).json.id as string
    // Cleo, still a member, proves the new key and gets the post; Ben's node is not a subscriber.
    const cleoNode = await node()
    cleoNode.services.pubsub.subscribe(topic)
    await cli(hood.members[2]!, ['feed']) // Cleo opens the rekey
    const cleoKeys = currentEpochKeys((await (await Home.open(hood.members[2]!)).hoods())[0]!)
    expect(cleoKeys.epoch).toBe(benKeys.epoch + 1)
    expect(epochKeys((await (await Home.open(ben)).hoods())[0]!, cleoKeys.epoch)).toBeUndefined()
    const cleo = await fetchAll(cleoKeys, cleoNode)
    expect(cleo.scope).toBe('all')
    expect(cleo.msgs.map(m => toHex(sha256(m)))).toContain(post2)
    expect(subscribers()).not.toContain(benNode.peerId.toString())
    expect(seenBy.get(outsider)).toEqual([])
  })
})
