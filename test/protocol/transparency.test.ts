// Transparency: the /porchlight/transparency/1 frames are strict and bounded, RFAs read from the
// public record verify as of their creation for a year, and the report views (by agency, per
// month, merged across relays) say only what the RFAs carry.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { applyEdits, byteEdits, outcomeSync, rejection, rejectionSync } from '../helpers/protocol-fixtures.ts'
import { encodeCbor, toHex } from '../../protocol/encoding.ts'
import { createAttestation, MAX_RFA_BYTES, openRfa, openRfaRecord, RFA_RECORD_MS, sealRfa } from '../../protocol/agency.ts'
import { createIdentity, fingerprint } from '../../protocol/identity.ts'
import { publicPostReplyTo, sealPublicPost } from '../../protocol/public-post.ts'
import { createPost } from '../../protocol/post.ts'
import {
  countsByMonth, decodeTransparencyAsk, decodeTransparencyPage, encodeTransparencyAsk, encodeTransparencyPage, groupByAgency, mergeReports,
  MAX_RFAS_PER_PAGE, transparencyRfa, type TransparencyRfa
} from '../../protocol/transparency.ts'
import { MAX_FRAME_BYTES } from '../../protocol/wire.ts'

const NOW = 1_760_000_000_000
const HOUR = 3600_000
const AREA = 'u4pruy'

describe('transparency ask', () => {
  it('round-trips every valid area and refuses anything else with a typed error', () => {
    fc.assert(fc.property(fc.stringMatching(/^[0-9bcdefghjkmnpqrstuvwxyz]{1,6}$/), (area) => {
      expect(decodeTransparencyAsk(encodeTransparencyAsk({ area }))).toEqual({ area })
    }), { numRuns: runs(100) })
    const raw = (fields: Record<string, unknown>): Uint8Array => encodeCbor({ t: 'pl/transparency-ask', v: 1, area: AREA, ...fields } as never)
    expect(outcomeSync(() => decodeTransparencyAsk(raw({})), 'OK')).toBe('OK')
    expect(rejectionSync(() => decodeTransparencyAsk(raw({ area: 'u4pr!' })))).toBe('BAD_GEOHASH')
    expect(rejectionSync(() => decodeTransparencyAsk(raw({ area: 'u4pruyz' })))).not.toBe('OK')
    expect(rejectionSync(() => decodeTransparencyAsk(raw({ extra: 1 })))).toBe('EXTRA_FIELD')
    expect(rejectionSync(() => decodeTransparencyAsk(raw({ v: 2 })))).toBe('BAD_VERSION')
    expect(rejectionSync(() => decodeTransparencyAsk(raw({ area: 7 })))).toBe('WRONG_TYPE')
    expect(rejectionSync(() => decodeTransparencyAsk(new Uint8Array(65)))).not.toBe('OK')
    expect(rejectionSync(() => encodeTransparencyAsk({ area: 'U4PR' }))).toBe('BAD_GEOHASH')
  })

  it('any byte edits are decoded to a valid ask or refused with a PorchlightError', () => {
    const bytes = encodeTransparencyAsk({ area: AREA })
    fc.assert(fc.property(byteEdits(), (edits) => {
      const code = outcomeSync(() => decodeTransparencyAsk(applyEdits(bytes, edits)), 'OK')
      expect(typeof code).toBe('string')
    }), { numRuns: runs(300) })
  })
})

