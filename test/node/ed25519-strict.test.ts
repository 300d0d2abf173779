// One strict Ed25519 rule in every provider (noble, WebCrypto, node:crypto): without it
// WebCrypto and OpenSSL accepted the identity key with R = identity and S = 0 for ANY message
// (a key anyone can sign for) while noble refused, so browser and Node peers disagreed.
// Vectors: test/vectors/ed25519-strict.json, each with the verdict every provider must give.
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { readFileSync } from 'node:fs'
import { webcrypto } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { nobleProvider, strictEd25519Inputs, webCryptoProvider, type CryptoProvider } from '../../protocol/crypto.ts'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { nativeProvider } from '../../node/native-crypto.ts'

interface Vector { name: string, publicKey: string, message: string, signature: string, valid: boolean }
const VECTORS = JSON.parse(readFileSync(new URL('../vectors/ed25519-strict.json', import.meta.url), 'utf8')) as { vectors: Vector[] }

const PROVIDERS: Array<[string, CryptoProvider]> = [
  ['noble', nobleProvider],
  ['webcrypto', webCryptoProvider(webcrypto.subtle as unknown as SubtleCrypto)],
  ['node:crypto', nativeProvider()]
]

/** L, the group order, little-endian: S + L verifies under a lax rule and must not here. */
const L = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')

function addL (s: Uint8Array): Uint8Array {
  const out = new Uint8Array(32)
  let carry = 0
  for (let i = 0; i < 32; i++) { const v = s[i]! + L[i]! + carry; out[i] = v & 0xff; carry = v >> 8 }
  return out
}

describe('strict Ed25519 verification', () => {
  for (const [name, provider] of PROVIDERS) {
    it(`${name}: every vector gives its verdict`, async () => {
      for (const v of VECTORS.vectors) {
        expect(await provider.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)), `${name}: ${v.name}`).toBe(v.valid)
      }
    })
  }

  it('the vectors hold what they say: a genuine signature, its S + L, small-order keys and R', () => {
    const byName = new Map(VECTORS.vectors.map(v => [v.name, v]))
    const good = byName.get('genuine signature')!
    expect(ed25519.verify(fromHex(good.signature), fromHex(good.message), fromHex(good.publicKey))).toBe(true)
    const sPlusL = byName.get('non-canonical S (S + L)')!
    expect(toHex(fromHex(sPlusL.signature).subarray(32))).toBe(toHex(addL(fromHex(good.signature).subarray(32))))
    for (const v of VECTORS.vectors.filter(v => v.name.startsWith('small-order'))) {
      const key = v.name.includes('R') ? fromHex(v.signature).subarray(0, 32) : fromHex(v.publicKey)
      expect(ed25519.Point.fromBytes(key, true).isSmallOrder(), v.name).toBe(true)
    }
  })

  it('all providers agree on random keys, messages and signatures, and on one-byte changes of genuine ones', async () => {
    const seed = fromHex('0101010101010101010101010101010101010101010101010101010101010101')
    const pub = ed25519.getPublicKey(seed)
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.nat(63), fc.integer({ min: 1, max: 255 }), async (message, at, flip) => {
      const sig = ed25519.sign(message, seed)
      const bent = sig.slice()
      bent[at] = bent[at]! ^ flip
      for (const s of [sig, bent]) {
        const verdicts = await Promise.all(PROVIDERS.map(async ([, p]) => p.ed25519Verify(pub, message, s)))
        expect(new Set(verdicts).size).toBe(1)
        expect(verdicts[0]).toBe(s === sig)
      }
    }), { numRuns: runs(25) })
  })

  it('strictEd25519Inputs accepts genuine keys and signatures', () => {
    for (let i = 0; i < 50; i++) {
      const seed = ed25519.utils.randomSecretKey()
      expect(strictEd25519Inputs(ed25519.getPublicKey(seed), ed25519.sign(new Uint8Array([i]), seed))).toBe(true)
    }
  })
})
