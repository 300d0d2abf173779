import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { createHash, createHmac, hkdfSync } from 'node:crypto'
import { randomBytes } from '../../protocol/crypto.ts'
import { concatBytes, toHex } from '../../protocol/encoding.ts'
import {
  type AdminCert, areaTopic, checkMembershipTag, checkNeighborhood, createNeighborhood, deriveEpochKeys, HOOD_SALT_BYTES, hoodId, isAdmin,
  isAreaTopic, isPrivateTopic, MAX_ADMINS, MAX_EPOCH, membershipTag, neighborhoodOf, privateTopic, TAG_BYTES, u32
} from '../../protocol/neighborhood.ts'
import { rejectionSync as codeOf } from '../helpers/protocol-fixtures.ts'

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const epoch = fc.integer({ min: 0, max: MAX_EPOCH })

describe('epoch keys', () => {
  it('match HKDF-SHA256 (node:crypto) with salt = id || u32be(epoch) and the documented info strings', () => {
    fc.assert(fc.property(bytes32, epoch, bytes32, (id, e, secret) => {
      const k = deriveEpochKeys(id, e, secret)
      const salt = concatBytes(id, u32(e))
      const ref = (info: string): string => Buffer.from(hkdfSync('sha256', secret, salt, info, 32)).toString('hex')
      expect(toHex(k.contentKey)).toBe(ref('porchlight/content-key/v1'))
      expect(toHex(k.tagKey)).toBe(ref('porchlight/tag-key/v1'))
      expect(k.epoch).toBe(e)
      expect(k.secret).toBe(secret)
    }), { numRuns: runs(25) })
  })

  it('differ per epoch and per neighborhood for the same secret; content key is never the tag key', () => {
    fc.assert(fc.property(bytes32, bytes32, fc.integer({ min: 0, max: MAX_EPOCH - 1 }), bytes32, (id1, id2, e, secret) => {
      fc.pre(toHex(id1) !== toHex(id2))
      const keys = [deriveEpochKeys(id1, e, secret), deriveEpochKeys(id1, e + 1, secret), deriveEpochKeys(id2, e, secret)]
      const all = keys.flatMap(k => [toHex(k.contentKey), toHex(k.tagKey)])
      expect(new Set(all).size).toBe(6)
      for (const k of keys) expect(toHex(k.contentKey)).not.toBe(toHex(k.secret))
    }), { numRuns: runs(25) })
  })

  it('are deterministic', () => {
    const id = randomBytes(32)
    const secret = randomBytes(32)
    expect(deriveEpochKeys(id, 3, secret)).toEqual(deriveEpochKeys(id.slice(), 3, secret.slice()))
  })

  it('refuse bad ids, secrets and epochs with BAD_ARGUMENT', () => {
    const id = randomBytes(32)
    const secret = randomBytes(32)
    expect(codeOf(() => deriveEpochKeys(id.subarray(0, 31), 0, secret))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => deriveEpochKeys(id, 0, secret.subarray(0, 16)))).toBe('BAD_ARGUMENT')
    for (const e of [-1, 1.5, MAX_EPOCH + 1, NaN]) expect(codeOf(() => deriveEpochKeys(id, e, secret))).toBe('BAD_ARGUMENT')
    expect(deriveEpochKeys(id, MAX_EPOCH, secret).epoch).toBe(MAX_EPOCH)
  })

  it('u32 is big-endian', () => {
    expect(toHex(u32(0x01020304))).toBe('01020304')
    expect(toHex(u32(MAX_EPOCH))).toBe('ffffffff')
  })
})

