/**
 * Proof of work for public posts (hashcash-style): anyone may write to an area channel, so
 * each public post carries a nonce that costs its author about 2^bits SHA-256 compressions
 * to find and costs a reader one hash to check. A phone pays well under a second for one post;
 * a flood pays the same for every post, on top of the relay's per-address limits
 * (node/relay/ip-limits.ts), which are what bound a flood from a few addresses.
 *
 * Work input, 52 bytes (one SHA-256 block once padded):
 *   TAG (12: ASCII 'pl/pub-pow/1') || digest (32) || nonce (8, big-endian)
 *   valid when SHA-256(input) has at least `bits` leading zero bits.
 * digest is the SHA-256 of what the proof pays for; for a public post, its signed body and
 * signature (public-post.ts). The signature is included because Ed25519 lets a signer make
 * any number of valid signatures of one body: without it one proof would buy unlimited
 * distinct messages.
 *
 * Why mined in plain JavaScript, not WebCrypto: `crypto.subtle.digest` is one promise per
 * hash (measured in Chromium: test/bench/pow-bench.ts), while the search needs millions of
 * one-block hashes. mineProof runs the SHA-256 compression itself on a fixed block whose
 * first 11 words never change (a precomputed midstate after 11 rounds, no allocation per
 * attempt), so a phone's cost is as low as JavaScript allows; a flooder with native code
 * or a GPU pays less per hash either way, which is why the limits per address come first.
 * checkProof uses noble's sha256 over the same 52 bytes; tests cross-check the two.
 */
import { fail } from './errors.ts'
import { sha256 } from './crypto.ts'

export const POW_TAG = 'pl/pub-pow/1'
export const POW_TAG_BYTES = 12
export const POW_NONCE_BYTES = 8
export const POW_INPUT_BYTES = POW_TAG_BYTES + 32 + POW_NONCE_BYTES
/** Nonces are tried from 0 up; 2^53 is far beyond any search. */
const MAX_NONCE = Number.MAX_SAFE_INTEGER
/** Attempts between yields to the event loop while mining (a few ms on a phone). */
const DEFAULT_YIELD_EVERY = 1 << 14

const TAG = new TextEncoder().encode(POW_TAG)
if (TAG.length !== POW_TAG_BYTES) throw new Error('POW_TAG must be 12 bytes')

function checkDigest (digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) fail('BAD_ARGUMENT', 'proof of work digest: expected 32 bytes')
}

function checkBits (bits: number): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > 64) fail('BAD_ARGUMENT', 'proof of work bits: an integer 0..64')
}

/** The 52-byte work input. */
export function powInput (digest: Uint8Array, nonce: Uint8Array): Uint8Array {
  checkDigest(digest)
  if (!(nonce instanceof Uint8Array) || nonce.length !== POW_NONCE_BYTES) fail('BAD_ARGUMENT', `proof of work nonce: expected ${POW_NONCE_BYTES} bytes`)
  const out = new Uint8Array(POW_INPUT_BYTES)
  out.set(TAG, 0)
  out.set(digest, POW_TAG_BYTES)
  out.set(nonce, POW_TAG_BYTES + 32)
  return out
}

/** Leading zero bits of a hash. */
export function leadingZeroBits (hash: Uint8Array): number {
  let n = 0
  for (const b of hash) {
    if (b === 0) { n += 8; continue }
    return n + Math.clz32(b) - 24
  }
  return n
}

/** The proof's strength: leading zero bits of SHA-256(TAG || digest || nonce). One hash. */
export function proofBits (digest: Uint8Array, nonce: Uint8Array): number {
  return leadingZeroBits(sha256(powInput(digest, nonce)))
}

/** Throws WEAK_PROOF unless the nonce gives at least `bits` leading zero bits. */
export function checkProof (digest: Uint8Array, nonce: Uint8Array, bits: number, what = 'message'): void {
  checkBits(bits)
  if (proofBits(digest, nonce) < bits) fail('WEAK_PROOF', `${what}: proof of work below ${bits} bits`)
}

export interface MineOptions {
  /** First nonce tried. @default 0 (so a given digest always gets the same nonce) */
  start?: number
  /** Give up (TIMEOUT) after this many attempts. @default no limit */
  maxAttempts?: number
  /** Attempts between yields to the event loop. @default 16384 */
  yieldEvery?: number
  signal?: AbortSignal
}

/**
 * Finds the first nonce from `start` whose work hash has `bits` leading zero bits; about 2^bits
 * attempts on average. Yields to the event loop every `yieldEvery` attempts so a page stays
 * responsive.
 */
