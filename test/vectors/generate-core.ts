/**
 * Writes test/vectors/core.json: test vectors for Porchlight's core derivations (identity,
 * area keys, neighborhood ids, epoch keys and topics, membership tags, HKDF, AEAD, the X25519
 * form of a relay's Ed25519 key that rekeys seal tag keys to), so another implementation
 * can check itself against this one. Every input comes from a fixed label:
 *   input(label) = SHA-256("porchlight/vectors/core/" || label)   (32 bytes; truncated where shorter)
 * All byte fields are lowercase hex. Run: `node --import tsx test/vectors/generate-core.ts`.
 * The vector test (test/protocol/vectors-core.test.ts) recomputes every output and compares.
 */
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { ed25519 } from '@noble/curves/ed25519.js'
import { aeadSeal, getCrypto, hkdf, sha256 } from '../../protocol/crypto.ts'
import { toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { encodeGeohash } from '../../protocol/geohash.ts'
import { areaKey, createIdentity, encodePublicIdentity, fingerprint } from '../../protocol/identity.ts'
import { deriveEpochKeys, HOOD_SALT_BYTES, hoodId, membershipTag, privateTopic } from '../../protocol/neighborhood.ts'
import { relayBoxPublicKey, relayBoxSecret } from '../../protocol/rekey.ts'

const OUT = new URL('./core.json', import.meta.url)

export function input (label: string, length = 32): Uint8Array {
  return sha256(utf8Bytes(`porchlight/vectors/core/${label}`)).subarray(0, length)
}

export interface CoreVectors {
  description: string
  identity: Array<{ seed: string, boxSecret: string, name: string, signKey: string, boxKey: string, binding: string, encoded: string, fingerprint: string }>
  areaKey: Array<{ seed: string, area: string, areaSeed: string, publicKey: string, message: string, signature: string }>
  /** id = SHA-256("porchlight/hood-id/v1" || founder || salt); topic = privateTopic(id). */
  hoodId: Array<{ founder: string, salt: string, id: string, topic: string }>
  epochKeys: Array<{ hoodId: string, epoch: number, secret: string, contentKey: string, tagKey: string, topic: string }>
  membershipTag: Array<{ tagKey: string, data: string, tag: string }>
  hkdf: Array<{ ikm: string, salt: string, info: string, length: number, okm: string }>
  aead: Array<{ key: string, nonce: string, aad: string, plaintext: string, ciphertext: string }>
  /** A relay's libp2p Ed25519 key (from seed) and its X25519 (Montgomery) form: boxSecret opens what is sealed to boxPublicKey. */
  relayBoxKey: Array<{ seed: string, ed25519PublicKey: string, boxPublicKey: string, boxSecret: string }>
  geohash: Array<{ lat: number, lon: number, precision: number, hash: string }>
}

export async function generateCore (): Promise<CoreVectors> {
  const crypto = await getCrypto()
  const identity: CoreVectors['identity'] = []
  for (const [i, name] of ['Alice', 'Zoë on Elm St 🏡'].entries()) {
    const seed = input(`identity-${i}/seed`)
    const boxSecret = input(`identity-${i}/box`)
    const id = await createIdentity(name, { seed, boxSecret })
    identity.push({
      seed: toHex(seed),
      boxSecret: toHex(boxSecret),
      name,
      signKey: toHex(id.public.signKey),
      boxKey: toHex(id.public.boxKey),
      binding: toHex(id.public.binding),
      encoded: toHex(encodePublicIdentity(id.public)),
      fingerprint: fingerprint(id.public.signKey)
    })
  }

  const areas: CoreVectors['areaKey'] = []
  const owner = await createIdentity('Alice', { seed: input('identity-0/seed'), boxSecret: input('identity-0/box') })
  for (const area of ['u4pruy', 'u4pru', '9q8yy']) {
    const k = await areaKey(owner, area)
    const message = utf8Bytes(`a public post in ${area}`)
    areas.push({
      seed: toHex(owner.seed),
      area,
      areaSeed: toHex(k.seed),
      publicKey: toHex(k.publicKey),
      message: toHex(message),
      signature: toHex(await crypto.ed25519Sign(k.seed, message))
    })
  }

  const hoodIds: CoreVectors['hoodId'] = []
  for (const i of [0, 1]) {
    const founder = (await createIdentity('Founder', { seed: input(`founder-${i}/seed`), boxSecret: input(`founder-${i}/box`) })).public.signKey
    const salt = input(`founder-${i}/salt`, HOOD_SALT_BYTES)
    const id = hoodId(founder, salt)
    hoodIds.push({ founder: toHex(founder), salt: toHex(salt), id: toHex(id), topic: privateTopic(id) })
  }

  const relayBoxKeys: CoreVectors['relayBoxKey'] = []
  for (const i of [0, 1]) {
    const seed = input(`relay-${i}/seed`)
    const publicKey = ed25519.getPublicKey(seed)
    relayBoxKeys.push({ seed: toHex(seed), ed25519PublicKey: toHex(publicKey), boxPublicKey: toHex(relayBoxPublicKey(publicKey)), boxSecret: toHex(relayBoxSecret(seed)) })
  }

  const epochKeys: CoreVectors['epochKeys'] = []
  for (const [hood, epoch] of [[0, 0], [0, 1], [1, 0], [1, 0xffff_ffff]] as const) {
    const hoodId = input(`hood-${hood}/id`)
    const secret = input(`hood-${hood}/epoch-${epoch}/secret`)
    const k = deriveEpochKeys(hoodId, epoch, secret)
    epochKeys.push({
      hoodId: toHex(hoodId),
      epoch,
      secret: toHex(secret),
      contentKey: toHex(k.contentKey),
      tagKey: toHex(k.tagKey),
      topic: privateTopic(hoodId)
    })
  }

  const tags: CoreVectors['membershipTag'] = []
  for (const [i, data] of [new Uint8Array(0), utf8Bytes('header||ciphertext'), input('tag-data', 32)].entries()) {
    const tagKey = input(`tag-key-${i}`)
    tags.push({ tagKey: toHex(tagKey), data: toHex(data), tag: toHex(membershipTag(tagKey, data)) })
  }

  const hkdfs: CoreVectors['hkdf'] = []
  for (const [ikm, salt, info, length] of [
    [input('hkdf-0/ikm'), input('hkdf-0/salt'), 'porchlight/content-key/v1', 32],
    [input('hkdf-1/ikm'), new Uint8Array(0), '', 64],
    [input('hkdf-2/ikm', 16), input('hkdf-2/salt', 7), 'area:u4pruy', 42]
  ] as const) {
    hkdfs.push({ ikm: toHex(ikm), salt: toHex(salt), info, length, okm: toHex(hkdf(ikm, salt, info, length)) })
  }

  const aeads: CoreVectors['aead'] = []
  for (const [i, plaintext, aad] of [
    [0, utf8Bytes('Lost dog near the park, brown lab, answers to Max.'), utf8Bytes('pl/env header')],
    [1, new Uint8Array(0), new Uint8Array(0)],
    [2, input('aead-2/plaintext'), new Uint8Array(0)]
  ] as const) {
    const key = input(`aead-${i}/key`)
    const nonce = input(`aead-${i}/nonce`, 24)
    aeads.push({ key: toHex(key), nonce: toHex(nonce), aad: toHex(aad), plaintext: toHex(plaintext), ciphertext: toHex(aeadSeal(key, nonce, plaintext, aad)) })
  }

  const geohash: CoreVectors['geohash'] = [[57.64911, 10.40744, 11], [42.6, -5.6, 5], [37.7749, -122.4194, 6], [-33.8688, 151.2093, 8]]
    .map(([lat, lon, precision]) => ({ lat: lat!, lon: lon!, precision: precision!, hash: encodeGeohash(lat!, lon!, precision!) }))

  return {
    description: 'Porchlight core vectors; inputs are SHA-256("porchlight/vectors/core/" || label), bytes in hex. Written by test/vectors/generate-core.ts.',
    identity,
    areaKey: areas,
    hoodId: hoodIds,
    epochKeys,
    membershipTag: tags,
    hkdf: hkdfs,
    aead: aeads,
    relayBoxKey: relayBoxKeys,
    geohash
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(OUT, `${JSON.stringify(await generateCore(), null, 2)}\n`)
  console.log(`wrote ${OUT.pathname}`)
}
