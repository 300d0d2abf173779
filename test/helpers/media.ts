/**
 * Fixture generators for the clip tests: small real media files carrying identifiable
 * metadata (GPS, camera make/model, XMP, comments...), built in-test so no binary fixtures are
 * checked in. Encoders are independent of the code under test: jpeg-js + piexifjs for JPEG,
 * pngjs + node:zlib CRC for PNG, hand-built RIFF and ISO BMFF boxes for WebP and MP4.
 */
import { createRequire } from 'node:module'
import { crc32, deflateSync } from 'node:zlib'
import { encode as encodeJpeg } from 'jpeg-js'
import { PNG } from 'pngjs'

const require = createRequire(import.meta.url)
// piexifjs ships no types; the four calls used here work on Latin-1 "binary strings".
const piexif = require('piexifjs') as {
  dump: (exif: Record<string, Record<number, unknown>>) => string
  insert: (exif: string, jpeg: string) => string
  load: (jpeg: string) => Record<string, Record<number, unknown>>
  ImageIFD: Record<string, number>
  ExifIFD: Record<string, number>
  GPSIFD: Record<string, number>
}
export { piexif }

/** Strings planted in fixtures; none may survive stripping. */
export const SECRETS = {
  make: 'AcmeCam',
  model: 'DoorCam 3000',
  software: 'PorchFirmware 1.2',
  gpsText: '+37.7749-122.4194/',
  xmp: 'XMP-SECRET',
  comment: 'COMMENT-SECRET',
  iptc: 'IPTC-SECRET',
  icc: 'ICC-SECRET',
  thumbnail: 'THUMB-SECRET!!!', // 15 bytes = a 5x1 RGB JFIF thumbnail
  trailer: 'TRAILER-SECRET',
  text: 'TEXT-SECRET',
  date: '2024:05:01 12:34:56',
  encoder: 'ENCODER-SECRET',
  handler: 'HANDLER-SECRET',
  free: 'FREE-SPACE-SECRET',
  unknown: 'UNKNOWN-SECRET'
} as const

/** GPSLatitude 37/1, 46/1, 2964/100 as big-endian TIFF rationals (as piexif writes them). */
export const GPS_LATITUDE_BYTES = Uint8Array.of(0, 0, 0, 37, 0, 0, 0, 1, 0, 0, 0, 46, 0, 0, 0, 1, 0, 0, 0x0b, 0x94, 0, 0, 0, 100)

export const latin1 = (s: string): Uint8Array => Uint8Array.from(s, c => c.charCodeAt(0) & 0xff)
export const toLatin1 = (b: Uint8Array): string => Array.from(b, c => String.fromCharCode(c)).join('')

export function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

export function indexOfBytes (hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

/** Which of the planted strings (and the GPS rationals) still occur in `bytes`. */
export function leakedSecrets (bytes: Uint8Array): string[] {
  const found: string[] = Object.values(SECRETS).filter(s => indexOfBytes(bytes, latin1(s)) >= 0)
  if (indexOfBytes(bytes, GPS_LATITUDE_BYTES) >= 0) found.push('GPS rationals')
  if (indexOfBytes(bytes, latin1('37.7749')) >= 0) found.push('37.7749')
  return found
}

const u16 = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff)
const u32 = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
const u32le = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24)
const u64 = (n: number): Uint8Array => concat(u32(Math.floor(n / 0x100000000)), u32(n >>> 0))

/** Deterministic RGBA pixels (a gradient with some texture). */
export function pixels (width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4
      data[i] = (x * 255 / width) | 0
      data[i + 1] = (y * 255 / height) | 0
      data[i + 2] = ((x ^ y) * 7) & 0xff
      data[i + 3] = 255
    }
  }
  return data
}

// ---------------------------------------------------------------- JPEG

function jpegSegment (marker: number, payload: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0xff, marker), u16(payload.length + 2), payload)
}

export interface JpegOptions {
  width?: number
  height?: number
  /** EXIF Orientation to plant (omit for none). */
  orientation?: number
  /** Add an Adobe APP14 segment. */
  adobe?: boolean
}

