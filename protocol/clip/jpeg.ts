/**
 * JPEG metadata removal (ITU-T T.81 marker syntax, JFIF 1.02, EXIF 2.3 TIFF layout).
 *
 * Walks the marker segments and rebuilds the file from an allow-list:
 * - kept as they are, after a structural check: DQT, DHT, DAC, DRI, DNL, one SOFn frame header,
 *   SOS headers with their entropy-coded data (RSTn included), EOI;
 * - rebuilt: APP0 JFIF without its thumbnail (14-byte payload), APP14 Adobe (12-byte payload:
 *   its colour transform flag decides how CMYK/YCCK decode);
 * - Orientation: when the EXIF block says the photo is rotated (Orientation 2..8), a new
 *   32-byte EXIF block holding only that tag replaces it, so photos do not turn sideways;
 *   Orientation 1 or an unreadable EXIF block leaves no EXIF at all;
 * - dropped: every other APPn (EXIF with GPS/camera/thumbnail, XMP, ICC profiles, MPF, IPTC
 *   in APP13...), COM, and anything after EOI (MPF secondary images, vendor trailers, the
 *   leftovers of an in-place crop).
 * Any other marker (hierarchical or lossless-extension frames, JPEG-LS, reserved codes) is
 * 'UNSUPPORTED'; broken structure is 'MALFORMED'. ICC profiles are dropped, so wide-gamut
 * photos (Display P3) render as sRGB: slightly duller colours, never a leak.
 */
import { fail } from '../errors.ts'
import { concat, need, note, startsWith, u16be } from './_bytes.ts'
import type { StripResult } from './types.ts'

const MARKER_SOI = 0xd8
const MARKER_EOI = 0xd9
const MARKER_SOS = 0xda
const MARKER_DQT = 0xdb
const MARKER_DNL = 0xdc
const MARKER_DRI = 0xdd
const MARKER_DHT = 0xc4
const MARKER_DAC = 0xcc
const MARKER_APP0 = 0xe0
const MARKER_APP1 = 0xe1
const MARKER_APP14 = 0xee
const MARKER_COM = 0xfe

/** JFIF APP0 payload without thumbnail: 'JFIF\0', version 2, units 1, densities 2+2, thumb 1+1. */
const JFIF_PAYLOAD_BYTES = 14
/** Adobe APP14 payload: 'Adobe', version 2, flags0 2, flags1 2, transform 1. */
const ADOBE_PAYLOAD_BYTES = 12
/** Components a frame or scan may name; 4 covers CMYK, more is not a photo. */
const MAX_COMPONENTS = 4
const EXIF_ORIENTATION_TAG = 0x0112
const TIFF_TYPE_SHORT = 3

