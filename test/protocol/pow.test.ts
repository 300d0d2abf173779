// protocol/pow.ts: the one-block miner finds exactly the nonce a plain SHA-256 search finds
// (checked with node:crypto, independently of noble and of the miner), the checker counts
// leading zero bits, and bad arguments are refused.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { checkProof, leadingZeroBits, mineProof, mineProofSync, POW_INPUT_BYTES, powInput, proofBits } from '../../protocol/pow.ts'
import { rejection } from '../helpers/protocol-fixtures.ts'

const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 })

function workHash (digest: Uint8Array, nonce: number): Buffer {
  const n = Buffer.alloc(8)
  n.writeBigUInt64BE(BigInt(nonce))
  return createHash('sha256').update('pl/pub-pow/1').update(digest).update(n).digest()
}

/** The first nonce from `start` meeting `bits`, by plain search with node:crypto. */
function plainSearch (digest: Uint8Array, bits: number, start = 0): number {
  for (let n = start; ; n++) if (leadingZeroBits(workHash(digest, n)) >= bits) return n
}

function asNumber (nonce: Uint8Array): number {
  return Number(Buffer.from(nonce).readBigUInt64BE())
}

describe('pow', () => {
  it('work input: tag, digest, nonce; 52 bytes', () => {
    const input = powInput(new Uint8Array(32).fill(7), new Uint8Array([0, 0, 0, 0, 0, 0, 1, 2]))
    expect(input.length).toBe(POW_INPUT_BYTES)
    expect(Buffer.from(input.subarray(0, 12)).toString()).toBe('pl/pub-pow/1')
  })

  it('leadingZeroBits', () => {
    expect(leadingZeroBits(new Uint8Array([0x80]))).toBe(0)
    expect(leadingZeroBits(new Uint8Array([0x01]))).toBe(7)
    expect(leadingZeroBits(new Uint8Array([0, 0, 0x10]))).toBe(19)
    expect(leadingZeroBits(new Uint8Array(4))).toBe(32)
  })

  it('the miner finds the first nonce a plain search finds, for any digest, difficulty and start', () => {
    fc.assert(fc.property(digestArb, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 2 ** 40 }), (digest, bits, start) => {
      const nonce = mineProofSync(digest, bits, start)
      expect(asNumber(nonce)).toBe(plainSearch(digest, bits, start))
      expect(proofBits(digest, nonce)).toBeGreaterThanOrEqual(bits)
      expect(leadingZeroBits(workHash(digest, asNumber(nonce)))).toBe(proofBits(digest, nonce))
    }), { numRuns: runs(20) })
  })

  it('nonces past 2^32 carry into the high word', () => {
    const digest = new Uint8Array(32).fill(3)
    const start = 2 ** 32 - 5
    expect(asNumber(mineProofSync(digest, 6, start))).toBe(plainSearch(digest, 6, start))
  })

  it('checkProof: WEAK_PROOF below the difficulty, silent at or above', async () => {
    await fc.assert(fc.asyncProperty(digestArb, fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 12 }), async (digest, nonce, bits) => {
      if (proofBits(digest, nonce) >= bits) checkProof(digest, nonce, bits)
      else expect(await rejection(() => checkProof(digest, nonce, bits))).toBe('WEAK_PROOF')
    }), { numRuns: runs(75) })
  })

  it('mineProof (yielding) agrees with mineProofSync; gives up with TIMEOUT; stops on abort', async () => {
    const digest = new Uint8Array(32).fill(9)
    expect(await mineProof(digest, 10, { yieldEvery: 100 })).toEqual(mineProofSync(digest, 10))
    expect(await rejection(() => mineProof(digest, 60, { maxAttempts: 1000, yieldEvery: 300 }))).toBe('TIMEOUT')
    const stop = new AbortController()
    stop.abort()
    await expect(mineProof(digest, 60, { signal: stop.signal })).rejects.toThrow()
  })

  it('refuses bad arguments', async () => {
    for (const bits of [-1, 65, 1.5, Number.NaN]) expect(await rejection(() => checkProof(new Uint8Array(32), new Uint8Array(8), bits))).toBe('BAD_ARGUMENT')
    expect(await rejection(() => proofBits(new Uint8Array(31), new Uint8Array(8)))).toBe('BAD_ARGUMENT')
    expect(await rejection(() => proofBits(new Uint8Array(32), new Uint8Array(9)))).toBe('BAD_ARGUMENT')
    expect(await rejection(() => mineProof(new Uint8Array(32), 8, { start: -1 }))).toBe('BAD_ARGUMENT')
  })
})
