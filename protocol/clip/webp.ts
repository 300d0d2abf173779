/**
 * WebP metadata removal (RIFF container, RFC 9649).
 *
 * The RIFF chunks are rebuilt from an allow-list: VP8X (only its alpha and animation flags
 * and the canvas size kept), ANIM, ANMF (its frame sub-chunks filtered the same way), ALPH, VP8, VP8L.
 * Dropped: EXIF, 'XMP ', ICCP (free-form profile blob; images fall back to sRGB), every
 * unknown chunk, and bytes after the RIFF payload. The RIFF size is recomputed.
 * The VP8/VP8L bitstreams are copied unchanged and only checked for their signatures.
 */
import { fail } from '../errors.ts'
import { concat, fourcc, need, note, startsWith, u32le, writeU32le } from './_bytes.ts'
import type { StripResult } from './types.ts'

/** 'RIFF' + 4-byte little-endian size + 'WEBP'. */
const RIFF_HEADER_BYTES = 12
/** Chunk header: FourCC + 4-byte little-endian payload size; payloads are padded to even. */
const CHUNK_HEADER_BYTES = 8
const VP8X_PAYLOAD_BYTES = 10
/** ANMF payload starts with 16 bytes of frame position, size, duration and flags. */
const ANMF_HEADER_BYTES = 16
const ANIM_PAYLOAD_BYTES = 6
const VP8X_FLAG_ICC = 0x20
const VP8X_FLAG_ALPHA = 0x10
const VP8X_FLAG_EXIF = 0x08
const VP8X_FLAG_XMP = 0x04
const VP8X_FLAG_ANIMATION = 0x02
const VP8L_SIGNATURE = 0x2f
/** Frames in one animation: far above any clip, low enough to bound the work. */
const MAX_CHUNKS = 100_000

interface Chunk { readonly type: string, readonly payload: Uint8Array }

export function stripWebp (bytes: Uint8Array): StripResult {
  if (!startsWith(bytes, 0, 'RIFF') || !startsWith(bytes, 8, 'WEBP')) fail('MALFORMED', 'webp: missing RIFF/WEBP header')
  const riffSize = u32le(bytes, 4)
  if (riffSize < 4 || riffSize % 2 !== 0) fail('MALFORMED', 'webp: bad RIFF size')
  const riffEnd = 8 + riffSize
  need(bytes, 0, riffEnd, 'webp: RIFF payload')
  const removed: string[] = []
  if (riffEnd < bytes.length) note(removed, 'data after RIFF')

  const chunks = readChunks(bytes, RIFF_HEADER_BYTES, riffEnd)
  const first = chunks[0]
  if (first === undefined) fail('MALFORMED', 'webp: no chunks')
  const out: Chunk[] = []
  let images = 0

  if (first.type === 'VP8X') {
    if (first.payload.length !== VP8X_PAYLOAD_BYTES) fail('MALFORMED', 'webp: VP8X size')
    const vp8x = new Uint8Array(first.payload) // a copy: the input is never changed
    const flags = vp8x[0]!
    // Keep only alpha and animation; ICC, EXIF, XMP go, reserved bits and bytes are zeroed.
    vp8x.set([flags & (VP8X_FLAG_ALPHA | VP8X_FLAG_ANIMATION), 0, 0, 0])
    if ((flags & (VP8X_FLAG_ICC | VP8X_FLAG_EXIF | VP8X_FLAG_XMP)) !== 0) note(removed, 'VP8X metadata flags')
    out.push({ type: 'VP8X', payload: vp8x })
    const animated = (vp8x[0]! & VP8X_FLAG_ANIMATION) !== 0
    for (const c of chunks.slice(1)) {
      if (c.type === 'VP8 ' || c.type === 'VP8L' || c.type === 'ALPH') {
        if (animated) fail('MALFORMED', `webp: ${c.type} in an animated file`)
        checkFrameChunk(c)
        if (c.type !== 'ALPH') images++
        out.push(c)
      } else if (c.type === 'ANIM' || c.type === 'ANMF') {
        if (!animated) fail('MALFORMED', `webp: ${c.type} without the animation flag`)
        if (c.type === 'ANIM') {
          if (c.payload.length !== ANIM_PAYLOAD_BYTES) fail('MALFORMED', 'webp: ANIM size')
          out.push(c)
        } else {
          out.push({ type: 'ANMF', payload: cleanFrame(c.payload, removed) })
          images++
        }
      } else if (c.type === 'VP8X') {
        fail('MALFORMED', 'webp: second VP8X')
      } else {
        note(removed, c.type.trim())
      }
    }
    if (animated ? images === 0 : images !== 1) fail('MALFORMED', 'webp: wrong number of image chunks')
  } else if (first.type === 'VP8 ' || first.type === 'VP8L') {
    checkFrameChunk(first)
    out.push(first)
    for (const c of chunks.slice(1)) {
      if (c.type === 'VP8 ' || c.type === 'VP8L' || c.type === 'VP8X' || c.type === 'ALPH') fail('MALFORMED', `webp: ${c.type} after a simple image`)
      note(removed, c.type.trim())
    }
  } else {
    fail('MALFORMED', `webp: first chunk is '${first.type}'`)
  }
  return { bytes: writeRiff(out), removed }
}