export function stripJpeg (bytes: Uint8Array): StripResult {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== MARKER_SOI) fail('MALFORMED', 'jpeg: missing SOI')
  const removed: string[] = []
  const body: Uint8Array[] = []
  let jfif: Uint8Array | undefined
  let adobe: Uint8Array | undefined
  let orientation: number | undefined
  let sawFrame = false
  let sawScan = false
  let pos = 2

  for (;;) {
    need(bytes, pos, 2, 'jpeg: marker')
    if (bytes[pos] !== 0xff) fail('MALFORMED', `jpeg: expected a marker at byte ${pos}`)
    while (bytes[pos + 1] === 0xff) { pos++; need(bytes, pos, 2, 'jpeg: marker') } // fill bytes
    const marker = bytes[pos + 1]!
    pos += 2

    if (marker === MARKER_EOI) {
      if (!sawScan) fail('MALFORMED', 'jpeg: EOI before any scan')
      if (pos < bytes.length) note(removed, 'data after EOI')
      break
    }
    if (marker === MARKER_SOI || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x00) {
      fail('MALFORMED', `jpeg: unexpected marker 0xFF${hex(marker)}`)
    }

    const length = u16be(bytes, pos)
    if (length < 2) fail('MALFORMED', 'jpeg: segment length below 2')
    need(bytes, pos, length, 'jpeg: segment')
    const segment = bytes.subarray(pos - 2, pos + length)
    const payload = bytes.subarray(pos + 2, pos + length)
    pos += length

    if (marker >= MARKER_APP0 && marker <= 0xef) {
      if (marker === MARKER_APP0 && jfif === undefined && startsWith(payload, 0, 'JFIF\0') && payload.length >= JFIF_PAYLOAD_BYTES) {
        jfif = rebuildJfif(payload)
        if (payload.length > JFIF_PAYLOAD_BYTES) note(removed, 'APP0 JFIF thumbnail')
      } else if (marker === MARKER_APP14 && adobe === undefined && startsWith(payload, 0, 'Adobe') && payload.length >= ADOBE_PAYLOAD_BYTES) {
        adobe = segmentBytes(MARKER_APP14, payload.subarray(0, ADOBE_PAYLOAD_BYTES))
        if (payload.length > ADOBE_PAYLOAD_BYTES) note(removed, 'APP14 Adobe extra bytes')
      } else {
        if (marker === MARKER_APP1 && startsWith(payload, 0, 'Exif\0\0')) {
          orientation ??= readOrientation(payload.subarray(6)) ?? 0
        }
        note(removed, appName(marker, payload))
      }
      continue
    }

    switch (marker) {
      case MARKER_COM:
        note(removed, 'COM')
        continue
      case MARKER_DQT: checkDqt(payload); break
      case MARKER_DHT: checkDht(payload); break
      case MARKER_DAC: if (payload.length % 2 !== 0) fail('MALFORMED', 'jpeg: DAC length'); break
      case MARKER_DRI:
      case MARKER_DNL: if (payload.length !== 2) fail('MALFORMED', 'jpeg: DRI/DNL length'); break
      case MARKER_SOS: {
        if (!sawFrame) fail('MALFORMED', 'jpeg: SOS before SOF')
        checkSos(payload)
        const end = entropyEnd(bytes, pos)
        body.push(segment, bytes.subarray(pos, end))
        pos = end
        sawScan = true
        continue
      }
      default:
        if (!isSof(marker)) fail('UNSUPPORTED', `jpeg: marker 0xFF${hex(marker)}`)
        if (sawFrame) fail('UNSUPPORTED', 'jpeg: more than one frame')
        checkSof(payload)
        sawFrame = true
    }
    body.push(segment)
  }

  const head: Uint8Array[] = [Uint8Array.of(0xff, MARKER_SOI)]
  if (jfif !== undefined) head.push(jfif)
  if (orientation !== undefined && orientation >= 2 && orientation <= 8) head.push(minimalExif(orientation))
  if (adobe !== undefined) head.push(adobe)
  return { bytes: concat([...head, ...body, Uint8Array.of(0xff, MARKER_EOI)]), removed }
}

/** SOF0-3, 5-7, 9-11, 13-15 (0xC4 DHT, 0xC8 JPG, 0xCC DAC are not frames). */
function isSof (m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== MARKER_DHT && m !== 0xc8 && m !== MARKER_DAC
}

function hex (n: number): string { return n.toString(16).toUpperCase().padStart(2, '0') }

function segmentBytes (marker: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length)
  out[0] = 0xff; out[1] = marker
  out[2] = (payload.length + 2) >> 8; out[3] = (payload.length + 2) & 0xff
  out.set(payload, 4)
  return out
}

function rebuildJfif (payload: Uint8Array): Uint8Array {
  const p = payload.slice(0, JFIF_PAYLOAD_BYTES)
  p[12] = 0; p[13] = 0 // no thumbnail
  return segmentBytes(MARKER_APP0, p)
}

/** A readable name for a dropped APPn segment: its NUL-terminated identifier when printable. */
function appName (marker: number, payload: Uint8Array): string {
  const name = `APP${marker - MARKER_APP0}`
  if (startsWith(payload, 0, 'Exif\0')) return `${name} Exif`
  if (startsWith(payload, 0, 'http://ns.adobe.com/xap/1.0/\0') || startsWith(payload, 0, 'http://ns.adobe.com/xmp/extension/\0')) return `${name} XMP`
  let id = ''
  for (let i = 0; i < Math.min(payload.length, 32); i++) {
    const c = payload[i]!
    if (c === 0) break
    if (c < 0x20 || c > 0x7e) return name
    id += String.fromCharCode(c)
  }
  return id === '' ? name : `${name} ${id}`
}

