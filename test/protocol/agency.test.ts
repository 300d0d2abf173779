// Agencies (protocol/agency.ts): attestations by hood admins, RFAs signed by the agency's
// identity key on the public area topic, and replies sealed to the agency.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import { containsBytes, decodeStruct, encodeStruct, equalBytes, type StructSpec, utf8Bytes } from '../../protocol/encoding.ts'
import { areaKey, createIdentity, encodePublicIdentity, signStruct } from '../../protocol/identity.ts'
import { areaTopic } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { openPublicPost } from '../../protocol/public-post.ts'
import { openSealed, sealTo } from '../../protocol/seal.ts'
import {
  AGENCY_REPLY_CONTEXT, attestationCovers, attestationId, createAttestation, createRevocation, isVouchedBy, MAX_AGENCY_CLOCK_SKEW_MS,
  MAX_ATTESTATION_TTL_MS, MAX_RFA_ATTESTATIONS, openReplyToAgency, openRevocation, openRfa, sealReplyToAgency, sealRfa, verifyAttestation
} from '../../protocol/agency.ts'
import { addAdmin } from '../../protocol/admins.ts'
import { isAdmin, privateTopic } from '../../protocol/neighborhood.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { applyEdits, byteEdits, codeOrAccepted as codeOf, flips, testHood } from '../helpers/protocol-fixtures.ts'

const NOW = 1_750_000_000_000
const DAY = 86_400_000
const admin = await createIdentity('Ada')
const ben = await createIdentity('Ben')
const agency = await createIdentity('Springfield PD')
const otherAgency = await createIdentity('Shelbyville PD')
const hood = testHood(admin)

const ATT_BODY: StructSpec = { domain: 'pl/agency-attest-body', version: 1, required: ['ag', 'n', 'a', 'adm', 'iss', 'exp'], maxBytes: 768 }
const ATT: StructSpec = { ...ATT_BODY, domain: 'pl/agency-attest', required: [...ATT_BODY.required, 'sig'] }

describe('attestations', () => {
  it('an admin vouches for an agency; anyone verifies; members check the signer is their admin', async () => {
    const bytes = await createAttestation(admin, agency.public, '9q8yy', NOW, { hood, name: 'Springfield Police Department' })
    const att = await verifyAttestation(bytes, NOW + DAY)
    expect(att.name).toBe('Springfield Police Department')
    expect(att.area).toBe('9q8yy')
    expect(equalBytes(att.agency.signKey, agency.public.signKey)).toBe(true)
    expect(equalBytes(att.agency.boxKey, agency.public.boxKey)).toBe(true)
    expect(equalBytes(att.hoodAdmin, admin.public.signKey)).toBe(true)
    expect(att.expires - att.issued).toBe(180 * DAY)
    expect(isVouchedBy(att, hood)).toBe(true)
    expect(isVouchedBy(att, testHood(ben))).toBe(false) // another neighborhood's admins
    expect(equalBytes(att.id, attestationId(bytes))).toBe(true)
    expect(equalBytes(att.id, sha256(bytes))).toBe(true)
    expect(attestationCovers(att, '9q8yyk')).toBe(true)
    expect(attestationCovers(att, '9q8yz')).toBe(false)
    // The hood's private details are not in a public attestation.
    expect(containsBytes(bytes, hood.id)).toBe(false)
    expect(containsBytes(bytes, utf8Bytes(hood.name))).toBe(false)
  })

  it('a non-admin cannot attest for the hood; a self-made attestation is not vouched by the hood', async () => {
    expect(await codeOf(() => createAttestation(ben, agency.public, '9q8yy', NOW, { hood }))).toBe('NOT_ADMIN')
    const self = await verifyAttestation(await createAttestation(agency, agency.public, '9q8yy', NOW), NOW)
    expect(isVouchedBy(self, hood)).toBe(false)
  })

  it('expiry, future dating, lifetime and signature', async () => {
    const bytes = await createAttestation(admin, agency.public, '9q8yy', NOW, { ttlMs: DAY })
    expect(await codeOf(() => verifyAttestation(bytes, NOW + DAY))).toBe('EXPIRED')
    expect(await codeOf(() => verifyAttestation(bytes, NOW - 3_600_000))).toBe('FUTURE_DATED')
    expect(await codeOf(() => createAttestation(admin, agency.public, '9q8yy', NOW, { ttlMs: MAX_ATTESTATION_TTL_MS + 1 }))).toBe('BAD_ARGUMENT')
    const fields = { ag: encodePublicIdentity(agency.public), n: 'Springfield PD', a: '9q8yy', adm: admin.public.signKey, iss: NOW, exp: NOW + MAX_ATTESTATION_TTL_MS + 1 }
    const tooLong = encodeStruct(ATT, { ...fields, sig: await signStruct(admin.seed, ATT_BODY, fields) })
    expect(await codeOf(() => verifyAttestation(tooLong, NOW))).toBe('OUT_OF_RANGE')
    // Changing what is vouched breaks the signature: another agency key under the same signature.
    const good = { ...fields, exp: NOW + DAY }
    const sig = await signStruct(admin.seed, ATT_BODY, good)
    expect(await codeOf(() => verifyAttestation(encodeStruct(ATT, { ...good, sig }), NOW))).toBe('accepted')
    expect(await codeOf(() => verifyAttestation(encodeStruct(ATT, { ...good, ag: encodePublicIdentity(otherAgency.public), sig }), NOW))).toBe('BAD_SIGNATURE')
    expect(await codeOf(() => verifyAttestation(encodeStruct(ATT, { ...good, n: 'FBI', sig }), NOW))).toBe('BAD_SIGNATURE')
    expect(await codeOf(() => verifyAttestation(encodeStruct(ATT, { ...good, n: ' padded', sig }), NOW))).toBe('OUT_OF_RANGE')
  })
})

