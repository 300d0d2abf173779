// Join and leave announcements (protocol/membership.ts), carried inside a real private
// envelope; and the membership vector file (test/vectors/membership.json), which must be
// reproduced byte for byte by the generator under both crypto providers and open with the
// consumers of every structure in it.
import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { type CryptoProvider, nobleProvider, randomBytes, setCrypto, webCryptoProvider } from '../../protocol/crypto.ts'
import { encodeStruct, equalBytes, fromHex, type StructSpec, toHex } from '../../protocol/encoding.ts'
import { createIdentity, encodePublicIdentity } from '../../protocol/identity.ts'
import { deriveEpochKeys, privateTopic } from '../../protocol/neighborhood.ts'
import { decodeEnvelope, innerDomain, openEnvelope, sealEnvelope } from '../../protocol/envelope.ts'
import {
  createJoin, createLeave, JOIN_DOMAIN, MAX_MEMBERSHIP_CLOCK_SKEW_MS, openAnnouncement, openJoin, openLeave
} from '../../protocol/membership.ts'
import { openSealed } from '../../protocol/seal.ts'
import { parseInvite } from '../../protocol/invite.ts'
import { parseRelayToken } from '../../protocol/relay-token.ts'
import { openRekey, relayNextTagKey } from '../../protocol/rekey.ts'
import { openReplyToAgency, openRfa, verifyAttestation } from '../../protocol/agency.ts'
import { fixture, generateMembership, type MembershipVectors } from '../vectors/generate-membership.ts'
import { applyEdits, byteEdits, codeOrAccepted as codeOf, flips, randomPrivateTopic } from '../helpers/protocol-fixtures.ts'

const NOW = 1_750_000_000_000
const cleo = await createIdentity('Cleo')
const ada = await createIdentity('Ada')
const topic = randomPrivateTopic()
const otherTopic = randomPrivateTopic()

describe('join', () => {
  it('roundtrips, with and without via', async () => {
    const j = await openJoin(await createJoin(cleo, topic, NOW), topic, NOW)
    expect(equalBytes(j.member.signKey, cleo.public.signKey)).toBe(true)
    expect(equalBytes(j.member.boxKey, cleo.public.boxKey)).toBe(true)
    expect(j.member.name).toBe('Cleo')
    expect(j.at).toBe(NOW)
    expect(j.via).toBeUndefined()
    const v = await openJoin(await createJoin(cleo, topic, NOW, { via: ada.public.signKey }), topic, NOW)
    expect(equalBytes(v.via!, ada.public.signKey)).toBe(true)
  })

  it('cannot be replayed into another neighborhood', async () => {
    const bytes = await createJoin(cleo, topic, NOW)
    expect(await codeOf(() => openJoin(bytes, otherTopic, NOW))).toBe('BAD_SIGNATURE')
  })

  it('future-dated beyond the skew is refused', async () => {
    const bytes = await createJoin(cleo, topic, NOW + MAX_MEMBERSHIP_CLOCK_SKEW_MS + 1)
    expect(await codeOf(() => openJoin(bytes, topic, NOW))).toBe('FUTURE_DATED')
    expect(await codeOf(() => openJoin(bytes, topic, NOW + 1))).toBe('accepted')
  })

  it('someone else cannot announce a join for me, nor add a via', async () => {
    const JOIN: StructSpec = { domain: 'pl/join', version: 1, required: ['m', 'at', 'sig'], optional: ['via'], maxBytes: 768 }
    const real = await createJoin(cleo, topic, NOW)
    const forgedSig = (await createJoin(ada, topic, NOW)).slice(-64)
    const forged = encodeStruct(JOIN, { m: encodePublicIdentity(cleo.public), at: NOW, sig: forgedSig })
    expect(await codeOf(() => openJoin(forged, topic, NOW))).toBe('BAD_SIGNATURE')
    const withVia = encodeStruct(JOIN, { m: encodePublicIdentity(cleo.public), at: NOW, via: ada.public.signKey, sig: real.slice(-64) })
    expect(await codeOf(() => openJoin(withVia, topic, NOW))).toBe('BAD_SIGNATURE')
  })

  it('every single-byte change is refused', async () => {
    const bytes = await createJoin(cleo, topic, NOW, { via: ada.public.signKey })
    for (const [, copy] of flips(bytes)) {
      expect(await codeOf(() => openJoin(copy, topic, NOW))).not.toBe('accepted')
    }
  })
})

