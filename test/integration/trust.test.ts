// Group trust under attack, through a real relay, real libp2p nodes on 127.0.0.1 and the real
// CLI. Each test is an attack that worked against the membership model before self-certifying
// neighborhoods and admin-signed rekeys (see README "What a removed member, a relay and an
// outsider can still do"):
//  - a removed member keeps posting (any epoch, backdated or not), re-joins with an old
//    announcement or invite, and is never told;
//  - a member poses as admin in an invite and rekeys a newcomer away from the real admins;
//  - anyone with the tag key fills the relay's rekey slots with forgeries, blocking posting;
//  - two admins rekey at once and split the group;
//  - a fake "City PD" reads like the real one; a second "Ana" reads like Ana.
import { describe, it, expect, afterAll } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeStruct, fromHex, peekDomain, toHex, type StructSpec } from '../../protocol/encoding.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { fingerprint, signStruct, type Identity, type PublicIdentity } from '../../protocol/identity.ts'
import { createNeighborhood, deriveEpochKeys, newEpochSecret, privateTopic, type Neighborhood } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { decodeEnvelope, encodeSignedPost, sealEnvelope } from '../../protocol/envelope.ts'
import { createRekey, decodeRekey, openRekey, relayOpenRekey, rekeyTimes, type RekeyWire } from '../../protocol/rekey.ts'
import { encodeAdminCerts } from '../../protocol/admins.ts'
import { createJoin } from '../../protocol/membership.ts'
import { parseInvite } from '../../protocol/invite.ts'
import { Home, currentEpochKeys, epochKeys, type HoodState } from '../../node/storage/home-dir.ts'
import { openResidentPeer, type ResidentPeer, type FeedPost } from '../../node/resident.ts'
import { pushMessage } from '../../protocol/peer/push.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { cleanUp, cli, neighborhood, nextPost, peer, startRelay, tcpAddr, tempDir, until } from '../helpers/network.ts'

afterAll(cleanUp)

/** Generous: a loaded 2-core machine runs these beside the other integration tests. */
const TEST_TIMEOUT_MS = 180_000
const WAIT_MS = 30_000

async function hoodOf (home: string): Promise<HoodState> {
  return (await (await Home.open(home)).hoods())[0]!
}

async function identityOf (home: string): Promise<Identity> {
  return (await Home.open(home)).requireIdentity()
}

/** The PorchlightError `fn` throws (fails the test if it returns or throws anything else). */
async function errorOf (fn: () => unknown): Promise<{ code: string, message: string }> {
  try {
    await fn()
  } catch (err) {
    if (isPorchlightError(err)) return { code: err.code, message: err.message }
    throw err
  }
  throw new Error('expected a PorchlightError')
}

async function rekeysAt (relay: Relay, topic: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const m of relay.store.list(topic)) if (peekDomain(m.bytes) === 'pl/rekey') out.push(m.bytes)
  return out
}

function rejected (relay: Relay, reason: string): number {
  return relay.metrics.get('porchlight_messages_rejected_total', { reason })
}

/** A resident peer with its own clock and grace (residents judge live gossip on arrival). */
async function residentPeer (home: string, init: { epochGraceMs?: number } = {}): Promise<ResidentPeer> {
  const p = await openResidentPeer(await Home.open(home), init)
  await p.start()
  return p
}

/** A private post sealed by `author` under `keys`, dated `now`: what any holder of the keys can make. */
async function sealedPost (author: Identity, topic: string, keys: ReturnType<typeof deriveEpochKeys>, text: string, now: number): Promise<Uint8Array> {
  const post = createPost({ kind: 'info', text, now })
  return sealEnvelope(keys, topic, await encodeSignedPost(author, topic, post), { ts: post.created, exp: post.expires })
}

const REKEY_FIELDS = ['tp', 'pe', 'e', 'ts', 'eph', 'kc', 'slots', 'rb', 'in', 'adm', 'ac']
const REKEY_BODY: StructSpec = { domain: 'pl/rekey-body', version: 2, required: REKEY_FIELDS, maxBytes: 65536 }
const REKEY: StructSpec = { domain: 'pl/rekey', version: 2, required: [...REKEY_FIELDS, 'sig'], maxBytes: 65536 }

/**
 * A rekey for `hood` made and signed by `attacker`, who is no admin: she founds a look-alike
 * neighborhood to get a well-formed rekey for `members`, then points it at the real topic and
 * signs it again, as any member (or removed member, or relay) could with its own encoder.
 */