/**
 * A baseline JPEG (jpeg-js, quality 90) with: EXIF (make, model, software, date, orientation,
 * GPS IFD) via piexifjs, XMP APP1, APP13 IPTC, APP2 ICC, COM, a JFIF thumbnail, and a trailer
 * after EOI.
 */
export function makeJpeg (opts: JpegOptions = {}): { bytes: Uint8Array, plain: Uint8Array, width: number, height: number } {
  const width = opts.width ?? 24
  const height = opts.height ?? 16
  const plain = new Uint8Array(encodeJpeg({ data: pixels(width, height), width, height }, 90).data)
  const zeroth: Record<number, unknown> = {
    [piexif.ImageIFD.Make!]: SECRETS.make,
    [piexif.ImageIFD.Model!]: SECRETS.model,
    [piexif.ImageIFD.Software!]: SECRETS.software
  }
  if (opts.orientation !== undefined) zeroth[piexif.ImageIFD.Orientation!] = opts.orientation
  const exif = piexif.dump({
    '0th': zeroth,
    Exif: { [piexif.ExifIFD.DateTimeOriginal!]: SECRETS.date },
    GPS: {
      [piexif.GPSIFD.GPSLatitudeRef!]: 'N',
      [piexif.GPSIFD.GPSLatitude!]: [[37, 1], [46, 1], [2964, 100]],
      [piexif.GPSIFD.GPSLongitudeRef!]: 'W',
      [piexif.GPSIFD.GPSLongitude!]: [[122, 1], [25, 1], [984, 100]]
    }
  })
  const withExif = latin1(piexif.insert(exif, toLatin1(plain)))

  const jfifWithThumb = jpegSegment(0xe0, concat(latin1('JFIF\0'), Uint8Array.of(1, 2, 0, 0, 72, 0, 72, 5, 1), latin1(SECRETS.thumbnail)))
  const xmp = jpegSegment(0xe1, latin1(`http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>37.7749</exif:GPSLatitude>${SECRETS.xmp}</x:xmpmeta>`))
  const iptc = jpegSegment(0xed, latin1(`Photoshop 3.0\x008BIM\x04\x04\0\0\0\0\0\x10${SECRETS.iptc}\0\0\0\0\0`))
  const icc = jpegSegment(0xe2, latin1(`ICC_PROFILE\0\x01\x01${SECRETS.icc}`))
  const com = jpegSegment(0xfe, latin1(SECRETS.comment))
  const adobe = opts.adobe === true ? [jpegSegment(0xee, Uint8Array.of(0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, 1))] : []

  // Replace jpeg-js's plain JFIF APP0 (first segment after SOI, 18 bytes) with one carrying a thumbnail.
  let rest = withExif.subarray(2)
  const app0 = indexOfBytes(rest, Uint8Array.of(0xff, 0xe0))
  if (app0 >= 0) rest = concat(rest.subarray(0, app0), rest.subarray(app0 + 2 + ((rest[app0 + 2]! << 8) | rest[app0 + 3]!)))
  const bytes = concat(Uint8Array.of(0xff, 0xd8), jfifWithThumb, xmp, iptc, icc, com, ...adobe, rest, latin1(SECRETS.trailer))
  return { bytes, plain, width, height }
}

// ---------------------------------------------------------------- PNG

export function pngChunk (type: string, data: Uint8Array): Uint8Array {
  const td = concat(latin1(type), data)
  return concat(u32(data.length), td, u32(crc32(td)))
}

/**
 * A PNG (pngjs) with tEXt, zTXt, iTXt (XMP), eXIf, tIME, iCCP and an unknown private chunk
 * planted after IHDR, rendering chunks gAMA and pHYs, and data after IEND.
 */