function checkDqt (p: Uint8Array): void {
  let o = 0
  if (p.length === 0) fail('MALFORMED', 'jpeg: empty DQT')
  while (o < p.length) {
    const precision = p[o]! >> 4
    if (precision > 1 || (p[o]! & 0x0f) > 3) fail('MALFORMED', 'jpeg: DQT table id')
    o += 1 + 64 * (precision + 1)
  }
  if (o !== p.length) fail('MALFORMED', 'jpeg: DQT length')
}

function checkDht (p: Uint8Array): void {
  let o = 0
  if (p.length === 0) fail('MALFORMED', 'jpeg: empty DHT')
  while (o < p.length) {
    if ((p[o]! >> 4) > 1 || (p[o]! & 0x0f) > 3) fail('MALFORMED', 'jpeg: DHT table id')
    need(p, o, 17, 'jpeg: DHT counts')
    let codes = 0
    for (let i = 1; i <= 16; i++) codes += p[o + i]!
    if (codes > 256) fail('MALFORMED', 'jpeg: DHT with more than 256 codes')
    o += 17 + codes
  }
  if (o !== p.length) fail('MALFORMED', 'jpeg: DHT length')
}

function checkSof (p: Uint8Array): void {
  need(p, 0, 6, 'jpeg: SOF')
  const components = p[5]!
  if (components < 1 || components > MAX_COMPONENTS) fail('UNSUPPORTED', `jpeg: ${components} components`)
  if (p.length !== 6 + 3 * components) fail('MALFORMED', 'jpeg: SOF length')
  if (u16be(p, 3) === 0) fail('MALFORMED', 'jpeg: zero width')
}

function checkSos (p: Uint8Array): void {
  need(p, 0, 1, 'jpeg: SOS')
  const components = p[0]!
  if (components < 1 || components > MAX_COMPONENTS) fail('MALFORMED', 'jpeg: SOS component count')
  if (p.length !== 1 + 2 * components + 3) fail('MALFORMED', 'jpeg: SOS length')
}

/**
 * End of the entropy-coded data that starts at `start`: the next 0xFF that is neither a
 * stuffed 0xFF00, a restart marker RSTn nor a fill byte. Running off the end is MALFORMED.
 */
function entropyEnd (b: Uint8Array, start: number): number {
  let i = start
  for (;;) {
    i = b.indexOf(0xff, i)
    if (i < 0 || i + 1 >= b.length) fail('MALFORMED', 'jpeg: entropy-coded data runs to end of file')
    const next = b[i + 1]!
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) i += 2
    else if (next === 0xff) i += 1
    else return i
  }
}

/** Orientation (1..8) from IFD0 of an EXIF TIFF block, or undefined if absent or unreadable. */
function readOrientation (tiff: Uint8Array): number | undefined {
  try {
    const little = startsWith(tiff, 0, 'II*\0')
    if (!little && !startsWith(tiff, 0, 'MM\0*')) return undefined
    const u16 = (o: number): number => { const v = u16be(tiff, o); return little ? ((v & 0xff) << 8) | (v >> 8) : v }
    const u32 = (o: number): number => little ? u16(o) + u16(o + 2) * 0x10000 : u16(o) * 0x10000 + u16(o + 2)
    const ifd = u32(4)
    const count = u16(ifd)
    for (let k = 0; k < count; k++) {
      const e = ifd + 2 + 12 * k
      if (u16(e) !== EXIF_ORIENTATION_TAG) continue
      if (u16(e + 2) !== TIFF_TYPE_SHORT || u32(e + 4) !== 1) return undefined
      const v = u16(e + 8)
      return v >= 1 && v <= 8 ? v : undefined
    }
    return undefined
  } catch {
    return undefined
  }
}

/**
 * APP1 EXIF holding one tag, big-endian: 'Exif\0\0' (6) + TIFF header (8) + IFD0 with one
 * entry (2 + 12) + next-IFD 0 (4) = 32-byte payload, 36-byte segment.
 */
function minimalExif (orientation: number): Uint8Array {
  return segmentBytes(MARKER_APP1, Uint8Array.of(
    0x45, 0x78, 0x69, 0x66, 0, 0, // 'Exif\0\0'
    0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8, // 'MM', 42, IFD0 at offset 8
    0, 1, // one entry
    0x01, 0x12, 0, TIFF_TYPE_SHORT, 0, 0, 0, 1, 0, orientation, 0, 0, // Orientation SHORT x1
    0, 0, 0, 0 // no next IFD
  ))
}
