/**
 * Checks the implementation against test/vectors/core.json (written by
 * test/vectors/generate-core.ts): every output is recomputed from the vector's inputs and
 * compared exactly, under both crypto providers; then every byte of each signature, tag and
 * ciphertext is flipped in turn and must fail.
 */
import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { aeadOpen, aeadSeal, type CryptoProvider, hkdf, nobleProvider, setCrypto, webCryptoProvider } from '../../protocol/crypto.ts'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { encodeGeohash } from '../../protocol/geohash.ts'
import {
  areaKey, createIdentity, decodePublicIdentity, encodePublicIdentity, fingerprint, verifyPublicIdentity
} from '../../protocol/identity.ts'
import { checkMembershipTag, deriveEpochKeys, hoodId, membershipTag, privateTopic } from '../../protocol/neighborhood.ts'
import { relayBoxPublicKey, relayBoxSecret } from '../../protocol/rekey.ts'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import type { CoreVectors } from '../vectors/generate-core.ts'
import { codeOrAccepted as rejection, flips } from '../helpers/protocol-fixtures.ts'

const vectors = JSON.parse(readFileSync(new URL('../vectors/core.json', import.meta.url), 'utf8')) as CoreVectors

it('the vector file has every section filled', () => {
  for (const key of ['identity', 'areaKey', 'hoodId', 'epochKeys', 'membershipTag', 'hkdf', 'aead', 'relayBoxKey', 'geohash'] as const) {
    expect(vectors[key].length).toBeGreaterThan(0)
  }
})

const providers: CryptoProvider[] = [nobleProvider, webCryptoProvider(globalThis.crypto.subtle)]

for (const provider of providers) {
  describe(`core vectors (${provider.name})`, () => {
    beforeAll(() => { setCrypto(provider) })

    for (const v of vectors.identity) {
      it(`identity "${v.name}": keys, binding, encoding, fingerprint`, async () => {
        const id = await createIdentity(v.name, { seed: fromHex(v.seed), boxSecret: fromHex(v.boxSecret) })
        expect(toHex(id.public.signKey)).toBe(v.signKey)
        expect(toHex(id.public.boxKey)).toBe(v.boxKey)
        expect(toHex(id.public.binding)).toBe(v.binding)
        expect(toHex(encodePublicIdentity(id.public))).toBe(v.encoded)
        expect(fingerprint(id.public.signKey)).toBe(v.fingerprint)
        const decoded = await decodePublicIdentity(fromHex(v.encoded))
        expect(decoded).toEqual(id.public)
      })

      it(`identity "${v.name}": every one-byte change of the binding or the encoding is refused`, async () => {
        const pub = { signKey: fromHex(v.signKey), boxKey: fromHex(v.boxKey), name: v.name, binding: fromHex(v.binding) }
        for (const [i, binding] of flips(pub.binding)) {
          expect(await rejection(() => verifyPublicIdentity({ ...pub, binding })), `binding byte ${i}`).toBe('BAD_SIGNATURE')
        }
        for (const [i, encoded] of flips(fromHex(v.encoded))) {
          expect(await rejection(() => decodePublicIdentity(encoded)), `encoded byte ${i}`).not.toBe('accepted')
        }
      })
    }

    for (const v of vectors.areaKey) {
      it(`area key for "${v.area}" and its signature`, async () => {
        const id = await createIdentity('x', { seed: fromHex(v.seed), boxSecret: new Uint8Array(32).fill(1) })
        const k = await areaKey(id, v.area)
        expect(toHex(k.seed)).toBe(v.areaSeed)
        expect(toHex(k.publicKey)).toBe(v.publicKey)
        expect(toHex(await provider.ed25519Sign(k.seed, fromHex(v.message)))).toBe(v.signature)
        expect(await provider.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature))).toBe(true)
        for (const [i, sig] of flips(fromHex(v.signature))) {
          expect(await provider.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), sig), `signature byte ${i}`).toBe(false)
        }
        for (const [i, msg] of flips(fromHex(v.message))) {
          expect(await provider.ed25519Verify(fromHex(v.publicKey), msg, fromHex(v.signature)), `message byte ${i}`).toBe(false)
        }
      })
    }
  })
}

