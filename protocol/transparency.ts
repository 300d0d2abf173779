/**
 * Transparency: every request for assistance (RFA) made in an area, from the public record
 * relays keep (agency.ts RFA_RECORD_MS), and how many public replies each received.
 *
 * Wire (`/porchlight/transparency/1`: one ask, then answer pages on the same stream until one
 * says no more, at most MAX_TRANSPARENCY_PAGES):
 *   ask  'pl/transparency-ask' v1 { area: geohash 1..6 } (at most 64 bytes)
 *   page 'pl/transparency' v1 { area, rfas: [{ rfa: RFA bytes (1..MAX_RFA_BYTES), r: replies }]
 *        (0..MAX_RFAS_PER_PAGE), more: bool } (at most MAX_FRAME_BYTES), newest first
 *   The answer carries each RFA's own signed bytes: the asker verifies them itself
 *   (openRfaRecord) and learns from the relay only the reply counts. An area the relay does
 *   not serve is answered with a 'pl/result' refusal (NOT_FOUND).
 *
 * What either side learns: the relay learns which area someone asked about (no identity is
 * involved); the asker learns only what the RFAs publicly carry and a count of the public
 * replies the relay holds (public posts whose replyTo names the RFA).
 *
 * The JSON view (TransparencyReport) is one shape for `porchlight transparency --json`, the
 * relay's HTTP `GET /transparency?area=…` and the web page.
 */
import { fail } from './errors.ts'
import { decodeStruct, encodeStruct, toHex, type StructSpec } from './encoding.ts'
import { attestationCovers, MAX_RFA_BYTES, type OpenedRfa } from './agency.ts'
import { checkGeohash, MAX_AREA_FIELD_BYTES, MAX_AREA_PRECISION } from './geohash.ts'
import { fingerprint } from './identity.ts'
import { MAX_FRAME_BYTES } from './wire.ts'

export const TRANSPARENCY_PROTOCOL = '/porchlight/transparency/1'
/** RFAs in one answer page: MAX_RFAS_PER_PAGE full-size RFAs fit one frame. */
export const MAX_RFAS_PER_PAGE = 24
/** The highest reply count a page may state. */
export const MAX_REPLY_COUNT = 2 ** 32
/**
 * RFAs a relay keeps on the record per area topic, and per agency key in one area topic
 * (within RFA_RECORD_MS): past them the relay refuses new RFAs (OVER_QUOTA) rather than carry
 * requests that are not on its record.
 */
export const MAX_RFA_RECORDS_PER_AREA = 4096
export const MAX_RFA_RECORDS_PER_AGENCY = 1024
/** Pages an asker reads from one relay at most: the whole record of an area, with room. */
export const MAX_TRANSPARENCY_PAGES = Math.ceil(2 * MAX_RFA_RECORDS_PER_AREA / MAX_RFAS_PER_PAGE)

export const MAX_ASK_BYTES = 64
const ASK: StructSpec = { domain: 'pl/transparency-ask', version: 1, required: ['area'], maxBytes: MAX_ASK_BYTES }
const PAGE: StructSpec = { domain: 'pl/transparency', version: 1, required: ['area', 'rfas', 'more'], maxBytes: MAX_FRAME_BYTES }

export interface TransparencyAsk { area: string }

export interface TransparencyPage {
  area: string
  rfas: Array<{ bytes: Uint8Array, replies: number }>
  /** Another page follows on the stream. */
  more: boolean
}

export function encodeTransparencyAsk (ask: TransparencyAsk): Uint8Array {
  checkGeohash(ask.area, MAX_AREA_PRECISION, 'area')
  return encodeStruct(ASK, { area: ask.area })
}

export function decodeTransparencyAsk (bytes: Uint8Array): TransparencyAsk {
  const f = decodeStruct(ASK, bytes)
  return { area: checkGeohash(f.string('area', MAX_AREA_FIELD_BYTES, 1), MAX_AREA_PRECISION, 'area') }
}

export function encodeTransparencyPage (page: TransparencyPage): Uint8Array {
  checkGeohash(page.area, MAX_AREA_PRECISION, 'area')
  if (page.rfas.length > MAX_RFAS_PER_PAGE) fail('TOO_LARGE', `at most ${MAX_RFAS_PER_PAGE} requests a page`)
  return encodeStruct(PAGE, { area: page.area, rfas: page.rfas.map(r => ({ rfa: r.bytes, r: Math.min(r.replies, MAX_REPLY_COUNT) })), more: page.more })
}

export function decodeTransparencyPage (bytes: Uint8Array): TransparencyPage {
  const f = decodeStruct(PAGE, bytes)
  const area = checkGeohash(f.string('area', MAX_AREA_FIELD_BYTES, 1), MAX_AREA_PRECISION, 'area')
  const rfas = f.array('rfas', MAX_RFAS_PER_PAGE, item => {
    const r = item.record(['rfa', 'r'])
    return { bytes: r.bytes('rfa', { min: 1, max: MAX_RFA_BYTES }), replies: r.uint('r', MAX_REPLY_COUNT) }
  })
  return { area, rfas, more: f.bool('more') }
}