describe('revocations', () => {
  const topic = privateTopic(hood.id)
  const REVOKE: StructSpec = { domain: 'pl/agency-revoke', version: 1, required: ['att', 'at', 'by', 'sig'], maxBytes: 192 }
  const REVOKE_BODY: StructSpec = { domain: 'pl/agency-revoke-body', version: 1, required: ['att', 'tp', 'at', 'by'], maxBytes: 256 }

  it('an admin withdraws an attestation: openRevocation names it by id, with the revoking admin', async () => {
    const attBytes = await createAttestation(admin, agency.public, '9q8yy', NOW, { hood })
    const bytes = await createRevocation(admin, hood, topic, attBytes, NOW + DAY)
    const r = await openRevocation(bytes, topic, NOW + DAY)
    expect(equalBytes(r.attestation, (await verifyAttestation(attBytes, NOW)).id)).toBe(true)
    expect(equalBytes(r.by, admin.public.signKey)).toBe(true)
    expect(r.at).toBe(NOW + DAY)
    expect(isAdmin(hood, r.by)).toBe(true)
    // Another admin (by certificate) may withdraw an attestation the founder made.
    const h2 = await addAdmin(admin, hood, ben.public.signKey)
    const byBen = await openRevocation(await createRevocation(ben, h2, topic, attBytes, NOW), topic, NOW)
    expect(isAdmin(h2, byBen.by)).toBe(true)
    expect(equalBytes(byBen.attestation, r.attestation)).toBe(true)
  })

  it('a non-admin cannot revoke (NOT_ADMIN); one he signs himself opens, but names a signer who is not an admin', async () => {
    const attBytes = await createAttestation(admin, agency.public, '9q8yy', NOW, { hood })
    expect(await codeOf(() => createRevocation(ben, hood, topic, attBytes, NOW))).toBe('NOT_ADMIN')
    const fields = { att: attestationId(attBytes), at: NOW, by: ben.public.signKey }
    const own = encodeStruct(REVOKE, { ...fields, sig: await signStruct(ben.seed, REVOKE_BODY, { ...fields, tp: topic }) })
    const r = await openRevocation(own, topic, NOW)
    expect(isAdmin(hood, r.by)).toBe(false) // readers check this (the peer does)
    // Passing his signature off as the admin's: BAD_SIGNATURE.
    const asAdmin = encodeStruct(REVOKE, { ...fields, by: admin.public.signKey, sig: own.slice(-64) })
    expect(await codeOf(() => openRevocation(asAdmin, topic, NOW))).toBe('BAD_SIGNATURE')
  })

  it('bound to its topic and attestation; tampered anywhere it fails; FUTURE_DATED beyond the clock skew', async () => {
    const attBytes = await createAttestation(admin, agency.public, '9q8yy', NOW, { hood })
    const bytes = await createRevocation(admin, hood, topic, attBytes, NOW)
    expect(await codeOf(() => openRevocation(bytes, privateTopic(testHood(admin).id), NOW))).toBe('BAD_SIGNATURE')
    const other = await createAttestation(admin, otherAgency.public, '9q8yy', NOW, { hood })
    const moved = encodeStruct(REVOKE, { att: attestationId(other), at: NOW, by: admin.public.signKey, sig: bytes.slice(-64) })
    expect(await codeOf(() => openRevocation(moved, topic, NOW))).toBe('BAD_SIGNATURE')
    for (const [i, copy] of flips(bytes)) {
      expect(await codeOf(() => openRevocation(copy, topic, NOW)), `byte ${i}`).not.toBe('accepted')
    }
    const ahead = await createRevocation(admin, hood, topic, attBytes, NOW + MAX_AGENCY_CLOCK_SKEW_MS + 1)
    expect(await codeOf(() => openRevocation(ahead, topic, NOW))).toBe('FUTURE_DATED')
    expect(await codeOf(() => openRevocation(ahead, topic, NOW + 1))).toBe('accepted')
    const v2 = encodeStruct({ ...REVOKE, version: 2 }, { att: attestationId(attBytes), at: NOW, by: admin.public.signKey, sig: bytes.slice(-64) })
    expect(await codeOf(() => openRevocation(v2, topic, NOW))).toBe('BAD_VERSION')
  })

  it('random mutations of a revocation give only PorchlightError, never accepted', async () => {
    const bytes = await createRevocation(admin, hood, topic, await createAttestation(admin, agency.public, '9q8yy', NOW, { hood }), NOW)
    await fc.assert(fc.asyncProperty(byteEdits(), async (edits) => {
      const m = applyEdits(bytes, edits)
      const code = await codeOf(() => openRevocation(m, topic, NOW))
      if (equalBytes(m, bytes)) expect(code).toBe('accepted')
      else expect(code).not.toBe('accepted')
    }), { numRuns: runs(100) })
  })
})

