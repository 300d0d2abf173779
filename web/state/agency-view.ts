/**
 * What agency mode says, outside the components (tested without a browser): the public
 * identity and attestation strings as the CLI prints them, a request's text with its time
 * window and case reference, and the labels of agency items in the agency's own feed.
 *
 * A request ('pl/rfa' v1, protocol/agency.ts) carries a post's text and nothing more: no time
 * window, no case reference. Rather than a new format every resident's client would have to
 * learn, they travel in the text, in fixed lines after what is asked, which any client shows
 * as written and this one reads back (readRfaText):
 *
 *   Anyone with a doorbell camera on Maple, please check.
 *
 *   Time window: 2025-05-01 18:00 to 2025-05-01 22:00 (UTC+02:00)
 *   Case reference: 24-001234
 */
import { fail } from '../../protocol/errors.ts'
import { ATTESTATION_PREFIX } from '../../protocol/public-strings.ts'
import { fromHex, toBase64Url, utf8Bytes } from '../../protocol/encoding.ts'
import { checkGeohash, MAX_AREA_PRECISION } from '../../protocol/geohash.ts'
import { fingerprint } from '../../protocol/identity.ts'
import { MAX_TEXT_BYTES } from '../../protocol/post.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'

/** A case reference: one line, at most this many characters. */
export const MAX_CASE_REF_CHARS = 64

export const WINDOW_LINE = 'Time window: '
export const CASE_LINE = 'Case reference: '

// The CLI's plid:/plattest: strings are protocol/public-strings.ts's (formatPublicIdentity, parseAttestationString).

/** A followed area as typed: trimmed, lower case, a geohash of 1..6 characters (BAD_GEOHASH). */
export function readArea (text: string): string {
  return checkGeohash(text.trim().toLowerCase(), MAX_AREA_PRECISION, 'area')
}

export interface RfaDraft {
  /** What is asked of residents. */
  ask: string
  /** The time window (ms); both or neither. */
  from?: number
  to?: number
  caseRef?: string
}

function pad (n: number): string { return String(n).padStart(2, '0') }

