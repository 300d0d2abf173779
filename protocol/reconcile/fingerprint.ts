/**
 * Range fingerprints of history sync, exactly as Negentropy v1 computes them:
 *   fingerprint = SHA-256( (sum of the 32-byte ids as little-endian integers mod 2^256)
 *                          || varint(count) )[0..16]
 * The sum is kept as eight 32-bit little-endian limbs so sums of sub-ranges can be cached and
 * added together (SyncItemSet caches one per chunk of items).
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { varintSize, writeVarint } from './varint.ts'

/** Item ids are 32 bytes (envelope hashes). */
export const ID_BYTES = 32
/** Truncated SHA-256: 128 bits, as in Negentropy. */
export const FINGERPRINT_BYTES = 16
/** 256-bit sum as eight 32-bit limbs, least significant first. */
export const SUM_LIMBS = 8

export function newSum (): Uint32Array {
  return new Uint32Array(SUM_LIMBS)
}

/** acc += id (mod 2^256), the id read as a little-endian integer. */
export function addId (acc: Uint32Array, id: Uint8Array): void {
  let carry = 0
  for (let j = 0, o = 0; j < SUM_LIMBS; j++, o += 4) {
    const limb = (id[o]! | (id[o + 1]! << 8) | (id[o + 2]! << 16) | (id[o + 3]! << 24)) >>> 0
    const s = acc[j]! + limb + carry
    acc[j] = s // Uint32Array stores s mod 2^32
    carry = s > 0xffffffff ? 1 : 0
  }
}

/** acc += other (mod 2^256). */
export function addSum (acc: Uint32Array, other: Uint32Array): void {
  let carry = 0
  for (let j = 0; j < SUM_LIMBS; j++) {
    const s = acc[j]! + other[j]! + carry
    acc[j] = s
    carry = s > 0xffffffff ? 1 : 0
  }
}

/** 16-byte fingerprint of `count` items whose ids add up to `sum`. */
export function fingerprintOf (sum: Uint32Array, count: number): Uint8Array {
  const buf = new Uint8Array(ID_BYTES + varintSize(count))
  for (let j = 0, o = 0; j < SUM_LIMBS; j++, o += 4) {
    const v = sum[j]!
    buf[o] = v & 0xff
    buf[o + 1] = (v >>> 8) & 0xff
    buf[o + 2] = (v >>> 16) & 0xff
    buf[o + 3] = v >>> 24
  }
  writeVarint(buf, ID_BYTES, count)
  return sha256(buf).subarray(0, FINGERPRINT_BYTES)
}

/** Fingerprint of a list of ids (reference path for tests and small lists). */
export function fingerprintIds (ids: Iterable<Uint8Array>): Uint8Array {
  const acc = newSum()
  let n = 0
  for (const id of ids) {
    addId(acc, id)
    n++
  }
  return fingerprintOf(acc, n)
}
