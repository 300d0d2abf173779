// The node:crypto provider must agree byte for byte with noble (and so with WebCrypto).
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { nativeHashes, nativeProvider } from '../../node/native-crypto.ts'
import { nobleHashes, nobleProvider } from '../../protocol/crypto.ts'
import { isPorchlightError } from '../../protocol/errors.ts'

const native = nativeProvider()
const key = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('node:crypto provider', () => {
  it('gives the same SHA-256 and HMAC-SHA256 as noble, as plain Uint8Arrays of their own', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 4096 }), (k, data) => {
      const h = nativeHashes.sha256(data)
      expect(h).toEqual(nobleHashes.sha256(data))
      expect(h.byteOffset === 0 && h.buffer.byteLength === 32).toBe(true)
      expect(nativeHashes.hmacSha256(k, data)).toEqual(nobleHashes.hmacSha256(k, data))
    }), { numRuns: runs(50) })
  })

  it('gives the same Ed25519 keys and signatures as noble, and verifies them', async () => {
    await fc.assert(fc.asyncProperty(key, fc.uint8Array({ maxLength: 2048 }), async (seed, msg) => {
      const [p1, p2] = [await native.ed25519PublicKey(seed), await nobleProvider.ed25519PublicKey(seed)]
      expect(p1).toEqual(p2)
      const [s1, s2] = [await native.ed25519Sign(seed, msg), await nobleProvider.ed25519Sign(seed, msg)]
      expect(s1).toEqual(s2)
      expect(await native.ed25519Verify(p1, msg, s1)).toBe(true)
      const bad = s1.slice()
      bad[msg.length % 64] = bad[msg.length % 64]! ^ 1
      expect(await native.ed25519Verify(p1, msg, bad)).toBe(false)
    }), { numRuns: runs(20) })
  })

  it('gives the same X25519 public keys and shared secrets as noble', async () => {
    await fc.assert(fc.asyncProperty(key, key, async (a, b) => {
      const pb = await native.x25519PublicKey(b)
      expect(pb).toEqual(await nobleProvider.x25519PublicKey(b))
      expect(await native.x25519SharedSecret(a, pb)).toEqual(await nobleProvider.x25519SharedSecret(a, pb))
    }), { numRuns: runs(20) })
  })

  it('answers false for garbage keys and signatures, and refuses low-order points', async () => {
    expect(await native.ed25519Verify(new Uint8Array(31), new Uint8Array(1), new Uint8Array(64))).toBe(false)
    expect(await native.ed25519Verify(new Uint8Array(32).fill(0xff), new Uint8Array(1), new Uint8Array(64))).toBe(false)
    const err = await native.x25519SharedSecret(new Uint8Array(32).fill(1), new Uint8Array(32)).catch(e => e)
    expect(isPorchlightError(err, 'BAD_ARGUMENT')).toBe(true)
  })
})
