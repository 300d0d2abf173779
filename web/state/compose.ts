/**
 * The composer's logic, outside the component (pl-compose.ts): validating the text, the
 * fair-posting check's hold on it (protocol/fair-posting.ts, the one the CLI runs too), the
 * location's precision and how large the shared area is in words, what cleaning removed from
 * a photo or video said plainly, and who sees a post. Plain functions, tested in Node
 * (test/web/compose.test.ts) and in Chromium (test/browser/clips.test.ts).
 */
import { utf8Bytes } from '../../protocol/encoding.ts'
import { DEFAULT_TTL_MS, MAX_TEXT_BYTES, MAX_TTL_MS, type PostKind } from '../../protocol/post.ts'
import { checkFairPosting, FAIR_POSTING_KINDS, FAIR_POSTING_LIMITS, missingWords } from '../../protocol/fair-posting.ts'
import { encodeGeohash, geohashBounds, MAX_POST_PRECISION } from '../../protocol/geohash.ts'
import type { ClipPhase } from '../../protocol/peer/clip-flows.ts'

export { MAX_TEXT_BYTES, FAIR_POSTING_LIMITS }

/** What is wrong with the post's text, said plainly; undefined when it can be sent. */
export function textProblem (text: string): string | undefined {
  if (text.trim() === '') return 'Write what happened before sending.'
  const bytes = utf8Bytes(text.trim()).length
  if (bytes > MAX_TEXT_BYTES) return `Too long: ${bytes} bytes, a post holds at most ${MAX_TEXT_BYTES}. Shorten it by ${bytes - MAX_TEXT_BYTES}.`
  return undefined
}

// ------------------------------------------------------------------ fair posting

/** Why a post is held and what it lacks, as the composer shows them beside the text. */
export interface FairHold {
  /** "Say what the person did: …" */
  explanation: string
  /** "Missing: what the person did; 2 more details (clothing, hair, height, build, vehicle)." */
  missing: string
}

/** The fair-posting check's hold on a post; undefined when it may be sent. */
export function fairHold (kind: PostKind, text: string): FairHold | undefined {
  const v = checkFairPosting({ kind, text })
  return v.ok ? undefined : { explanation: v.explanation, missing: `Missing: ${missingWords(v)}.` }
}

/** Whether posts of this kind go through the check (the composer shows its help for them). */
export function fairPostingApplies (kind: PostKind): boolean {
  return FAIR_POSTING_KINDS.includes(kind)
}

// ------------------------------------------------------------------ expiry

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/** How long a post stays (the protocol allows up to MAX_TTL_MS = 30 days); the admin screen picks the default from these too. */
export const EXPIRY_CHOICES: ReadonlyArray<{ ms: number, label: string }> = [
  { ms: DAY_MS, label: '1 day' },
  { ms: 3 * DAY_MS, label: '3 days' },
  { ms: DEFAULT_TTL_MS, label: '7 days' },
  { ms: 14 * DAY_MS, label: '14 days' },
  { ms: MAX_TTL_MS, label: '30 days' }
]

/** A lifetime in the words the choices use: "7 days", "1 day", "12 hours". */
export function durationWords (ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS} day${ms === DAY_MS ? '' : 's'}`
  const h = Math.round(ms / HOUR_MS)
  return `${h} hour${h === 1 ? '' : 's'}`
}

/** The expiry choices, with `current` among them when it is none of the usual ones (a default set with the CLI). */
export function expiryChoices (current: number): Array<{ ms: number, label: string }> {
  return EXPIRY_CHOICES.some(c => c.ms === current)
    ? [...EXPIRY_CHOICES]
    : [...EXPIRY_CHOICES, { ms: current, label: durationWords(current) }].sort((a, b) => a.ms - b.ms)
}

// ------------------------------------------------------------------ location

/** Kilometres per degree of latitude (and of longitude at the equator). */
const KM_PER_DEGREE = 111.32

/** Width and height of a geohash cell in metres (at its own latitude). */
export function cellSize (geohash: string): { widthM: number, heightM: number } {
  const b = geohashBounds(geohash)
  const lat = (b.north + b.south) / 2
  return {
    widthM: (b.east - b.west) * KM_PER_DEGREE * 1000 * Math.cos(lat * Math.PI / 180),
    heightM: (b.north - b.south) * KM_PER_DEGREE * 1000
  }
}

/** A distance as people say it: "38 m", "150 m", "1.2 km", "20 km". */
export function distanceWords (m: number): string {
  if (m < 1000) {
    const step = m < 100 ? 1 : 10
    return `${Math.round(m / step) * step} m`
  }
  const km = m / 1000
  return km < 10 ? `${Math.round(km * 10) / 10} km` : `${Math.round(km)} km`
}

/** How large the area shared at `precision` within `area` is: "about 1.2 km × 610 m". */
export function areaWords (area: string, precision: number): string {
  // Any cell of that precision inside the area: they are all about the same size there.
  const cell = (area + '0'.repeat(Math.max(0, precision - area.length))).slice(0, precision)
  const { widthM, heightM } = cellSize(cell)
  return `about ${distanceWords(widthM)} × ${distanceWords(heightM)}`
}

export interface PrecisionChoice {
  precision: number
  /** "The neighborhood's area (about 4.9 km × 4.9 km)" */
  label: string
  /** Whether it needs this device's position (anything finer than the area). */
  needsPosition: boolean
}

/**
 * The precisions a post can be given in neighborhood `area`, coarsest first: the whole area
 * (needs no position; the default), then each finer cell down to MAX_POST_PRECISION.
 */
export function precisionChoices (area: string): PrecisionChoice[] {
  const out: PrecisionChoice[] = [{ precision: area.length, label: `The neighborhood's area (${areaWords(area, area.length)})`, needsPosition: false }]
  for (let p = area.length + 1; p <= MAX_POST_PRECISION; p++) {
    out.push({ precision: p, label: `A smaller area, ${areaWords(area, p)}`, needsPosition: true })
  }
  return out
}

