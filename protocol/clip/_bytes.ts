/**
 * Bounds-checked big/little-endian readers shared by the clip parsers. Every read that would
 * run past the end of the input is PorchlightError('MALFORMED'), so a truncated file can never
 * surface as a RangeError or an `undefined` byte.
 */
import { fail } from '../errors.ts'
export { concatAll as concat } from '../encoding.ts'

/** Fails unless `[offset, offset + length)` lies inside `bytes` (or inside `[.., end)`). */
export function need (bytes: Uint8Array, offset: number, length: number, what: string, end = bytes.length): void {
  if (offset < 0 || length < 0 || offset + length > end || end > bytes.length) {
    fail('MALFORMED', `${what}: truncated`)
  }
}

export function u8 (b: Uint8Array, o: number): number {
  need(b, o, 1, 'byte')
  return b[o]!
}

export function u16be (b: Uint8Array, o: number): number {
  need(b, o, 2, 'u16')
  return (b[o]! << 8) | b[o + 1]!
}

export function u32be (b: Uint8Array, o: number): number {
  need(b, o, 4, 'u32')
  return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!)
}

export function u32le (b: Uint8Array, o: number): number {
  need(b, o, 4, 'u32')
  return ((b[o + 3]! << 24) >>> 0) + ((b[o + 2]! << 16) | (b[o + 1]! << 8) | b[o]!)
}

/** 64-bit big-endian; values above 2^53 cannot be offsets into a clip, so they are MALFORMED. */
export function u64be (b: Uint8Array, o: number): number {
  const hi = u32be(b, o)
  const lo = u32be(b, o + 4)
  if (hi >= 0x200000) fail('MALFORMED', 'u64: value beyond 2^53')
  return hi * 0x100000000 + lo
}

export function writeU32le (b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff; b[o + 1] = (v >>> 8) & 0xff; b[o + 2] = (v >>> 16) & 0xff; b[o + 3] = v >>> 24
}

/** Four bytes as a string, one char per byte (Latin-1), so '©xyz' (0xA9 'xyz') round-trips. */
export function fourcc (b: Uint8Array, o: number): string {
  need(b, o, 4, 'four-character code')
  return String.fromCharCode(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!)
}

export function latin1 (s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff
  return out
}

/** True when `b` holds exactly the Latin-1 bytes of `s` at offset `o`. */
export function startsWith (b: Uint8Array, o: number, s: string): boolean {
  if (o < 0 || o + s.length > b.length) return false
  for (let i = 0; i < s.length; i++) if (b[o + i] !== s.charCodeAt(i)) return false
  return true
}


/** Records a removed item once, in first-seen order. */
export function note (removed: string[], what: string): void {
  if (!removed.includes(what)) removed.push(what)
}
