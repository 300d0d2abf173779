// A second relay given a token mirrors the neighborhood's whole unexpired history, older epochs
// included (issue 10). The neighborhood posts in epoch 0, the admin removes Cleo (rekey to
// epoch 1), everyone posts again; then a member's fresh token, which carries the tag keys of
// the older epochs that still hold unexpired messages, starts a second relay that peers with
// the first: it ends up holding exactly the first relay's messages, with no UNKNOWN_EPOCH
// refusal. Old-epoch envelopes reach it as history from the relay it mirrors, while a new post
// in the closed epoch is still STALE_EPOCH, by push and by sync from anyone else. A relay whose
// token lacks the older keys cannot verify epoch 0: it refuses those messages once each, quietly,
// and stops asking for them in every sync round.
import { describe, it, expect, afterAll, beforeAll } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { sha256 } from '../../protocol/crypto.ts'
import { peekDomain, toHex } from '../../protocol/encoding.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { decodeEnvelope, sealPost } from '../../protocol/envelope.ts'
import { encodeRelayToken, parseRelayToken } from '../../protocol/relay-token.ts'
import { Home, epochKeys } from '../../node/storage/home-dir.ts'
import { createNode } from '../../node/libp2p.ts'
import { pushMessage } from '../../protocol/peer/push.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { cleanUp, cli, neighborhood, startRelay, tcpAddr, until } from '../helpers/network.ts'

afterAll(cleanUp)

const TEST_TIMEOUT_MS = 180_000
const WAIT_MS = 30_000
/** Relays re-reconcile this often besides on every identify (the default is a minute). */
const RESYNC_MS = 300
/**
 * The second relay's grace for posts in flight after it learns a rekey (default 10 s): none, so
 * every epoch-0 message it gets after starting is past it, and only the history rule lets one in.
 */
const GRACE_MS = 0
const POSTS_PER_EPOCH = 3

async function storedIds (relay: Relay, topic: string): Promise<string[]> {
  const ids: string[] = []
  for await (const m of relay.store.list(topic)) ids.push(toHex(m.id))
  return ids.sort()
}

