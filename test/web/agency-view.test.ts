// Agency mode's logic without a browser: a request's time window and case reference carried in
// its text on fixed lines (and read back), the refusals of a bad draft, the labels of agency
// items in the agency's own feed (who vouched, or unverified: never "police"), the identity
// and attestation strings as the CLI prints them, and making an agency identity in a home.
import { describe, expect, it } from 'vitest'
import { createAttestation, verifyAttestation } from '../../protocol/agency.ts'
import { toHex } from '../../protocol/encoding.ts'
import { createIdentity, decodePublicIdentity, fingerprint } from '../../protocol/identity.ts'
import { fromBase64Url } from '../../protocol/encoding.ts'
import type { AgencyState } from '../../protocol/hood-state.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import {
  agencyLabel, agencyStatusText, readArea, readRfaText, requestWords, rfaText, windowWords
} from '../../web/state/agency-view.ts'
import { ATTESTATION_PREFIX, formatPublicIdentity, parseAttestationString } from '../../protocol/public-strings.ts'
import { createAgencyIdentity } from '../../web/state/agency-identity.ts'
import { toBase64Url } from '../../protocol/encoding.ts'

const FROM = Date.UTC(2025, 4, 1, 16, 0)
const TO = Date.UTC(2025, 4, 1, 20, 0)

function rfa (over: Partial<FeedPost> = {}): FeedPost {
  return {
    id: 'ab'.repeat(32), channel: 'rfa', topic: 't', area: 'u4pru', kind: 'rfa', text: 'Seen a grey van?', created: FROM, expires: TO + 1e9,
    media: [], author: 'cd'.repeat(32), authorName: 'City PD', authorFingerprint: 'AAAA-BBBB', mine: false, ...over
  }
}

describe('a request\'s text', () => {
  it('carries the time window (with its zone) and the case reference on fixed lines, and reads back', () => {
    const text = rfaText({ ask: '  Anyone with a doorbell camera on Maple, please check.  ', from: FROM, to: TO, caseRef: ' 24-001234 ' }, 120)
    expect(text).toBe('Anyone with a doorbell camera on Maple, please check.\n\nTime window: 2025-05-01 18:00 to 2025-05-01 22:00 (UTC+02:00)\nCase reference: 24-001234')
    expect(readRfaText(text)).toEqual({ ask: 'Anyone with a doorbell camera on Maple, please check.', window: '2025-05-01 18:00 to 2025-05-01 22:00 (UTC+02:00)', caseRef: '24-001234' })
    expect(windowWords(FROM, TO, 0)).toBe('2025-05-01 16:00 to 2025-05-01 20:00 (UTC)')
    expect(windowWords(FROM, TO, -330)).toBe('2025-05-01 10:30 to 2025-05-01 14:30 (UTC-05:30)')
  })

  it('leaves out what was not given; a plain text (a CLI request) reads back as it is', () => {
    expect(rfaText({ ask: 'Lost dog near the park' })).toBe('Lost dog near the park')
    expect(rfaText({ ask: 'x', caseRef: 'C-1' })).toBe('x\n\nCase reference: C-1')
    expect(readRfaText('x\n\nCase reference: C-1')).toEqual({ ask: 'x', caseRef: 'C-1' })
    expect(readRfaText('Anyone see a grey van on Maple last night?')).toEqual({ ask: 'Anyone see a grey van on Maple last night?' })
    // A case line in the middle of the text is just text.
    expect(readRfaText('Case reference: 1\nmore')).toEqual({ ask: 'Case reference: 1\nmore' })
  })

  it('refuses an empty ask, half a window, a window that ends first, a long or multi-line case reference, a text too long', () => {
    const code = (f: () => unknown): string | undefined => { try { f(); return undefined } catch (e) { return (e as { code?: string }).code } }
    expect(code(() => rfaText({ ask: '  ' }))).toBe('BAD_ARGUMENT')
    expect(code(() => rfaText({ ask: 'x', from: FROM }))).toBe('BAD_ARGUMENT')
    expect(code(() => rfaText({ ask: 'x', from: TO, to: FROM }))).toBe('BAD_ARGUMENT')
    expect(code(() => rfaText({ ask: 'x', caseRef: 'a\nb' }))).toBe('BAD_ARGUMENT')
    expect(code(() => rfaText({ ask: 'x', caseRef: 'c'.repeat(65) }))).toBe('BAD_ARGUMENT')
    expect(code(() => rfaText({ ask: 'é'.repeat(1001) }))).toBe('TOO_LARGE')
  })
})

