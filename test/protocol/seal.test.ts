// Anonymous sealed boxes (protocol/seal.ts): roundtrip, exact sizes, every mismatch is
// DECRYPT_FAILED, nothing in the bytes points at sender or recipient, and both crypto
// providers produce the same bytes.
import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { nobleProvider, randomBytes, setCrypto, webCryptoProvider } from '../../protocol/crypto.ts'
import { containsBytes, equalBytes, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { MAX_SEAL_PLAINTEXT_BYTES, MAX_SEALED_BYTES, openSealed, SEAL_OVERHEAD_BYTES, sealTo } from '../../protocol/seal.ts'
import { applyEdits, byteEdits, codeOrAccepted as codeOf, flips } from '../helpers/protocol-fixtures.ts'

const alice = await createIdentity('Alice')
const bob = await createIdentity('Bob')
const CTX = 'pl/test'

describe('sealTo / openSealed', () => {
  it('roundtrips and adds exactly 48 bytes', async () => {
    for (const n of [0, 1, 31, 32, 1000]) {
      const msg = randomBytes(n)
      const sealed = await sealTo(alice.public.boxKey, msg, CTX)
      expect(sealed.length).toBe(n + SEAL_OVERHEAD_BYTES)
      expect(SEAL_OVERHEAD_BYTES).toBe(48)
      expect(equalBytes(await openSealed(alice.boxSecret, sealed, CTX), msg)).toBe(true)
    }
  })

  it('is anonymous: no recipient key or sender data in the bytes, fresh ephemeral key each time', async () => {
    const msg = utf8Bytes('hello')
    const a = await sealTo(alice.public.boxKey, msg, CTX)
    const b = await sealTo(alice.public.boxKey, msg, CTX)
    expect(equalBytes(a, b)).toBe(false)
    expect(equalBytes(a.subarray(0, 32), b.subarray(0, 32))).toBe(false)
    for (const s of [a, b]) {
      expect(containsBytes(s, alice.public.boxKey)).toBe(false)
      expect(containsBytes(s, alice.public.signKey)).toBe(false)
      expect(containsBytes(s, bob.public.boxKey)).toBe(false)
    }
  })

  it('is deterministic with a fixed ephemeral secret (for vectors)', async () => {
    const eph = new Uint8Array(32).fill(3)
    const a = await sealTo(alice.public.boxKey, utf8Bytes('x'), CTX, { ephemeralSecret: eph })
    const b = await sealTo(alice.public.boxKey, utf8Bytes('x'), CTX, { ephemeralSecret: eph })
    expect(toHex(a)).toBe(toHex(b))
    expect(eph.every(x => x === 3)).toBe(true) // the caller's buffer is not wiped
  })

  it('wrong recipient, wrong context, truncation and every single-byte change: DECRYPT_FAILED', async () => {
    const sealed = await sealTo(alice.public.boxKey, utf8Bytes('meet at the corner'), CTX)
    expect(await codeOf(() => openSealed(bob.boxSecret, sealed, CTX))).toBe('DECRYPT_FAILED')
    expect(await codeOf(() => openSealed(alice.boxSecret, sealed, 'pl/other'))).toBe('DECRYPT_FAILED')
    for (let n = 0; n < sealed.length; n++) {
      expect(await codeOf(() => openSealed(alice.boxSecret, sealed.subarray(0, n), CTX))).toBe('DECRYPT_FAILED')
    }
    for (const [, copy] of flips(sealed)) {
      expect(await codeOf(() => openSealed(alice.boxSecret, copy, CTX))).toBe('DECRYPT_FAILED')
    }
    const extended = new Uint8Array(sealed.length + 1)
    extended.set(sealed)
    expect(await codeOf(() => openSealed(alice.boxSecret, extended, CTX))).toBe('DECRYPT_FAILED')
  })

  it('a low-order ephemeral key is DECRYPT_FAILED, not a crash', async () => {
    const sealed = await sealTo(alice.public.boxKey, utf8Bytes('x'), CTX)
    sealed.fill(0, 0, 32)
    expect(await codeOf(() => openSealed(alice.boxSecret, sealed, CTX))).toBe('DECRYPT_FAILED')
    sealed[0] = 1
    expect(await codeOf(() => openSealed(alice.boxSecret, sealed, CTX))).toBe('DECRYPT_FAILED')
  })

  it('bounds: plaintext, sealed size, key sizes, context', async () => {
    expect(await codeOf(() => sealTo(alice.public.boxKey, new Uint8Array(MAX_SEAL_PLAINTEXT_BYTES + 1), CTX))).toBe('TOO_LARGE')
    expect((await sealTo(alice.public.boxKey, new Uint8Array(MAX_SEAL_PLAINTEXT_BYTES), CTX)).length).toBe(MAX_SEALED_BYTES)
    expect(await codeOf(() => openSealed(alice.boxSecret, new Uint8Array(MAX_SEALED_BYTES + 1), CTX))).toBe('TOO_LARGE')
    expect(await codeOf(() => sealTo(alice.public.boxKey.subarray(0, 31), utf8Bytes('x'), CTX))).toBe('BAD_ARGUMENT')
    expect(await codeOf(() => sealTo(new Uint8Array(32), utf8Bytes('x'), CTX))).toBe('BAD_ARGUMENT') // low-order recipient
    expect(await codeOf(() => openSealed(alice.boxSecret.subarray(1), new Uint8Array(60), CTX))).toBe('BAD_ARGUMENT')
    for (const bad of ['', 'has space', 'x'.repeat(65), 'tab\t', 'é']) {
      expect(await codeOf(() => sealTo(alice.public.boxKey, utf8Bytes('x'), bad))).toBe('BAD_ARGUMENT')
    }
  })

  it('WebCrypto and noble providers produce and open the same bytes', async () => {
    const eph = randomBytes(32)
    const msg = randomBytes(100)
    setCrypto(nobleProvider)
    const a = await sealTo(alice.public.boxKey, msg, CTX, { ephemeralSecret: eph })
    setCrypto(webCryptoProvider(globalThis.crypto.subtle))
    const b = await sealTo(alice.public.boxKey, msg, CTX, { ephemeralSecret: eph })
    expect(toHex(a)).toBe(toHex(b))
    setCrypto(nobleProvider)
    expect(equalBytes(await openSealed(alice.boxSecret, b, CTX), msg)).toBe(true)
  })
  afterAll(() => { setCrypto(webCryptoProvider(globalThis.crypto.subtle)) })
})

describe('properties', () => {
  it('roundtrip for any plaintext and context', async () => {
    await fc.assert(fc.asyncProperty(
      fc.uint8Array({ maxLength: 2000 }),
      fc.stringMatching(/^[\x21-\x7e]{1,64}$/),
      async (msg, ctx) => {
        const sealed = await sealTo(bob.public.boxKey, msg, ctx)
        expect(equalBytes(await openSealed(bob.boxSecret, sealed, ctx), msg)).toBe(true)
      }
    ), { numRuns: runs(20) })
  })

  it('random mutations give DECRYPT_FAILED (or TOO_LARGE), never another exception', async () => {
    const msg = utf8Bytes('a short message to mutate')
    const sealed = await sealTo(bob.public.boxKey, msg, CTX)
    await fc.assert(fc.asyncProperty(
      byteEdits(),
      async (edits) => {
        const mutated = applyEdits(sealed, edits)
        const code = await codeOf(() => openSealed(bob.boxSecret, mutated, CTX))
        if (equalBytes(mutated, sealed)) expect(code).toBe('accepted')
        else expect(code).toBe('DECRYPT_FAILED')
      }
    ), { numRuns: runs(75) })
  })
})