describe('transparency page', () => {
  it('round-trips, holds MAX_RFAS_PER_PAGE full-size RFAs in one frame, and refuses more', () => {
    const page = { area: AREA, rfas: [{ bytes: new Uint8Array([1, 2, 3]), replies: 5 }], more: true }
    expect(decodeTransparencyPage(encodeTransparencyPage(page))).toEqual(page)
    const full = { area: AREA, rfas: Array.from({ length: MAX_RFAS_PER_PAGE }, () => ({ bytes: new Uint8Array(MAX_RFA_BYTES), replies: 2 ** 32 })), more: false }
    const bytes = encodeTransparencyPage(full)
    expect(bytes.length).toBeLessThanOrEqual(MAX_FRAME_BYTES)
    expect(decodeTransparencyPage(bytes).rfas).toHaveLength(MAX_RFAS_PER_PAGE)
    expect(rejectionSync(() => encodeTransparencyPage({ ...full, rfas: [...full.rfas, full.rfas[0]!] }))).toBe('TOO_LARGE')
    const raw = (fields: Record<string, unknown>): Uint8Array => encodeCbor({ t: 'pl/transparency', v: 1, area: AREA, rfas: [], more: false, ...fields } as never)
    expect(rejectionSync(() => decodeTransparencyPage(raw({ rfas: [{ rfa: new Uint8Array(MAX_RFA_BYTES + 1), r: 0 }] })))).toBe('TOO_LARGE')
    expect(rejectionSync(() => decodeTransparencyPage(raw({ rfas: [{ rfa: new Uint8Array(0), r: 0 }] })))).toBe('BAD_LENGTH')
    expect(rejectionSync(() => decodeTransparencyPage(raw({ rfas: [{ rfa: new Uint8Array(1), r: -1 }] })))).not.toBe('OK')
    expect(rejectionSync(() => decodeTransparencyPage(raw({ rfas: [{ rfa: new Uint8Array(1), r: 2 ** 32 + 1 }] })))).toBe('OUT_OF_RANGE')
    expect(rejectionSync(() => decodeTransparencyPage(raw({ rfas: [{ rfa: new Uint8Array(1), r: 0, x: 1 }] })))).toBe('EXTRA_FIELD')
    expect(rejectionSync(() => decodeTransparencyPage(raw({ more: 1 })))).toBe('WRONG_TYPE')
    expect(rejectionSync(() => decodeTransparencyPage(raw({ area: 'a b' })))).toBe('BAD_GEOHASH')
  })

  it('any byte edits are decoded to a bounded page or refused with a PorchlightError', () => {
    const bytes = encodeTransparencyPage({ area: AREA, rfas: [{ bytes: new Uint8Array(40).fill(7), replies: 3 }, { bytes: new Uint8Array([9]), replies: 0 }], more: true })
    fc.assert(fc.property(byteEdits(), (edits) => {
      let page
      try {
        page = decodeTransparencyPage(applyEdits(bytes, edits))
      } catch (err) {
        expect((err as { code?: unknown }).code).toBeTypeOf('string')
        return
      }
      expect(page.rfas.length).toBeLessThanOrEqual(MAX_RFAS_PER_PAGE)
      for (const r of page.rfas) {
        expect(r.bytes.length).toBeGreaterThan(0)
        expect(r.bytes.length).toBeLessThanOrEqual(MAX_RFA_BYTES)
        expect(Number.isSafeInteger(r.replies) && r.replies >= 0).toBe(true)
      }
    }), { numRuns: runs(300) })
  })
})

