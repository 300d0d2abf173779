import { describe, expect, it, vi } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import {
  aeadOpen, aeadSeal, constantTimeEqual, type CryptoProvider, getCrypto, hkdf, nobleProvider, providerWorks, randomBytes, sha256,
  webCryptoProvider
} from '../../protocol/crypto.ts'
import { fromHex, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { PorchlightError } from '../../protocol/errors.ts'
import { rejection as codeOf } from '../helpers/protocol-fixtures.ts'

const web = webCryptoProvider(globalThis.crypto.subtle)
const providers: CryptoProvider[] = [nobleProvider, web]
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const message = fc.uint8Array({ maxLength: 600 })

// Low-order points of Curve25519 (and their non-canonical encodings), as listed by libsodium.
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'
]

describe('providers', () => {
  it('getCrypto picks WebCrypto on Node 20 (it gave the known answers)', async () => {
    expect((await getCrypto()).name).toBe('webcrypto')
  })

  it('the known-answer check passes both providers and refuses one that is wrong anywhere', async () => {
    expect(await providerWorks(nobleProvider)).toBe(true)
    expect(await providerWorks(web)).toBe(true)
    const flip = (b: Uint8Array): Uint8Array => { const c = b.slice(); c[0]! ^= 1; return c }
    const broken: Array<Partial<CryptoProvider>> = [
      { ed25519PublicKey: async s => flip(await web.ed25519PublicKey(s)) },
      { ed25519Sign: async (s, m) => flip(await web.ed25519Sign(s, m)) },
      { x25519PublicKey: async s => flip(await web.x25519PublicKey(s)) },
      { x25519SharedSecret: async (s, p) => flip(await web.x25519SharedSecret(s, p)) },
      { x25519SharedSecret: async () => { throw new Error('X25519 unsupported') } }
    ]
    for (const b of broken) expect(await providerWorks({ ...web, ...b })).toBe(false)
  })

  for (const p of providers) {
    describe(p.name, () => {
      it('Ed25519: RFC 8032 §7.1 test 1', async () => {
        const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
        const pub = await p.ed25519PublicKey(seed)
        expect(toHex(pub)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
        const sig = await p.ed25519Sign(seed, new Uint8Array(0))
        expect(toHex(sig)).toBe('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b')
        expect(await p.ed25519Verify(pub, new Uint8Array(0), sig)).toBe(true)
      })

      it('X25519: RFC 7748 §6.1', async () => {
        const a = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
        const b = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
        expect(toHex(await p.x25519PublicKey(a))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
        const bPub = await p.x25519PublicKey(b)
        expect(toHex(bPub)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
        expect(toHex(await p.x25519SharedSecret(a, bPub))).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
      })

      it('verify is false, never a throw, for garbage keys, signatures and lengths', async () => {
        await fc.assert(fc.asyncProperty(bytes32, fc.uint8Array({ minLength: 64, maxLength: 64 }), message, async (pub, sig, msg) => {
          expect(await p.ed25519Verify(pub, msg, sig)).toBe(false)
        }), { numRuns: runs(25) })
        const seed = randomBytes(32)
        const pub = await p.ed25519PublicKey(seed)
        const sig = await p.ed25519Sign(seed, Uint8Array.of(1))
        expect(await p.ed25519Verify(pub, Uint8Array.of(1), sig)).toBe(true)
        expect(await p.ed25519Verify(pub.subarray(0, 31), Uint8Array.of(1), sig)).toBe(false)
        expect(await p.ed25519Verify(pub, Uint8Array.of(1), sig.subarray(0, 63))).toBe(false)
        expect(await p.ed25519Verify(pub, Uint8Array.of(1), new Uint8Array(65))).toBe(false)
        expect(await p.ed25519Verify(new Uint8Array(32), Uint8Array.of(1), new Uint8Array(64))).toBe(false)
        expect(await p.ed25519Verify(new Uint8Array(32).fill(0xff), Uint8Array.of(1), sig)).toBe(false)
        expect(await p.ed25519Verify(undefined as never, Uint8Array.of(1), sig)).toBe(false)
        // Non-canonical S (S + L) must not verify: signatures are not malleable.
        const sPlusL = sig.slice()
        const L = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')
        let carry = 0
        for (let i = 0; i < 32; i++) {
          const x = sPlusL[32 + i]! + L[i]! + carry
          sPlusL[32 + i] = x & 0xff
          carry = x >> 8
        }
        expect(await p.ed25519Verify(pub, Uint8Array.of(1), sPlusL)).toBe(false)
      })

      it('a signature by another key never verifies; nor over another message', async () => {
        await fc.assert(fc.asyncProperty(bytes32, bytes32, message, async (a, b, msg) => {
          fc.pre(toHex(a) !== toHex(b))
          const sig = await p.ed25519Sign(a, msg)
          expect(await p.ed25519Verify(await p.ed25519PublicKey(a), msg, sig)).toBe(true)
          expect(await p.ed25519Verify(await p.ed25519PublicKey(b), msg, sig)).toBe(false)
          const other = Uint8Array.of(...msg, 0)
          expect(await p.ed25519Verify(await p.ed25519PublicKey(a), other, sig)).toBe(false)
        }), { numRuns: runs(20) })
      })

      it('every low-order X25519 point is rejected with BAD_ARGUMENT', async () => {
        const priv = randomBytes(32)
        for (const hex of LOW_ORDER) {
          expect(await codeOf(() => p.x25519SharedSecret(priv, fromHex(hex)))).toBe('BAD_ARGUMENT')
          const highBit = fromHex(hex)
          highBit[31]! |= 0x80
          expect(await codeOf(() => p.x25519SharedSecret(priv, highBit))).toBe('BAD_ARGUMENT')
        }
      })

      it('wrong key sizes are BAD_ARGUMENT', async () => {
        expect(await codeOf(() => p.ed25519Sign(new Uint8Array(31), Uint8Array.of(1)))).toBe('BAD_ARGUMENT')
        expect(await codeOf(() => p.ed25519PublicKey(new Uint8Array(33)))).toBe('BAD_ARGUMENT')
        expect(await codeOf(() => p.x25519PublicKey(new Uint8Array(31)))).toBe('BAD_ARGUMENT')
        expect(await codeOf(() => p.x25519SharedSecret(new Uint8Array(32).fill(1), new Uint8Array(31)))).toBe('BAD_ARGUMENT')
        expect(await codeOf(() => p.x25519SharedSecret(new Uint8Array(31), new Uint8Array(32).fill(9)))).toBe('BAD_ARGUMENT')
      })
    })
  }

  it('WebCrypto and noble give byte-identical Ed25519 keys and signatures', async () => {
    await fc.assert(fc.asyncProperty(bytes32, message, async (seed, msg) => {
      const [pw, pn] = [await web.ed25519PublicKey(seed), await nobleProvider.ed25519PublicKey(seed)]
      expect(toHex(pw)).toBe(toHex(pn))
      const [sw, sn] = [await web.ed25519Sign(seed, msg), await nobleProvider.ed25519Sign(seed, msg)]
      expect(toHex(sw)).toBe(toHex(sn))
      expect(await web.ed25519Verify(pn, msg, sn)).toBe(true)
      expect(await nobleProvider.ed25519Verify(pw, msg, sw)).toBe(true)
    }), { numRuns: runs(20) })
  })

  it('WebCrypto and noble give identical X25519 public keys and shared secrets', async () => {
    await fc.assert(fc.asyncProperty(bytes32, bytes32, async (a, b) => {
      const [aw, an] = [await web.x25519PublicKey(a), await nobleProvider.x25519PublicKey(a)]
      expect(toHex(aw)).toBe(toHex(an))
      const bPub = await nobleProvider.x25519PublicKey(b)
      const sw = await web.x25519SharedSecret(a, bPub)
      expect(toHex(sw)).toBe(toHex(await nobleProvider.x25519SharedSecret(a, bPub)))
      expect(toHex(sw)).toBe(toHex(await web.x25519SharedSecret(b, an)))
    }), { numRuns: runs(20) })
  })

  it('WebCrypto and noble agree on arbitrary 32-byte X25519 public keys (result or BAD_ARGUMENT)', async () => {
    const outcome = async (p: CryptoProvider, priv: Uint8Array, pub: Uint8Array): Promise<string> => {
      try {
        return toHex(await p.x25519SharedSecret(priv, pub))
      } catch (err) {
        if (err instanceof PorchlightError) return err.code
        throw err
      }
    }
    await fc.assert(fc.asyncProperty(bytes32, bytes32, async (priv, pub) => {
      expect(await outcome(web, priv, pub)).toBe(await outcome(nobleProvider, priv, pub))
    }), { numRuns: runs(25) })
  })

  it('WebCrypto and noble agree on verifying garbage and mangled signatures', async () => {
    const seed = randomBytes(32)
    const pub = await nobleProvider.ed25519PublicKey(seed)
    await fc.assert(fc.asyncProperty(message, fc.nat(63), fc.integer({ min: 1, max: 255 }), async (msg, i, x) => {
      const sig = await nobleProvider.ed25519Sign(seed, msg)
      sig[i]! ^= x
      expect(await web.ed25519Verify(pub, msg, sig)).toBe(false)
      expect(await nobleProvider.ed25519Verify(pub, msg, sig)).toBe(false)
    }), { numRuns: runs(20) })
  })
})

describe('AEAD (XChaCha20-Poly1305)', () => {
  it('draft-irtf-cfrg-xchacha-03 §A.3.1 vector', () => {
    const key = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f')
    const nonce = fromHex('404142434445464748494a4b4c4d4e4f5051525354555657')
    const aad = fromHex('50515253c0c1c2c3c4c5c6c7')
    const pt = utf8Bytes('Ladies and Gentlemen of the class of \'99: If I could offer you only one tip for the future, sunscreen would be it.')
    const ct = aeadSeal(key, nonce, pt, aad)
    expect(toHex(ct)).toBe(
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
      'c0875924c1c7987947deafd8780acf49')
    expect(aeadOpen(key, nonce, ct, aad)).toEqual(pt)
  })

  it('round-trips; any tampering, wrong key, nonce or AAD is DECRYPT_FAILED', async () => {
    await fc.assert(fc.asyncProperty(bytes32, fc.uint8Array({ minLength: 24, maxLength: 24 }), message, fc.uint8Array({ maxLength: 40 }),
      fc.nat(), fc.integer({ min: 1, max: 255 }), async (key, nonce, pt, aad, pos, x) => {
        const ct = aeadSeal(key, nonce, pt, aad)
        expect(ct.length).toBe(pt.length + 16)
        expect(aeadOpen(key, nonce, ct, aad)).toEqual(pt)
        const tampered = ct.slice()
        tampered[pos % ct.length]! ^= x
        expect(await codeOf(() => aeadOpen(key, nonce, tampered, aad))).toBe('DECRYPT_FAILED')
        const otherKey = key.slice(); otherKey[pos % 32]! ^= x
        expect(await codeOf(() => aeadOpen(otherKey, nonce, ct, aad))).toBe('DECRYPT_FAILED')
        const otherNonce = nonce.slice(); otherNonce[pos % 24]! ^= x
        expect(await codeOf(() => aeadOpen(key, otherNonce, ct, aad))).toBe('DECRYPT_FAILED')
        expect(await codeOf(() => aeadOpen(key, nonce, ct, Uint8Array.of(...aad, 0)))).toBe('DECRYPT_FAILED')
        expect(await codeOf(() => aeadOpen(key, nonce, ct.subarray(0, ct.length - 1), aad))).toBe('DECRYPT_FAILED')
        expect(await codeOf(() => aeadOpen(key, nonce, Uint8Array.of(...ct, 0), aad))).toBe('DECRYPT_FAILED')
      }), { numRuns: runs(50) })
  })

  it('shorter than a tag is DECRYPT_FAILED; wrong key or nonce sizes are BAD_ARGUMENT', async () => {
    const key = randomBytes(32)
    const nonce = randomBytes(24)
    expect(await codeOf(() => aeadOpen(key, nonce, new Uint8Array(15)))).toBe('DECRYPT_FAILED')
    expect(await codeOf(() => aeadOpen(key, nonce, new Uint8Array(0)))).toBe('DECRYPT_FAILED')
    expect(await codeOf(() => aeadSeal(key.subarray(0, 16), nonce, Uint8Array.of(1)))).toBe('BAD_ARGUMENT')
    expect(await codeOf(() => aeadSeal(key, nonce.subarray(0, 12), Uint8Array.of(1)))).toBe('BAD_ARGUMENT')
    expect(await codeOf(() => aeadOpen(key, nonce.subarray(0, 12), new Uint8Array(16)))).toBe('BAD_ARGUMENT')
  })
})

describe('hashing and key derivation', () => {
  it('SHA-256 of "abc" (FIPS 180-2)', () => {
    expect(toHex(sha256(utf8Bytes('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  it('HKDF-SHA256: RFC 5869 test case 3 (empty salt and info)', () => {
    const okm = hkdf(fromHex('0b'.repeat(22)), new Uint8Array(0), '', 42)
    expect(toHex(okm)).toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8')
  })

  it('HKDF output matches node:crypto and differs by info and salt', async () => {
    const { hkdfSync } = await import('node:crypto')
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ maxLength: 32 }), fc.string({ maxLength: 30 }), async (ikm, salt, info) => {
      const ours = hkdf(ikm, salt, info)
      expect(toHex(ours)).toBe(Buffer.from(hkdfSync('sha256', ikm, salt, utf8Bytes(info), 32)).toString('hex'))
      expect(toHex(hkdf(ikm, salt, `${info}x`))).not.toBe(toHex(ours))
      expect(toHex(hkdf(ikm, Uint8Array.of(...salt, 1), info))).not.toBe(toHex(ours))
    }), { numRuns: runs(25) })
  })

  it('randomBytes gives the length asked for, and fresh bytes each time', () => {
    expect(randomBytes(0).length).toBe(0)
    expect(randomBytes(57).length).toBe(57)
    expect(toHex(randomBytes(32))).not.toBe(toHex(randomBytes(32)))
  })

  it('constantTimeEqual', () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true)
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false)
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1))).toBe(false)
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true)
  })
})