describe('requests for assistance', () => {
  it('signed by the agency identity key (on the record), for the area topic, with attestations', async () => {
    const att = await createAttestation(admin, agency.public, '9q8yy', NOW, { hood })
    const { bytes, id } = await sealRfa(agency, '9q8yyk', 'Footage of Elm St, 21:00-22:00 June 14?', NOW, 3 * DAY, { location: '9q8yykv', attestations: [att] })
    const r = await openRfa(bytes, NOW + 1)
    expect(equalBytes(r.id, id)).toBe(true)
    expect(r.topic).toBe(areaTopic('9q8yyk'))
    expect(r.post.kind).toBe('rfa')
    expect(r.post.location).toBe('9q8yykv')
    expect(r.post.expires).toBe(NOW + 3 * DAY)
    expect(equalBytes(r.agency.signKey, agency.public.signKey)).toBe(true)
    expect(r.agency.name).toBe('Springfield PD')
    expect(r.attestations.length).toBe(1)
    expect(isVouchedBy(r.attestations[0]!, hood)).toBe(true)
    // Not a pseudonym: the identity key itself is in the bytes, the area pseudonym is not.
    expect(containsBytes(bytes, agency.public.signKey)).toBe(true)
    expect(containsBytes(bytes, (await areaKey(agency, '9q8yyk')).publicKey)).toBe(false)
    // And it is not a public post (different domain), so it cannot pass for one.
    expect(await codeOf(() => openPublicPost(bytes, NOW))).toBe('BAD_DOMAIN')
  })

  it('location outside the area, expired, too many or foreign attestations', async () => {
    expect(await codeOf(() => sealRfa(agency, '9q8yyk', 'x', NOW, DAY, { location: '9q8yzz' }))).toBe('BAD_GEOHASH')
    const { bytes } = await sealRfa(agency, '9q8yyk', 'x', NOW, DAY)
    expect(await codeOf(() => openRfa(bytes, NOW + DAY))).toBe('EXPIRED')
    const foreign = await createAttestation(admin, otherAgency.public, '9q8yy', NOW)
    expect(await codeOf(() => sealRfa(agency, '9q8yyk', 'x', NOW, DAY, { attestations: [foreign] }))).toBe('BAD_ARGUMENT')
    const att = await createAttestation(admin, agency.public, '9q8yy', NOW)
    expect(await codeOf(() => sealRfa(agency, '9q8yyk', 'x', NOW, DAY, { attestations: Array.from({ length: MAX_RFA_ATTESTATIONS + 1 }, () => att) }))).toBe('TOO_LARGE')
    const expiredAtt = await createAttestation(admin, agency.public, '9q8yy', NOW - 2 * DAY, { ttlMs: DAY })
    expect(await codeOf(() => sealRfa(agency, '9q8yyk', 'x', NOW, DAY, { attestations: [expiredAtt] }))).toBe('EXPIRED')
  })

  it('an attestation that expires after the request was made keeps the request valid', async () => {
    const att = await createAttestation(admin, agency.public, '9q8yy', NOW, { ttlMs: DAY })
    const { bytes } = await sealRfa(agency, '9q8yyk', 'x', NOW, 3 * DAY, { attestations: [att] })
    const r = await openRfa(bytes, NOW + 2 * DAY)
    expect(r.attestations[0]!.expires).toBeLessThan(NOW + 2 * DAY)
  })

  it('every single-byte change is refused', async () => {
    const att = await createAttestation(admin, agency.public, '9q8yy', NOW)
    const { bytes } = await sealRfa(agency, '9q8yyk', 'Seen this bike?', NOW, DAY, { attestations: [att] })
    for (const [i, copy] of flips(bytes)) {
      expect(await codeOf(() => openRfa(copy, NOW)), `byte ${i}`).not.toBe('accepted')
    }
  })
})