export interface Position { lat: number, lon: number }

/**
 * The location a post carries: the device's cell at `precision` when a position is known and
 * lies inside the neighborhood's area, else the area itself (said in `note`).
 */
export function postLocation (area: string, precision: number, position?: Position): { geohash: string, precision: number, note?: string } {
  if (precision <= area.length) return { geohash: area, precision: area.length }
  if (position === undefined) return { geohash: area, precision: area.length, note: 'Your position is not available: the post carries the neighborhood\'s area only.' }
  const cell = encodeGeohash(position.lat, position.lon, precision)
  if (!cell.startsWith(area)) return { geohash: area, precision: area.length, note: 'You are outside the neighborhood\'s area: the post carries the area only.' }
  return { geohash: cell, precision }
}

// ------------------------------------------------------------------ the clip

/**
 * What the cleaner removed, in words a person knows: the EXIF details found in the original
 * (`exifTags`, from exifDetails) first, then the other parts by kind.
 */
export function removedWords (removed: readonly string[], exifTags: readonly string[] = []): string[] {
  // The EXIF details first: they are what most often gives a person away.
  const exif = new Set<string>()
  const out = new Set<string>()
  for (const r of removed) {
    if (/exif/i.test(r)) {
      if (exifTags.length === 0) exif.add('EXIF data (camera details, date, possibly GPS position)')
      for (const t of exifTags) exif.add(t)
    } else if (/xmp/i.test(r)) out.add('XMP metadata')
    else if (/thumbnail/i.test(r)) out.add('embedded thumbnail')
    else if (/ICC|iCCP/.test(r)) out.add('color profile')
    else if (/^COM$|tEXt|iTXt|zTXt/.test(r)) out.add('comments and text')
    else if (/Photoshop|IPTC|APP13/.test(r)) out.add('IPTC captions and credits')
    else if (/after (EOI|IEND|RIFF)/.test(r)) out.add('hidden data after the image')
    else if (/udta|meta|©|XMP_/.test(r)) out.add('video metadata (place, device, dates)')
    else out.add(r)
  }
  return [...exif, ...out]
}

/** IFD0 tags worth naming, most telling first (an array: numeric object keys would be sorted). */
const EXIF_TAGS: ReadonlyArray<readonly [number, string]> = [
  [0x8825, 'GPS position'],
  [0x010f, 'camera make'],
  [0x0110, 'camera model'],
  [0x0131, 'software'],
  [0x0132, 'date and time'],
  [0x013b, 'artist'],
  [0x8298, 'copyright'],
  [0x8769, 'date taken and camera settings']
]

/** Bytes of a JPEG read for its EXIF (APP segments come first). */
export const EXIF_SCAN_BYTES = 256 * 1024

/**
 * The kinds of detail in a JPEG's EXIF (IFD0 tags: GPS position, camera model...), read
 * from its first bytes, for telling the person what cleaning removed. [] when none is found.
 */
export function exifDetails (head: Uint8Array): string[] {
  if (head[0] !== 0xff || head[1] !== 0xd8) return []
  let pos = 2
  while (pos + 4 <= head.length && head[pos] === 0xff) {
    const marker = head[pos + 1]!
    if (marker === 0xda || marker === 0xd9) break
    const len = (head[pos + 2]! << 8) | head[pos + 3]!
    const start = pos + 4
    if (marker === 0xe1 && start + 6 <= head.length && String.fromCharCode(...head.subarray(start, start + 4)) === 'Exif') {
      return ifd0Tags(head.subarray(start + 6, Math.min(head.length, pos + 2 + len)))
    }
    pos += 2 + len
  }
  return []
}

function ifd0Tags (tiff: Uint8Array): string[] {
  if (tiff.length < 8) return []
  const little = tiff[0] === 0x49
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength)
  const ifd = view.getUint32(4, little)
  if (ifd + 2 > tiff.length) return []
  const count = view.getUint16(ifd, little)
  const found = new Set<number>()
  for (let i = 0; i < count && ifd + 2 + (i + 1) * 12 <= tiff.length; i++) found.add(view.getUint16(ifd + 2 + i * 12, little))
  return EXIF_TAGS.filter(([tag]) => found.has(tag)).map(([, name]) => name)
}

/** The phases a post with a clip goes through, as the progress bar names them. */
export type SendPhase = 'clean' | ClipPhase | 'send'

export const PHASE_WORDS: Record<SendPhase, string> = {
  clean: 'Removing metadata',
  encrypt: 'Encrypting',
  upload: 'Handing it to the relays',
  fetch: 'Fetching',
  send: 'Sending the post'
}

export interface SendProgress { phase: SendPhase, done: number, total: number }

/** The progress bar's value in [0, 1] through all phases of a send (clean, encrypt, upload, send). */
export function overallProgress (p: SendProgress): number {
  const order: SendPhase[] = ['clean', 'encrypt', 'upload', 'send']
  const i = Math.max(0, order.indexOf(p.phase))
  const within = p.total > 0 ? Math.min(1, p.done / p.total) : 0
  return (i + within) / order.length
}

/** Who sees a post that carries a clip, added to the audience statement (labels.ts). */
export function clipAudience (pub: boolean, kind: 'photo' | 'video'): string {
  return pub
    ? `The ${kind} goes with the public copy: anyone following the area can see it.`
    : `The ${kind} is encrypted like the post: relays store it but cannot see it.`
}