/** "2025-05-01 18:00" in the zone `offsetMin` minutes east of UTC. */
function localStamp (ms: number, offsetMin: number): string {
  const d = new Date(ms + offsetMin * 60_000)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

/** "UTC+02:00", "UTC-05:30", "UTC". */
function zoneWords (offsetMin: number): string {
  if (offsetMin === 0) return 'UTC'
  const a = Math.abs(offsetMin)
  return `UTC${offsetMin > 0 ? '+' : '-'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`
}

/** The minutes east of UTC of this device's zone at `ms`. */
export function deviceOffset (ms: number): number {
  return -new Date(ms).getTimezoneOffset()
}

/** "2025-05-01 18:00 to 2025-05-01 22:00 (UTC+02:00)": unambiguous wherever it is read. */
export function windowWords (from: number, to: number, offsetMin = deviceOffset(from)): string {
  return `${localStamp(from, offsetMin)} to ${localStamp(to, offsetMin)} (${zoneWords(offsetMin)})`
}

/**
 * The request's text: what is asked, then the time window and the case reference on fixed
 * lines. BAD_ARGUMENT for an empty ask, a window that ends before it starts, a case reference
 * of more than one line or MAX_CASE_REF_CHARS; TOO_LARGE past the post's MAX_TEXT_BYTES.
 */
export function rfaText (d: RfaDraft, offsetMin?: number): string {
  const ask = d.ask.trim()
  if (ask === '') fail('BAD_ARGUMENT', 'say what you are asking residents for')
  const lines = [ask]
  const extra: string[] = []
  if ((d.from === undefined) !== (d.to === undefined)) fail('BAD_ARGUMENT', 'give the time window\'s start and end, or neither')
  if (d.from !== undefined && d.to !== undefined) {
    if (!Number.isFinite(d.from) || !Number.isFinite(d.to)) fail('BAD_ARGUMENT', 'the time window is not a time')
    if (d.to <= d.from) fail('BAD_ARGUMENT', 'the time window ends before it starts')
    extra.push(WINDOW_LINE + windowWords(d.from, d.to, offsetMin ?? deviceOffset(d.from)))
  }
  const ref = d.caseRef?.trim() ?? ''
  if (ref !== '') {
    if (/[\r\n\p{Cc}]/u.test(ref)) fail('BAD_ARGUMENT', 'a case reference is one line')
    if ([...ref].length > MAX_CASE_REF_CHARS) fail('BAD_ARGUMENT', `a case reference is at most ${MAX_CASE_REF_CHARS} characters`)
    extra.push(CASE_LINE + ref)
  }
  const text = extra.length > 0 ? `${lines.join('\n')}\n\n${extra.join('\n')}` : ask
  if (utf8Bytes(text).length > MAX_TEXT_BYTES) fail('TOO_LARGE', `the request is longer than ${MAX_TEXT_BYTES} bytes`)
  return text
}

/** A request's text read back: what is asked, and the window and case reference when its last lines carry them. */
export function readRfaText (text: string): { ask: string, window?: string, caseRef?: string } {
  const lines = text.split('\n')
  let window: string | undefined
  let caseRef: string | undefined
  while (lines.length > 0) {
    const last = lines[lines.length - 1]!
    if (caseRef === undefined && window === undefined && last.startsWith(CASE_LINE)) caseRef = last.slice(CASE_LINE.length)
    else if (window === undefined && last.startsWith(WINDOW_LINE)) window = last.slice(WINDOW_LINE.length)
    else break
    lines.pop()
  }
  if (window === undefined && caseRef === undefined) return { ask: text }
  return { ask: lines.join('\n').trimEnd(), ...(window !== undefined ? { window } : {}), ...(caseRef !== undefined ? { caseRef } : {}) }
}

export interface AgencyLabel {
  /** Who posted it, as shown. */
  author: string
  /** For agency requests: who vouched, or that none did (never "police"). */
  trust?: { text: string, tone: 'caution' | 'unverified' }
}

/**
 * Fingerprints of the admins whose attestation a request carried, naming the agency as it
 * signs and unexpired at `now`. The engine checked each one's signature and area on arrival;
 * whether those admins are anyone's admins is for the residents' clients to judge (vouchedBy).
 */
export function attestedBy (p: FeedPost, now: number): string[] {
  const out: string[] = []
  for (const a of p.attestations ?? []) {
    if (a.expires <= now || a.name !== p.authorName) continue
    const fp = fingerprint(fromHex(a.admin))
    if (!out.includes(fp)) out.push(fp)
  }
  return out
}

/** How the agency's feed labels a post: requests (its own and other agencies') with who vouched; public posts by their area pseudonym. */
export function agencyLabel (p: FeedPost, now: number): AgencyLabel {
  if (p.channel === 'rfa') {
    const by = attestedBy(p, now)
    const who = p.mine ? 'your agency' : `agency ${p.authorName ?? '?'} (${p.authorFingerprint})`
    const trust = by.length > 0
      // An agency belongs to no neighborhood: it cannot tell a real admin's key from one made up
      // for the purpose, so it says what the request carries, never "verified".
      ? { text: `Attested by admin key${by.length === 1 ? '' : 's'} ${by.join(', ')} (not checked here: residents check it against their own admins)`, tone: 'caution' as const }
      : { text: p.mine
          ? 'Unverified: no admin attestation attached, residents see this request as from an unverified agency'
          : 'Unverified agency: no admin vouched for it', tone: 'unverified' as const }
    return { author: who, trust }
  }
  return { author: `neighbor #${p.author.slice(0, 6)}${p.authorName !== undefined ? ` (${p.authorName})` : ''}` }
}

/** One line on a reply's request: its case reference and what it asked, or its short id if not held here. */
export function requestWords (rfaId: string, requests: readonly FeedPost[]): string {
  const r = requests.find(p => p.id === rfaId)
  if (r === undefined) return `request ${rfaId.slice(0, 16)}`
  const t = readRfaText(r.text)
  const ask = t.ask.length > 80 ? `${t.ask.slice(0, 79)}…` : t.ask
  return `${t.caseRef !== undefined ? `case ${t.caseRef}: ` : ''}“${ask}”`
}

/** An attestation as handed over, shortened for a list: "plattest:AbCd…wXyZ". */
export function formatAttestationShort (bytes: Uint8Array): string {
  const s = toBase64Url(bytes)
  return `${ATTESTATION_PREFIX}${s.slice(0, 8)}…${s.slice(-6)}`
}

/** The connection line of agency mode. */
export function agencyStatusText (c: 'offline' | 'connecting' | 'connected', relays: number, areas: number): string {
  if (c === 'connected') return `Connected to ${relays} relay${relays === 1 ? '' : 's'}`
  if (c === 'connecting') return 'Connecting to the relay…'
  return areas === 0 ? 'Offline: follow an area to connect' : 'Offline'
}