describe('randomBytes', () => {
  it('fills buffers larger than one getRandomValues call', () => {
    const big = randomBytes(200_000)
    expect(big.length).toBe(200_000)
    // The tail past 65,536 is filled too (all-zero 1 KiB by chance is impossible in practice).
    expect(big.subarray(199_000).some(b => b !== 0)).toBe(true)
  })

  it('small requests come from a pool that refills in 4 KiB calls: never the same bytes twice, each an array of its own', () => {
    const spy = vi.spyOn(globalThis.crypto, 'getRandomValues')
    try {
      const seen = new Set<string>()
      const outs: Uint8Array[] = []
      for (let i = 0; i < 1000; i++) {
        const n = [24, 32, 16, 1, 256][i % 5]!
        const b = randomBytes(n)
        expect(b.length === n && b.byteOffset === 0 && b.buffer.byteLength === n).toBe(true)
        if (n >= 16) {
          expect(seen.has(toHex(b))).toBe(false)
          seen.add(toHex(b))
        }
        outs.push(b)
      }
      // 1000 requests averaging 66 bytes: about 17 pool fills, not 1000 calls.
      expect(spy.mock.calls.length).toBeLessThan(20)
      expect(spy.mock.calls.every(([a]) => (a as Uint8Array).length === 4096)).toBe(true)
      // Zeroing what is handed out in the pool leaves the copies alone.
      expect(outs.filter(b => b.length === 256).every(b => b.some(x => x !== 0))).toBe(true)
      expect(randomBytes(0).length).toBe(0)
    } finally {
      spy.mockRestore()
    }
  })
})
