// Invites (protocol/invite.ts): roundtrip, size, signature and role checks, the admission an
// admin's invite carries, expiry, strict parsing of the string, and random mutations giving
// only PorchlightError. The "attacks" below each passed against invite v1, where the admin
// list and the inviter's role were whatever the inviter wrote. An admin's invite carries its
// admission ('adm', 'pl/admission' v2, which names the invite key) with the invite key's seed
// ('ik'): one never comes without the other.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { containsBytes, decodeStruct, encodeStruct, equalBytes, fromBase64Url, type StructSpec, toBase64Url } from '../../protocol/encoding.ts'
import { createIdentity, encodePublicIdentity, type Identity, signStruct } from '../../protocol/identity.ts'
import {
  type AdminCert, deriveEpochKeys, MAX_ADMINS, type Neighborhood, neighborhoodOf, newEpochSecret, privateTopic
} from '../../protocol/neighborhood.ts'
import { getCrypto, randomBytes } from '../../protocol/crypto.ts'
import { addAdmin, encodeAdminCerts } from '../../protocol/admins.ts'
import { decodeEnvelope, openEnvelope, sealEnvelope } from '../../protocol/envelope.ts'
import {
  createAdmission, createInvite, DEFAULT_INVITE_TTL_MS, encodeInvite, INVITE_PREFIX, inviteKeys, MAX_INVITE_BYTES, MAX_INVITE_CHARS, MAX_INVITE_TTL_MS,
  MAX_RELAYS, parseInvite, verifyAdmission
} from '../../protocol/invite.ts'
import { applyEdits, byteEdits, codeOrAccepted as codeOf, freshEpochKeys, testHood } from '../helpers/protocol-fixtures.ts'

const NOW = 1_750_000_000_000
/** Two relay multiaddrs of 95 and 80 characters. */
const RELAYS = [
  '/dns4/relay1.maple.example/tcp/443/wss/p2p/12D3KooWHdPbSKzXNr4qLyaQ6a3wE6wM3xFjv1m8ErdMPfLUnXmV',
  '/ip4/203.0.113.7/tcp/80/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
]
const admin = await createIdentity('Ada')
const member = await createIdentity('Ben')
const hood = testHood(admin)
const keys = freshEpochKeys(hood, 3)

// The signed part and the container, spelled out here to forge invites the API would refuse to make.
const BODY: StructSpec = { domain: 'pl/invite-body', version: 2, required: ['h', 'e', 's', 'r', 'i', 'x'], optional: ['adm', 'ik'], maxBytes: MAX_INVITE_BYTES }
const CONTAINER: StructSpec = { ...BODY, domain: 'pl/invite', required: [...BODY.required, 'sig'] }
const CERT_BODY: StructSpec = { domain: 'pl/admin-cert-body', version: 1, required: ['h', 'k', 'by'], maxBytes: 160 }
const ADMISSION: StructSpec = { domain: 'pl/admission', version: 2, required: ['h', 'e', 'x', 'by', 'k'], maxBytes: 192 }

/** The Ed25519 public key of a 32-byte seed (an invite key's k). */
const publicKeyOf = async (seed: Uint8Array): Promise<Uint8Array> => (await getCrypto()).ed25519PublicKey(seed)

/** `signer`'s own admission structure for a fresh invite key: { adm, ik } to put in a forged invite. */
async function selfAdmission (signer: Identity, x: number, epoch = keys.epoch): Promise<{ adm: Uint8Array, ik: Uint8Array }> {
  const ik = randomBytes(32)
  const adm = await signStruct(signer.seed, ADMISSION, { h: hood.id, e: epoch, x, by: signer.public.signKey, k: await publicKeyOf(ik) })
  return { adm, ik }
}

async function forge (fields: Record<string, unknown>, signer: Identity = admin): Promise<string> {
  const sig = await signStruct(signer.seed, BODY, fields)
  return INVITE_PREFIX + toBase64Url(encodeStruct(CONTAINER, { ...fields, sig } as never))
}

function hoodField (h: Neighborhood = hood, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { n: h.name, a: h.area, f: h.founder, s: h.salt, ac: encodeAdminCerts(h.adminCerts), ...overrides }
}