async function forgeRekey (attacker: Identity, hood: Neighborhood, fromEpoch: number, members: PublicIdentity[], now: number): Promise<Uint8Array> {
  const fake = createNeighborhood(hood.name, hood.area, attacker.public.signKey)
  const { bytes } = await createRekey(attacker, fake, deriveEpochKeys(fake.id, fromEpoch, newEpochSecret()), members, now)
  const w: Omit<RekeyWire, 'sig'> & { sig?: Uint8Array } = { ...decodeRekey(bytes), tp: privateTopic(hood.id) }
  delete w.sig
  const fields = { ...w, ac: encodeAdminCerts(w.ac) }
  const sig = await signStruct(attacker.seed, REKEY_BODY, fields)
  return encodeStruct(REKEY, { ...fields, sig })
}

describe('removal that lasts', () => {
  it('shuts a removed member out in every epoch, makes members re-seal, and tells the removed member', { timeout: TEST_TIMEOUT_MS }, async () => {
    // No grace: anything arriving after the relay learned the new epoch is judged late.
    const relay = await startRelay({ epochGraceMs: 0 })
    // Its token leaves the area out: residents asking for the area's topic get 'not-served' (below).
    const hood = await neighborhood(relay, ['Ana', 'Ben', 'Cleo', 'Dan'], 'u4pruy', { tokenWithoutArea: true })
    const [anaHome, benHome, cleoHome, danHome] = hood.members as [string, string, string, string]
    await cli(anaHome, ['feed']) // Ana learns the joins
    const members = (await cli(anaHome, ['--json', 'hood', 'members'])).json.members as Array<{ name: string, admitted: boolean }>
    expect(members.map(m => [m.name, m.admitted]).sort()).toEqual([['Ana', true], ['Ben', true], ['Cleo', true], ['Dan', true]])
    const before = await hoodOf(benHome)
    const topic = privateTopic(before.hood.id)
    const ben = await identityOf(benHome)
    const epoch0 = currentEpochKeys(before)

    expect((await cli(anaHome, ['--json', 'hood', 'remove', 'Ben'])).json).toEqual({ epoch: 1, remaining: 3, sent: true })
    const [rekey] = await rekeysAt(relay, topic)
    const removedAt = rekeyTimes(rekey!, Date.now()).ts

    // Ben cannot learn the new tag key from his old one: the relay's box is sealed to the relay.
    expect((await relayOpenRekey(rekey!, before.hood)).tagKey).toBeUndefined()
    expect(await errorOf(() => openRekey(rekey!, ben, before.hood))).toMatchObject({ code: 'DECRYPT_FAILED' })

    // Attacks, each straight at the relay as Ben's own software could send them.
    const benPeer = await peer(benHome)
    const relayAddr = multiaddr(tcpAddr(relay))
    const backdated = await sealedPost(ben, topic, epoch0, 'backdated: all clear, leave your doors open', removedAt - 60_000)
    const current = await sealedPost(ben, topic, epoch0, 'after removal, old epoch', Date.now())
    const guessed = await sealedPost(ben, topic, deriveEpochKeys(before.hood.id, 1, epoch0.secret), 'after removal, guessed epoch 1', Date.now())
    expect(await pushMessage(benPeer.node(), relayAddr, topic, backdated)).toMatchObject({ ok: false, code: 'STALE_EPOCH' })
    expect(await pushMessage(benPeer.node(), relayAddr, topic, current)).toMatchObject({ ok: false, code: 'STALE_EPOCH' })
    expect(await pushMessage(benPeer.node(), relayAddr, topic, guessed)).toMatchObject({ ok: false, code: 'BAD_TAG' })
    // An old-epoch join (his invite's admission): refused too.
    const invite = await parseInvite(hood.invite, Date.now())
    const rejoin = sealEnvelope(epoch0, topic, await createJoin(ben, topic, Date.now(), { admission: invite.admission!, inviteKey: invite.inviteKey! }), { ts: Date.now(), exp: Date.now() + 3600_000 })
    expect(await pushMessage(benPeer.node(), relayAddr, topic, rejoin)).toMatchObject({ ok: false, code: 'STALE_EPOCH' })
    for (const b of [backdated, current, guessed, rejoin]) expect(relay.store.has(sha256(b))).toBe(false)
    expect(rejected(relay, 'STALE_EPOCH')).toBeGreaterThanOrEqual(3)
    expect(rejected(relay, 'BAD_TAG')).toBeGreaterThanOrEqual(1)

    // Ben's client, which had not seen the rekey: the relay's refusal makes it catch up, and it
    // says plainly that he was removed, and when.
    const benPost = await errorOf(() => benPeer.post({ kind: 'info', text: 'Ben tries his own client' }))
    expect(benPost.code).toBe('NOT_MEMBER')
    expect(benPost.message).toMatch(/you were removed from Maple Street on \d{4}-/)
    await benPeer.stop()
    const benFeed = await cli(benHome, ['--json', 'feed'])
    expect(benFeed.json.ended).toMatchObject([{ hood: 'Maple Street', reason: 'removed', epoch: 1 }])
    expect((await cli(benHome, ['feed', '--no-sync'])).err).toContain('You were removed from Maple Street')
    const benCli = await cli(benHome, ['post', '--kind', 'info', '--text', 'from the CLI'], 1)
    expect(benCli.err.trim().split('\n')).toHaveLength(1)
    expect(benCli.err).toContain('removed')

    // Cleo had not synced either: her post is refused in epoch 0, her client catches up and
    // re-seals it under epoch 1, which Ben cannot open.
    const cleoSent = await cli(cleoHome, ['--json', 'post', '--kind', 'crime', '--text', 'Cleo, after the removal'])
    const stored = await relay.store.get(fromHex(cleoSent.json.id as string))
    expect(decodeEnvelope(stored!.bytes).epoch).toBe(1)
    expect(epochKeys(await hoodOf(benHome), 1)).toBeUndefined()

    // Residents judge live gossip the same way, and never show a removed member's later posts.
    const dan = await residentPeer(danHome, { epochGraceMs: 0 })
    await dan.sync()
    expect(epochKeys(await hoodOf(danHome), 1)).toBeDefined()
    expect(await errorOf(() => dan.ingest(topic, backdated, sha256(backdated), 'gossip'))).toMatchObject({ code: 'STALE_EPOCH' })
    const lateViaSync = await sealedPost(ben, topic, epoch0, 'dated after removal, via a relay that missed it', removedAt + 1000)
    expect(await errorOf(() => dan.ingest(topic, lateViaSync, sha256(lateViaSync), 'sync'))).toMatchObject({ code: 'NOT_MEMBER' })
    // The old-epoch join, even if a relay that missed the rekey handed it on, does not put Ben back.
    await dan.ingest(topic, rejoin, sha256(rejoin), 'sync').catch(() => undefined)
    const danView = await hoodOf(danHome)
    expect(danView.members.map(m => m.name).sort()).toEqual(['Ana', 'Cleo', 'Dan'])
    expect(danView.removed.map(r => toHex(r.signKey))).toEqual([toHex(ben.public.signKey)])
    const danTexts = (await dan.feed()).map(p => p.text)
    expect(danTexts).toContain('Cleo, after the removal')
    expect(danTexts.some(t => t.includes('after removal') || t.includes('backdated') || t.includes('Ben tries'))).toBe(false)
    await dan.stop()

    // An invite made before the removal admits nobody: the newcomer is told to ask for a new one.
    const eve = await tempDir('pl-Eve-')
    await cli(eve, ['id', 'create', '--name', 'Eve'])
    const eveJoin = await cli(eve, ['hood', 'join', hood.invite], 1)
    expect(eveJoin.err).toMatch(/invite was made before .* ask for a new invite/i)
    await cli(anaHome, ['feed'])
    expect((await hoodOf(anaHome)).members.map(m => m.name).sort()).toEqual(['Ana', 'Cleo', 'Dan'])

    // Residents asked for their area topic, which this relay does not serve: an answer, not a failure.
    expect(relay.metrics.get('porchlight_sync_sessions_total', { role: 'server', outcome: 'not-served' })).toBeGreaterThan(0)
    expect(relay.metrics.get('porchlight_sync_sessions_total', { role: 'server', outcome: 'error' })).toBe(0)

    // Ana's next rekey is sealed to Cleo and Dan only: not to Ben, whatever he announced.
    await cli(anaHome, ['hood', 'remove', 'Dan'])
    const next = (await rekeysAt(relay, topic)).find(r => decodeRekey(r).e === 2)!
    expect(await errorOf(() => openRekey(next, ben, before.hood))).toMatchObject({ code: 'DECRYPT_FAILED' })
  })

  it('leave: the member stops at once, and the next rekey leaves them out', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben', 'Cleo'])
    const [anaHome, benHome, cleoHome] = hood.members as [string, string, string]
    expect((await cli(cleoHome, ['--json', 'hood', 'leave'])).json.sent).toBe(true)
    expect((await cli(cleoHome, ['post', '--kind', 'info', '--text', 'after leaving'], 1)).err).toContain('you left Maple Street')
    expect((await cli(anaHome, ['hood', 'leave'], 1)).err).toContain('only admin')
    expect((await cli(anaHome, ['hood', 'remove', 'Ana'], 1)).err).toContain('last admin')
    await cli(anaHome, ['feed'])
    const ana = await cli(anaHome, ['--json', 'hood', 'members'])
    expect((ana.json.members as Array<{ name: string }>).map(m => m.name).sort()).toEqual(['Ana', 'Ben'])
    expect(ana.json.removed).toHaveLength(1)
    expect((await cli(anaHome, ['--json', 'hood', 'remove', 'Ben'])).json).toMatchObject({ epoch: 1, remaining: 1 })
    const topic = privateTopic((await hoodOf(anaHome)).hood.id)
    const [rekey] = await rekeysAt(relay, topic)
    expect(await errorOf(async () => openRekey(rekey!, await identityOf(cleoHome), (await hoodOf(cleoHome)).hood))).toMatchObject({ code: 'DECRYPT_FAILED' })
    expect(await errorOf(async () => openRekey(rekey!, await identityOf(benHome), (await hoodOf(benHome)).hood))).toMatchObject({ code: 'DECRYPT_FAILED' })
  })
})