describe('leave', () => {
  it('roundtrips; bound to the topic; signed by the leaver', async () => {
    const bytes = await createLeave(cleo, topic, NOW)
    const l = await openLeave(bytes, topic, NOW)
    expect(equalBytes(l.member, cleo.public.signKey)).toBe(true)
    expect(l.at).toBe(NOW)
    expect(await codeOf(() => openLeave(bytes, otherTopic, NOW))).toBe('BAD_SIGNATURE')
    const LEAVE: StructSpec = { domain: 'pl/leave', version: 1, required: ['m', 'at', 'sig'], maxBytes: 192 }
    const forged = encodeStruct(LEAVE, { m: cleo.public.signKey, at: NOW, sig: (await createLeave(ada, topic, NOW)).slice(-64) })
    expect(await codeOf(() => openLeave(forged, topic, NOW))).toBe('BAD_SIGNATURE')
  })
})

describe('announcements inside a private envelope', () => {
  it('seal a join and a leave, open them with the epoch keys, dispatch by domain', async () => {
    const keys = deriveEpochKeys(randomBytes(32), 0, randomBytes(32))
    for (const make of [createJoin, createLeave]) {
      const env = sealEnvelope(keys, topic, await make(cleo, topic, NOW))
      const decoded = decodeEnvelope(env)
      const inner = openEnvelope(decoded, keys, topic)
      const a = await openAnnouncement(inner, decoded.topic, NOW)
      expect(a.type).toBe(make === createJoin ? 'join' : 'leave')
      expect(innerDomain(inner)).toBe(make === createJoin ? JOIN_DOMAIN : 'pl/leave')
    }
    expect(await codeOf(() => openAnnouncement(encodeStruct({ domain: 'pl/other', version: 1, required: [], maxBytes: 64 }, {}), topic, NOW))).toBe('BAD_DOMAIN')
    const join = await createJoin(cleo, topic, NOW)
    expect(await codeOf(() => openJoin(join, 'not-a-topic', NOW))).toBe('BAD_ARGUMENT')
  })
})

describe('properties', () => {
  it('join and leave roundtrip for any name and time', async () => {
    await fc.assert(fc.asyncProperty(
      fc.stringMatching(/^[^\p{Cc}\s][^\p{Cc}]{0,30}[^\p{Cc}\s]$/u).filter(n => new TextEncoder().encode(n).length <= 64),
      fc.integer({ min: 0, max: 2 ** 47 }),
      async (name, at) => {
        const who = await createIdentity(name)
        const j = await openJoin(await createJoin(who, topic, at), topic, at)
        expect([j.member.name, j.at]).toEqual([name, at])
        const l = await openLeave(await createLeave(who, topic, at), topic, at)
        expect(equalBytes(l.member, who.public.signKey)).toBe(true)
      }
    ), { numRuns: 40 })
  })

  it('random mutations of join and leave bytes give only PorchlightError', async () => {
    const join = await createJoin(cleo, topic, NOW, { via: ada.public.signKey })
    const leave = await createLeave(cleo, topic, NOW)
    await fc.assert(fc.asyncProperty(
      fc.boolean(),
      byteEdits(),
      async (isJoin, edits) => {
        const original = isJoin ? join : leave
        const m = applyEdits(original, edits)
        const code = await codeOf(() => openAnnouncement(m, topic, NOW))
        if (equalBytes(m, original)) expect(code).toBe('accepted')
        else expect(code).not.toBe('accepted')
      }
    ), { numRuns: 300 })
  })
})

// ---- test/vectors/membership.json ----

const vectors = JSON.parse(readFileSync(new URL('../vectors/membership.json', import.meta.url), 'utf8')) as MembershipVectors
const providers: CryptoProvider[] = [nobleProvider, webCryptoProvider(globalThis.crypto.subtle)]

