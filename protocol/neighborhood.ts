/**
 * Neighborhoods, epochs and the keys and topics derived from them.
 *
 * A neighborhood is a self-certifying 32-byte id, a name, a coarse area (geohash prefix of at
 * most 6 characters) and its admins. The id is SHA-256("porchlight/hood-id/v1" || founder's
 * Ed25519 key || 16-byte salt): the founding admin is fixed by the id itself, and every other
 * admin by a chain of certificates that starts at the founder (admins.ts), so who the admins
 * are never rests on what an inviter claims. Its secret advances in epochs; from each
 * 32-byte epoch secret HKDF-SHA256 derives
 *   - the content key (XChaCha20-Poly1305), held by members only, and
 *   - the membership-tag key (HMAC-SHA256), also held by the neighborhood's relays, which
 *     lets them drop non-member traffic without being able to read anything.
 * Topics are opaque: the private topic is a hash of the id, so it reveals neither name nor
 * area; the public topic of an area is the area itself (public by design).
 */
import { fail } from './errors.ts'
import { concatBytes, toHex, utf8Bytes } from './encoding.ts'
import { checkGeohash, MAX_AREA_PRECISION } from './geohash.ts'
import { constantTimeEqual, hkdf, hmacSha256, randomBytes, sha256 } from './crypto.ts'
import { checkName } from './identity.ts'

export const HOOD_ID_BYTES = 32
export const HOOD_SALT_BYTES = 16
export const EPOCH_SECRET_BYTES = 32
export const TAG_BYTES = 16
export const MAX_HOOD_NAME_BYTES = 64
export const MAX_ADMINS = 16
export const MAX_EPOCH = 0xffff_ffff
export const TOPIC_PREFIX = '/porchlight/1/'
/** Bound on a topic field (private or area topic) read before its pattern is checked. */
export const MAX_TOPIC_BYTES = 128
/** Bound on a field that must hold a private topic (48 characters: prefix, 'n/', 32 hex). */
export const MAX_PRIVATE_TOPIC_BYTES = 64

/**
 * "Admin `key` is made an admin by admins[by]": one link of the chain rooted at the founder
 * (admins[0]); `sig` is admins[by]'s signature (admins.ts). Verified when it comes from outside.
 */
export interface AdminCert {
  readonly key: Uint8Array
  readonly by: number
  readonly sig: Uint8Array
}

export interface Neighborhood {
  /** hoodId(founder, salt). */
  readonly id: Uint8Array
  readonly name: string
  /** Coarse area: geohash prefix, 1..6 characters. */
  readonly area: string
  /** The founding admin's Ed25519 key (32): the root of the admin chain. */
  readonly founder: Uint8Array
  readonly salt: Uint8Array
  readonly adminCerts: readonly AdminCert[]
  /** Ed25519 keys of the admins, who may rekey, admit and attest agencies: founder first, then each certified key. */
  readonly admins: readonly Uint8Array[]
}

/** The self-certifying id: SHA-256("porchlight/hood-id/v1" || founder key || salt). */
export function hoodId (founder: Uint8Array, salt: Uint8Array): Uint8Array {
  if (founder?.length !== 32) fail('BAD_ARGUMENT', 'founder key must be 32 bytes')
  if (salt?.length !== HOOD_SALT_BYTES) fail('BAD_ARGUMENT', `salt must be ${HOOD_SALT_BYTES} bytes`)
  return sha256(concatBytes(utf8Bytes('porchlight/hood-id/v1'), founder, salt))
}

/** A neighborhood from its parts; the admin list follows from founder and certificates (unverified here: admins.ts). */
export function neighborhoodOf (parts: { name: string, area: string, founder: Uint8Array, salt: Uint8Array, adminCerts?: readonly AdminCert[] }): Neighborhood {
  const adminCerts = parts.adminCerts ?? []
  return checkNeighborhood({
    id: hoodId(parts.founder, parts.salt),
    name: parts.name,
    area: parts.area,
    founder: parts.founder,
    salt: parts.salt,
    adminCerts,
    admins: [parts.founder, ...adminCerts.map(c => c.key)]
  })
}

export interface EpochKeys {
  readonly epoch: number
  readonly secret: Uint8Array
  readonly contentKey: Uint8Array
  readonly tagKey: Uint8Array
}

/** A new neighborhood founded by `founder` (its first admin), with a fresh random salt. */
export function createNeighborhood (name: string, area: string, founder: Uint8Array): Neighborhood {
  return neighborhoodOf({ name, area, founder, salt: randomBytes(HOOD_SALT_BYTES) })
}