describe('admins no member can fake', () => {
  it('a member\'s invite makes no admin, and her rekey for the newcomer is refused by relays and peers', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Cleo'])
    const [anaHome, cleoHome] = hood.members as [string, string]
    const anaKey = toHex((await identityOf(anaHome)).public.signKey)
    const cleoInvite = (await cli(cleoHome, ['--json', 'hood', 'invite'])).json.invite as string
    const frank = await tempDir('pl-Frank-')
    await cli(frank, ['id', 'create', '--name', 'Frank'])
    const joined = (await cli(frank, ['--json', 'hood', 'join', cleoInvite])).json
    expect(joined.inviter).toMatchObject({ name: 'Cleo', admin: false })
    expect(joined.admitted).toBe(false)
    expect(joined.hood.admins).toEqual([anaKey])
    const frankMembers = (await cli(frank, ['--json', 'hood', 'members'])).json.members as Array<{ name: string, admin: boolean }>
    expect(frankMembers.filter(m => m.admin).map(m => m.name)).toEqual([])

    // Cleo's rekey "for Frank alone": refused at push, at gossip, and by Frank's own peer.
    const cleo = await identityOf(cleoHome)
    const frankId = await identityOf(frank)
    const frankState = await hoodOf(frank)
    const topic = privateTopic(frankState.hood.id)
    const forged = await forgeRekey(cleo, frankState.hood, 0, [frankId.public, cleo.public], Date.now())
    const cleoPeer = await peer(cleoHome)
    expect(await pushMessage(cleoPeer.node(), multiaddr(tcpAddr(relay)), topic, forged)).toMatchObject({ ok: false, code: 'NOT_ADMIN' })
    await until(() => relay.node.services.pubsub.getSubscribers(topic).some(p => p.equals(cleoPeer.node().peerId)), WAIT_MS, 'the relay to see Cleo subscribed')
    await until(() => cleoPeer.node().services.pubsub.getSubscribers(topic).length > 0, WAIT_MS, 'Cleo to see the relay subscribed')
    const before = rejected(relay, 'NOT_ADMIN')
    await cleoPeer.node().services.pubsub.publish(topic, await forgeRekey(cleo, frankState.hood, 0, [frankId.public], Date.now()))
    await until(() => rejected(relay, 'NOT_ADMIN') > before, WAIT_MS, 'the relay to refuse the gossiped forgery')
    expect((await rekeysAt(relay, topic))).toHaveLength(0)
    const frankPeer = await peer(frank)
    expect(await errorOf(() => frankPeer.ingest(topic, forged))).toMatchObject({ code: 'NOT_ADMIN' })
    expect(currentEpochKeys(await hoodOf(frank)).epoch).toBe(0)
    await frankPeer.stop()
    await cleoPeer.stop()
    // The CLI says so too.
    expect((await cli(cleoHome, ['hood', 'remove', 'Ana'], 1)).err).toContain('only an admin')

    // Only an admin's approval puts Frank on the list the next rekey is sealed to.
    await cli(anaHome, ['feed'])
    const pending = (await cli(anaHome, ['--json', 'hood', 'members'])).json.members as Array<{ name: string, admitted: boolean }>
    expect(pending.find(m => m.name === 'Frank')).toMatchObject({ admitted: false })
    expect((await cli(anaHome, ['--json', 'hood', 'approve', 'Frank'])).json.sent).toBe(true)
    expect((await cli(anaHome, ['--json', 'hood', 'remove', 'Cleo'])).json).toMatchObject({ epoch: 1, remaining: 2 })
    await cli(frank, ['feed'])
    expect(currentEpochKeys(await hoodOf(frank)).epoch).toBe(1)
  })

  it('four forged rekeys before the genuine one: posting keeps working, forgeries spread nowhere', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben', 'Cleo'])
    const [anaHome, benHome, cleoHome] = hood.members as [string, string, string]
    await cli(anaHome, ['feed'])
    const benId = await identityOf(benHome)
    const state = await hoodOf(benHome)
    const topic = privateTopic(state.hood.id)
    const benPeer = await peer(benHome)
    for (let i = 0; i < 4; i++) {
      const forged = await forgeRekey(benId, state.hood, 0, [benId.public], Date.now() + i)
      expect(await pushMessage(benPeer.node(), multiaddr(tcpAddr(relay)), topic, forged)).toMatchObject({ ok: false, code: 'NOT_ADMIN' })
    }
    await benPeer.stop()
    // A rogue relay holding a forgery: the honest relay refuses it through sync as well.
    const rogue = await startRelay({ tokens: [hood.token] })
    const forged = await forgeRekey(benId, state.hood, 0, [benId.public], Date.now())
    await rogue.store.put({ topic, id: sha256(forged), ...rekeyTimes(forged, Date.now()), bytes: forged })
    await relay.node.dial(multiaddr(tcpAddr(rogue)))
    await relay.syncWith(rogue.node.peerId)
    expect(relay.store.has(sha256(forged))).toBe(false)
    expect(rejected(relay, 'NOT_ADMIN')).toBeGreaterThanOrEqual(5)

    // The genuine rekey, and everyone keeps posting in the new epoch.
    expect((await cli(anaHome, ['--json', 'hood', 'remove', 'Ben'])).json).toMatchObject({ epoch: 1, sent: true })
    expect(await rekeysAt(relay, topic)).toHaveLength(1)
    const cleo = await peer(cleoHome)
    await cleo.sync()
    const heard = nextPost(cleo, p => p.text === 'Ana in epoch 1', WAIT_MS)
    const sent = await cli(anaHome, ['--json', 'post', '--kind', 'info', '--text', 'Ana in epoch 1'])
    expect(decodeEnvelope((await relay.store.get(fromHex(sent.json.id as string)))!.bytes).epoch).toBe(1)
    expect((await heard).authorName).toBe('Ana')
    const cleoSent = await cleo.post({ kind: 'info', text: 'Cleo in epoch 1' })
    expect(cleoSent.result.ok, cleoSent.result.message).toBe(true)
  })
})