function readChunks (bytes: Uint8Array, start: number, end: number): Chunk[] {
  const chunks: Chunk[] = []
  let pos = start
  while (pos < end) {
    if (chunks.length >= MAX_CHUNKS) fail('TOO_LARGE', 'webp: too many chunks')
    need(bytes, pos, CHUNK_HEADER_BYTES, 'webp: chunk header', end)
    const type = fourcc(bytes, pos)
    if (!/^[\x20-\x7e]{4}$/.test(type)) fail('MALFORMED', 'webp: chunk FourCC is not printable')
    const size = u32le(bytes, pos + 4)
    const padded = size + (size & 1)
    need(bytes, pos + CHUNK_HEADER_BYTES, padded, `webp: ${type} chunk`, end)
    chunks.push({ type, payload: bytes.subarray(pos + CHUNK_HEADER_BYTES, pos + CHUNK_HEADER_BYTES + size) })
    pos += CHUNK_HEADER_BYTES + padded
  }
  return chunks
}

/** ANMF: keeps the 16-byte frame header and the frame's ALPH/VP8/VP8L sub-chunks only. */
function cleanFrame (payload: Uint8Array, removed: string[]): Uint8Array {
  need(payload, 0, ANMF_HEADER_BYTES, 'webp: ANMF header')
  const parts: Chunk[] = []
  let images = 0
  for (const c of readChunks(payload, ANMF_HEADER_BYTES, payload.length)) {
    if (c.type === 'VP8 ' || c.type === 'VP8L' || c.type === 'ALPH') {
      checkFrameChunk(c)
      if (c.type !== 'ALPH') images++
      parts.push(c)
    } else {
      note(removed, `ANMF/${c.type.trim()}`)
    }
  }
  if (images !== 1) fail('MALFORMED', 'webp: ANMF without exactly one image')
  return concat([payload.subarray(0, ANMF_HEADER_BYTES), ...parts.map(chunkBytes)])
}

function checkFrameChunk (c: Chunk): void {
  const p = c.payload
  if (c.type === 'VP8L' && (p.length < 5 || p[0] !== VP8L_SIGNATURE)) fail('MALFORMED', 'webp: VP8L signature')
  // VP8 key frame: 3-byte frame tag, then start code 9D 01 2A, then 2+2 bytes of size.
  if (c.type === 'VP8 ' && (p.length < 10 || p[3] !== 0x9d || p[4] !== 0x01 || p[5] !== 0x2a)) fail('MALFORMED', 'webp: VP8 start code')
}

function chunkBytes (c: Chunk): Uint8Array {
  const padded = c.payload.length + (c.payload.length & 1)
  const out = new Uint8Array(CHUNK_HEADER_BYTES + padded)
  for (let i = 0; i < 4; i++) out[i] = c.type.charCodeAt(i)
  writeU32le(out, 4, c.payload.length)
  out.set(c.payload, CHUNK_HEADER_BYTES)
  return out
}

function writeRiff (chunks: readonly Chunk[]): Uint8Array {
  const body = concat(chunks.map(chunkBytes))
  const out = new Uint8Array(RIFF_HEADER_BYTES + body.length)
  out.set([0x52, 0x49, 0x46, 0x46]) // 'RIFF'
  writeU32le(out, 4, 4 + body.length)
  out.set([0x57, 0x45, 0x42, 0x50], 8) // 'WEBP'
  out.set(body, RIFF_HEADER_BYTES)
  return out
}