/** A member's invite, unless overridden (no admission). */
function baseFields (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    h: hoodField(),
    e: keys.epoch,
    s: keys.secret,
    r: RELAYS,
    i: encodePublicIdentity(member.public),
    x: NOW + 1000,
    ...overrides
  }
}

const cborOf = (s: string): Uint8Array => fromBase64Url(s.slice(INVITE_PREFIX.length))

describe('createInvite / encodeInvite / parseInvite', () => {
  it('roundtrips an admin invite with its admission, and grants the same epoch keys', async () => {
    const inv = await createInvite(admin, hood, keys, RELAYS, NOW)
    expect(inv.inviterRole).toBe('admin')
    expect(inv.expires).toBe(NOW + DEFAULT_INVITE_TTL_MS)
    expect(inv.admission).toMatchObject({ by: admin.public.signKey, epoch: 3, expires: inv.expires })
    // The invite key: a fresh seed, whose public key is what the admission names.
    expect(inv.inviteKey).toHaveLength(32)
    expect(equalBytes(inv.admission!.key, await publicKeyOf(inv.inviteKey!))).toBe(true)
    const s = encodeInvite(inv)
    expect(s.startsWith('porchlight:')).toBe(true)
    expect(/^porchlight:[A-Za-z0-9_-]+$/.test(s)).toBe(true) // URL-fragment safe
    const back = await parseInvite(s, NOW + 1)
    expect(back.inviterRole).toBe('admin')
    expect(back.hood.name).toBe(hood.name)
    expect(back.hood.area).toBe(hood.area)
    expect(equalBytes(back.hood.id, hood.id)).toBe(true)
    expect(equalBytes(back.hood.founder, admin.public.signKey)).toBe(true)
    expect(equalBytes(back.hood.salt, hood.salt)).toBe(true)
    expect(back.hood.admins.map(a => equalBytes(a, admin.public.signKey))).toEqual([true])
    expect(back.relays).toEqual(RELAYS)
    expect(back.epoch).toBe(3)
    expect(equalBytes(back.inviter.signKey, admin.public.signKey)).toBe(true)
    expect(back.inviter.name).toBe('Ada')
    expect(back.admission).toEqual(inv.admission)
    expect(await verifyAdmission(hood, back.admission!)).toEqual(inv.admission)
    // The invite key round-trips (the seed travels; the admission's key is derived from it).
    expect(equalBytes(back.inviteKey!, inv.inviteKey!)).toBe(true)
    expect(equalBytes(back.admission!.key, inv.admission!.key)).toBe(true)
    expect(containsBytes(cborOf(s), inv.inviteKey!)).toBe(true)
    expect(containsBytes(cborOf(s), inv.admission!.key)).toBe(false) // derived, not carried
    const k = inviteKeys(back)
    expect(equalBytes(k.contentKey, keys.contentKey) && equalBytes(k.tagKey, keys.tagKey)).toBe(true)
    expect(encodeInvite(back)).toBe(s)
    // The id is not on the wire: it follows from founder and salt.
    expect(containsBytes(cborOf(s), hood.id)).toBe(false)
  })

  it('is short: under 1000 characters with an admission and 2 relays of 95 and 80 characters', async () => {
    expect(RELAYS.map(r => r.length)).toEqual([95, 80])
    const inv = await createInvite(admin, hood, keys, RELAYS, NOW)
    expect(inv.admission).toBeDefined()
    expect(inv.inviteKey).toBeDefined()
    const s = encodeInvite(inv)
    console.log(`invite length with an admission and 2 relays (95 and 80 characters): ${s.length} characters`)
    expect(s.length).toBeLessThan(1000)
  })

  it('a member invite parses with role member and no admission', async () => {
    const s = encodeInvite(await createInvite(member, hood, keys, [], NOW, 60_000))
    const inv = await parseInvite(s, NOW)
    expect(inv.inviterRole).toBe('member')
    expect(inv.admission).toBeUndefined()
    expect(inv.inviteKey).toBeUndefined()
    expect(inv.relays).toEqual([])
    const f = decodeStruct(CONTAINER, cborOf(s))
    expect([f.has('adm'), f.has('ik')]).toEqual([false, false])
  })

  it('the admission names the hood, epoch, expiry, admin and invite key: it verifies only as made', async () => {
    const { admission: a, inviteKey } = await createAdmission(admin, hood, 3, NOW + 1000)
    expect(await codeOf(() => verifyAdmission(hood, a))).toBe('accepted')
    expect(equalBytes(a.key, await publicKeyOf(inviteKey))).toBe(true)
    const otherKey = await publicKeyOf(randomBytes(32))
    for (const changed of [{ ...a, epoch: 4 }, { ...a, expires: NOW + 1001 }, { ...a, key: otherKey }, { ...a, sig: randomBytes(64) }]) {
      expect(await codeOf(() => verifyAdmission(hood, changed))).toBe('BAD_SIGNATURE')
    }
    // Another neighborhood of the same founder: the id is in what was signed.
    const sibling = neighborhoodOf({ ...hood, salt: randomBytes(16) })
    expect(await codeOf(() => verifyAdmission(sibling, a))).toBe('BAD_SIGNATURE')
    // Claimed by someone who is not an admin, whatever the signature.
    expect(await codeOf(() => verifyAdmission(hood, { ...a, by: member.public.signKey }))).toBe('NOT_ADMIN')
    expect(await codeOf(() => createAdmission(member, hood, 3, NOW + 1000))).toBe('NOT_ADMIN')
    // A given seed is used as is (deterministic, as the vectors need); a fresh one each time otherwise.
    const seed = randomBytes(32)
    const given = await createAdmission(admin, hood, 3, NOW + 1000, seed)
    expect(equalBytes(given.inviteKey, seed) && equalBytes(given.admission.key, await publicKeyOf(seed))).toBe(true)
    expect(equalBytes((await createAdmission(admin, hood, 3, NOW + 1000)).inviteKey, inviteKey)).toBe(false)
    expect(await codeOf(() => createAdmission(admin, hood, 3, NOW + 1000, randomBytes(31)))).toBe('BAD_ARGUMENT')
  })
})