describe('concurrent rekeys', () => {
  it('two admins rekeying from the same epoch converge on one epoch, and nothing posted meanwhile is lost', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Dan', 'Eve', 'Ben', 'Cleo'])
    const [anaHome, danHome, eveHome, benHome, cleoHome] = hood.members as [string, string, string, string, string]
    await cli(anaHome, ['feed'])
    // Dan becomes an admin; the change reaches everyone in epoch 1's rekey.
    expect((await cli(anaHome, ['--json', 'hood', 'add-admin', 'Dan'])).json).toMatchObject({ epoch: 1, sent: true })
    await cli(danHome, ['feed'])
    expect((await hoodOf(danHome)).hood.admins).toHaveLength(2)

    // At once, from epoch 1: Ana removes Ben, Dan removes Cleo.
    const ana = await peer(anaHome)
    const dan = await peer(danHome)
    const [a, d] = await Promise.all([ana.removeMember('Ben'), dan.removeMember('Cleo')])
    expect([a.epoch, d.epoch]).toEqual([2, 2])
    expect([a.result, d.result]).toEqual([{ ok: true }, { ok: true }])
    // Each posts under the epoch-2 secret it made, before hearing of the other's.
    const fromAna = await ana.post({ kind: 'info', text: 'Ana, under her epoch 2' })
    const fromDan = await dan.post({ kind: 'info', text: 'Dan, under his epoch 2' })
    expect([fromAna.result.ok, fromDan.result.ok]).toEqual([true, true])

    // Everyone catches up; the admin whose rekey lost re-applies its removal on top.
    for (let round = 0; round < 2; round++) {
      await ana.sync()
      await dan.sync()
    }
    await ana.stop()
    await dan.stop()
    for (const home of [anaHome, danHome, eveHome, benHome, cleoHome]) await cli(home, ['feed'])
    const views = await Promise.all([anaHome, danHome, eveHome].map(hoodOf))
    const keys = views.map(v => currentEpochKeys(v))
    expect(keys.map(k => k.epoch)).toEqual([3, 3, 3])
    expect(new Set(keys.map(k => toHex(k.secret))).size).toBe(1)
    expect((await hoodOf(benHome)).ended?.reason).toBe('removed')
    expect((await hoodOf(cleoHome)).ended?.reason).toBe('removed')
    // Both posts made under the two epoch-2 secrets are stored and read by Eve.
    expect(relay.store.has(fromHex(fromAna.id)) && relay.store.has(fromHex(fromDan.id))).toBe(true)
    const eveTexts = ((await cli(eveHome, ['--json', 'feed'])).json.posts as FeedPost[]).map(p => p.text)
    expect(eveTexts).toEqual(expect.arrayContaining(['Ana, under her epoch 2', 'Dan, under his epoch 2']))
  })
})

