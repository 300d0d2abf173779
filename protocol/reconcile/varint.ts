/**
 * Varints of the sync wire format, as Negentropy's: base-128, most significant group first,
 * high bit set on every byte but the last (300 -> 0x82 0x2c). Porchlight's decoder accepts
 * only the minimal encoding of a value up to 2^53 - 1 (1..8 bytes), so every value has
 * exactly one encoding and JavaScript numbers hold it exactly.
 */
import { fail } from '../errors.ts'

/** Largest value a varint may carry: every integer up to it is exact in a JS number. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER
/** 2^53 - 1 needs 53 bits = 8 groups of 7. */
export const MAX_VARINT_BYTES = 8

/** Read position inside a message; advanced by the read functions. */
export interface Cursor { pos: number }

export function varintSize (n: number): number {
  let size = 1
  while (n >= 128) {
    n = Math.floor(n / 128)
    size++
  }
  return size
}

/** Writes `n` (a safe non-negative integer, checked by callers) at `pos`; returns the next position. */
export function writeVarint (out: Uint8Array, pos: number, n: number): number {
  const size = varintSize(n)
  let v = n
  for (let i = size - 1; i >= 0; i--) {
    out[pos + i] = (v % 128) | (i === size - 1 ? 0 : 0x80)
    v = Math.floor(v / 128)
  }
  return pos + size
}

export function encodeVarint (n: number): Uint8Array {
  const out = new Uint8Array(varintSize(n))
  writeVarint(out, 0, n)
  return out
}

/** Reads one minimal varint; MALFORMED if truncated or padded, OUT_OF_RANGE above 2^53 - 1. */
export function readVarint (bytes: Uint8Array, cur: Cursor): number {
  const first = bytes[cur.pos]
  if (first === 0x80) fail('MALFORMED', 'sync: varint is not minimal')
  let value = 0
  for (let i = 0; i < MAX_VARINT_BYTES + 1; i++) {
    const b = bytes[cur.pos]
    if (b === undefined) fail('MALFORMED', 'sync: message ends inside a varint')
    cur.pos++
    value = value * 128 + (b & 0x7f)
    if (value > MAX_VARINT) fail('OUT_OF_RANGE', 'sync: varint above 2^53 - 1')
    if ((b & 0x80) === 0) return value
  }
  return fail('OUT_OF_RANGE', 'sync: varint longer than 8 bytes')
}
