// The node:crypto provider must agree byte for byte with noble (and so with WebCrypto).
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { nativeProvider, nativeSymmetric, symmetricWorks, useNativeCrypto, XCHACHA_A31 } from '../../node/native-crypto.ts'
import {
  aeadOpen, aeadSeal, getSymmetric, nobleProvider, nobleSymmetric, setSymmetric, type SymmetricProvider
} from '../../protocol/crypto.ts'
import { fromHex, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { isPorchlightError } from '../../protocol/errors.ts'

const native = nativeProvider()
const key = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('node:crypto provider', () => {
  it('gives the same SHA-256 and HMAC-SHA256 as noble, as plain Uint8Arrays of their own', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 4096 }), (k, data) => {
      const h = nativeSymmetric.sha256(data)
      expect(h).toEqual(nobleSymmetric.sha256(data))
      expect(h.byteOffset === 0 && h.buffer.byteLength === 32).toBe(true)
      expect(nativeSymmetric.hmacSha256(k, data)).toEqual(nobleSymmetric.hmacSha256(k, data))
      // In parts: the HMAC of the parts joined.
      const cut = data.length >> 1
      const parts = [data.subarray(0, cut), new Uint8Array(0), data.subarray(cut)]
      expect(nativeSymmetric.hmacSha256(k, parts)).toEqual(nobleSymmetric.hmacSha256(k, data))
      expect(nobleSymmetric.hmacSha256(k, parts)).toEqual(nobleSymmetric.hmacSha256(k, data))
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

  describe('XChaCha20-Poly1305 (HChaCha20 + OpenSSL ChaCha20-Poly1305)', () => {
    const nonce = fc.uint8Array({ minLength: 24, maxLength: 24 })
    // Lengths around the 64-byte ChaCha block and the 16-byte Poly1305 block, and up to a 4 KiB envelope.
    const plaintext = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 900, maxLength: 4200 }))
    const aad = fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined })
    const refuses = (p: SymmetricProvider, k: Uint8Array, n: Uint8Array, sealed: Uint8Array, a?: Uint8Array): boolean => {
      try { p.xchachaOpen(k, n, sealed, a) } catch { return true }
      return false
    }

    for (const p of [nobleSymmetric, nativeSymmetric]) {
      it(`${p.name}: draft-irtf-cfrg-xchacha-03 A.3.1`, () => {
        const [k, n, a] = [fromHex(XCHACHA_A31.key), fromHex(XCHACHA_A31.nonce), fromHex(XCHACHA_A31.aad)]
        expect(toHex(p.xchachaSeal(k, n, utf8Bytes(XCHACHA_A31.plaintext), a))).toBe(XCHACHA_A31.sealed)
        expect(toHex(p.xchachaOpen(k, n, fromHex(XCHACHA_A31.sealed), a))).toBe(toHex(utf8Bytes(XCHACHA_A31.plaintext)))
      })
    }

    it('seals to the same bytes as noble, and each opens what the other sealed', () => {
      fc.assert(fc.property(key, nonce, plaintext, aad, (k, n, pt, a) => {
        const sealed = nativeSymmetric.xchachaSeal(k, n, pt, a)
        expect(toHex(sealed)).toBe(toHex(nobleSymmetric.xchachaSeal(k, n, pt, a)))
        expect(sealed.byteOffset === 0 && sealed.buffer.byteLength === pt.length + 16).toBe(true)
        expect(nativeSymmetric.xchachaOpen(k, n, sealed, a)).toEqual(pt)
        expect(nobleSymmetric.xchachaOpen(k, n, sealed, a)).toEqual(pt)
        // Sealed into a caller's buffer (a view at an offset): the same bytes, nothing around them touched.
        for (const p of [nativeSymmetric, nobleSymmetric]) {
          const host = new Uint8Array(pt.length + 16 + 8).fill(0xee)
          const into = host.subarray(3, 3 + pt.length + 16)
          expect(p.xchachaSeal(k, n, pt, a, into)).toBe(into)
          expect(toHex(into)).toBe(toHex(sealed))
          expect([...host.subarray(0, 3), ...host.subarray(3 + pt.length + 16)].every(b => b === 0xee)).toBe(true)
        }
      }), { numRuns: runs(100) })
    })

    it('refuses what noble refuses: any flipped bit of ciphertext, tag, nonce, key or AAD, a cut, another AAD', () => {
      const part = fc.constantFrom('sealed', 'nonce', 'key', 'aad', 'cut', 'noAad')
      fc.assert(fc.property(key, nonce, fc.uint8Array({ maxLength: 1100 }), fc.uint8Array({ minLength: 1, maxLength: 64 }), part, fc.nat(), fc.integer({ min: 0, max: 7 }),
        (k, n, pt, a, which, pos, bit) => {
          const sealed = nobleSymmetric.xchachaSeal(k, n, pt, a)
          const flip = (b: Uint8Array): Uint8Array => { const c = b.slice(); c[pos % c.length]! ^= 1 << bit; return c }
          const args: [Uint8Array, Uint8Array, Uint8Array, Uint8Array | undefined] =
            which === 'sealed' ? [k, n, flip(sealed), a]
              : which === 'nonce' ? [k, flip(n), sealed, a]
                : which === 'key' ? [flip(k), n, sealed, a]
                  : which === 'aad' ? [k, n, sealed, flip(a)]
                    : which === 'cut' ? [k, n, sealed.subarray(0, pos % sealed.length), a]
                      : [k, n, sealed, undefined]
          expect(refuses(nobleSymmetric, ...args)).toBe(true)
          expect(refuses(nativeSymmetric, ...args)).toBe(true)
        }), { numRuns: runs(200) })
    })

    it('through aeadSeal / aeadOpen: the same bytes and DECRYPT_FAILED for tampering, with either provider installed', () => {
      const before = getSymmetric()
      try {
        fc.assert(fc.property(key, nonce, fc.uint8Array({ maxLength: 1100 }), aad, fc.nat(), (k, n, pt, a, pos) => {
          const out: string[] = []
          for (const p of [nobleSymmetric, nativeSymmetric]) {
            setSymmetric(p)
            const sealed = aeadSeal(k, n, pt, a)
            out.push(toHex(sealed))
            expect(aeadOpen(k, n, sealed, a)).toEqual(pt)
            const bad = sealed.slice()
            bad[pos % bad.length]! ^= 0x80
            let code: unknown
            try { aeadOpen(k, n, bad, a) } catch (err) { code = isPorchlightError(err, 'DECRYPT_FAILED') }
            expect(code).toBe(true)
          }
          expect(out[1]).toBe(out[0])
        }), { numRuns: runs(50) })
      } finally {
        setSymmetric(before)
      }
    })

    it('leaves the caller\'s key and nonce as they were', () => {
      const [k, n] = [fromHex(XCHACHA_A31.key), fromHex(XCHACHA_A31.nonce)]
      nativeSymmetric.xchachaSeal(k, n, new Uint8Array(10))
      expect([toHex(k), toHex(n)]).toEqual([XCHACHA_A31.key, XCHACHA_A31.nonce])
    })

    it('useNativeCrypto installs it after the known answers; a provider wrong anywhere is refused', async () => {
      const before = getSymmetric()
      try {
        setSymmetric(nobleSymmetric)
        await useNativeCrypto()
        expect(getSymmetric()).toBe(nativeSymmetric)
      } finally {
        setSymmetric(before)
      }
      expect(symmetricWorks(nativeSymmetric)).toBe(true)
      expect(symmetricWorks(nobleSymmetric)).toBe(true)
      const flip = (b: Uint8Array): Uint8Array => { const c = b.slice(); c[0]! ^= 1; return c }
      const broken: Array<Partial<SymmetricProvider>> = [
        { sha256: d => flip(nativeSymmetric.sha256(d)) },
        { hmacSha256: (k, d) => flip(nativeSymmetric.hmacSha256(k, d)) },
        { xchachaSeal: (k, n, p, a) => flip(nativeSymmetric.xchachaSeal(k, n, p, a)) },
        // An open that skips the tag check.
        { xchachaOpen: (k, n, s, a) => nativeSymmetric.xchachaSeal(k, n, s.subarray(0, s.length - 16), a).subarray(0, s.length - 16) },
        { xchachaSeal: () => { throw new Error('no chacha20-poly1305') } }
      ]
      for (const b of broken) expect(symmetricWorks({ ...nativeSymmetric, ...b })).toBe(false)
    })
  })
})