describe('sealed replies to an agency', () => {
  const rfaId = randomBytes(32)
  const post = createPost({ kind: 'reply', text: 'White van, partial plate 7ABC', replyTo: rfaId, now: NOW, ttlMs: DAY })

  it('anonymous by default: only the agency opens it, and it names no author', async () => {
    const sealed = await sealReplyToAgency(null, agency.public.boxKey, rfaId, post)
    const r = await openReplyToAgency(agency, sealed, NOW)
    expect(r.author).toBeUndefined()
    expect(r.post.text).toBe(post.text)
    expect(equalBytes(r.rfaId, rfaId)).toBe(true)
    expect(await codeOf(() => openReplyToAgency(otherAgency, sealed, NOW))).toBe('DECRYPT_FAILED')
    for (const k of [ben.public.signKey, ben.public.boxKey, agency.public.boxKey, agency.public.signKey, utf8Bytes(post.text)]) {
      expect(containsBytes(sealed, k)).toBe(false)
    }
    // Nothing of the author inside either: the plaintext itself.
    const plain = await openSealed(agency.boxSecret, sealed, AGENCY_REPLY_CONTEXT)
    expect(containsBytes(plain, ben.public.signKey)).toBe(false)
  })

  it('named when the author chooses: identity and signature verified', async () => {
    const sealed = await sealReplyToAgency(ben, agency.public.boxKey, rfaId, post)
    const r = await openReplyToAgency(agency, sealed, NOW)
    expect(r.author?.name).toBe('Ben')
    expect(equalBytes(r.author!.signKey, ben.public.signKey)).toBe(true)
    expect(containsBytes(sealed, ben.public.signKey)).toBe(false) // encrypted
  })

  it('a named reply cannot be forwarded to another agency as addressed to it', async () => {
    const sealed = await sealReplyToAgency(ben, agency.public.boxKey, rfaId, post)
    const plain = await openSealed(agency.boxSecret, sealed, AGENCY_REPLY_CONTEXT)
    const forwarded = await sealTo(otherAgency.public.boxKey, plain, AGENCY_REPLY_CONTEXT)
    expect(await codeOf(() => openReplyToAgency(otherAgency, forwarded, NOW))).toBe('BAD_SIGNATURE')
  })

  it('forged author, half-present author fields, wrong reply target', async () => {
    const REPLY: StructSpec = { domain: 'pl/agency-reply', version: 1, required: ['rfa', 'post'], optional: ['au', 'sig'], maxBytes: 5120 }
    const named = await openSealed(agency.boxSecret, await sealReplyToAgency(ben, agency.public.boxKey, rfaId, post), AGENCY_REPLY_CONTEXT)
    const sig = decodeStruct(REPLY, named).bytes('sig', { len: 64 })
    const postMap = { kind: post.kind, text: post.text, created: post.created, expires: post.expires, media: [], replyTo: rfaId }
    const asBen = encodeStruct(REPLY, { rfa: rfaId, post: postMap, au: encodePublicIdentity(ben.public), sig })
    expect(await codeOf(async () => openReplyToAgency(agency, await sealTo(agency.public.boxKey, asBen, AGENCY_REPLY_CONTEXT), NOW))).toBe('accepted')
    const asAdmin = encodeStruct(REPLY, { rfa: rfaId, post: postMap, au: encodePublicIdentity(admin.public), sig })
    expect(await codeOf(async () => openReplyToAgency(agency, await sealTo(agency.public.boxKey, asAdmin, AGENCY_REPLY_CONTEXT), NOW))).toBe('BAD_SIGNATURE')
    const half = encodeStruct(REPLY, { rfa: rfaId, post: postMap, au: encodePublicIdentity(ben.public) })
    expect(await codeOf(async () => openReplyToAgency(agency, await sealTo(agency.public.boxKey, half, AGENCY_REPLY_CONTEXT), NOW))).toBe('MISSING_FIELD')
    const otherTarget = encodeStruct(REPLY, { rfa: randomBytes(32), post: postMap })
    expect(await codeOf(async () => openReplyToAgency(agency, await sealTo(agency.public.boxKey, otherTarget, AGENCY_REPLY_CONTEXT), NOW))).toBe('BAD_ARGUMENT')
    expect(await codeOf(() => sealReplyToAgency(null, agency.public.boxKey, randomBytes(32), post))).toBe('BAD_ARGUMENT')
    // A box sealed for another purpose does not open as a reply.
    const wrongContext = await sealTo(agency.public.boxKey, half, 'pl/other')
    expect(await codeOf(() => openReplyToAgency(agency, wrongContext, NOW))).toBe('DECRYPT_FAILED')
  })
})