describe('attacks on the inviter role and the admin list', () => {
  it('a member cannot make an invite that says admin: own admission NOT_ADMIN, an admin\'s admission copied NOT_ADMIN', async () => {
    // The member signs an admission himself (the structure an admin would sign).
    const x = NOW + 1000
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ x, ...await selfAdmission(member, x) }), member), NOW))).toBe('NOT_ADMIN')
    // He copies the admission and its invite key out of an admin's invite (same epoch and expiry) into his own.
    const adminInv = await createInvite(admin, hood, keys, RELAYS, NOW, 1000)
    const copied = await forge(baseFields({ x: adminInv.expires, adm: adminInv.admission!.sig, ik: adminInv.inviteKey! }), member)
    expect(await codeOf(() => parseInvite(copied, NOW))).toBe('NOT_ADMIN')
    // Without an admission his invite is what it is: a member's.
    const plain = await parseInvite(await forge(baseFields(), member), NOW)
    expect(plain.inviterRole).toBe('member')
    expect(plain.admission).toBeUndefined()
  })

  /** An admin's invite taken apart: its signed fields, signature, admission and invite key, and a re-encoder. */
  async function adminInviteParts (): Promise<{ fields: Record<string, unknown>, sig: Uint8Array, adm: Uint8Array, ik: Uint8Array, encode: (x: Record<string, unknown>) => string }> {
    const f = decodeStruct(CONTAINER, cborOf(encodeInvite(await createInvite(admin, hood, keys, RELAYS, NOW))))
    return {
      fields: { h: hoodField(), e: f.uint('e'), s: f.bytes('s', { len: 32 }), r: RELAYS, i: f.bytes('i', { max: 512 }), x: f.uint('x') },
      sig: f.bytes('sig', { len: 64 }),
      adm: f.bytes('adm', { len: 64 }),
      ik: f.bytes('ik', { len: 32 }),
      encode: (x) => INVITE_PREFIX + toBase64Url(encodeStruct(CONTAINER, x as never))
    }
  }

  it('an admin\'s admission cannot be stripped or moved: every invite field, adm and ik included, is signed', async () => {
    const { fields, sig, adm, ik, encode } = await adminInviteParts()
    expect(await codeOf(() => parseInvite(encode({ ...fields, adm, ik, sig }), NOW))).toBe('accepted')
    expect(await codeOf(() => parseInvite(encode({ ...fields, sig }), NOW))).toBe('BAD_SIGNATURE')
    // Another invite key in place of the admin's: the invite signature covers ik...
    expect(await codeOf(() => parseInvite(encode({ ...fields, adm, ik: randomBytes(32), sig }), NOW))).toBe('BAD_SIGNATURE')
    // ...and so does the admission (k), even when the admin re-signs the invite around it.
    expect(await codeOf(async () => parseInvite(await forge({ ...fields, adm, ik: randomBytes(32) }, admin), NOW))).toBe('BAD_SIGNATURE')
    // Re-signed by the admin for another epoch with the old admission: the admission names epoch 3.
    const moved = await forge({ ...fields, e: 4, s: newEpochSecret(), adm, ik }, admin)
    expect(await codeOf(() => parseInvite(moved, NOW))).toBe('BAD_SIGNATURE')
  })

  it('an admission comes with its invite key: adm without ik, or ik without adm, is BAD_INVITE (signed or not)', async () => {
    const { fields, sig, adm, ik, encode } = await adminInviteParts()
    // Either half dropped from the admin's own invite, with its signature as it was...
    expect(await codeOf(() => parseInvite(encode({ ...fields, adm, sig }), NOW))).toBe('BAD_INVITE')
    expect(await codeOf(() => parseInvite(encode({ ...fields, ik, sig }), NOW))).toBe('BAD_INVITE')
    // ...or re-signed by the admin without it: still refused before any signature is checked.
    expect(await codeOf(async () => parseInvite(await forge({ ...fields, adm }, admin), NOW))).toBe('BAD_INVITE')
    expect(await codeOf(async () => parseInvite(await forge({ ...fields, ik }, admin), NOW))).toBe('BAD_INVITE')
    // A member's invite with an invite key added (and signed) is not a member's invite either.
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ ik: randomBytes(32) }), member), NOW))).toBe('BAD_INVITE')
    // An invite key of the wrong length is a decoding error.
    expect(await codeOf(async () => parseInvite(await forge({ ...fields, adm, ik: ik.subarray(1) }, admin), NOW))).toBe('BAD_LENGTH')
  })

  it('a forged admin certificate in the invite is refused: BAD_SIGNATURE, or BAD_INVITE when malformed', async () => {
    // Ben certifies himself, as if the founder (index 0) had.
    const self: AdminCert = { key: member.public.signKey, by: 0, sig: await signStruct(member.seed, CERT_BODY, { h: hood.id, k: member.public.signKey, by: hood.founder }) }
    const withSelf = hoodField(hood, { ac: encodeAdminCerts([self]) })
    const adm = await selfAdmission(member, NOW + 1000)
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ h: withSelf, ...adm }), member), NOW))).toBe('BAD_SIGNATURE')
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ h: withSelf }), member), NOW))).toBe('BAD_SIGNATURE')
    // A link that names a signer who does not exist yet, or lists an admin twice: malformed.
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ h: hoodField(hood, { ac: encodeAdminCerts([{ ...self, by: 1 }]) }) }), member), NOW))).toBe('BAD_INVITE')
    const real = (await addAdmin(admin, hood, member.public.signKey)).adminCerts[0]!
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ h: hoodField(hood, { ac: encodeAdminCerts([real, real]) }) }), member), NOW))).toBe('BAD_INVITE')
    // With the genuine certificate Ben is an admin, and his admission is accepted.
    const promoted = await parseInvite(await forge(baseFields({ h: hoodField(hood, { ac: encodeAdminCerts([real]) }), ...adm }), member), NOW)
    expect(promoted.inviterRole).toBe('admin')
    expect(equalBytes(promoted.inviteKey!, adm.ik)).toBe(true)
  })

  it('naming oneself as founder makes another neighborhood: another id, topic and keys, that read nothing of the real one', async () => {
    // Ben keeps the name, area, salt and the real epoch secret, and names himself founder.
    const fake = neighborhoodOf({ name: hood.name, area: hood.area, founder: member.public.signKey, salt: hood.salt })
    const inv = await parseInvite(encodeInvite(await createInvite(member, fake, deriveEpochKeys(fake.id, 3, keys.secret), RELAYS, NOW)), NOW)
    expect(inv.inviterRole).toBe('admin') // of his own neighborhood...
    expect(equalBytes(inv.hood.id, hood.id)).toBe(false) // ...which is not this one
    expect(privateTopic(inv.hood.id)).not.toBe(privateTopic(hood.id))
    const fakeKeys = inviteKeys(inv)
    expect(equalBytes(fakeKeys.contentKey, keys.contentKey) || equalBytes(fakeKeys.tagKey, keys.tagKey)).toBe(false)
    const env = decodeEnvelope(sealEnvelope(keys, privateTopic(hood.id), new Uint8Array([1, 2, 3])))
    expect(await codeOf(() => openEnvelope(env, fakeKeys))).toBe('DECRYPT_FAILED')
    // And an invite naming the real founder with the wrong id is impossible: no id on the wire.
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ h: { ...hoodField(), id: hood.id } }), member), NOW))).toBe('EXTRA_FIELD')
  })

  it('an invite from v1 (id, admin list, "ia" claim) is BAD_VERSION, asking for a new invite', async () => {
    const V1: StructSpec = { domain: 'pl/invite', version: 1, required: ['h', 'e', 's', 'r', 'i', 'ia', 'x', 'sig'], maxBytes: 4096 }
    const V1_BODY: StructSpec = { ...V1, domain: 'pl/invite-body', required: V1.required.filter(k => k !== 'sig') }
    const fields = {
      h: { id: hood.id, n: hood.name, a: hood.area, ad: [member.public.signKey] }, e: 3, s: keys.secret, r: RELAYS,
      i: encodePublicIdentity(member.public), ia: true, x: NOW + 1000
    }
    const old = INVITE_PREFIX + toBase64Url(encodeStruct(V1, { ...fields, sig: await signStruct(member.seed, V1_BODY, fields) } as never))
    expect(await codeOf(() => parseInvite(old, NOW))).toBe('BAD_VERSION')
    await expect(parseInvite(old, NOW)).rejects.toThrow(/new invite/)
  })
})