// ---- the JSON view ----

/** One attestation an RFA carried, as it says: who vouched (the admin key's fingerprint) for what. */
export interface Voucher {
  /** Fingerprint of the vouching admin's signing key. */
  admin: string
  /** The name the admin vouched for. */
  name: string
  /** The area the attestation covers. */
  area: string
  expires: number
}

export interface TransparencyRfa {
  /** RFA id (hex SHA-256 of its bytes). */
  id: string
  /** The agency identity's own name. */
  agency: string
  /** Fingerprint of the agency's signing key. */
  fingerprint: string
  /** The attestations the RFA carried that cover its area; empty = unverified. */
  vouchedBy: Voucher[]
  created: number
  text: string
  /** Public replies (public posts with replyTo = id) the relays asked hold. */
  publicReplies: number
}

export interface TransparencyReport { area: string, rfas: TransparencyRfa[] }

/** The view of one verified RFA (only what it publicly carries) with its reply count. */
export function transparencyRfa (rfa: OpenedRfa, publicReplies: number): TransparencyRfa {
  return {
    id: toHex(rfa.id),
    agency: rfa.agency.name,
    fingerprint: fingerprint(rfa.agency.signKey),
    vouchedBy: rfa.attestations.filter(a => attestationCovers(a, rfa.area))
      .map(a => ({ admin: fingerprint(a.hoodAdmin), name: a.name, area: a.area, expires: a.expires })),
    created: rfa.post.created,
    text: rfa.post.text,
    publicReplies
  }
}

/** Newest first, then by id: the order of every report. */
export function byNewest (a: TransparencyRfa, b: TransparencyRfa): number {
  return b.created - a.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** Do two areas overlap (one is a prefix of the other)? A report for an area includes RFAs of overlapping areas. */
export function areasOverlap (a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a)
}

/** The RFAs of one agency key in a report, with every attestation its requests carried. */
export interface AgencyGroup {
  fingerprint: string
  /** The agency's own name (as its newest request states it). */
  agency: string
  /** Distinct vouchers (by admin and vouched name) across its requests. */
  vouchedBy: Voucher[]
  rfas: TransparencyRfa[]
  publicReplies: number
}

/** Groups a report's RFAs by agency key, most requests first (then by name). */
export function groupByAgency (rfas: readonly TransparencyRfa[]): AgencyGroup[] {
  const groups = new Map<string, AgencyGroup>()
  for (const r of [...rfas].sort(byNewest)) {
    let g = groups.get(r.fingerprint)
    if (g === undefined) {
      g = { fingerprint: r.fingerprint, agency: r.agency, vouchedBy: [], rfas: [], publicReplies: 0 }
      groups.set(r.fingerprint, g)
    }
    g.rfas.push(r)
    g.publicReplies += r.publicReplies
    for (const v of r.vouchedBy) {
      const same = g.vouchedBy.find(x => x.admin === v.admin && x.name === v.name && x.area === v.area)
      if (same === undefined) g.vouchedBy.push({ ...v })
      else same.expires = Math.max(same.expires, v.expires)
    }
  }
  return [...groups.values()].sort((a, b) => b.rfas.length - a.rfas.length || a.agency.localeCompare(b.agency) || a.fingerprint.localeCompare(b.fingerprint))
}

/** 'YYYY-MM' (UTC) of a time. */
export function monthOf (ms: number): string {
  return new Date(ms).toISOString().slice(0, 7)
}

/**
 * Requests per month (UTC), oldest first, every month from the first request to the last
 * (months without requests count 0, so a chart does not hide quiet months).
 */
export function countsByMonth (rfas: readonly TransparencyRfa[]): Array<{ month: string, count: number }> {
  if (rfas.length === 0) return []
  const counts = new Map<string, number>()
  for (const r of rfas) counts.set(monthOf(r.created), (counts.get(monthOf(r.created)) ?? 0) + 1)
  const months = [...counts.keys()].sort()
  const out: Array<{ month: string, count: number }> = []
  let [y, m] = months[0]!.split('-').map(Number) as [number, number]
  const last = months[months.length - 1]!
  for (;;) {
    const key = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}`
    out.push({ month: key, count: counts.get(key) ?? 0 })
    if (key >= last) break
    m++
    if (m > 12) { m = 1; y++ }
  }
  return out
}

/**
 * Merges what several relays answered: one entry per RFA id, with the highest reply count any
 * relay gave (relays of one area mirror each other, so counts overlap: a sum would count a
 * reply once per relay). Newest first.
 */
export function mergeReports (area: string, answers: ReadonlyArray<readonly TransparencyRfa[]>): TransparencyReport {
  const byId = new Map<string, TransparencyRfa>()
  for (const list of answers) {
    for (const r of list) {
      const known = byId.get(r.id)
      if (known === undefined) byId.set(r.id, { ...r })
      else known.publicReplies = Math.max(known.publicReplies, r.publicReplies)
    }
  }
  return { area, rfas: [...byId.values()].sort(byNewest) }
}