describe('concurrent admin changes', () => {
  it('two admins adding an admin each at once end with one admin chain everywhere, holding both', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Dan', 'Eve', 'Ben'])
    const [anaHome, danHome, eveHome, benHome] = hood.members as [string, string, string, string]
    await cli(anaHome, ['feed'])
    await cli(anaHome, ['hood', 'add-admin', 'Dan'])
    await cli(danHome, ['feed'])
    const ana = await peer(anaHome)
    const dan = await peer(danHome)
    // At once, from epoch 1: Ana certifies Eve, Dan certifies Ben; the two chains differ.
    const [a, d] = await Promise.all([ana.addAdmin('Eve'), dan.addAdmin('Ben')])
    expect([a.epoch, d.epoch, a.result.ok, d.result.ok]).toEqual([2, 2, true, true])
    for (let round = 0; round < 2; round++) {
      await ana.sync()
      await dan.sync()
    }
    await ana.stop()
    await dan.stop()
    for (const home of [anaHome, danHome, eveHome, benHome]) await cli(home, ['feed'])
    const chains = await Promise.all([anaHome, danHome, eveHome, benHome].map(async h => (await hoodOf(h)).hood.admins.map(toHex)))
    for (const c of chains) expect(c).toEqual(chains[0])
    const names = ((await cli(eveHome, ['--json', 'hood', 'members'])).json.members as Array<{ name: string, admin: boolean }>)
    expect(names.filter(m => m.admin).map(m => m.name).sort()).toEqual(['Ana', 'Ben', 'Dan', 'Eve'])
  })
})

