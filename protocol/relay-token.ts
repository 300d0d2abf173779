/**
 * Relay tokens: what a member hands a community relay so it serves one neighborhood's
 * private topic from one epoch on:
 *
 *   "plrelay:" base64url(CBOR 'pl/relay-token' v2 { f: founder sign key (32), s: hood salt (16),
 *      e: epoch, k: tag key (32), a?: area })
 *
 * Format history: v1 { tp, e, k, a? } carried no way to check who may rekey; a v1 token is
 * refused with a message that says to make a new one (BAD_VERSION).
 *
 * With the membership-tag key a relay drops traffic from non-members. With the founder key
 * and salt it computes the neighborhood id (and so the private topic) and checks that a
 * rekey is signed by an admin of the chain rooted at the founder (rekey.ts): it refuses any
 * other, so no member, removed member or other relay can fill the relay with forged epochs.
 * It learns the next epoch's tag key only from a box the admin sealed to the relay's own
 * libp2p key inside the rekey. The token deliberately holds NO content key, NO epoch secret
 * and NO neighborhood name; it does reveal the founder's public key (which relays need to
 * check admins) and, unless left out, the coarse area. About 150 characters.
 */
import { fail } from './errors.ts'
import { decodeStruct, encodeStruct, fromBase64Url, toBase64Url, type Fields, type StructSpec } from './encoding.ts'
import { isPorchlightError } from './errors.ts'
import { checkGeohash, MAX_AREA_PRECISION } from './geohash.ts'
import { type EpochKeys, HOOD_SALT_BYTES, hoodId, MAX_EPOCH, type Neighborhood, privateTopic } from './neighborhood.ts'

export const RELAY_TOKEN_PREFIX = 'plrelay:'
export const MAX_RELAY_TOKEN_BYTES = 200
export const RELAY_TOKEN_VERSION = 2
export const MAX_RELAY_TOKEN_CHARS = RELAY_TOKEN_PREFIX.length + Math.ceil(MAX_RELAY_TOKEN_BYTES * 4 / 3)

const TOKEN: StructSpec = { domain: 'pl/relay-token', version: RELAY_TOKEN_VERSION, required: ['f', 's', 'e', 'k'], optional: ['a'], maxBytes: MAX_RELAY_TOKEN_BYTES }

export interface RelayToken {
  /** Private topic `/porchlight/1/n/<32 hex>`, computed from founder and salt. */
  readonly topic: string
  /** Founder's sign key (32): root of the admin chain the relay checks rekeys against. */
  readonly founder: Uint8Array
  readonly salt: Uint8Array
  readonly epoch: number
  /** Membership-tag key of that epoch (32 bytes). */
  readonly tagKey: Uint8Array
  readonly area?: string
}

/** The token for `hood` in the epoch of `keys`; the area is left out unless asked for. */
export function createRelayToken (hood: Neighborhood, keys: EpochKeys, opts: { includeArea?: boolean } = {}): RelayToken {
  return checkToken({
    topic: privateTopic(hood.id),
    founder: hood.founder,
    salt: hood.salt,
    epoch: keys.epoch,
    tagKey: keys.tagKey,
    ...(opts.includeArea === true ? { area: hood.area } : {})
  })
}

function checkToken (t: RelayToken): RelayToken {
  if (t.topic !== privateTopic(hoodId(t.founder, t.salt))) fail('WRONG_TOPIC', 'relay token topic does not follow from its founder and salt')
  if (!Number.isSafeInteger(t.epoch) || t.epoch < 0 || t.epoch > MAX_EPOCH) fail('OUT_OF_RANGE', 'epoch out of range')
  if (!(t.tagKey instanceof Uint8Array) || t.tagKey.length !== 32) fail('BAD_LENGTH', 'tag key must be 32 bytes')
  if (t.area !== undefined) checkGeohash(t.area, MAX_AREA_PRECISION, 'relay token area')
  return t
}

export function encodeRelayToken (t: RelayToken): string {
  checkToken(t)
  return RELAY_TOKEN_PREFIX + toBase64Url(encodeStruct(TOKEN, { f: t.founder, s: t.salt, e: t.epoch, k: t.tagKey, a: t.area }))
}

/** Strict: prefix, canonical base64url and CBOR, founder and salt, a 32-byte key, a valid area. */
export function parseRelayToken (str: string): RelayToken {
  if (typeof str !== 'string') fail('WRONG_TYPE', 'relay token must be a string')
  if (str.length > MAX_RELAY_TOKEN_CHARS) fail('TOO_LARGE', 'relay token string too long')
  if (!str.startsWith(RELAY_TOKEN_PREFIX)) fail('MALFORMED', `relay token must start with "${RELAY_TOKEN_PREFIX}"`)
  let f: Fields
  try {
    f = decodeStruct(TOKEN, fromBase64Url(str.slice(RELAY_TOKEN_PREFIX.length), MAX_RELAY_TOKEN_CHARS))
  } catch (err) {
    if (isPorchlightError(err, 'BAD_VERSION')) {
      fail('BAD_VERSION', `this relay token is in an older format (this relay reads format ${RELAY_TOKEN_VERSION}): ask a member for a new one (\`porchlight hood relay-token\`)`)
    }
    throw err
  }
  const area = f.optString('a', MAX_AREA_PRECISION, 1)
  const founder = f.bytes('f', { len: 32 })
  const salt = f.bytes('s', { len: HOOD_SALT_BYTES })
  return checkToken({
    topic: privateTopic(hoodId(founder, salt)),
    founder,
    salt,
    epoch: f.uint('e', MAX_EPOCH),
    tagKey: f.bytes('k', { len: 32 }),
    ...(area !== undefined ? { area } : {})
  })
}