async function epochOf (relay: Relay, topic: string): Promise<Map<string, number | 'rekey'>> {
  const out = new Map<string, number | 'rekey'>()
  for await (const m of relay.store.list(topic)) out.set(toHex(m.id), peekDomain(m.bytes) === 'pl/rekey' ? 'rekey' : decodeEnvelope(m.bytes).epoch)
  return out
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

interface Fixture {
  r1: Relay
  topic: string
  homes: { ana: string, ben: string, cleo: string }
  /** Ben's token after the removal (epoch 1, with epoch 0's tag key). */
  token: string
}

let fx: Fixture

beforeAll(async () => {
  const r1 = await startRelay({ resyncIntervalMs: RESYNC_MS })
  const hood = await neighborhood(r1, ['Ana', 'Ben', 'Cleo'])
  const [ana, ben, cleo] = hood.members as [string, string, string]
  await cli(ana, ['feed']) // learns Ben's and Cleo's box keys
  const topic = privateTopic((await (await Home.open(ana)).hoods())[0]!.hood.id)
  const post = async (home: string, text: string): Promise<void> => {
    const r = await cli(home, ['--json', 'post', '--kind', 'info', '--text', text])
    expect(r.json.relay).toBe(tcpAddr(r1))
  }
  for (let i = 0; i < POSTS_PER_EPOCH; i++) {
    await post(ana, `Ana in epoch 0, ${i}`)
    await post(ben, `Ben in epoch 0, ${i}`)
  }
  expect((await cli(ana, ['--json', 'hood', 'remove', 'Cleo'])).json).toEqual({ epoch: 1, remaining: 2, sent: true })
  await cli(ben, ['feed'])
  for (let i = 0; i < POSTS_PER_EPOCH; i++) {
    await post(ana, `Ana in epoch 1, ${i}`)
    await post(ben, `Ben in epoch 1, ${i}`)
  }
  const made = (await cli(ben, ['--json', 'hood', 'relay-token'])).json as { epoch: number, token: string }
  expect(made.epoch).toBe(1)
  fx = { r1, topic, homes: { ana, ben, cleo }, token: made.token }
}, TEST_TIMEOUT_MS)

describe('a second relay mirrors the neighborhood', () => {
  it('holds exactly the first relay\'s unexpired messages of both epochs, with no UNKNOWN_EPOCH refusal; a new post in epoch 0 is still STALE_EPOCH', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { r1, topic } = fx
    const byEpoch = await epochOf(r1, topic)
    const counts = [...byEpoch.values()].reduce<Record<string, number>>((acc, e) => { acc[String(e)] = (acc[String(e)] ?? 0) + 1; return acc }, {})
    // Posts and announcements in epoch 0, the rekey, posts in epoch 1.
    expect(counts['0']).toBeGreaterThanOrEqual(2 * POSTS_PER_EPOCH)
    expect(counts.rekey).toBe(1)
    expect(counts['1']).toBeGreaterThanOrEqual(2 * POSTS_PER_EPOCH)
    expect(parseRelayToken(fx.token).older.map(o => o.epoch)).toEqual([0])

    const lines: string[] = []
    const r2 = await startRelay({ tokens: [fx.token], peers: [tcpAddr(r1)], resyncIntervalMs: RESYNC_MS, epochGraceMs: GRACE_MS, log: l => { lines.push(l) } })
    const want = await storedIds(r1, topic)
    await until(async () => (await storedIds(r2, topic)).length >= want.length, WAIT_MS, 'the second relay to hold every message')
    expect(await storedIds(r2, topic)).toEqual(want)
    await sleep(4 * RESYNC_MS) // more sync rounds: nothing new, nothing refused
    expect(await storedIds(r2, topic)).toEqual(want)
    for (const reason of ['UNKNOWN_EPOCH', 'STALE_EPOCH', 'BAD_TAG']) {
      expect(r2.metrics.get('porchlight_messages_rejected_total', { reason }), reason).toBe(0)
    }
    const metrics = await (await fetch(`${r2.httpUrl}/metrics`)).text()
    expect(metrics).not.toMatch(/reason="UNKNOWN_EPOCH"\} [1-9]/)
    expect(r2.metrics.get('porchlight_sync_sessions_total', { role: 'client', outcome: 'ok' })).toBeGreaterThan(0)
    expect(r2.metrics.get('porchlight_sync_sessions_total', { role: 'client', outcome: 'error' })).toBe(0)
    expect(r2.metrics.get('porchlight_sync_sessions_total', { role: 'server', outcome: 'error' })).toBe(0)
    expect(lines.filter(l => l.includes('refused'))).toEqual([])

    // Past the grace, a new post in epoch 0 (Ana still holds its keys, as Cleo does) is refused
    // when pushed, and when a relay the second one does not mirror hands it over by sync.
    const home = await Home.open(fx.homes.ana)
    const ana = await home.identity()
    const e0 = epochKeys((await home.hoods())[0]!, 0)!
    const late = await sealPost(ana!, topic, e0, createPost({ kind: 'info', text: 'posted in epoch 0 after it closed', now: Date.now() - 60_000 }))
    const client = await createNode({})
    try {
      expect(await pushMessage(client, multiaddr(tcpAddr(r2)), topic, late.bytes)).toMatchObject({ ok: false, code: 'STALE_EPOCH' })
    } finally {
      await client.stop()
    }
    const stranger = await startRelay({ tokens: [fx.token] })
    await stranger.store.put({ topic, id: sha256(late.bytes), ts: decodeEnvelope(late.bytes).ts, exp: decodeEnvelope(late.bytes).exp, bytes: late.bytes })
    await stranger.node.dial(multiaddr(tcpAddr(r2)))
    await stranger.syncWith(r2.node.peerId)
    await r2.syncWith(stranger.node.peerId)
    expect(r2.store.has(late.id)).toBe(false)
    expect(r2.metrics.get('porchlight_messages_rejected_total', { reason: 'STALE_EPOCH' })).toBeGreaterThanOrEqual(2)
  })

  it('with a token lacking the older keys, refuses epoch 0 once per message, quietly, and stops asking for it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { r1, topic } = fx
    const t = parseRelayToken(fx.token)
    const bare = encodeRelayToken({ ...t, older: [] })
    expect(parseRelayToken(bare).older).toEqual([])
    const lines: string[] = []
    const r3 = await startRelay({ tokens: [bare], peers: [tcpAddr(r1)], resyncIntervalMs: RESYNC_MS, log: l => { lines.push(l) } })
    const byEpoch = await epochOf(r1, topic)
    const verifiable = [...byEpoch].filter(([, e]) => e !== 0).map(([id]) => id).sort()
    const epoch0 = [...byEpoch.values()].filter(e => e === 0).length
    await until(async () => verifiable.every(id => r3.store.has(Buffer.from(id, 'hex'))), WAIT_MS, 'the relay to hold epoch 1 and the rekey')
    await sleep(4 * RESYNC_MS)
    const refused = r3.metrics.get('porchlight_messages_rejected_total', { reason: 'UNKNOWN_EPOCH' })
    // Each epoch-0 message refused once (at most once from each side of a sync), not once per round.
    expect(refused).toBeGreaterThanOrEqual(epoch0)
    expect(refused).toBeLessThanOrEqual(2 * epoch0)
    const received = lines.filter(l => /synced with a relay: received [1-9]/.test(l)).length
    await sleep(6 * RESYNC_MS)
    expect(r3.metrics.get('porchlight_messages_rejected_total', { reason: 'UNKNOWN_EPOCH' })).toBe(refused)
    // No round after the first asks for the unverifiable messages again.
    expect(lines.filter(l => /synced with a relay: received [1-9]/.test(l)).length).toBe(received)
    expect(await storedIds(r3, topic)).toEqual(verifiable)
    const said = lines.filter(l => l.includes('UNKNOWN_EPOCH'))
    expect(said.length).toBeLessThanOrEqual(2)
    expect(said[0]).toContain('porchlight hood relay-token') // tells the operator what to do
    expect(r3.metrics.get('porchlight_sync_sessions_total', { role: 'client', outcome: 'error' })).toBe(0)
    expect(r3.metrics.get('porchlight_sync_sessions_total', { role: 'server', outcome: 'error' })).toBe(0)

    // Given the full token while running, it mirrors epoch 0 too.
    await r3.serve(fx.token)
    const want = await storedIds(r1, topic)
    await until(async () => (await storedIds(r3, topic)).length >= want.length, WAIT_MS, 'the relay to hold epoch 0 after the full token')
    expect(await storedIds(r3, topic)).toEqual(want)
  })
})
