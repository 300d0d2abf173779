/**
 * Relay tokens: what a member hands a community relay so it serves one neighborhood's
 * private topic for one epoch:
 *
 *   "plrelay:" base64url(CBOR 'pl/relay-token' v1 { tp: private topic, e: epoch, k: tag key (32), a?: area })
 *
 * With the membership-tag key a relay drops traffic from non-members and, at a rekey,
 * learns the next epoch's tag key (rekey.ts). The token deliberately holds NO content key,
 * NO epoch secret, NO neighborhood name and NO neighborhood id: the topic is a hash of the
 * id, and the tag key is derived one-way from the secret, so a relay (or whoever steals its
 * disk) can never read a post. The area (a coarse geohash) is optional, for relays that want
 * to show what region they serve. About 160 characters (170 with an area). Tokens carry no signature: the tag
 * key is the credential.
 */
import { fail } from './errors.ts'
import { decodeStruct, encodeStruct, fromBase64Url, toBase64Url, type StructSpec } from './encoding.ts'
import { checkGeohash, MAX_AREA_PRECISION } from './geohash.ts'
import { checkPrivateTopic, type EpochKeys, MAX_EPOCH, MAX_PRIVATE_TOPIC_BYTES, type Neighborhood, privateTopic } from './neighborhood.ts'

export const RELAY_TOKEN_PREFIX = 'plrelay:'
export const MAX_RELAY_TOKEN_BYTES = 160
export const MAX_RELAY_TOKEN_CHARS = RELAY_TOKEN_PREFIX.length + Math.ceil(MAX_RELAY_TOKEN_BYTES * 4 / 3)

const TOKEN: StructSpec = { domain: 'pl/relay-token', version: 1, required: ['tp', 'e', 'k'], optional: ['a'], maxBytes: MAX_RELAY_TOKEN_BYTES }

export interface RelayToken {
  /** Private topic `/porchlight/1/n/<32 hex>`. */
  readonly topic: string
  readonly epoch: number
  /** Membership-tag key of that epoch (32 bytes). */
  readonly tagKey: Uint8Array
  readonly area?: string
}

/** The token for `hood` in the epoch of `keys`; the area is left out unless asked for. */
export function createRelayToken (hood: Neighborhood, keys: EpochKeys, opts: { includeArea?: boolean } = {}): RelayToken {
  return checkToken({
    topic: privateTopic(hood.id),
    epoch: keys.epoch,
    tagKey: keys.tagKey,
    ...(opts.includeArea === true ? { area: hood.area } : {})
  })
}

function checkToken (t: RelayToken): RelayToken {
  checkPrivateTopic(t.topic, 'WRONG_TOPIC', 'relay token topic must be a private topic')
  if (!Number.isSafeInteger(t.epoch) || t.epoch < 0 || t.epoch > MAX_EPOCH) fail('OUT_OF_RANGE', 'epoch out of range')
  if (!(t.tagKey instanceof Uint8Array) || t.tagKey.length !== 32) fail('BAD_LENGTH', 'tag key must be 32 bytes')
  if (t.area !== undefined) checkGeohash(t.area, MAX_AREA_PRECISION, 'relay token area')
  return t
}

export function encodeRelayToken (t: RelayToken): string {
  checkToken(t)
  return RELAY_TOKEN_PREFIX + toBase64Url(encodeStruct(TOKEN, { tp: t.topic, e: t.epoch, k: t.tagKey, a: t.area }))
}

/** Strict: prefix, canonical base64url and CBOR, a private topic, a 32-byte key, a valid area. */
export function parseRelayToken (str: string): RelayToken {
  if (typeof str !== 'string') fail('WRONG_TYPE', 'relay token must be a string')
  if (str.length > MAX_RELAY_TOKEN_CHARS) fail('TOO_LARGE', 'relay token string too long')
  if (!str.startsWith(RELAY_TOKEN_PREFIX)) fail('MALFORMED', `relay token must start with "${RELAY_TOKEN_PREFIX}"`)
  const f = decodeStruct(TOKEN, fromBase64Url(str.slice(RELAY_TOKEN_PREFIX.length), MAX_RELAY_TOKEN_CHARS))
  const area = f.optString('a', MAX_AREA_PRECISION, 1)
  return checkToken({
    topic: f.string('tp', MAX_PRIVATE_TOPIC_BYTES, 1),
    epoch: f.uint('e', MAX_EPOCH),
    tagKey: f.bytes('k', { len: 32 }),
    ...(area !== undefined ? { area } : {})
  })
}