export async function mineProof (digest: Uint8Array, bits: number, opts: MineOptions = {}): Promise<Uint8Array> {
  checkDigest(digest)
  checkBits(bits)
  const start = opts.start ?? 0
  if (!Number.isSafeInteger(start) || start < 0) fail('BAD_ARGUMENT', 'proof of work start: a safe non-negative integer')
  const yieldEvery = opts.yieldEvery ?? DEFAULT_YIELD_EVERY
  const end = Math.min(MAX_NONCE, opts.maxAttempts === undefined ? MAX_NONCE : start + opts.maxAttempts)
  const miner = new Miner(digest, bits)
  for (let from = start; from < end; from += yieldEvery) {
    opts.signal?.throwIfAborted()
    const found = miner.search(from, Math.min(end, from + yieldEvery))
    if (found !== undefined) return nonceBytes(found)
    if (from + yieldEvery < end) await new Promise(resolve => setTimeout(resolve, 0))
  }
  fail('TIMEOUT', `no proof of work of ${bits} bits in the attempts allowed`)
}

/** The same search without yielding (benchmarks, tests). */
export function mineProofSync (digest: Uint8Array, bits: number, start = 0): Uint8Array {
  checkDigest(digest)
  checkBits(bits)
  const found = new Miner(digest, bits).search(start, MAX_NONCE)
  if (found === undefined) fail('TIMEOUT', 'no proof of work found')
  return nonceBytes(found)
}

function nonceBytes (n: number): Uint8Array {
  const out = new Uint8Array(POW_NONCE_BYTES)
  const view = new DataView(out.buffer)
  view.setUint32(0, Math.floor(n / 0x1_0000_0000))
  view.setUint32(4, n >>> 0)
  return out
}

// ---- SHA-256 (FIPS 180-4) of the one fixed-layout block, nonce in words 11 and 12 ----

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
])
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
/** Words 0..10 are the tag and digest; the nonce is in 11 and 12. */
const FIXED_WORDS = 11

class Miner {
  private readonly w = new Uint32Array(64)
  /** State after the rounds over the fixed words. */
  private readonly mid = new Uint32Array(8)
  /** Hash words that must be zero, and the mask of the partial word after them. */
  private readonly zeroWords: number
  private readonly mask: number

  constructor (digest: Uint8Array, bits: number) {
    const block = new Uint8Array(64)
    block.set(TAG, 0)
    block.set(digest, POW_TAG_BYTES)
    block[POW_INPUT_BYTES] = 0x80
    new DataView(block.buffer).setUint32(60, POW_INPUT_BYTES * 8)
    const view = new DataView(block.buffer)
    for (let i = 0; i < 16; i++) this.w[i] = view.getUint32(i * 4)
    let [a, b, c, d, e, f, g, h] = IV as [number, number, number, number, number, number, number, number]
    for (let i = 0; i < FIXED_WORDS; i++) {
      const t1 = (h + sigma1(e) + ((e & f) ^ (~e & g)) + K[i]! + this.w[i]!) | 0
      const t2 = (sigma0(a) + ((a & b) ^ (a & c) ^ (b & c))) | 0
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0
    }
    this.mid.set([a, b, c, d, e, f, g, h])
    this.zeroWords = Math.floor(bits / 32)
    this.mask = bits % 32 === 0 ? 0 : (0xffffffff << (32 - bits % 32)) >>> 0
  }

  /** The first nonce in [from, to) that meets the difficulty, or undefined. */
  search (from: number, to: number): number | undefined {
    const w = this.w
    const m = this.mid
    for (let n = from; n < to; n++) {
      w[11] = Math.floor(n / 0x1_0000_0000)
      w[12] = n >>> 0
      for (let i = 16; i < 64; i++) {
        const x = w[i - 15]!
        const y = w[i - 2]!
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
        w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0
      }
      let a = m[0]!; let b = m[1]!; let c = m[2]!; let d = m[3]!
      let e = m[4]!; let f = m[5]!; let g = m[6]!; let h = m[7]!
      for (let i = FIXED_WORDS; i < 64; i++) {
        const t1 = (h + sigma1(e) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0
        const t2 = (sigma0(a) + ((a & b) ^ (a & c) ^ (b & c))) | 0
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0
      }
      const h0 = (IV[0]! + a) >>> 0
      if (this.zeroWords === 0) {
        if ((h0 & this.mask) === 0) return n
        continue
      }
      if (h0 !== 0) continue
      const h1 = (IV[1]! + b) >>> 0
      if (this.zeroWords === 1) {
        if ((h1 & this.mask) === 0) return n
        continue
      }
      if (h1 === 0 && (((IV[2]! + c) >>> 0) & this.mask) === 0) return n
    }
    return undefined
  }
}

function sigma0 (a: number): number { return ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10)) }
function sigma1 (e: number): number { return ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7)) }