describe('membership vectors', () => {
  afterAll(() => { setCrypto(webCryptoProvider(globalThis.crypto.subtle)) })

  for (const provider of providers) {
    it(`the committed JSON is reproduced exactly (${provider.name})`, async () => {
      setCrypto(provider)
      expect(JSON.parse(JSON.stringify(await generateMembership()))).toEqual(vectors)
    })
  }

  it('every vector opens with its consumer, and every single-byte change of the byte vectors is refused', async () => {
    const { people, hood, epoch0 } = await fixture()
    const now = vectors.now
    expect(vectors.hood.topic).toBe(privateTopic(hood.id))

    for (const v of vectors.sealedBox) {
      expect(toHex(await openSealed(fromHex(v.recipientBoxSecret), fromHex(v.sealed), v.context))).toBe(v.plaintext)
    }
    for (const v of vectors.invite) {
      const inv = await parseInvite(v.invite, now)
      expect(inv.inviterRole).toBe(v.role)
      expect(toHex(inv.secret)).toBe(vectors.hood.secret)
      expect(v.invite.length).toBe(v.length)
      expect(v.length).toBeLessThan(1000)
    }
    for (const v of vectors.relayToken) {
      const t = parseRelayToken(v.token)
      expect(equalBytes(t.tagKey, epoch0.tagKey)).toBe(true)
      expect(t.area !== undefined).toBe(v.includeArea)
    }
    const join = await openJoin(fromHex(vectors.join.bytes), vectors.hood.topic, now)
    expect(join.member.name).toBe(vectors.join.member)
    const leave = await openLeave(fromHex(vectors.leave.bytes), vectors.hood.topic, now)
    expect(equalBytes(leave.member, people.Dev.public.signKey)).toBe(true)

    const rekey = fromHex(vectors.rekey.bytes)
    for (const name of vectors.rekey.remaining) {
      const k = await openRekey(rekey, people[name as 'Ada'], hood, epoch0)
      expect([k.epoch, toHex(k.contentKey), toHex(k.tagKey)]).toEqual([vectors.rekey.epoch, vectors.rekey.contentKey, vectors.rekey.tagKey])
    }
    expect(await codeOf(() => openRekey(rekey, people.Dev, hood, epoch0))).toBe('DECRYPT_FAILED')
    expect(toHex(relayNextTagKey(rekey, epoch0.tagKey).tagKey)).toBe(vectors.rekey.tagKey)

    const att = await verifyAttestation(fromHex(vectors.attestation.bytes), now)
    expect(att.name).toBe(vectors.attestation.agency)
    const rfa = await openRfa(fromHex(vectors.rfa.bytes), now)
    expect(rfa.post.text).toBe(vectors.rfa.text)
    expect(toHex(rfa.id)).toBe(vectors.rfa.id)
    expect(rfa.attestations.length).toBe(1)
    for (const v of vectors.agencyReply) {
      const r = await openReplyToAgency(people['Springfield PD'], fromHex(v.sealed), now)
      expect(r.post.text).toBe(v.text)
      expect(r.author?.name ?? null).toBe(v.author)
    }

    const checks: Array<[string, string, (b: Uint8Array) => Promise<unknown>]> = [
      ['sealed box', vectors.sealedBox[0]!.sealed, async b => openSealed(people.Ben.boxSecret, b, vectors.sealedBox[0]!.context)],
      ['join', vectors.join.bytes, async b => openJoin(b, vectors.hood.topic, now)],
      ['leave', vectors.leave.bytes, async b => openLeave(b, vectors.hood.topic, now)],
      ['rekey', vectors.rekey.bytes, async b => openRekey(b, people.Ben, hood, epoch0)],
      ['rekey (relay)', vectors.rekey.bytes, async b => relayNextTagKey(b, epoch0.tagKey)],
      ['attestation', vectors.attestation.bytes, async b => verifyAttestation(b, now)],
      ['rfa', vectors.rfa.bytes, async b => openRfa(b, now)],
      ['agency reply', vectors.agencyReply[1]!.sealed, async b => openReplyToAgency(people['Springfield PD'], b, now)]
    ]
    for (const [what, hex, open] of checks) {
      const bytes = fromHex(hex)
      expect(await codeOf(() => open(bytes)), what).toBe('accepted')
      for (const [i, copy] of flips(bytes)) {
        expect(await codeOf(() => open(copy)), `${what} byte ${i}`).not.toBe('accepted')
      }
    }
  })
})