export function makePng (width = 20, height = 12): { bytes: Uint8Array, plain: Uint8Array, pixels: Uint8Array } {
  const data = pixels(width, height)
  const plain = new Uint8Array(PNG.sync.write({ width, height, data: Buffer.from(data) } as PNG))
  const ihdrEnd = 8 + 25
  const tiff = latin1(piexif.dump({ '0th': { [piexif.ImageIFD.Make!]: SECRETS.make, [piexif.ImageIFD.Model!]: SECRETS.model } }).slice(6))
  const planted = concat(
    pngChunk('gAMA', u32(45455)),
    pngChunk('pHYs', concat(u32(2835), u32(2835), Uint8Array.of(1))),
    pngChunk('tEXt', latin1(`Comment\0${SECRETS.text} ${SECRETS.gpsText}`)),
    pngChunk('zTXt', concat(latin1('Software\0\0'), new Uint8Array(deflateSync(latin1(SECRETS.software))))),
    pngChunk('iTXt', latin1(`XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>${SECRETS.xmp} 37.7749</x:xmpmeta>`)),
    pngChunk('eXIf', tiff),
    pngChunk('tIME', Uint8Array.of(0x07, 0xe8, 5, 1, 12, 34, 56)),
    pngChunk('iCCP', concat(latin1(`${SECRETS.icc}\0\0`), new Uint8Array(deflateSync(latin1('profile'))))),
    pngChunk('prVt', latin1(SECRETS.unknown))
  )
  const bytes = concat(plain.subarray(0, ihdrEnd), planted, plain.subarray(ihdrEnd), latin1(SECRETS.trailer))
  return { bytes, plain, pixels: data }
}

// ---------------------------------------------------------------- WebP

/**
 * A VP8L (lossless) bitstream of a solid-colour image: no transforms, no colour cache, and
 * five "simple" prefix codes of one symbol each, so every pixel takes zero bits.
 */
export function vp8lSolid (width: number, height: number, argb: [number, number, number, number]): Uint8Array {
  const bits: number[] = []
  const put = (value: number, n: number): void => { for (let i = 0; i < n; i++) bits.push((value >> i) & 1) }
  put(width - 1, 14); put(height - 1, 14); put(1, 1); put(0, 3) // alpha used, version 0
  put(0, 1) // no transform
  put(0, 1) // no colour cache
  put(0, 1) // no meta prefix codes
  const [a, r, g, b] = argb
  for (const symbol of [g, r, b, a, 0]) { // green, red, blue, alpha, distance
    put(1, 1); put(0, 1) // simple code, one symbol
    if (symbol < 2) { put(0, 1); put(symbol, 1) } else { put(1, 1); put(symbol, 8) }
  }
  const out = new Uint8Array(1 + Math.ceil(bits.length / 8))
  out[0] = 0x2f
  bits.forEach((bit, i) => { out[1 + (i >> 3)]! |= bit << (i & 7) })
  return out
}

export function riffChunk (type: string, payload: Uint8Array): Uint8Array {
  return concat(latin1(type), u32le(payload.length), payload, payload.length % 2 === 1 ? Uint8Array.of(0) : new Uint8Array(0))
}

export function riff (chunks: Uint8Array[]): Uint8Array {
  const body = concat(...chunks)
  return concat(latin1('RIFF'), u32le(4 + body.length), latin1('WEBP'), body)
}

/** An extended WebP: VP8X (ICC|EXIF|XMP flags), ICCP, VP8L image, EXIF, 'XMP ', an unknown chunk, a trailer. */
export function makeWebp (width = 7, height = 5): { bytes: Uint8Array, image: Uint8Array } {
  const image = riffChunk('VP8L', vp8lSolid(width, height, [255, 200, 100, 50]))
  const vp8x = concat(Uint8Array.of(0x20 | 0x10 | 0x08 | 0x04, 0, 0, 0), u32le(width - 1).subarray(0, 3), u32le(height - 1).subarray(0, 3))
  const tiff = latin1(piexif.dump({ '0th': { [piexif.ImageIFD.Make!]: SECRETS.make, [piexif.ImageIFD.Model!]: SECRETS.model } }).slice(6))
  const bytes = concat(riff([
    riffChunk('VP8X', vp8x),
    riffChunk('ICCP', latin1(SECRETS.icc)),
    image,
    riffChunk('EXIF', tiff),
    riffChunk('XMP ', latin1(`<x:xmpmeta>${SECRETS.xmp} 37.7749</x:xmpmeta>`)),
    riffChunk('ZZZZ', latin1(SECRETS.unknown)) // odd length: padded
  ]), latin1(SECRETS.trailer))
  return { bytes, image }
}

