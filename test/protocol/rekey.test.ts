// Rekeys (protocol/rekey.ts, v2): remaining members recover identical keys; the signing admin is
// checked against the chain rooted at the founder, by members and by relays; the next tag key
// reaches only the relays it was sealed to; removed members, other relays and non-admins get
// nothing more than the design allows; tampering, bounds, and the order between two admins'
// rekeys from one epoch. The attacks here (a member's forged rekey, a removed member deriving
// the next tag key from the old one) each succeeded against rekey v1.
import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { randomBytes } from '../../protocol/crypto.ts'
import { containsBytes, encodeStruct, equalBytes, type StructSpec, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { createIdentity, type Identity, signStruct } from '../../protocol/identity.ts'
import { addAdmin, encodeAdminCerts } from '../../protocol/admins.ts'
import { deriveEpochKeys, type EpochKeys, type Neighborhood, neighborhoodOf, privateTopic } from '../../protocol/neighborhood.ts'
import { checkEnvelopeTag, decodeEnvelope, openEnvelope, sealEnvelope } from '../../protocol/envelope.ts'
import {
  createRekey, decodeRekey, MAX_REKEY_BYTES, MAX_REKEY_RELAYS, MAX_REKEY_REMOVED, MAX_REKEY_SLOT_COUNT, MAX_REKEY_SLOTS, openRekey, paddedSlotCount, REKEY_SLOT_BUCKETS,
  REKEY_SLOT_BYTES, REKEY_TIME_UNIT_MS, REKEY_TTL_MS, type RekeyWire, rekeySlotCount, rekeyTimes, rekeyWins, relayBoxPublicKey, relayBoxSecret,
  relayOpenRekey, verifyRekeySigner
} from '../../protocol/rekey.ts'
import { applyEdits, byteEdits, codeOrAccepted as codeOf, flips, freshEpochKeys, testHood } from '../helpers/protocol-fixtures.ts'

function sameKeys (a: EpochKeys, b: EpochKeys): boolean {
  return a.epoch === b.epoch && equalBytes(a.secret, b.secret) && equalBytes(a.contentKey, b.contentKey) && equalBytes(a.tagKey, b.tagKey)
}

const NOW = 1_750_000_000_000
/** A rekey's clear ts: NOW rounded down to a whole minute (NOW is 40 s past one). */
const TS = NOW - (NOW % REKEY_TIME_UNIT_MS)
const SIGNED = ['tp', 'pe', 'e', 'ts', 'eph', 'kc', 'slots', 'rb', 'in', 'adm', 'ac']
// The wire and signed structures, spelled out to forge rekeys the API would refuse to make
// (bounds above MAX_REKEY_BYTES so that oversized ones can be built and shown to the decoder).
const REKEY: StructSpec = { domain: 'pl/rekey', version: 2, required: [...SIGNED, 'sig'], maxBytes: 80_000 }
const BODY: StructSpec = { domain: 'pl/rekey-body', version: 2, required: SIGNED, maxBytes: 80_000 }
const REKEY_V1: StructSpec = { domain: 'pl/rekey', version: 1, required: ['tp', 'pe', 'e', 'ts', 'eph', 'kc', 'slots', 'rt', 'auth'], maxBytes: 70_000 }

/** The wire fields of `w` with `over` applied, ready for encodeStruct. */
function wireFields (w: RekeyWire, over: Partial<Record<keyof RekeyWire, unknown>> = {}): Record<string, unknown> {
  const merged = { ...w, ...over } as Record<string, unknown>
  return { ...merged, ac: encodeAdminCerts((over.ac ?? w.ac) as RekeyWire['ac']) }
}
/** Re-encodes `w` with changes, keeping its signature. */
const reencode = (w: RekeyWire, over: Partial<Record<keyof RekeyWire, unknown>> = {}): Uint8Array => encodeStruct(REKEY, wireFields(w, over) as never)
/** Re-encodes `w` with changes and signs it as `signer` (who may be no admin at all). */
async function resign (w: RekeyWire, signer: Identity, over: Partial<Record<keyof RekeyWire, unknown>> = {}): Promise<Uint8Array> {
  const { sig: _sig, ...fields } = wireFields(w, over)
  return encodeStruct(REKEY, { ...fields, sig: await signStruct(signer.seed, BODY, fields) } as never)
}

// A name long enough that random bytes next to a CBOR header cannot spell it by chance
// ('Ada' alone did: a random 'A', the 0x64 header of "auth", then its 'a').
const admin = await createIdentity('Ada Quartermaine')
const ben = await createIdentity('Ben')
const cleo = await createIdentity('Cleo')
const dev = await createIdentity('Dev')
const hood = testHood(admin)
const root = { founder: hood.founder, salt: hood.salt }
const old = freshEpochKeys(hood, 4)
const remaining = [admin, ben, cleo]

/** A relay's libp2p identity: an Ed25519 key pair from a 32-byte seed. */
function relayKeys (): { seed: Uint8Array, publicKey: Uint8Array, boxSecret: Uint8Array } {
  const seed = randomBytes(32)
  return { seed, publicKey: ed25519.getPublicKey(seed), boxSecret: relayBoxSecret(seed) }
}
const relay = relayKeys()
const otherRelay = relayKeys()

let bytes: Uint8Array
let newKeys: EpochKeys
beforeAll(async () => {
  ({ bytes, newKeys } = await createRekey(admin, hood, old, remaining.map(m => m.public), NOW, { relays: [relay.publicKey], removed: [dev.public.signKey] }))
})

describe('createRekey / openRekey', () => {
  it('every remaining member recovers identical new keys for epoch + 1, the signer and the removed list', async () => {
    expect(newKeys.epoch).toBe(5)
    for (const m of remaining) {
      const r = await openRekey(bytes, m, hood)
      expect(sameKeys(r.keys, newKeys)).toBe(true)
      expect(r.prevEpoch).toBe(4)
      expect(r.ts).toBe(TS)
      expect(equalBytes(r.by, admin.public.signKey)).toBe(true)
      expect(r.adminCerts).toEqual([])
      expect(r.removed).toEqual([dev.public.signKey])
    }
    // And the new keys really work: a post sealed by one member opens for another.
    const env = sealEnvelope(newKeys, privateTopic(hood.id), new Uint8Array([1, 2, 3]))
    const cleoKeys = (await openRekey(bytes, cleo, hood)).keys
    expect(openEnvelope(decodeEnvelope(env), cleoKeys)).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('the new secret is fresh: nothing of the new epoch follows from the old one', () => {
    expect(equalBytes(newKeys.secret, old.secret)).toBe(false)
    const guess = deriveEpochKeys(hood.id, 5, old.secret)
    expect(equalBytes(guess.tagKey, newKeys.tagKey) || equalBytes(guess.contentKey, newKeys.contentKey)).toBe(false)
  })

  it('the removed member cannot recover the new keys', async () => {
    expect(await codeOf(() => openRekey(bytes, dev, hood))).toBe('DECRYPT_FAILED')
    // Not even by claiming a remaining member's public box key as its own.
    const impostor: Identity = { ...dev, public: { ...dev.public, boxKey: ben.public.boxKey } }
    expect(await codeOf(() => openRekey(bytes, impostor, hood))).toBe('DECRYPT_FAILED')
  })

  it('a relay and the removed member see only topic, epochs, time, slot and box counts and the admin keys', async () => {
    const w = decodeRekey(bytes)
    expect(w.slots.length).toBe(8)
    expect(rekeySlotCount(bytes)).toBe(8)
    expect(w.rb.length).toBe(1)
    expect(equalBytes(w.adm, admin.public.signKey)).toBe(true) // documented: relays check it
    for (const secretOrId of [
      newKeys.secret, newKeys.contentKey, newKeys.tagKey, old.secret, old.contentKey, old.tagKey, hood.id, hood.salt,
      ...remaining.flatMap(m => [m.public.boxKey]), ben.public.signKey, cleo.public.signKey, dev.public.signKey,
      relay.publicKey, relayBoxPublicKey(relay.publicKey)
    ]) {
      expect(containsBytes(bytes, secretOrId)).toBe(false)
    }
    for (const text of ['Maple', 'Ada Quartermaine', 'Dev']) expect(containsBytes(bytes, utf8Bytes(text))).toBe(false)
  })

  it('slots are anonymous and shuffled: same slots, different order under different randomness', async () => {
    const eight = await Promise.all(Array.from({ length: 8 }, async (_, i) => createIdentity(`M${i}`)))
    const fixed = { secret: randomBytes(32), ephemeralSecret: randomBytes(32) }
    const a = decodeRekey((await createRekey(admin, hood, old, eight.map(m => m.public), NOW, fixed)).bytes)
    const b = decodeRekey((await createRekey(admin, hood, old, eight.map(m => m.public), NOW, fixed)).bytes)
    expect(a.slots.map(toHex).sort()).toEqual(b.slots.map(toHex).sort())
    expect(a.slots.map(toHex)).not.toEqual(b.slots.map(toHex))
  })

  it('wrong neighborhood, non-consecutive epochs, the last epoch', async () => {
    const otherHood = testHood(admin) // same founder, another salt
    expect(await codeOf(() => openRekey(bytes, ben, otherHood))).toBe('WRONG_TOPIC')
    expect(await codeOf(() => relayOpenRekey(bytes, { founder: otherHood.founder, salt: otherHood.salt }))).toBe('WRONG_TOPIC')
    expect(await codeOf(() => relayOpenRekey(bytes, root, relay.boxSecret, privateTopic(otherHood.id)))).toBe('WRONG_TOPIC')
    const w = decodeRekey(bytes)
    expect(await codeOf(() => decodeRekey(reencode(w, { e: w.e + 1 })))).toBe('OUT_OF_RANGE')
    expect(await codeOf(() => decodeRekey(reencode(w, { tp: '/porchlight/1/area/9q8yy' })))).toBe('WRONG_TOPIC')
    expect(await codeOf(() => createRekey(admin, hood, deriveEpochKeys(hood.id, 0xffff_ffff, old.secret), [ben.public], NOW))).toBe('OUT_OF_RANGE')
  })

  it('argument checks: members, relays, removals, time', async () => {
    expect(await codeOf(() => createRekey(admin, hood, old, [], NOW))).toBe('BAD_ARGUMENT')
    expect(await codeOf(() => createRekey(admin, hood, old, [ben.public, ben.public], NOW))).toBe('BAD_ARGUMENT')
    // Someone pairs Ben's signing key with their own box key: the binding does not verify.
    expect(await codeOf(() => createRekey(admin, hood, old, [{ ...ben.public, boxKey: dev.public.boxKey }], NOW))).toBe('BAD_SIGNATURE')
    const many = Array.from({ length: MAX_REKEY_RELAYS + 1 }, () => relayKeys().publicKey)
    expect(await codeOf(() => createRekey(admin, hood, old, [ben.public], NOW, { relays: many }))).toBe('TOO_LARGE')
    expect(await codeOf(() => createRekey(admin, hood, old, [ben.public], NOW, { relays: many.slice(0, MAX_REKEY_RELAYS) }))).toBe('accepted')
    const identityPoint = new Uint8Array(32)
    identityPoint[0] = 1
    for (const bad of [randomBytes(31), new Uint8Array(32).fill(0xff), identityPoint]) {
      expect(await codeOf(() => createRekey(admin, hood, old, [ben.public], NOW, { relays: [bad] }))).toBe('BAD_ARGUMENT')
    }
    const removed = Array.from({ length: MAX_REKEY_REMOVED + 1 }, () => randomBytes(32))
    expect(await codeOf(() => createRekey(admin, hood, old, [ben.public], NOW, { removed }))).toBe('TOO_LARGE')
    expect(await codeOf(() => createRekey(admin, hood, old, [ben.public], NOW, { removed: [randomBytes(33)] }))).toBe('BAD_ARGUMENT')
    for (const now of [-1, 1.5, 2 ** 48]) expect(await codeOf(() => createRekey(admin, hood, old, [ben.public], now))).toBe('BAD_ARGUMENT')
  })

  it('a rekey v1 (unsigned for relays) is BAD_VERSION for members and relays', async () => {
    const w = decodeRekey(bytes)
    const v1 = encodeStruct(REKEY_V1, { tp: w.tp, pe: w.pe, e: w.e, ts: w.ts, eph: w.eph, kc: w.kc, slots: w.slots, rt: randomBytes(48), auth: randomBytes(32) })
    expect(await codeOf(() => openRekey(v1, ben, hood))).toBe('BAD_VERSION')
    expect(await codeOf(() => relayOpenRekey(v1, root, relay.boxSecret))).toBe('BAD_VERSION')
  })
})

describe('attacks on who may rekey', () => {
  it('a member cannot rekey: NOT_ADMIN on creation', async () => {
    expect(await codeOf(() => createRekey(ben, hood, old, [cleo.public], NOW))).toBe('NOT_ADMIN')
  })

  it('a rekey signed by a member (the real chain, adm = the member) is NOT_ADMIN for members and relays', async () => {
    const forged = await resign(decodeRekey(bytes), ben, { adm: ben.public.signKey })
    expect(await codeOf(() => openRekey(forged, cleo, hood))).toBe('NOT_ADMIN')
    expect(await codeOf(() => relayOpenRekey(forged, root))).toBe('NOT_ADMIN')
    expect(await codeOf(() => relayOpenRekey(forged, root, relay.boxSecret))).toBe('NOT_ADMIN')
    expect(await codeOf(() => verifyRekeySigner(decodeRekey(forged), root))).toBe('NOT_ADMIN')
    // A removed member, the same (he still holds the old epoch's keys: they do not help).
    const byDev = await resign(decodeRekey(bytes), dev, { adm: dev.public.signKey })
    expect(await codeOf(() => relayOpenRekey(byDev, root, relay.boxSecret))).toBe('NOT_ADMIN')
  })

  it('a member\'s own rekey with a self-made admin certificate is refused: BAD_SIGNATURE on the certificate', async () => {
    const CERT_BODY: StructSpec = { domain: 'pl/admin-cert-body', version: 1, required: ['h', 'k', 'by'], maxBytes: 160 }
    const cert = { key: ben.public.signKey, by: 0, sig: await signStruct(ben.seed, CERT_BODY, { h: hood.id, k: ben.public.signKey, by: hood.founder }) }
    const fake = neighborhoodOf({ ...hood, adminCerts: [cert] })
    const forged = await createRekey(ben, fake, old, [ben.public, cleo.public], NOW, { relays: [relay.publicKey] })
    expect(await codeOf(() => openRekey(forged.bytes, cleo, hood))).toBe('BAD_SIGNATURE')
    expect(await codeOf(() => relayOpenRekey(forged.bytes, root, relay.boxSecret))).toBe('BAD_SIGNATURE')
  })

  it('a member who names himself founder makes a rekey for another topic: WRONG_TOPIC', async () => {
    const own = neighborhoodOf({ ...hood, founder: ben.public.signKey })
    const forged = await createRekey(ben, own, deriveEpochKeys(own.id, 4, old.secret), [ben.public, cleo.public], NOW, { relays: [relay.publicKey] })
    expect(await codeOf(() => openRekey(forged.bytes, cleo, hood))).toBe('WRONG_TOPIC')
    expect(await codeOf(() => relayOpenRekey(forged.bytes, root, relay.boxSecret))).toBe('WRONG_TOPIC')
  })

  it('the adm field swapped (to another genuine admin, or to a member) is refused', async () => {
    const h2 = await addAdmin(admin, hood, cleo.public.signKey)
    const byAda = await createRekey(admin, h2, old, remaining.map(m => m.public), NOW, { relays: [relay.publicKey] })
    expect(await codeOf(() => openRekey(byAda.bytes, ben, hood))).toBe('accepted')
    const w = decodeRekey(byAda.bytes)
    for (const [who, adm, code] of [['another admin', cleo.public.signKey, 'BAD_SIGNATURE'], ['a member', ben.public.signKey, 'NOT_ADMIN']] as const) {
      const swapped = reencode(w, { adm })
      expect(await codeOf(() => openRekey(swapped, ben, hood)), who).toBe(code)
      expect(await codeOf(() => relayOpenRekey(swapped, root, relay.boxSecret)), who).toBe(code)
    }
  })

  it('an admin by certificate: accepted with the chain; the chain stripped (or re-signed without it) is refused', async () => {
    const h2 = await addAdmin(admin, hood, cleo.public.signKey)
    const byCleo = await createRekey(cleo, h2, old, remaining.map(m => m.public), NOW, { relays: [relay.publicKey] })
    // A member whose stored hood lists only the founder still accepts it: the chain travels with it.
    const opened = await openRekey(byCleo.bytes, ben, hood)
    expect(sameKeys(opened.keys, byCleo.newKeys)).toBe(true)
    expect(opened.adminCerts).toEqual(h2.adminCerts)
    expect(await verifyRekeySigner(decodeRekey(byCleo.bytes), root)).toEqual(h2.admins)
    const w = decodeRekey(byCleo.bytes)
    // Stripped: Cleo is then no admin (checked before the signature, which would not verify either).
    expect(await codeOf(() => relayOpenRekey(reencode(w, { ac: [] }), root))).toBe('NOT_ADMIN')
    expect(await codeOf(() => openRekey(reencode(w, { ac: [] }), ben, hood))).toBe('NOT_ADMIN')
    const resigned = await resign(w, cleo, { ac: [] })
    expect(await codeOf(() => openRekey(resigned, ben, hood))).toBe('NOT_ADMIN')
    expect(await codeOf(() => relayOpenRekey(resigned, root))).toBe('NOT_ADMIN')
    // Cleo's certificate for another neighborhood of the same founder does not make her one here.
    const sibling = await addAdmin(admin, neighborhoodOf({ ...hood, salt: randomBytes(16) }), cleo.public.signKey)
    const withForeign = await resign(w, cleo, { ac: sibling.adminCerts })
    expect(await codeOf(() => relayOpenRekey(withForeign, root))).toBe('BAD_SIGNATURE')
  })

  it('tampering anywhere is refused by members and by relays: every single-bit change', async () => {
    for (const [i, copy] of flips(bytes)) {
      expect(await codeOf(() => openRekey(copy, ben, hood)), `member, byte ${i}`).not.toBe('accepted')
      expect(await codeOf(() => relayOpenRekey(copy, root, relay.boxSecret)), `relay, byte ${i}`).not.toBe('accepted')
    }
  })

  it('a slot, the relay box or the removed list replaced is BAD_SIGNATURE, even with a box a former member made', async () => {
    const w = decodeRekey(bytes)
    const other = decodeRekey((await createRekey(admin, hood, old, remaining.map(m => m.public), NOW, { relays: [relay.publicKey] })).bytes)
    // Dev, removed, seals his own choice of tag key to the relay (the relay's key is public).
    const devBox = decodeRekey((await createRekey(admin, neighborhoodOf({ ...hood, founder: admin.public.signKey }), old, [dev.public], NOW, { relays: [relay.publicKey] })).bytes).rb
    for (const [what, over] of [
      ['slot', { slots: w.slots.map((s, i) => (i === 3 ? randomBytes(REKEY_SLOT_BYTES) : s)) }],
      ['relay box from another genuine rekey', { rb: other.rb }],
      ['relay box of a former member', { rb: devBox }],
      ['relay box removed', { rb: [] }],
      ['removed list', { in: other.in }]
    ] as const) {
      const m = reencode(w, over)
      expect(await codeOf(() => openRekey(m, ben, hood)), what).toBe('BAD_SIGNATURE')
      expect(await codeOf(() => relayOpenRekey(m, root, relay.boxSecret)), what).toBe('BAD_SIGNATURE')
    }
  })
})

describe('relay side', () => {
  it('the relay whose Ed25519 key was named learns the next tag key; its libp2p key is that key', async () => {
    const r = await relayOpenRekey(bytes, root, relay.boxSecret)
    expect(r).toMatchObject({ topic: privateTopic(hood.id), prevEpoch: 4, epoch: 5, ts: TS })
    expect(equalBytes(r.tagKey!, newKeys.tagKey)).toBe(true)
    expect(equalBytes((await relayOpenRekey(bytes, root, relay.boxSecret, privateTopic(hood.id))).tagKey!, newKeys.tagKey)).toBe(true)
    // The X25519 key a box is sealed to is the Montgomery form of the relay's libp2p Ed25519 key.
    expect(toHex(relayBoxPublicKey(relay.publicKey))).toBe(toHex(x25519.getPublicKey(relay.boxSecret)))
    const libp2pKey = await generateKeyPairFromSeed('Ed25519', relay.seed)
    expect(toHex(libp2pKey.publicKey.raw)).toBe(toHex(relay.publicKey))
  })

  it('another relay, or no box secret, gets no tag key (the rekey is still checked and accepted)', async () => {
    const other = await relayOpenRekey(bytes, root, otherRelay.boxSecret)
    expect(other).toEqual({ topic: privateTopic(hood.id), prevEpoch: 4, epoch: 5, ts: TS })
    expect(other.tagKey).toBeUndefined()
    expect((await relayOpenRekey(bytes, root)).tagKey).toBeUndefined()
  })

  it('several relays: each named one opens its own box, to the same tag key; the one not named does not', async () => {
    const third = relayKeys()
    const r = await createRekey(admin, hood, old, [ben.public], NOW, { relays: [relay.publicKey, otherRelay.publicKey] })
    expect(decodeRekey(r.bytes).rb.length).toBe(2)
    for (const k of [relay, otherRelay]) expect(equalBytes((await relayOpenRekey(r.bytes, root, k.boxSecret)).tagKey!, r.newKeys.tagKey)).toBe(true)
    expect((await relayOpenRekey(r.bytes, root, third.boxSecret)).tagKey).toBeUndefined()
  })

  it('a removed member holding the old epoch keys cannot obtain the new tag key, nor make traffic relays accept', async () => {
    // Dev holds old.secret, old.contentKey and old.tagKey, his own keys, and the rekey bytes.
    expect(await codeOf(() => openRekey(bytes, dev, hood))).toBe('DECRYPT_FAILED')
    expect((await relayOpenRekey(bytes, root)).tagKey).toBeUndefined()
    for (const guess of [old.tagKey, old.secret, old.contentKey, dev.boxSecret, dev.seed, relayBoxSecret(dev.seed)]) {
      expect((await relayOpenRekey(bytes, root, guess)).tagKey).toBeUndefined()
    }
    expect(containsBytes(bytes, newKeys.tagKey)).toBe(false)
    // His best guess at the next keys (the old secret carried forward) makes envelopes relays drop.
    const guessed = deriveEpochKeys(hood.id, 5, old.secret)
    const relayTagKey = (await relayOpenRekey(bytes, root, relay.boxSecret)).tagKey!
    const fromDev = decodeEnvelope(sealEnvelope(guessed, privateTopic(hood.id), new Uint8Array([6])))
    const fromBen = decodeEnvelope(sealEnvelope(newKeys, privateTopic(hood.id), new Uint8Array([6])))
    expect(checkEnvelopeTag(fromDev, relayTagKey)).toBe(false)
    expect(checkEnvelopeTag(fromBen, relayTagKey)).toBe(true)
    expect(checkEnvelopeTag(fromBen, old.tagKey)).toBe(false)
  })

  it('rekeyTimes: retention window and future dating', async () => {
    expect(rekeyTimes(bytes, NOW)).toEqual({ ts: TS, exp: TS + REKEY_TTL_MS })
    expect(TS % 60_000).toBe(0)
    expect(await codeOf(() => rekeyTimes(bytes, TS + REKEY_TTL_MS))).toBe('EXPIRED')
    expect(await codeOf(() => rekeyTimes(bytes, NOW - 3_600_000))).toBe('FUTURE_DATED')
  })
})

describe('two admins rekeying from the same epoch', () => {
  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

  it('both rekeys are genuine; rekeyWins picks the lower SHA-256, the same way for everyone', async () => {
    const h2: Neighborhood = await addAdmin(admin, hood, cleo.public.signKey)
    const a = await createRekey(admin, h2, old, remaining.map(m => m.public), NOW, { relays: [relay.publicKey] })
    const b = await createRekey(cleo, h2, old, remaining.map(m => m.public), NOW, { relays: [relay.publicKey] })
    for (const r of [a, b]) {
      expect(sameKeys((await openRekey(r.bytes, ben, hood)).keys, r.newKeys)).toBe(true)
      expect((await relayOpenRekey(r.bytes, root, relay.boxSecret)).epoch).toBe(5)
    }
    expect(sameKeys(a.newKeys, b.newKeys)).toBe(false)
    // Antisymmetric, irreflexive, deterministic (on copies too), and the documented rule.
    expect(rekeyWins(a.bytes, b.bytes)).toBe(!rekeyWins(b.bytes, a.bytes))
    expect(rekeyWins(a.bytes, a.bytes)).toBe(false)
    expect(rekeyWins(a.bytes.slice(), b.bytes.slice())).toBe(rekeyWins(a.bytes, b.bytes))
    expect(rekeyWins(a.bytes, b.bytes)).toBe(sha(a.bytes) < sha(b.bytes))
  })

  it('rekeyWins is a strict total order on distinct byte strings (property)', () => {
    const msg = fc.uint8Array({ maxLength: 64 })
    fc.assert(fc.property(msg, msg, msg, (x, y, z) => {
      expect(rekeyWins(x, x)).toBe(false)
      if (!equalBytes(x, y)) expect(rekeyWins(x, y)).toBe(!rekeyWins(y, x))
      else expect(rekeyWins(x, y) || rekeyWins(y, x)).toBe(false)
      if (rekeyWins(x, y) && rekeyWins(y, z)) expect(rekeyWins(x, z)).toBe(true)
      expect(rekeyWins(x, y)).toBe(sha(x) < sha(y))
    }), { numRuns: runs(250) })
    // Sorting by it gives one order, whatever the starting order.
    fc.assert(fc.property(fc.uniqueArray(msg, { minLength: 2, maxLength: 8, selector: toHex }), fc.nat(), (list, seed) => {
      const cmp = (p: Uint8Array, q: Uint8Array): number => (rekeyWins(p, q) ? -1 : rekeyWins(q, p) ? 1 : 0)
      const shuffled = [...list].sort((p, q) => ((toHex(p) + seed) < (toHex(q) + seed) ? -1 : 1)).reverse()
      expect([...list].sort(cmp).map(toHex)).toEqual(shuffled.sort(cmp).map(toHex))
    }), { numRuns: runs(50) })
  })
})

describe('bounds', () => {
  it('padding: slot counts are powers of two, 8..1024 (the member count only within a factor of two)', () => {
    expect([1, 3, 5, 7, 8, 9, 16, 17, 31, 32, 33, 513, 999, 1000].map(paddedSlotCount)).toEqual([8, 8, 8, 8, 8, 16, 16, 32, 32, 32, 64, 1024, 1024, 1024])
    expect(REKEY_SLOT_BUCKETS.every(b => b % 8 === 0 && b <= MAX_REKEY_SLOT_COUNT)).toBe(true)
  })

  it('200 members with 2 relay boxes: the size of a typical rekey', async () => {
    const members = await Promise.all(Array.from({ length: 200 }, async (_, i) => createIdentity(`h${i}`)))
    const r = await createRekey(admin, hood, old, members.map(m => m.public), NOW, { relays: [relay.publicKey, otherRelay.publicKey], removed: [dev.public.signKey] })
    console.log(`rekey for 200 members with 2 relay boxes: ${r.bytes.length} bytes`)
    expect(rekeySlotCount(r.bytes)).toBe(256)
    expect(r.bytes.length).toBeLessThan(256 * (REKEY_SLOT_BYTES + 2) + 1024)
    expect(sameKeys((await openRekey(r.bytes, members[137]!, hood)).keys, r.newKeys)).toBe(true)
  })

  it('the largest rekey (1000 members, 8 relays, 64 removed, 16 admins) fits in one message; 1001 members are TOO_LARGE', async () => {
    const members: Identity[] = []
    for (let i = 0; i < MAX_REKEY_SLOTS; i++) members.push(await createIdentity(`m${i}`))
    const admins = [admin, ...await Promise.all(Array.from({ length: 15 }, async (_, i) => createIdentity(`admin ${i}`)))]
    let big: Neighborhood = hood
    for (let i = 1; i < admins.length; i++) big = await addAdmin(admins[i - 1]!, big, admins[i]!.public.signKey)
    const r = await createRekey(admins[15]!, big, old, members.map(m => m.public), NOW, {
      relays: Array.from({ length: MAX_REKEY_RELAYS }, () => relayKeys().publicKey),
      removed: Array.from({ length: MAX_REKEY_REMOVED }, () => randomBytes(32))
    })
    console.log(`rekey for 1000 members, 8 relays, 64 removed, 16 admins: ${r.bytes.length} bytes`)
    expect(r.bytes.length).toBeLessThanOrEqual(MAX_REKEY_BYTES)
    expect(rekeySlotCount(r.bytes)).toBe(MAX_REKEY_SLOT_COUNT)
    const opened = await openRekey(r.bytes, members[617]!, hood)
    expect(sameKeys(opened.keys, r.newKeys)).toBe(true)
    expect(opened.removed).toHaveLength(MAX_REKEY_REMOVED)
    expect(await codeOf(() => openRekey(r.bytes, dev, hood))).toBe('DECRYPT_FAILED')

    const extra = await createIdentity('one too many')
    expect(await codeOf(() => createRekey(admin, hood, old, [...members, extra].map(m => m.public), NOW))).toBe('TOO_LARGE')
  })

  it('decoders refuse more slots, odd counts, short slots, too many relay boxes or certificates, a short inner box', async () => {
    const w = decodeRekey(bytes)
    const tooMany = reencode(w, { slots: Array.from({ length: MAX_REKEY_SLOT_COUNT + 8 }, () => randomBytes(REKEY_SLOT_BYTES)) })
    expect(await codeOf(() => decodeRekey(tooMany))).toBe('TOO_LARGE')
    // Rekeys made before the power-of-two buckets (any multiple of 8) still decode.
    expect(await codeOf(() => decodeRekey(reencode(w, { slots: Array.from({ length: 24 }, () => randomBytes(REKEY_SLOT_BYTES)) })))).toBe('accepted')
    expect(await codeOf(() => decodeRekey(reencode(w, { slots: w.slots.slice(0, 7) })))).toBe('OUT_OF_RANGE')
    expect(await codeOf(() => decodeRekey(reencode(w, { slots: [] })))).toBe('OUT_OF_RANGE')
    expect(await codeOf(() => decodeRekey(reencode(w, { slots: [...w.slots.slice(0, 7), randomBytes(47)] })))).toBe('BAD_LENGTH')
    expect(await codeOf(() => decodeRekey(reencode(w, { rb: Array.from({ length: MAX_REKEY_RELAYS + 1 }, () => randomBytes(48)) })))).toBe('TOO_LARGE')
    expect(await codeOf(() => decodeRekey(reencode(w, { rb: [randomBytes(49)] })))).toBe('BAD_LENGTH')
    const cert = { key: randomBytes(32), by: 0, sig: randomBytes(64) }
    expect(await codeOf(() => decodeRekey(reencode(w, { ac: Array.from({ length: 16 }, () => cert) })))).toBe('TOO_LARGE')
    expect(await codeOf(() => decodeRekey(reencode(w, { in: randomBytes(15) })))).toBe('BAD_LENGTH')
    expect(await codeOf(() => decodeRekey(reencode(w, { adm: randomBytes(31) })))).toBe('BAD_LENGTH')
    expect(await codeOf(() => decodeRekey(reencode(w, { ts: 2 ** 47 + 1 })))).toBe('OUT_OF_RANGE')
    expect(await codeOf(() => decodeRekey(reencode(w)))).toBe('accepted')
  })
})

describe('properties', () => {
  it('any group of 1..20 members each recovers the same keys; an outsider does not', async () => {
    const pool = await Promise.all(Array.from({ length: 20 }, async (_, i) => createIdentity(`p${i}`)))
    await fc.assert(fc.asyncProperty(fc.subarray(pool, { minLength: 1 }), async (group) => {
      const r = await createRekey(admin, hood, old, group.map(m => m.public), NOW, { relays: [relay.publicKey] })
      expect(rekeySlotCount(r.bytes)).toBe(paddedSlotCount(group.length))
      for (const m of group) expect(sameKeys((await openRekey(r.bytes, m, hood)).keys, r.newKeys)).toBe(true)
      expect(equalBytes((await relayOpenRekey(r.bytes, root, relay.boxSecret)).tagKey!, r.newKeys.tagKey)).toBe(true)
      const outsider = pool.find(p => !group.includes(p))
      if (outsider !== undefined) expect(await codeOf(() => openRekey(r.bytes, outsider, hood))).toBe('DECRYPT_FAILED')
    }), { numRuns: runs(20) })
  })

  it('random mutations give only PorchlightError and are never accepted, by decodeRekey, members or relays', async () => {
    // A rekey carrying an admin chain and two relay boxes, so every decoder has something to chew on.
    const h2 = await addAdmin(admin, hood, cleo.public.signKey)
    const original = (await createRekey(cleo, h2, old, remaining.map(m => m.public), NOW, { relays: [relay.publicKey, otherRelay.publicKey], removed: [dev.public.signKey] })).bytes
    await fc.assert(fc.asyncProperty(
      byteEdits(),
      async (edits) => {
        const m = applyEdits(original, edits)
        const decoded = await codeOf(() => decodeRekey(m))
        const member = await codeOf(() => openRekey(m, ben, hood))
        const relayed = await codeOf(() => relayOpenRekey(m, root, relay.boxSecret))
        if (equalBytes(m, original)) expect([decoded, member, relayed]).toEqual(['accepted', 'accepted', 'accepted'])
        else expect([member === 'accepted', relayed === 'accepted']).toEqual([false, false])
      }
    ), { numRuns: runs(75) })
  })
})