describe('topics', () => {
  it('the private topic is a hash of the id: it reveals neither the name nor any part of the id', () => {
    fc.assert(fc.property(bytes32, fc.string({ minLength: 1, maxLength: 20 }), (id, name) => {
      const topic = privateTopic(id)
      expect(isPrivateTopic(topic)).toBe(true)
      expect(topic).toMatch(/^\/porchlight\/1\/n\/[0-9a-f]{32}$/)
      expect(topic).toBe(privateTopic(id.slice()))
      const idHex = toHex(id)
      // No 4-byte run of the id (8 hex digits, at any offset) appears in the topic.
      for (let i = 0; i + 8 <= idHex.length; i++) expect(topic).not.toContain(idHex.slice(i, i + 8))
      const hood = createNeighborhood(`Elm ${name.trim() === '' ? 'x' : name.replace(/\p{Cc}/gu, '')}`.trim(), 'u4pruy', randomBytes(32))
      expect(privateTopic(hood.id)).not.toContain(hood.name)
      expect(privateTopic(hood.id)).not.toContain(hood.area)
    }), { numRuns: runs(50) })
  })

  it('private topics differ per neighborhood', () => {
    const a = randomBytes(32)
    const b = a.slice()
    b[0]! ^= 1
    expect(privateTopic(a)).not.toBe(privateTopic(b))
  })

  it('area topics are the area; anything that is not a 1..6 character geohash is BAD_GEOHASH', () => {
    expect(areaTopic('u4pruy')).toBe('/porchlight/1/area/u4pruy')
    expect(isAreaTopic(areaTopic('u'))).toBe(true)
    for (const bad of ['', 'u4pruyd', 'U4PR', 'u4pa', 'ilo', 'u4 pr']) expect(codeOf(() => areaTopic(bad))).toBe('BAD_GEOHASH')
    expect(isAreaTopic('/porchlight/1/area/u4pruyd')).toBe(false)
    expect(isPrivateTopic('/porchlight/1/area/u4pruy')).toBe(false)
    expect(isAreaTopic(privateTopic(randomBytes(32)))).toBe(false)
  })
})

describe('membership tag', () => {
  it('is HMAC-SHA256 truncated to 16 bytes, and checks', () => {
    fc.assert(fc.property(bytes32, fc.uint8Array({ maxLength: 300 }), (key, data) => {
      const tag = membershipTag(key, data)
      expect(tag.length).toBe(TAG_BYTES)
      expect(toHex(tag)).toBe(createHmac('sha256', key).update(data).digest('hex').slice(0, 32))
      expect(checkMembershipTag(key, data, tag)).toBe(true)
    }), { numRuns: runs(50) })
  })

  it('fails for a changed tag, key or data, and for a tag of the wrong length', () => {
    fc.assert(fc.property(bytes32, fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (key, data, pos, x) => {
      const tag = membershipTag(key, data)
      const t2 = tag.slice(); t2[pos % TAG_BYTES]! ^= x
      expect(checkMembershipTag(key, data, t2)).toBe(false)
      const k2 = key.slice(); k2[pos % 32]! ^= x
      expect(checkMembershipTag(k2, data, tag)).toBe(false)
      const d2 = data.slice(); d2[pos % data.length]! ^= x
      expect(checkMembershipTag(key, d2, tag)).toBe(false)
      expect(checkMembershipTag(key, data, tag.subarray(0, 15))).toBe(false)
      expect(checkMembershipTag(key, data, concatBytes(tag, Uint8Array.of(0)))).toBe(false)
      expect(checkMembershipTag(key, data, new Uint8Array(0))).toBe(false)
    }), { numRuns: runs(50) })
  })
})