describe('agency items in the agency\'s feed', () => {
  it('names who vouched (unexpired attestations naming the agency as it signs), else says unverified; never police', () => {
    const admin = 'ef'.repeat(32)
    const fp = fingerprint(Uint8Array.from(Buffer.from(admin, 'hex')))
    const att = { admin, id: '00', expires: TO + 1e9, name: 'City PD' }
    expect(agencyLabel(rfa({ attestations: [att] }), FROM)).toEqual({ author: 'agency City PD (AAAA-BBBB)', trust: { text: `Attested by admin key ${fp} (not checked here: residents check it against their own admins)`, tone: 'caution' } })
    // Expired, or for another name: not counted.
    expect(agencyLabel(rfa({ attestations: [{ ...att, expires: FROM }] }), FROM).trust?.tone).toBe('unverified')
    expect(agencyLabel(rfa({ attestations: [{ ...att, name: 'City Police' }] }), FROM).trust).toEqual({ text: 'Unverified agency: no admin vouched for it', tone: 'unverified' })
    expect(agencyLabel(rfa({ mine: true }), FROM)).toMatchObject({ author: 'your agency', trust: { tone: 'unverified' } })
    for (const p of [rfa(), rfa({ attestations: [att] }), rfa({ mine: true })]) expect(JSON.stringify(agencyLabel(p, FROM))).not.toMatch(/police/i)
    // A public post: its area pseudonym, no trust label.
    expect(agencyLabel(rfa({ channel: 'public', kind: 'info', author: '0123456789'.repeat(6) + 'abcd', authorName: undefined }), FROM)).toEqual({ author: 'neighbor #012345' })
  })

  it('says which request a reply answers: its case reference and ask, or the short id of one not held here', () => {
    const r = rfa({ text: rfaText({ ask: 'Grey van?', caseRef: 'C-9' }) })
    expect(requestWords(r.id, [r])).toBe('case C-9: “Grey van?”')
    expect(requestWords('12'.repeat(32), [r])).toBe('request 1212121212121212')
    expect(agencyStatusText('offline', 0, 0)).toBe('Offline: follow an area to connect')
    expect(agencyStatusText('connected', 1, 1)).toBe('Connected to 1 relay')
  })
})

describe('identity and attestation strings, areas', () => {
  it('prints the public identity as the CLI does and reads an attestation an admin printed', async () => {
    const agency = await createIdentity('City PD')
    const admin = await createIdentity('Ann')
    const plid = formatPublicIdentity(agency.public)
    expect(plid).toMatch(/^plid:[A-Za-z0-9_-]+$/)
    expect(toHex((await decodePublicIdentity(fromBase64Url(plid.slice(5), 2000))).signKey)).toBe(toHex(agency.public.signKey))
    const bytes = await createAttestation(admin, agency.public, 'u4pru', Date.now())
    const read = parseAttestationString(`  ${ATTESTATION_PREFIX}${toBase64Url(bytes)}\n`)
    expect((await verifyAttestation(read, Date.now())).name).toBe('City PD')
    expect(() => parseAttestationString(toBase64Url(bytes))).toThrow(/starts with "plattest:"/)
    expect(readArea(' U4PRU ')).toBe('u4pru')
    expect(() => readArea('u4pruyd')).toThrow(/geohash/)
    expect(() => readArea('a')).toThrow(/geohash/)
  })

  it('an agency identity is made with its role first; a browser that has an identity already keeps it, without the role', async () => {
    let agency: AgencyState | undefined
    let saved = false
    const home = {
      agency: async () => agency,
      saveAgency: async (s: AgencyState) => { agency = s },
      clearAgency: async () => { agency = undefined },
      saveIdentity: async () => { if (saved) throw Object.assign(new Error('this browser already has an identity'), { code: 'REFUSED' }); saved = true }
    }
    const id = await createAgencyIdentity(home, ' City Fire ')
    expect(id.public.name).toBe('City Fire')
    expect(agency).toEqual({ areas: [] })
    agency = undefined
    await expect(createAgencyIdentity(home, 'Other')).rejects.toThrow(/already has an identity/)
    expect(agency).toBeUndefined()
  })
})
