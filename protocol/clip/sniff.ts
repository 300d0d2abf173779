/**
 * Recognises a clip's container from its first bytes (never from a file name or a declared
 * MIME type, which a sender controls). Only the formats `strip.ts` can clean are recognised;
 * everything else is PorchlightError('UNSUPPORTED').
 */
import { fail } from '../errors.ts'
import { fourcc, startsWith, u32be } from './_bytes.ts'

export type ClipKind = 'jpeg' | 'png' | 'webp' | 'mp4'
export type ClipMime = 'image/jpeg' | 'image/png' | 'image/webp' | 'video/mp4' | 'video/quicktime'

export interface ClipType {
  readonly kind: ClipKind
  readonly mime: ClipMime
}

const PNG_SIGNATURE = '\x89PNG\r\n\x1a\n'

/**
 * ISO BMFF brands of still-image files (HEIF, AVIF): their EXIF lives in items of a top-level
 * `meta` box that the image itself needs, so the MP4 cleaner would break them. Refused.
 */
const IMAGE_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'mif2', 'msf1', 'avif', 'avis', 'avio', 'jpeg', 'jpgs', 'crx '])

/** Top-level atoms an old QuickTime file (no `ftyp`) may start with. */
const QUICKTIME_FIRST_ATOMS = new Set(['moov', 'mdat', 'free', 'skip', 'wide', 'pnot'])

/** Smallest ftyp box: 8-byte header, 4-byte major brand, 4-byte minor version. */
const FTYP_MIN_BYTES = 16

export function sniffClip (bytes: Uint8Array): ClipType {
  if (!(bytes instanceof Uint8Array)) fail('BAD_ARGUMENT', 'clip: expected a Uint8Array')
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return { kind: 'jpeg', mime: 'image/jpeg' }
  }
  if (startsWith(bytes, 0, PNG_SIGNATURE)) return { kind: 'png', mime: 'image/png' }
  if (startsWith(bytes, 0, 'RIFF') && startsWith(bytes, 8, 'WEBP')) return { kind: 'webp', mime: 'image/webp' }
  if (bytes.length >= 8 && startsWith(bytes, 4, 'ftyp')) {
    if (u32be(bytes, 0) < FTYP_MIN_BYTES) fail('MALFORMED', 'mp4: ftyp box too small')
    const brands = [fourcc(bytes, 8)]
    const end = Math.min(u32be(bytes, 0), bytes.length)
    for (let o = 16; o + 4 <= end; o += 4) brands.push(fourcc(bytes, o))
    const major = brands[0]!
    if (IMAGE_BRANDS.has(major)) fail('UNSUPPORTED', `clip: still-image ISO BMFF brand '${major}'`)
    return { kind: 'mp4', mime: major === 'qt  ' ? 'video/quicktime' : 'video/mp4' }
  }
  if (bytes.length >= 8 && QUICKTIME_FIRST_ATOMS.has(fourcc(bytes, 4))) {
    return { kind: 'mp4', mime: 'video/quicktime' }
  }
  fail('UNSUPPORTED', 'clip: unrecognised file type (supported: JPEG, PNG, WebP, MP4/MOV)')
}
