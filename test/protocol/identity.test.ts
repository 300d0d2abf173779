import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { type CryptoProvider, nobleProvider, randomBytes, setCrypto, sha256, webCryptoProvider } from '../../protocol/crypto.ts'
import { containsBytes, encodeStruct, type StructSpec, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import {
  areaKey, checkName, createIdentity, decodeIdentitySecret, decodePublicIdentity, encodeIdentitySecret,
  encodePublicIdentity, fingerprint, type Identity, MAX_NAME_BYTES, type PublicIdentity, signStruct,
  verifyPublicIdentity, verifyStruct
} from '../../protocol/identity.ts'
import { rejection as codeOf } from '../helpers/protocol-fixtures.ts'

/** The binding structure as identity.ts signs it; spelled out here so an attacker's binding can be forged. */
const BINDING: StructSpec = { domain: 'pl/id-binding', version: 1, required: ['sk', 'bk', 'n'], maxBytes: 256 }
const FINGERPRINT = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** Independent fingerprint: the first 80 bits of SHA-256, 5 bits per Crockford character, grouped by 4. */
function referenceFingerprint (signKey: Uint8Array): string {
  let n = BigInt(`0x${toHex(sha256(signKey).subarray(0, 10))}`)
  let s = ''
  for (let i = 0; i < 16; i++) { s = CROCKFORD[Number(n & 31n)]! + s; n >>= 5n }
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}-${s.slice(12)}`
}

const providers: CryptoProvider[] = [nobleProvider, webCryptoProvider(globalThis.crypto.subtle)]

for (const provider of providers) {
  describe(`identity (${provider.name})`, () => {
    let alice: Identity
    let bob: Identity
    beforeAll(async () => {
      setCrypto(provider)
      alice = await createIdentity('Alice on Elm St')
      bob = await createIdentity('Bob')
    })

    it('the binding verifies, and the public identity round-trips through its encoding', async () => {
      await verifyPublicIdentity(alice.public)
      const back = await decodePublicIdentity(encodePublicIdentity(alice.public))
      expect(back).toEqual(alice.public)
      expect(alice.public.signKey.length).toBe(32)
      expect(alice.public.boxKey.length).toBe(32)
      expect(alice.public.binding.length).toBe(64)
    })

    it('a tampered name, box key or signing key fails with BAD_SIGNATURE', async () => {
      const tampered: PublicIdentity[] = [
        { ...alice.public, name: 'Bob' },
        { ...alice.public, name: 'Alice on Elm St.' },
        { ...alice.public, boxKey: bob.public.boxKey },
        { ...alice.public, signKey: bob.public.signKey },
        { ...bob.public, binding: alice.public.binding }
      ]
      for (const id of tampered) {
        expect(await codeOf(() => verifyPublicIdentity(id))).toBe('BAD_SIGNATURE')
        expect(await codeOf(() => decodePublicIdentity(encodePublicIdentity(id)))).toBe('BAD_SIGNATURE')
      }
    })

    it('any one-bit change of the binding fails with BAD_SIGNATURE', async () => {
      await fc.assert(fc.asyncProperty(fc.nat(64 * 8 - 1), async bit => {
        const binding = alice.public.binding.slice()
        binding[bit >> 3]! ^= 1 << (bit & 7)
        expect(await codeOf(() => verifyPublicIdentity({ ...alice.public, binding }))).toBe('BAD_SIGNATURE')
      }), { numRuns: runs(20) })
    })

    it('a name its owner signed but that is not a valid display name is refused (regression)', async () => {
      for (const name of ['evil\nAdmin: you can trust me', ' Alice', 'Alice ', 'bell\u0007', 'x'.repeat(MAX_NAME_BYTES + 1)]) {
        const binding = await signStruct(alice.seed, BINDING, { sk: alice.public.signKey, bk: alice.public.boxKey, n: name })
        const forged: PublicIdentity = { ...alice.public, name, binding }
        expect(await codeOf(() => verifyPublicIdentity(forged))).toMatch(/^(OUT_OF_RANGE|TOO_LARGE)$/)
        expect(await codeOf(() => decodePublicIdentity(encodePublicIdentity(forged)))).toMatch(/^(OUT_OF_RANGE|TOO_LARGE)$/)
      }
    })

    it('a signature over the same fields under another domain does not bind', async () => {
      const binding = await signStruct(alice.seed, { ...BINDING, domain: 'pl/post' },
        { sk: alice.public.signKey, bk: alice.public.boxKey, n: alice.public.name })
      expect(await codeOf(() => verifyPublicIdentity({ ...alice.public, binding }))).toBe('BAD_SIGNATURE')
    })

    it('the secret form round-trips to the same identity', async () => {
      const back = await decodeIdentitySecret(encodeIdentitySecret(alice))
      expect(back.seed).toEqual(alice.seed)
      expect(back.boxSecret).toEqual(alice.boxSecret)
      expect(back.public).toEqual(alice.public)
    })

    it('identities from the same secrets are identical (deterministic signatures)', async () => {
      const again = await createIdentity('Alice on Elm St', { seed: alice.seed, boxSecret: alice.boxSecret })
      expect(again.public).toEqual(alice.public)
    })

    it('areaKey is deterministic, differs per area and per person, and is not the signing key', async () => {
      const a1 = await areaKey(alice, 'u4pruy')
      const a1again = await areaKey(alice, 'u4pruy')
      const a2 = await areaKey(alice, 'u4pruv')
      const a3 = await areaKey(alice, 'u4pru')
      const b1 = await areaKey(bob, 'u4pruy')
      expect(a1.publicKey).toEqual(a1again.publicKey)
      expect(a1.seed).toEqual(a1again.seed)
      const keys = [a1, a2, a3, b1].map(k => toHex(k.publicKey))
      expect(new Set(keys).size).toBe(4)
      for (const k of [a1, a2, a3]) {
        expect(toHex(k.publicKey)).not.toBe(toHex(alice.public.signKey))
        expect(toHex(k.seed)).not.toBe(toHex(alice.seed))
      }
      expect(a1.publicKey.length).toBe(32)
      expect(a1.area).toBe('u4pruy')
    })

    it('an area key signs what verifies under its public key, and not under the identity key', async () => {
      const spec: StructSpec = { domain: 'pl/test-signed', version: 1, required: ['x'], maxBytes: 100 }
      const k = await areaKey(alice, 'u4pruy')
      const sig = await signStruct(k.seed, spec, { x: 1 })
      await verifyStruct(k.publicKey, spec, { x: 1 }, sig, 'test')
      expect(await codeOf(() => verifyStruct(alice.public.signKey, spec, { x: 1 }, sig, 'test'))).toBe('BAD_SIGNATURE')
    })

    it('verifyStruct fails with BAD_SIGNATURE on another field value, domain or version', async () => {
      const spec: StructSpec = { domain: 'pl/test-signed', version: 1, required: ['x'], maxBytes: 100 }
      const sig = await signStruct(alice.seed, spec, { x: 1 })
      await verifyStruct(alice.public.signKey, spec, { x: 1 }, sig, 'test')
      expect(await codeOf(() => verifyStruct(alice.public.signKey, spec, { x: 2 }, sig, 'test'))).toBe('BAD_SIGNATURE')
      expect(await codeOf(() => verifyStruct(alice.public.signKey, { ...spec, domain: 'pl/other' }, { x: 1 }, sig, 'test'))).toBe('BAD_SIGNATURE')
      expect(await codeOf(() => verifyStruct(alice.public.signKey, { ...spec, version: 2 }, { x: 1 }, sig, 'test'))).toBe('BAD_SIGNATURE')
      expect(await codeOf(() => verifyStruct(alice.public.signKey, spec, { x: 1 }, new Uint8Array(64), 'test'))).toBe('BAD_SIGNATURE')
    })
  })
}

describe('identity encoding', () => {
  it('the public identity carries no secret and refuses malformed bytes with decoding codes', async () => {
    const id = await createIdentity('Carol')
    const bytes = encodePublicIdentity(id.public)
    expect(containsBytes(bytes, id.seed)).toBe(false)
    expect(containsBytes(bytes, id.boxSecret)).toBe(false)
    expect(await codeOf(() => decodePublicIdentity(bytes.subarray(0, bytes.length - 1)))).toBe('MALFORMED')
    const short = encodeStruct({ domain: 'pl/id', version: 1, required: ['sk', 'bk', 'n', 'sig'], maxBytes: 512 },
      { sk: id.public.signKey.subarray(0, 31), bk: id.public.boxKey, n: 'Carol', sig: id.public.binding })
    expect(await codeOf(() => decodePublicIdentity(short))).toBe('BAD_LENGTH')
    expect(await codeOf(() => decodePublicIdentity(encodeIdentitySecret(id)))).toBe('BAD_DOMAIN')
  })
})

describe('fingerprint', () => {
  it('is four groups of four Crockford base32 characters from the first 80 bits of SHA-256', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), key => {
      const fp = fingerprint(key)
      expect(fp).toMatch(FINGERPRINT)
      expect(fp).toBe(referenceFingerprint(key))
    }), { numRuns: runs(75) })
  })

  it('differs between keys and is stable for one key', () => {
    const a = randomBytes(32)
    const b = a.slice()
    b[31]! ^= 1
    expect(fingerprint(a)).toBe(fingerprint(a.slice()))
    expect(fingerprint(a)).not.toBe(fingerprint(b))
  })
})

describe('checkName', () => {
  it('trims surrounding whitespace and keeps the rest', () => {
    expect(checkName('  Alice  ')).toBe('Alice')
    expect(checkName('Zoë 🏡 Ng')).toBe('Zoë 🏡 Ng')
  })

  it('refuses empty and whitespace-only names', async () => {
    for (const n of ['', '   ', '\t']) expect(await codeOf(() => checkName(n))).toBe('BAD_ARGUMENT')
    expect(await codeOf(() => createIdentity('  '))).toBe('BAD_ARGUMENT')
  })

  it('bounds the name in UTF-8 bytes', async () => {
    expect(checkName('a'.repeat(MAX_NAME_BYTES))).toHaveLength(MAX_NAME_BYTES)
    expect(await codeOf(() => checkName('a'.repeat(MAX_NAME_BYTES + 1)))).toBe('TOO_LARGE')
    expect(utf8Bytes('€'.repeat(21)).length).toBe(63)
    expect(checkName('€'.repeat(21))).toBe('€'.repeat(21))
    expect(await codeOf(() => checkName('€'.repeat(22)))).toBe('TOO_LARGE')
  })

  it('refuses control characters, which could spoof lines in a log or terminal', async () => {
    for (const n of ['a\nb', 'a\rb', 'a\u0000b', 'a\u0007b', 'a\u001bb', 'a\u007fb', 'a\u0085b']) {
      expect(await codeOf(() => checkName(n))).toBe('BAD_ARGUMENT')
    }
  })

  it('refuses a non-string', async () => {
    expect(await codeOf(() => checkName(42 as never))).toBe('BAD_ARGUMENT')
  })
})
