/**
 * PNG metadata removal (PNG 3rd edition chunk layout: 4-byte length, 4-byte type, data,
 * 4-byte CRC-32 over type and data).
 *
 * Every chunk's CRC is verified. Kept, byte for byte: the critical chunks IHDR, PLTE, IDAT,
 * IEND and the rendering chunks that hold only numbers: tRNS, gAMA, cHRM, sRGB, sBIT, bKGD,
 * pHYs (pixel density: harmless, and print size depends on it). Dropped: tEXt, zTXt, iTXt,
 * eXIf, tIME, iCCP (a free-form profile blob with name and description strings; images fall
 * back to sRGB), APNG animation chunks (the default image stays), every other ancillary chunk,
 * and anything after IEND (the "aCropalypse" leftovers of an in-place crop).
 * An unknown critical chunk (upper-case first letter) is 'UNSUPPORTED', as the PNG spec
 * requires of decoders. Data hidden inside the zlib stream of IDAT is not inspected.
 */
import { fail } from '../errors.ts'
import { concat, fourcc, need, note, startsWith, u32be } from './_bytes.ts'
import { crc32 } from './crc32.ts'
import type { StripResult } from './types.ts'

const SIGNATURE_BYTES = 8
/** Chunk header (length + type) and CRC trailer. */
const CHUNK_OVERHEAD = 12
/** PNG limits a chunk's length to 2^31 - 1. */
const MAX_CHUNK_BYTES = 0x7fffffff

/** Kept chunks, with the exact data length each must have (-1: checked below or variable). */
const KEPT: ReadonlyMap<string, number> = new Map([
  ['IHDR', 13], ['PLTE', -1], ['IDAT', -1], ['IEND', 0],
  ['tRNS', -1], ['gAMA', 4], ['cHRM', 32], ['sRGB', 1], ['sBIT', -1], ['bKGD', -1], ['pHYs', 9]
])

export function stripPng (bytes: Uint8Array): StripResult {
  if (!startsWith(bytes, 0, '\x89PNG\r\n\x1a\n')) fail('MALFORMED', 'png: missing signature')
  const removed: string[] = []
  const kept: Uint8Array[] = [bytes.subarray(0, SIGNATURE_BYTES)]
  let pos = SIGNATURE_BYTES
  let index = 0
  let idatRun: 'before' | 'in' | 'after' = 'before'

  for (;; index++) {
    const length = u32be(bytes, pos)
    if (length > MAX_CHUNK_BYTES) fail('MALFORMED', 'png: chunk length over 2^31-1')
    need(bytes, pos, CHUNK_OVERHEAD + length, 'png: chunk')
    const type = fourcc(bytes, pos + 4)
    if (!/^[A-Za-z]{4}$/.test(type)) fail('MALFORMED', 'png: chunk type is not four letters')
    const end = pos + CHUNK_OVERHEAD + length
    if (crc32(bytes, pos + 4, end - 4) !== u32be(bytes, end - 4)) fail('MALFORMED', `png: bad CRC in ${type}`)
    if (index === 0 && type !== 'IHDR') fail('MALFORMED', 'png: first chunk is not IHDR')
    if (index > 0 && type === 'IHDR') fail('MALFORMED', 'png: second IHDR')

    if (type === 'IDAT') {
      if (idatRun === 'after') fail('MALFORMED', 'png: IDAT chunks not consecutive')
      idatRun = 'in'
    } else if (idatRun === 'in') {
      idatRun = 'after'
    }
    if (type === 'PLTE' && idatRun !== 'before') fail('MALFORMED', 'png: PLTE after IDAT')

    const exact = KEPT.get(type)
    if (exact !== undefined) {
      if (exact >= 0 && length !== exact) fail('MALFORMED', `png: ${type} length ${length}`)
      if (type === 'PLTE' && (length === 0 || length % 3 !== 0 || length > 768)) fail('MALFORMED', 'png: PLTE length')
      if (type === 'sBIT' && (length < 1 || length > 4)) fail('MALFORMED', 'png: sBIT length')
      if (type === 'bKGD' && length !== 1 && length !== 2 && length !== 6) fail('MALFORMED', 'png: bKGD length')
      if (type === 'tRNS' && length > 256) fail('MALFORMED', 'png: tRNS length')
      kept.push(bytes.subarray(pos, end))
    } else if (isCritical(type)) {
      fail('UNSUPPORTED', `png: unknown critical chunk ${type}`)
    } else {
      note(removed, type)
    }
    pos = end
    if (type === 'IEND') break
  }

  if (idatRun === 'before') fail('MALFORMED', 'png: no IDAT')
  if (pos < bytes.length) note(removed, 'data after IEND')
  return { bytes: concat(kept), removed }
}

/** Bit 5 of the first type byte clear (upper-case letter) marks a critical chunk. */
function isCritical (type: string): boolean {
  return (type.charCodeAt(0) & 0x20) === 0
}