/** Structural checks (sizes, the id follows from founder and salt, admins = founder + certified keys, no repeats). */
export function checkNeighborhood (hood: Neighborhood): Neighborhood {
  if (hood.id?.length !== HOOD_ID_BYTES) fail('BAD_ARGUMENT', 'neighborhood id must be 32 bytes')
  checkName(hood.name)
  checkGeohash(hood.area, MAX_AREA_PRECISION, 'neighborhood area')
  if (!constantTimeEqual(hoodId(hood.founder, hood.salt), hood.id)) fail('BAD_ARGUMENT', 'neighborhood id does not follow from its founder and salt')
  if (!Array.isArray(hood.adminCerts) || hood.adminCerts.length >= MAX_ADMINS) fail('BAD_ARGUMENT', `1 to ${MAX_ADMINS} admins`)
  if (hood.admins.length !== hood.adminCerts.length + 1 || !constantTimeEqual(hood.admins[0]!, hood.founder)) {
    fail('BAD_ARGUMENT', 'admins must be the founder followed by the certified keys')
  }
  const seen = new Set<string>()
  for (const [i, a] of hood.admins.entries()) {
    if (a?.length !== 32) fail('BAD_ARGUMENT', 'admin keys must be 32 bytes')
    if (i > 0) {
      const c = hood.adminCerts[i - 1]!
      if (!constantTimeEqual(c.key, a)) fail('BAD_ARGUMENT', 'admins must be the founder followed by the certified keys')
      if (!Number.isInteger(c.by) || c.by < 0 || c.by >= i) fail('BAD_ARGUMENT', 'an admin certificate must be signed by an earlier admin')
      if (c.sig?.length !== 64) fail('BAD_ARGUMENT', 'admin certificate signature must be 64 bytes')
    }
    const hex = toHex(a)
    if (seen.has(hex)) fail('BAD_ARGUMENT', 'an admin is listed twice')
    seen.add(hex)
  }
  return hood
}

export function isAdmin (hood: Neighborhood, signKey: Uint8Array): boolean {
  return hood.admins.some(a => constantTimeEqual(a, signKey))
}

/** Derives the keys of one epoch. The salt binds them to the neighborhood id and epoch. */
export function deriveEpochKeys (hoodId: Uint8Array, epoch: number, secret: Uint8Array): EpochKeys {
  if (hoodId.length !== HOOD_ID_BYTES) fail('BAD_ARGUMENT', 'neighborhood id must be 32 bytes')
  if (secret.length !== EPOCH_SECRET_BYTES) fail('BAD_ARGUMENT', 'epoch secret must be 32 bytes')
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) fail('BAD_ARGUMENT', 'epoch out of range')
  const salt = concatBytes(hoodId, u32(epoch))
  return {
    epoch,
    secret,
    contentKey: hkdf(secret, salt, 'porchlight/content-key/v1'),
    tagKey: hkdf(secret, salt, 'porchlight/tag-key/v1')
  }
}

export function newEpochSecret (): Uint8Array {
  return randomBytes(EPOCH_SECRET_BYTES)
}

/** Private topic: `/porchlight/1/n/<hex of first 16 bytes of SHA-256("porchlight/topic/v1" || id)>`. */
export function privateTopic (hoodId: Uint8Array): string {
  const h = sha256(concatBytes(utf8Bytes('porchlight/topic/v1'), hoodId))
  return `${TOPIC_PREFIX}n/${toHex(h.subarray(0, 16))}`
}

/** Public area channel: `/porchlight/1/area/<geohash prefix>`. */
export function areaTopic (area: string): string {
  return `${TOPIC_PREFIX}area/${checkGeohash(area, MAX_AREA_PRECISION, 'area')}`
}

export function isPrivateTopic (topic: string): boolean {
  return /^\/porchlight\/1\/n\/[0-9a-f]{32}$/.test(topic)
}

/** Returns `topic` if it is a private topic; otherwise fails with `code` (the caller's to choose). */
export function checkPrivateTopic (topic: string, code: 'WRONG_TOPIC' | 'BAD_ARGUMENT', message: string): string {
  if (typeof topic !== 'string' || !isPrivateTopic(topic)) fail(code, message)
  return topic
}

/** WRONG_TOPIC if `expected` is given and `topic` is another ("<what> is for another topic"). */
export function checkTopicIs (topic: string, expected: string | undefined, what: string): void {
  if (expected !== undefined && topic !== expected) fail('WRONG_TOPIC', `${what} is for another topic`)
}

export function isAreaTopic (topic: string): boolean {
  return /^\/porchlight\/1\/area\/[0-9b-hjkmnp-z]{1,6}$/.test(topic)
}

/** Membership tag: HMAC-SHA256(tagKey, data) truncated to 16 bytes. */
export function membershipTag (tagKey: Uint8Array, data: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return hmacSha256(tagKey, data).subarray(0, TAG_BYTES)
}

export function checkMembershipTag (tagKey: Uint8Array, data: Uint8Array | readonly Uint8Array[], tag: Uint8Array): boolean {
  return tag.length === TAG_BYTES && constantTimeEqual(membershipTag(tagKey, data), tag)
}

export function u32 (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}