// ---------------------------------------------------------------- MP4

export function box (type: string, ...parts: Uint8Array[]): Uint8Array {
  const payload = concat(...parts)
  return concat(u32(8 + payload.length), latin1(type), payload)
}

function fullBox (type: string, version: number, flags: number, ...parts: Uint8Array[]): Uint8Array {
  return box(type, Uint8Array.of(version, flags >> 16, (flags >> 8) & 0xff, flags & 0xff), ...parts)
}

/** A box whose size field is 1, with a 64-bit largesize. */
function largeBox (type: string, payload: Uint8Array): Uint8Array {
  return concat(u32(1), latin1(type), u64(16 + payload.length), payload)
}

const fixed = (s: string, n: number): Uint8Array => { const b = new Uint8Array(n); b.set(latin1(s).subarray(0, n)); return b }
const zeros = (n: number): Uint8Array => new Uint8Array(n)
const ONE_TIME = 0xd5c8a0b0 // a 1904-epoch time in 2017: non-zero creation/modification times

interface TrackSpec {
  id: number
  handler: string
  entry: Uint8Array
  /** Samples, grouped in chunks. */
  chunks: Uint8Array[][]
  uniform?: boolean
}

export interface Mp4Options {
  co64?: boolean
  /** mdat with a 64-bit largesize. */
  largeMdat?: boolean
  /** mdat last, with size 0 ("to end of file"). */
  mdatToEnd?: boolean
  brand?: string
}

export interface Mp4Fixture {
  bytes: Uint8Array
  /** Absolute ranges of video and audio samples (must survive unchanged). */
  keptRanges: Array<[number, number]>
  /** Absolute ranges of timed-metadata samples (must be zeroed). */
  metaRanges: Array<[number, number]>
  mdatPayload: [number, number]
}

function sampleEntryVideo (): Uint8Array {
  return box('avc1',
    zeros(6), u16(1), // reserved, data_reference_index
    u16(0), u16(0), latin1('appl'), zeros(8), // pre_defined / QuickTime version, revision, vendor, qualities
    u16(64), u16(48), u32(0x00480000), u32(0x00480000), zeros(4), u16(1),
    Uint8Array.of(SECRETS.encoder.length), fixed(SECRETS.encoder, 31), // compressorname (Pascal)
    u16(0x18), Uint8Array.of(0xff, 0xff),
    box('avcC', Uint8Array.of(1, 0x42, 0xc0, 0x1e, 0xff, 0xe0, 0x00)))
}

function sampleEntryAudio (): Uint8Array {
  return box('mp4a', zeros(6), u16(1), u16(0), u16(0), latin1('appl'), u16(2), u16(16), u16(0), u16(0), u32(44100 * 65536))
}

function sampleEntryMeta (): Uint8Array {
  return box('mebx', zeros(6), u16(1), box('keys', box('keyd', latin1('mdta'), latin1('com.apple.quicktime.location.ISO6709'))))
}

/**
 * An MP4 written box by box: ftyp, a top-level XMP uuid box, moov (mvhd; video, audio and a
 * timed-metadata GPS track; udta with ©xyz/©mak/©mod/©day; Apple mdta meta; free space with
 * leftovers) and mdat with interleaved samples.
 */