describe('neighborhoods', () => {
  const admin = randomBytes(32)
  const cert = (key: Uint8Array, by = 0): AdminCert => ({ key, by, sig: randomBytes(64) })

  it('the id is SHA-256("porchlight/hood-id/v1" || founder key || 16-byte salt)', () => {
    fc.assert(fc.property(bytes32, fc.uint8Array({ minLength: 16, maxLength: 16 }), (founder, salt) => {
      const ref = createHash('sha256').update('porchlight/hood-id/v1').update(founder).update(salt).digest('hex')
      expect(toHex(hoodId(founder, salt))).toBe(ref)
    }), { numRuns: runs(25) })
    expect(codeOf(() => hoodId(randomBytes(31), randomBytes(HOOD_SALT_BYTES)))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => hoodId(admin, randomBytes(HOOD_SALT_BYTES + 1)))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => hoodId(undefined as unknown as Uint8Array, randomBytes(HOOD_SALT_BYTES)))).toBe('BAD_ARGUMENT')
  })

  it('createNeighborhood makes a fresh salt, an id that follows from founder and salt, and the founder its one admin', () => {
    const a = createNeighborhood('Elm Street', 'u4pruy', admin)
    const b = createNeighborhood('Elm Street', 'u4pruy', admin)
    expect(a.id.length).toBe(32)
    expect(a.salt.length).toBe(HOOD_SALT_BYTES)
    expect(toHex(a.id)).not.toBe(toHex(b.id))
    expect(toHex(a.id)).toBe(toHex(hoodId(admin, a.salt)))
    expect(a).toMatchObject({ name: 'Elm Street', area: 'u4pruy', founder: admin, admins: [admin], adminCerts: [] })
    expect(isAdmin(a, admin)).toBe(true)
    expect(isAdmin(a, randomBytes(32))).toBe(false)
    // Same founder and salt: same neighborhood, whatever the name says.
    expect(toHex(neighborhoodOf({ name: 'Other', area: 'u4', founder: admin, salt: a.salt }).id)).toBe(toHex(a.id))
  })

  it('neighborhoodOf lists the founder, then each certified key', () => {
    const k1 = randomBytes(32)
    const k2 = randomBytes(32)
    const h = neighborhoodOf({ name: 'Elm', area: 'u4pr', founder: admin, salt: randomBytes(HOOD_SALT_BYTES), adminCerts: [cert(k1), cert(k2, 1)] })
    expect(h.admins).toEqual([admin, k1, k2])
    expect(isAdmin(h, k2)).toBe(true)
  })

  it('checkNeighborhood refuses bad fields with their codes', () => {
    const good = createNeighborhood('Elm', 'u4pr', admin)
    expect(checkNeighborhood(good)).toBe(good)
    expect(codeOf(() => checkNeighborhood({ ...good, id: randomBytes(16) }))).toBe('BAD_ARGUMENT')
    // An id that does not follow from founder and salt (a random one, or another founder's).
    expect(codeOf(() => checkNeighborhood({ ...good, id: randomBytes(32) }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, founder: randomBytes(32), admins: [good.founder] }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, salt: randomBytes(HOOD_SALT_BYTES) }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, name: '' }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, name: 'a\nb' }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, name: 'x'.repeat(65) }))).toBe('TOO_LARGE')
    expect(codeOf(() => checkNeighborhood({ ...good, area: 'u4pruyd' }))).toBe('BAD_GEOHASH')
    expect(codeOf(() => checkNeighborhood({ ...good, area: 'a' }))).toBe('BAD_GEOHASH')
    // The admin list must be exactly the founder followed by the certified keys.
    expect(codeOf(() => checkNeighborhood({ ...good, admins: [] }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, admins: [randomBytes(32)] }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, admins: [admin, randomBytes(32)] }))).toBe('BAD_ARGUMENT')
    const k = randomBytes(32)
    expect(codeOf(() => checkNeighborhood({ ...good, adminCerts: [cert(k)], admins: [admin, randomBytes(32)] }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, adminCerts: [cert(k, 1)], admins: [admin, k] }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, adminCerts: [{ ...cert(k), sig: randomBytes(63) }], admins: [admin, k] }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, adminCerts: [cert(admin)], admins: [admin, admin] }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => checkNeighborhood({ ...good, adminCerts: [cert(randomBytes(31))], admins: [admin, randomBytes(31)] }))).toBe('BAD_ARGUMENT')
    const many = Array.from({ length: MAX_ADMINS }, () => randomBytes(32))
    const certs = many.map((key, i) => cert(key, i))
    expect(codeOf(() => neighborhoodOf({ ...good, adminCerts: certs }))).toBe('BAD_ARGUMENT')
    expect(neighborhoodOf({ ...good, adminCerts: certs.slice(0, MAX_ADMINS - 1) }).admins).toHaveLength(MAX_ADMINS)
  })
})