describe('agencies and names that cannot pass for someone else', () => {
  it('labels an unvouched "City PD" unverified, shows who vouched for a real agency, and honours a revocation', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben'])
    const [anaHome, benHome] = hood.members as [string, string]
    await relay.serveArea(hood.area)
    const fake = await tempDir('pl-fake-pd-')
    const real = await tempDir('pl-real-fd-')
    await cli(fake, ['agency', 'create', '--name', 'City PD'])
    await cli(real, ['agency', 'create', '--name', 'Riverside Fire'])
    const realPublic = (await cli(real, ['--json', 'id', 'export-public'])).json.public as string
    const attestation = (await cli(anaHome, ['--json', 'hood', 'attest-agency', realPublic])).json.attestation.attestation as string
    await cli(real, ['agency', 'add-attestation', attestation])
    await cli(fake, ['agency', 'rfa', '--area', hood.area, '--text', 'Police need everyone\'s door codes', '--relay', tcpAddr(relay)])
    await cli(real, ['agency', 'rfa', '--area', hood.area, '--text', 'Smoke reported near the school', '--relay', tcpAddr(relay)])

    const anaFp = fingerprint((await identityOf(anaHome)).public.signKey)
    const feed = await cli(benHome, ['--json', 'feed'])
    const rfas = (feed.json.posts as FeedPost[]).filter(p => p.channel === 'rfa')
    expect(rfas.find(p => p.authorName === 'City PD')).toMatchObject({ vouchedBy: [] })
    expect(rfas.find(p => p.authorName === 'Riverside Fire')).toMatchObject({ vouchedBy: [anaFp] })
    const human = (await cli(benHome, ['feed', '--no-sync'])).out
    expect(human).toContain('UNVERIFIED agency "City PD"')
    expect(human).toContain(`agency Riverside Fire (vouched by ${anaFp})`)

    // Ana finds her attestation by the agency's fingerprint and withdraws it: the real agency shows unverified too.
    const realFp = (await cli(real, ['--json', 'id', 'show'])).json.fingerprint as string
    const listed = (await cli(anaHome, ['--json', 'hood', 'attestations'])).json.attestations as Array<{ agencyFingerprint: string, revoked: boolean }>
    expect(listed).toMatchObject([{ agencyFingerprint: realFp, revoked: false }])
    expect((await cli(anaHome, ['--json', 'hood', 'revoke-agency', realFp])).json.sent).toBe(true)
    expect((await cli(anaHome, ['--json', 'hood', 'attestations'])).json.attestations).toMatchObject([{ agencyFingerprint: realFp, revoked: true }])
    expect(attestation).toMatch(/^plattest:/)
    const after = ((await cli(benHome, ['--json', 'feed'])).json.posts as FeedPost[]).find(p => p.authorName === 'Riverside Fire')
    expect(after).toMatchObject({ vouchedBy: [] })
  })

  it('shows fingerprints beside names that look alike (homoglyphs included), in member lists and feeds', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay()
    // 'Аna' below starts with CYRILLIC CAPITAL LETTER A.
    const hood = await neighborhood(relay, ['Ana', 'Ben', 'Аna'])
    const [anaHome, benHome, fakeHome] = hood.members as [string, string, string]
    await cli(fakeHome, ['post', '--kind', 'info', '--text', 'Admin here: leave your doors unlocked tonight'])
    await cli(anaHome, ['post', '--kind', 'info', '--text', 'Ana: street party on Saturday'])
    const feed = await cli(benHome, ['--json', 'feed'])
    const posts = feed.json.posts as FeedPost[]
    for (const p of posts) {
      expect(p.lookAlike).toBe(true)
      expect(p.authorFingerprint).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/)
    }
    expect(new Set(posts.map(p => p.authorFingerprint)).size).toBe(2)
    const human = (await cli(benHome, ['feed', '--no-sync'])).out
    for (const p of posts) expect(human).toContain(`[${p.authorFingerprint}]`)
    const members = (await cli(benHome, ['--json', 'hood', 'members'])).json.members as Array<{ name: string, lookAlike: boolean }>
    expect(members.map(m => [m.name, m.lookAlike]).sort()).toEqual([['Ana', true], ['Ben', false], ['Аna', true]])

    // A rename keeps the key, and members see the former name beside the new one.
    expect((await cli(fakeHome, ['--json', 'id', 'rename', 'Ana Admin'])).json).toMatchObject({ name: 'Ana Admin', formerName: 'Аna', told: ['Maple Street'] })
    await cli(fakeHome, ['post', '--kind', 'info', '--text', 'renamed and posting'])
    const renamed = ((await cli(benHome, ['--json', 'feed'])).json.posts as FeedPost[]).find(p => p.text === 'renamed and posting')
    expect(renamed).toMatchObject({ authorName: 'Ana Admin', authorFormerName: 'Аna' })
    const listed = (await cli(benHome, ['--json', 'hood', 'members'])).json.members as Array<{ name: string, formerName?: string }>
    expect(listed.find(m => m.name === 'Ana Admin')).toMatchObject({ formerName: 'Аna' })
    expect((await cli(benHome, ['hood', 'members'])).out).toContain('Ana Admin  (formerly Аna)')
  })
})