describe('RFAs on the public record', () => {
  it('verify as of their creation after they expire, until a year has passed; never from the future', async () => {
    const agency = await createIdentity('Riverside Fire')
    const { bytes, id } = await sealRfa(agency, AREA, 'Smoke near the school?', NOW, HOUR)
    expect(await rejection(() => openRfa(bytes, NOW + 2 * HOUR))).toBe('EXPIRED')
    expect(toHex((await openRfaRecord(bytes, NOW + 2 * HOUR)).id)).toBe(toHex(id))
    expect((await openRfaRecord(bytes, NOW + RFA_RECORD_MS - 1)).post.text).toBe('Smoke near the school?')
    expect(await rejection(() => openRfaRecord(bytes, NOW + RFA_RECORD_MS))).toBe('EXPIRED')
    expect(await rejection(() => openRfaRecord(bytes, NOW - 10 * 60_000))).toBe('FUTURE_DATED')
  })

  it('one flipped bit anywhere is refused', async () => {
    const agency = await createIdentity('Riverside Fire')
    const { bytes } = await sealRfa(agency, AREA, 'Smoke near the school?', NOW, HOUR)
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), async (bit) => {
      const b = Uint8Array.from(bytes)
      b[bit >> 3]! ^= 1 << (bit & 7)
      expect(typeof await rejection(() => openRfaRecord(b, NOW + 2 * HOUR))).toBe('string')
    }), { numRuns: runs(60) })
  })

  it('public replies name the RFA they answer (read strictly, without the clock)', async () => {
    const author = await createIdentity('Ana')
    const rfaId = new Uint8Array(32).fill(5)
    const reply = await sealPublicPost(author, AREA, createPost({ kind: 'reply', text: 'I saw it', now: NOW, replyTo: rfaId }), { powBits: 1 })
    expect(publicPostReplyTo(reply.bytes)).toEqual(rfaId)
    const plain = await sealPublicPost(author, AREA, createPost({ kind: 'info', text: 'Hello', now: NOW }), { powBits: 1 })
    expect(publicPostReplyTo(plain.bytes)).toBeUndefined()
    fc.assert(fc.property(byteEdits(), (edits) => {
      expect(typeof outcomeSync(() => publicPostReplyTo(applyEdits(reply.bytes, edits)), 'OK')).toBe('string')
    }), { numRuns: runs(200) })
  })
})

describe('the report views', () => {
  it('say who vouched as the attestations say, group by agency, count per month with quiet months, merge relays without double counting', async () => {
    const admin = await createIdentity('Ana')
    const fire = await createIdentity('Riverside Fire')
    const pd = await createIdentity('City PD')
    const att = await createAttestation(admin, fire.public, 'u4pr', NOW - HOUR)
    const elsewhere = await createAttestation(admin, fire.public, 'ezs4', NOW - HOUR)
    const jan = Date.UTC(2025, 0, 15)
    const mar = Date.UTC(2025, 2, 2)
    const fireRfa = await openRfa((await sealRfa(fire, AREA, 'Smoke?', NOW, HOUR, { attestations: [att, elsewhere] })).bytes, NOW)
    const view = transparencyRfa(fireRfa, 2)
    expect(view).toMatchObject({ agency: 'Riverside Fire', fingerprint: fingerprint(fire.public.signKey), publicReplies: 2, text: 'Smoke?' })
    // Only the attestation covering the request's area counts.
    expect(view.vouchedBy).toEqual([{ admin: fingerprint(admin.public.signKey), name: 'Riverside Fire', area: 'u4pr', expires: NOW - HOUR + 180 * 24 * HOUR }])
    const pdView = transparencyRfa(await openRfa((await sealRfa(pd, AREA, 'Footage?', NOW, HOUR)).bytes, NOW), 0)
    expect(pdView.vouchedBy).toEqual([])

    const at = (v: TransparencyRfa, created: number, id: string): TransparencyRfa => ({ ...v, created, id })
    const list = [at(view, jan, 'a'), at(view, mar, 'b'), at(pdView, mar + 1, 'c')]
    expect(countsByMonth(list)).toEqual([{ month: '2025-01', count: 1 }, { month: '2025-02', count: 0 }, { month: '2025-03', count: 2 }])
    expect(countsByMonth([])).toEqual([])
    expect(countsByMonth([at(view, Date.UTC(2024, 11, 31), 'x'), at(view, Date.UTC(2025, 0, 1), 'y')]).map(m => m.month)).toEqual(['2024-12', '2025-01'])
    const groups = groupByAgency(list)
    expect(groups.map(g => [g.agency, g.rfas.length, g.publicReplies, g.vouchedBy.length])).toEqual([['Riverside Fire', 2, 4, 1], ['City PD', 1, 0, 0]])

    const merged = mergeReports(AREA, [[at(view, jan, 'a')], [{ ...at(view, jan, 'a'), publicReplies: 5 }, at(pdView, mar, 'c')]])
    expect(merged.rfas.map(r => [r.id, r.publicReplies])).toEqual([['c', 0], ['a', 5]])
  })
})