describe('properties', () => {
  it('attestation roundtrip for any area, name and lifetime', async () => {
    await fc.assert(fc.asyncProperty(
      fc.stringMatching(/^[0-9b-hjkmnp-z]{1,6}$/),
      fc.stringMatching(/^[A-Za-z][A-Za-z .]{0,40}[A-Za-z.]$/),
      fc.integer({ min: 1, max: MAX_ATTESTATION_TTL_MS }),
      async (area, name, ttlMs) => {
        const att = await verifyAttestation(await createAttestation(admin, agency.public, area, NOW, { name, ttlMs }), NOW)
        expect([att.area, att.name, att.expires]).toEqual([area, name, NOW + ttlMs])
      }
    ), { numRuns: runs(20) })
  })

  it('reply roundtrip for any text, anonymous or named', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ minLength: 1, maxLength: 500 }), fc.boolean(), async (text, named) => {
      const rfaId = randomBytes(32)
      const post = createPost({ kind: 'reply', text, replyTo: rfaId, now: NOW })
      const r = await openReplyToAgency(agency, await sealReplyToAgency(named ? ben : null, agency.public.boxKey, rfaId, post), NOW)
      expect(r.post.text).toBe(text)
      expect(r.author?.name).toBe(named ? 'Ben' : undefined)
    }), { numRuns: runs(20) })
  })

  it('random mutations of attestations, RFAs and sealed replies give only PorchlightError', async () => {
    const att = await createAttestation(admin, agency.public, '9q8yy', NOW)
    const rfa = (await sealRfa(agency, '9q8yyk', 'Seen this bike?', NOW, DAY, { attestations: [att] })).bytes
    const reply = await sealReplyToAgency(ben, agency.public.boxKey, randomBytes(32), createPost({ kind: 'info', text: 'hi', now: NOW }))
    const targets: Array<[Uint8Array, (b: Uint8Array) => Promise<unknown>]> = [
      [att, async b => verifyAttestation(b, NOW)],
      [rfa, async b => openRfa(b, NOW)],
      [reply, async b => openReplyToAgency(agency, b, NOW)]
    ]
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 2 }), byteEdits(), async (which, edits) => {
      const [original, open] = targets[which]!
      const m = applyEdits(original, edits)
      const code = await codeOf(() => open(m))
      if (equalBytes(m, original)) expect(code).toBe('accepted')
      else expect(code).not.toBe('accepted')
    }), { numRuns: runs(100) })
  })
})