export function makeMp4 (opts: Mp4Options = {}): Mp4Fixture {
  const rand = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => ((i * 131 + seed * 17) ^ (i >> 3)) & 0xff)
  const tracks: TrackSpec[] = [
    { id: 1, handler: 'vide', entry: sampleEntryVideo(), chunks: [[rand(300, 1), rand(120, 2)], [rand(200, 3)]] },
    { id: 2, handler: 'soun', entry: sampleEntryAudio(), chunks: [[rand(64, 4), rand(64, 5)]], uniform: true },
    { id: 3, handler: 'meta', entry: sampleEntryMeta(), chunks: [[latin1(`GPS ${SECRETS.gpsText} ${SECRETS.make}`)], [latin1(`GPS ${SECRETS.gpsText} ${SECRETS.model}`)]] }
  ]
  // Interleave chunks: v0 a0 m0 v1 m1
  const order: Array<[number, number]> = [[0, 0], [1, 0], [2, 0], [0, 1], [2, 1]]

  const build = (mdatStart: number, mdatHeader: number): { moov: Uint8Array, mdatPayload: Uint8Array, kept: Array<[number, number]>, meta: Array<[number, number]> } => {
    const offsets = new Map<string, number>()
    const parts: Uint8Array[] = []
    const kept: Array<[number, number]> = []
    const meta: Array<[number, number]> = []
    let pos = mdatStart + mdatHeader
    for (const [t, c] of order) {
      const track = tracks[t]!
      offsets.set(`${t}/${c}`, pos)
      for (const s of track.chunks[c]!) {
        parts.push(s);
        (track.handler === 'meta' ? meta : kept).push([pos, pos + s.length])
        pos += s.length
      }
    }
    const traks = tracks.map((track, t) => {
      const sizes = track.chunks.flat().map(s => s.length)
      const stsz = track.uniform === true
        ? fullBox('stsz', 0, 0, u32(sizes[0]!), u32(sizes.length))
        : fullBox('stsz', 0, 0, u32(0), u32(sizes.length), ...sizes.map(u32))
      const chunkOffsets = track.chunks.map((_, c) => offsets.get(`${t}/${c}`)!)
      const stco = opts.co64 === true
        ? fullBox('co64', 0, 0, u32(chunkOffsets.length), ...chunkOffsets.map(u64))
        : fullBox('stco', 0, 0, u32(chunkOffsets.length), ...chunkOffsets.map(u32))
      // One stsc run per distinct chunk length.
      const runs: Uint8Array[] = []
      track.chunks.forEach((ch, c) => {
        if (c === 0 || ch.length !== track.chunks[c - 1]!.length) runs.push(concat(u32(c + 1), u32(ch.length), u32(1)))
      })
      const stbl = box('stbl',
        fullBox('stsd', 0, 0, u32(1), track.entry),
        fullBox('stts', 0, 0, u32(1), u32(sizes.length), u32(512)),
        fullBox('stsc', 0, 0, u32(runs.length), ...runs),
        stsz, stco)
      const mediaHeader = track.handler === 'vide' ? fullBox('vmhd', 0, 1, zeros(8)) : track.handler === 'soun' ? fullBox('smhd', 0, 0, zeros(4)) : fullBox('nmhd', 0, 0)
      const minf = box('minf', mediaHeader, box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1))), stbl)
      const hdlr = fullBox('hdlr', 0, 0, u32(0), latin1(track.handler), latin1('appl'), zeros(8), latin1(`${SECRETS.handler}\0`))
      const mdia = box('mdia', fullBox('mdhd', 0, 0, u32(ONE_TIME), u32(ONE_TIME + 5), u32(1000), u32(1536), u16(0x55c4), u16(0)), hdlr, minf)
      const tkhd = fullBox('tkhd', 1, 3, u64(ONE_TIME), u64(ONE_TIME + 9), u32(track.id), zeros(4), u64(1536), zeros(52), u32(64 << 16), u32(48 << 16))
      const trakUdta = box('udta', box('name', latin1(SECRETS.text)))
      return box('trak', tkhd, mdia, ...(t === 0 ? [trakUdta] : []))
    })
    const mvhd = fullBox('mvhd', 0, 0, u32(ONE_TIME), u32(ONE_TIME + 1), u32(1000), u32(1536), u32(0x00010000), u16(0x0100), zeros(10), zeros(36), zeros(24), u32(4))
    const ilstItem = (key: number, text: string): Uint8Array => concat(u32(8 + 16 + text.length), u32(key), box('data', u32(1), u32(0), latin1(text)))
    const udta = box('udta',
      box('\xa9xyz', u16(SECRETS.gpsText.length), u16(0x15c7), latin1(SECRETS.gpsText)),
      box('\xa9mak', u16(SECRETS.make.length), u16(0), latin1(SECRETS.make)),
      box('\xa9mod', u16(SECRETS.model.length), u16(0), latin1(SECRETS.model)),
      box('\xa9day', u16(SECRETS.date.length), u16(0), latin1(SECRETS.date)))
    const moovMeta = fullBox('meta', 0, 0,
      fullBox('hdlr', 0, 0, u32(0), latin1('mdta'), zeros(12), zeros(1)),
      fullBox('keys', 0, 0, u32(2), box('mdta', latin1('com.apple.quicktime.location.ISO6709')), box('mdta', latin1('com.apple.quicktime.make'))),
      box('ilst', ilstItem(1, SECRETS.gpsText), ilstItem(2, SECRETS.make)))
    const free = box('free', latin1(SECRETS.free))
    return { moov: box('moov', mvhd, ...traks, udta, moovMeta, free), mdatPayload: concat(...parts), kept, meta }
  }

  const ftyp = box('ftyp', latin1(opts.brand ?? 'isom'), u32(512), latin1('isom'), latin1('iso2'), latin1('avc1'), latin1('mp41'))
  const xmp = concat(u32(8 + 16 + 40), latin1('uuid'), Uint8Array.of(0xbe, 0x7a, 0xcf, 0xcb, 0x97, 0xa9, 0x42, 0xe8, 0x9c, 0x71, 0x99, 0x94, 0x91, 0xe3, 0xaf, 0xac), fixed(`<x:xmpmeta>${SECRETS.xmp}</x:xmpmeta>`, 40))
  const mdatHeader = opts.largeMdat === true ? 16 : 8
  const wrapMdat = (payload: Uint8Array): Uint8Array => opts.mdatToEnd === true
    ? concat(u32(0), latin1('mdat'), payload)
    : opts.largeMdat === true ? largeBox('mdat', payload) : box('mdat', payload)

  let bytes: Uint8Array
  let built: ReturnType<typeof build>
  let mdatStart: number
  if (opts.mdatToEnd === true) {
    // ftyp, uuid, moov, mdat(size 0): moov's length does not depend on offset values.
    const probe = build(0, mdatHeader)
    mdatStart = ftyp.length + xmp.length + probe.moov.length
    built = build(mdatStart, mdatHeader)
    bytes = concat(ftyp, xmp, built.moov, wrapMdat(built.mdatPayload))
  } else {
    mdatStart = ftyp.length + xmp.length
    built = build(mdatStart, mdatHeader)
    bytes = concat(ftyp, xmp, wrapMdat(built.mdatPayload), built.moov)
  }
  return { bytes, keptRanges: built.kept, metaRanges: built.meta, mdatPayload: [mdatStart + mdatHeader, mdatStart + mdatHeader + built.mdatPayload.length] }
}