describe('core vectors (symmetric)', () => {
  for (const v of vectors.hoodId) {
    it(`neighborhood id of founder ${v.founder.slice(0, 8)}…; every one-byte change of founder or salt gives another id`, () => {
      const [founder, salt] = [fromHex(v.founder), fromHex(v.salt)]
      expect(toHex(hoodId(founder, salt))).toBe(v.id)
      expect(privateTopic(fromHex(v.id))).toBe(v.topic)
      for (const [i, f] of flips(founder)) expect(toHex(hoodId(f, salt)), `founder byte ${i}`).not.toBe(v.id)
      for (const [i, s] of flips(salt)) expect(toHex(hoodId(founder, s)), `salt byte ${i}`).not.toBe(v.id)
    })
  }

  for (const v of vectors.relayBoxKey) {
    it(`relay box key of Ed25519 key ${v.ed25519PublicKey.slice(0, 8)}…: Montgomery forms of the public key and the seed agree`, () => {
      expect(toHex(ed25519.getPublicKey(fromHex(v.seed)))).toBe(v.ed25519PublicKey)
      expect(toHex(relayBoxPublicKey(fromHex(v.ed25519PublicKey)))).toBe(v.boxPublicKey)
      expect(toHex(relayBoxSecret(fromHex(v.seed)))).toBe(v.boxSecret)
      expect(toHex(x25519.getPublicKey(fromHex(v.boxSecret)))).toBe(v.boxPublicKey)
      // A one-bit change of the Ed25519 key gives another box key, or is not a key at all; except
      // the sign bit of x (top bit of byte 31): P and -P share their Montgomery u (RFC 7748), and
      // the same secret opens both, so that flip changes nothing.
      for (const [i, k] of flips(fromHex(v.ed25519PublicKey))) {
        let box: string | undefined
        try { box = toHex(relayBoxPublicKey(k)) } catch { box = undefined }
        if (i === 31) expect(box, 'sign bit').toBe(v.boxPublicKey)
        else expect(box, `key byte ${i}`).not.toBe(v.boxPublicKey)
      }
    })
  }

  for (const v of vectors.epochKeys) {
    it(`epoch keys: epoch ${v.epoch} of hood ${v.hoodId.slice(0, 8)}…`, () => {
      const k = deriveEpochKeys(fromHex(v.hoodId), v.epoch, fromHex(v.secret))
      expect(toHex(k.contentKey)).toBe(v.contentKey)
      expect(toHex(k.tagKey)).toBe(v.tagKey)
      expect(privateTopic(fromHex(v.hoodId))).toBe(v.topic)
    })
  }

  for (const [n, v] of vectors.membershipTag.entries()) {
    it(`membership tag #${n}; every one-byte change of the tag fails`, () => {
      expect(toHex(membershipTag(fromHex(v.tagKey), fromHex(v.data)))).toBe(v.tag)
      expect(checkMembershipTag(fromHex(v.tagKey), fromHex(v.data), fromHex(v.tag))).toBe(true)
      for (const [i, tag] of flips(fromHex(v.tag))) {
        expect(checkMembershipTag(fromHex(v.tagKey), fromHex(v.data), tag), `tag byte ${i}`).toBe(false)
      }
      for (const [i, data] of flips(fromHex(v.data))) {
        expect(checkMembershipTag(fromHex(v.tagKey), data, fromHex(v.tag)), `data byte ${i}`).toBe(false)
      }
    })
  }

  for (const [n, v] of vectors.hkdf.entries()) {
    it(`HKDF-SHA256 #${n} (info "${v.info}", ${v.length} bytes)`, () => {
      expect(toHex(hkdf(fromHex(v.ikm), fromHex(v.salt), v.info, v.length))).toBe(v.okm)
    })
  }

  for (const [n, v] of vectors.aead.entries()) {
    it(`XChaCha20-Poly1305 #${n} (${v.plaintext.length / 2}-byte plaintext); every one-byte change fails`, async () => {
      const [key, nonce, aad] = [fromHex(v.key), fromHex(v.nonce), fromHex(v.aad)]
      expect(toHex(aeadSeal(key, nonce, fromHex(v.plaintext), aad))).toBe(v.ciphertext)
      expect(toHex(aeadOpen(key, nonce, fromHex(v.ciphertext), aad))).toBe(v.plaintext)
      for (const [i, ct] of flips(fromHex(v.ciphertext))) {
        expect(await rejection(() => aeadOpen(key, nonce, ct, aad)), `ciphertext byte ${i}`).toBe('DECRYPT_FAILED')
      }
      for (const [i, a] of flips(aad)) {
        expect(await rejection(() => aeadOpen(key, nonce, fromHex(v.ciphertext), a)), `aad byte ${i}`).toBe('DECRYPT_FAILED')
      }
      for (const [i, nn] of flips(nonce)) {
        expect(await rejection(() => aeadOpen(key, nn, fromHex(v.ciphertext), aad)), `nonce byte ${i}`).toBe('DECRYPT_FAILED')
      }
    })
  }

  for (const v of vectors.geohash) {
    it(`geohash ${v.lat},${v.lon} at ${v.precision} is ${v.hash}`, () => {
      expect(encodeGeohash(v.lat, v.lon, v.precision)).toBe(v.hash)
    })
  }
})