describe('signature, expiry, bounds', () => {
  it('signature by someone else than the named inviter is BAD_SIGNATURE', async () => {
    const s = await forge(baseFields({ i: encodePublicIdentity(member.public) }), admin)
    expect(await codeOf(() => parseInvite(s, NOW))).toBe('BAD_SIGNATURE')
    // And any change to a signed field breaks it: swap in another epoch secret.
    const inv = await createInvite(member, hood, keys, RELAYS, NOW)
    const f = decodeStruct(CONTAINER, cborOf(encodeInvite(inv)))
    expect(f.uint('e')).toBe(3)
    const tampered = INVITE_PREFIX + toBase64Url(encodeStruct(CONTAINER, { ...baseFields({ x: inv.expires, s: newEpochSecret() }), sig: inv.sig } as never))
    expect(await codeOf(() => parseInvite(tampered, NOW))).toBe('BAD_SIGNATURE')
    const untouched = INVITE_PREFIX + toBase64Url(encodeStruct(CONTAINER, { ...baseFields({ x: inv.expires }), sig: inv.sig } as never))
    expect(await codeOf(() => parseInvite(untouched, NOW))).toBe('accepted')
  })

  it('expiry: EXPIRED at and after expires; OUT_OF_RANGE when absurdly far ahead', async () => {
    const s = encodeInvite(await createInvite(admin, hood, keys, RELAYS, NOW, 60_000))
    expect(await codeOf(() => parseInvite(s, NOW + 59_999))).toBe('accepted')
    expect(await codeOf(() => parseInvite(s, NOW + 60_000))).toBe('EXPIRED')
    const far = await forge(baseFields({ x: NOW + MAX_INVITE_TTL_MS + 3_600_000 }), member)
    expect(await codeOf(() => parseInvite(far, NOW))).toBe('OUT_OF_RANGE')
    expect(await codeOf(() => createInvite(admin, hood, keys, RELAYS, NOW, MAX_INVITE_TTL_MS + 1))).toBe('BAD_ARGUMENT')
  })

  it('bounds on relays, keys and the neighborhood', async () => {
    expect(await codeOf(() => createInvite(admin, hood, keys, Array.from({ length: MAX_RELAYS + 1 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`), NOW))).toBe('TOO_LARGE')
    for (const bad of ['', 'relay.example', '/has space', `/${'a'.repeat(256)}`]) {
      expect(await codeOf(() => createInvite(admin, hood, keys, [bad], NOW))).toBe('BAD_ARGUMENT')
    }
    expect(await codeOf(() => createInvite(admin, hood, keys, [RELAYS[0]!, RELAYS[0]!], NOW))).toBe('BAD_ARGUMENT')
    const otherKeys = deriveEpochKeys(randomBytes(32), 3, keys.secret)
    expect(await codeOf(() => createInvite(admin, hood, otherKeys, [], NOW))).toBe('BAD_ARGUMENT')
    // Invites with a bad neighborhood inside are BAD_INVITE (or a decoding code), not caller errors.
    const parsed = async (h: Record<string, unknown>): Promise<string> => codeOf(async () => parseInvite(await forge(baseFields({ h }), member), NOW))
    expect(await parsed(hoodField(hood, { n: ' padded' }))).toBe('BAD_INVITE')
    expect(await parsed(hoodField(hood, { n: 'a\u202Eb' }))).toBe('BAD_INVITE')
    expect(await parsed(hoodField(hood, { a: 'abc' }))).toBe('BAD_GEOHASH')
    expect(await parsed(hoodField(hood, { f: randomBytes(31) }))).toBe('BAD_LENGTH')
    expect(await parsed(hoodField(hood, { s: randomBytes(32) }))).toBe('BAD_LENGTH')
    expect(await parsed(hoodField(hood, { ac: Array.from({ length: MAX_ADMINS }, () => ({ k: randomBytes(32), b: 0, sig: randomBytes(64) })) }))).toBe('TOO_LARGE')
    const { ac: _ac, ...noCerts } = hoodField()
    expect(await parsed(noCerts)).toBe('MISSING_FIELD')
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ r: ['not-a-multiaddr'] }), member), NOW))).toBe('BAD_INVITE')
  })

  it('the largest invite (16 admins, 8 relays of 256 bytes, 64-byte names) still encodes and parses', async () => {
    const admins = [admin, ...await Promise.all(Array.from({ length: MAX_ADMINS - 1 }, async (_, i) => createIdentity(`${'I'.repeat(60)}${String(i).padStart(4, '0')}`)))]
    let big: Neighborhood = neighborhoodOf({ ...hood, name: 'N'.repeat(64) })
    for (let i = 1; i < MAX_ADMINS; i++) big = await addAdmin(admins[i - 1]!, big, admins[i]!.public.signKey)
    expect(big.admins).toHaveLength(MAX_ADMINS)
    const inviter = admins[MAX_ADMINS - 1]!
    const relays = Array.from({ length: MAX_RELAYS }, (_, i) => `/dns4/${String(i).repeat(240)}/tcp/1`.slice(0, 256))
    const s = encodeInvite(await createInvite(inviter, big, deriveEpochKeys(big.id, 3, keys.secret), relays, NOW))
    console.log(`largest invite: ${cborOf(s).length} bytes, ${s.length} characters (at most ${MAX_INVITE_BYTES} bytes)`)
    expect(s.length).toBeLessThanOrEqual(MAX_INVITE_CHARS)
    const back = await parseInvite(s, NOW)
    expect(back.relays).toEqual(relays)
    expect(back.inviterRole).toBe('admin')
    expect(back.hood.admins).toHaveLength(MAX_ADMINS)
  })

  it('strict string parsing', async () => {
    const s = encodeInvite(await createInvite(admin, hood, keys, RELAYS, NOW))
    expect(await codeOf(() => parseInvite(s.replace('porchlight:', 'porchlite:'), NOW))).toBe('BAD_INVITE')
    expect(await codeOf(() => parseInvite(`${s}=`, NOW))).toBe('MALFORMED')
    expect(await codeOf(() => parseInvite(`${s} `, NOW))).toBe('MALFORMED')
    expect(await codeOf(() => parseInvite(`${s}AA`, NOW))).toBe('MALFORMED') // trailing bytes
    expect(await codeOf(() => parseInvite('x'.repeat(MAX_INVITE_CHARS + 1), NOW))).toBe('TOO_LARGE')
    expect(await codeOf(() => parseInvite(INVITE_PREFIX, NOW))).toBe('MALFORMED')
    expect(await codeOf(() => parseInvite(42 as unknown as string, NOW))).toBe('WRONG_TYPE')
    // A relay token or any other structure is not an invite.
    const other = INVITE_PREFIX + toBase64Url(encodeStruct({ ...CONTAINER, domain: 'pl/relay-token' }, baseFields() as never))
    expect(await codeOf(() => parseInvite(other, NOW))).toBe('BAD_DOMAIN')
  })
})

describe('properties', () => {
  it('roundtrip for any valid relays and names', async () => {
    const relay = fc.stringMatching(/^\/[\x21-\x7e]{1,80}$/)
    await fc.assert(fc.asyncProperty(
      fc.uniqueArray(relay, { maxLength: MAX_RELAYS }),
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,40}[A-Za-z0-9]$/),
      fc.integer({ min: 1, max: MAX_INVITE_TTL_MS }),
      fc.boolean(),
      async (relays, name, ttl, byAdmin) => {
        const h = neighborhoodOf({ ...hood, name })
        const inv = await parseInvite(encodeInvite(await createInvite(byAdmin ? admin : member, h, keys, relays, NOW, ttl)), NOW)
        expect(inv.relays).toEqual(relays)
        expect(inv.hood.name).toBe(name)
        expect(inv.expires).toBe(NOW + ttl)
        expect(inv.inviterRole).toBe(byAdmin ? 'admin' : 'member')
        expect(inv.admission !== undefined).toBe(byAdmin)
        expect(inv.inviteKey !== undefined).toBe(byAdmin)
      }
    ), { numRuns: runs(20) })
  })

  it('random mutations of the string give only PorchlightError (and never a different valid invite)', async () => {
    const s = encodeInvite(await createInvite(admin, hood, keys, RELAYS, NOW))
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:= '
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: alphabet.length - 1 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 }),
      async (edits) => {
        const chars = s.split('')
        for (const [pos, c, op] of edits) {
          const i = pos % (chars.length + 1)
          if (op === 'set' && i < chars.length) chars[i] = alphabet[c]!
          else if (op === 'insert') chars.splice(i, 0, alphabet[c]!)
          else chars.splice(i, 1)
        }
        const m = chars.join('')
        const code = await codeOf(() => parseInvite(m, NOW))
        if (m === s) expect(code).toBe('accepted')
        else expect(code).not.toBe('accepted')
      }
    ), { numRuns: runs(75) })
  })

  it('random byte mutations of the CBOR (admin chain and admission included) give only PorchlightError', async () => {
    // Three admins, so the certificate array (readAdminCerts, verifyAdminChain) is a large target.
    const cleo = await createIdentity('Cleo')
    const chained = await addAdmin(member, await addAdmin(admin, hood, member.public.signKey), cleo.public.signKey)
    const bytes = cborOf(encodeInvite(await createInvite(cleo, chained, keys, RELAYS, NOW)))
    await fc.assert(fc.asyncProperty(
      byteEdits(3),
      async (edits) => {
        const m = applyEdits(bytes, edits)
        const code = await codeOf(() => parseInvite(INVITE_PREFIX + toBase64Url(m), NOW))
        if (equalBytes(m, bytes)) expect(code).toBe('accepted')
        else expect(code).not.toBe('accepted')
      }
    ), { numRuns: runs(100) })
  })
})

it('an invite carries the epoch secret and the invite key (documented: holding it means reading the epoch, and using its admission)', async () => {
  const inv = await createInvite(admin, hood, keys, RELAYS, NOW)
  const bytes = cborOf(encodeInvite(inv))
  expect(containsBytes(bytes, keys.secret)).toBe(true)
  expect(containsBytes(bytes, inv.inviteKey!)).toBe(true)
  expect(containsBytes(bytes, keys.contentKey)).toBe(false) // derived, not carried
})