export interface BoxNode { type: string, start: number, end: number, children?: BoxNode[] }

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'dinf', 'stbl', 'mvex', 'moof', 'traf', 'edts', 'udta'])

/** An independent ISO BMFF walker for assertions: throws on any inconsistency. */
export function parseBoxTree (b: Uint8Array, start = 0, end = b.length, top = true): BoxNode[] {
  const out: BoxNode[] = []
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  let pos = start
  while (pos < end) {
    if (end - pos < 8) throw new Error(`short box header at ${pos}`)
    let size = dv.getUint32(pos)
    const type = toLatin1(b.subarray(pos + 4, pos + 8))
    let header = 8
    if (size === 1) { size = Number(dv.getBigUint64(pos + 8)); header = 16 } else if (size === 0) {
      if (!top) throw new Error('size 0 below top level')
      size = end - pos
    }
    if (size < header || pos + size > end) throw new Error(`bad size for ${type} at ${pos}`)
    const node: BoxNode = { type, start: pos, end: pos + size }
    if (CONTAINERS.has(type)) node.children = parseBoxTree(b, pos + header, pos + size, false)
    out.push(node)
    pos += size
  }
  return out
}

/** Box types along each path, e.g. 'moov/trak/mdia/hdlr'. */
export function boxPaths (nodes: BoxNode[], prefix = ''): string[] {
  return nodes.flatMap(n => [prefix + n.type, ...(n.children === undefined ? [] : boxPaths(n.children, `${prefix}${n.type}/`))])
}
