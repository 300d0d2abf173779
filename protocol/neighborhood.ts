/**
 * Neighborhoods, epochs and the keys and topics derived from them.
 *
 * A neighborhood is a random 32-byte id, a name, a coarse area (geohash prefix of at most
 * 6 characters) and its admins' signing keys. Its secret advances in epochs; from each
 * 32-byte epoch secret HKDF-SHA256 derives
 *   - the content key (XChaCha20-Poly1305), held by members only, and
 *   - the membership-tag key (HMAC-SHA256), also held by the neighborhood's relays, which
 *     lets them drop non-member traffic without being able to read anything.
 * Topics are opaque: the private topic is a hash of the id, so it reveals neither name nor
 * area; the public topic of an area is the area itself (public by design).
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { fail } from './errors.ts'
import { concatBytes, toHex, utf8Bytes } from './encoding.ts'
import { checkGeohash, MAX_AREA_PRECISION } from './geohash.ts'
import { constantTimeEqual, hkdf, randomBytes, sha256 } from './crypto.ts'
import { checkName } from './identity.ts'

export const HOOD_ID_BYTES = 32
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

export interface Neighborhood {
  readonly id: Uint8Array
  readonly name: string
  /** Coarse area: geohash prefix, 1..6 characters. */
  readonly area: string
  /** Ed25519 public keys of the admins, who may rekey and attest agencies. */
  readonly admins: readonly Uint8Array[]
}

export interface EpochKeys {
  readonly epoch: number
  readonly secret: Uint8Array
  readonly contentKey: Uint8Array
  readonly tagKey: Uint8Array
}

export function createNeighborhood (name: string, area: string, admin: Uint8Array): Neighborhood {
  return checkNeighborhood({ id: randomBytes(HOOD_ID_BYTES), name, area, admins: [admin] })
}

export function checkNeighborhood (hood: Neighborhood): Neighborhood {
  if (hood.id?.length !== HOOD_ID_BYTES) fail('BAD_ARGUMENT', 'neighborhood id must be 32 bytes')
  checkName(hood.name)
  checkGeohash(hood.area, MAX_AREA_PRECISION, 'neighborhood area')
  if (hood.admins.length === 0 || hood.admins.length > MAX_ADMINS) fail('BAD_ARGUMENT', `1 to ${MAX_ADMINS} admins`)
  for (const a of hood.admins) if (a?.length !== 32) fail('BAD_ARGUMENT', 'admin keys must be 32 bytes')
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
export function membershipTag (tagKey: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(nobleSha256, tagKey, data).subarray(0, TAG_BYTES)
}

export function checkMembershipTag (tagKey: Uint8Array, data: Uint8Array, tag: Uint8Array): boolean {
  return tag.length === TAG_BYTES && constantTimeEqual(membershipTag(tagKey, data), tag)
}

export function u32 (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}
