/**
 * Relay tokens: what a member hands a community relay so it serves one neighborhood's
 * private topic from one epoch on:
 *
 *   "plrelay:" body "." check
 *   body  = base64url(CBOR 'pl/relay-token' v2 { f: founder sign key (32), s: hood salt (16),
 *             e: epoch, k: tag key (32), a?: area, o?: [{ e: older epoch, k: its tag key (32) }] (1..8) })
 *   check = the first 6 characters of base64url(SHA-256("porchlight/relay-token-check/v1" || body))
 *
 * The check catches a token mistyped or cut short when it was copied: a changed tag key would
 * otherwise start a relay that refuses every post as BAD_TAG. (A token from before the check
 * was added, with no "." part, is still read.)
 *
 * `o` carries the tag keys of older epochs that may still hold unexpired messages, so a new
 * relay can verify (and so mirror) that history from the relays it peers with; ascending by
 * (epoch, key), each epoch below `e`, no repeats (two keys for one epoch: two admins rekeyed
 * at once). Left out when empty, so a token with no history reads as before, and a token
 * without it still works (the relay then mirrors only the current epoch). The rekeys that
 * closed those epochs are admin-signed messages the relay gets by sync, not part of the token.
 * One older key adds ~55 characters: with 3 older epochs and the area a token is ~340 characters.
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
 * and NO neighborhood name, of any epoch; it does reveal the founder's public key (which
 * relays need to check admins) and, unless left out, the coarse area. About 150 characters
 * without older keys.
 */
import { fail } from './errors.ts'
import { sha256 } from './crypto.ts'
import { decodeStruct, encodeStruct, fromBase64Url, toBase64Url, utf8Bytes, type Fields, type StructSpec } from './encoding.ts'
import { isPorchlightError } from './errors.ts'
import { checkGeohash, MAX_AREA_PRECISION } from './geohash.ts'
import { type EpochKeys, HOOD_SALT_BYTES, hoodId, MAX_EPOCH, type Neighborhood, privateTopic } from './neighborhood.ts'

export const RELAY_TOKEN_PREFIX = 'plrelay:'
/** Older epochs' tag keys one token carries (posts live at most 30 days: the epochs of a month). */
export const MAX_OLDER_TAG_KEYS = 8
/** 200 bytes for the fields before `o`, ~44 per older key (a map of a uint and 32 bytes). */
export const MAX_RELAY_TOKEN_BYTES = 200 + MAX_OLDER_TAG_KEYS * 44
export const RELAY_TOKEN_VERSION = 2
const MAX_BODY_CHARS = Math.ceil(MAX_RELAY_TOKEN_BYTES * 4 / 3)
/** Characters of the check after the body (see above). */
const CHECK_CHARS = 6
export const MAX_RELAY_TOKEN_CHARS = RELAY_TOKEN_PREFIX.length + MAX_BODY_CHARS + 1 + CHECK_CHARS

const TOKEN: StructSpec = { domain: 'pl/relay-token', version: RELAY_TOKEN_VERSION, required: ['f', 's', 'e', 'k'], optional: ['a', 'o'], maxBytes: MAX_RELAY_TOKEN_BYTES }

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
  /** Tag keys of older epochs, ascending by (epoch, key), each below `epoch`; often empty. */
  readonly older: readonly OlderTagKey[]
}

export interface OlderTagKey {
  readonly epoch: number
  /** 32 bytes. */
  readonly tagKey: Uint8Array
}

/**
 * The token for `hood` in the epoch of `keys`; the area is left out unless asked for. `older`:
 * keys of earlier epochs whose history the relay should mirror (only their tag keys go in;
 * any order; at most MAX_OLDER_TAG_KEYS, TOO_LARGE beyond: the caller picks the newest).
 */
export function createRelayToken (hood: Neighborhood, keys: EpochKeys, opts: { includeArea?: boolean, older?: readonly EpochKeys[] } = {}): RelayToken {
  const older = (opts.older ?? []).map(k => ({ epoch: k.epoch, tagKey: k.tagKey }))
  if (older.length > MAX_OLDER_TAG_KEYS) fail('TOO_LARGE', `a relay token carries at most ${MAX_OLDER_TAG_KEYS} older tag keys`)
  return checkToken({
    topic: privateTopic(hood.id),
    founder: hood.founder,
    salt: hood.salt,
    epoch: keys.epoch,
    tagKey: keys.tagKey,
    ...(opts.includeArea === true ? { area: hood.area } : {}),
    older: older.sort(compareOlder)
  })
}

/** (epoch, key bytes) order: the one canonical order of `o`. */
function compareOlder (a: OlderTagKey, b: OlderTagKey): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch
  for (let i = 0; i < Math.min(a.tagKey.length, b.tagKey.length); i++) if (a.tagKey[i] !== b.tagKey[i]) return a.tagKey[i]! - b.tagKey[i]!
  return a.tagKey.length - b.tagKey.length
}

function checkToken (t: RelayToken): RelayToken {
  if (t.topic !== privateTopic(hoodId(t.founder, t.salt))) fail('WRONG_TOPIC', 'relay token topic does not follow from its founder and salt')
  if (!Number.isSafeInteger(t.epoch) || t.epoch < 0 || t.epoch > MAX_EPOCH) fail('OUT_OF_RANGE', 'epoch out of range')
  if (!(t.tagKey instanceof Uint8Array) || t.tagKey.length !== 32) fail('BAD_LENGTH', 'tag key must be 32 bytes')
  if (t.area !== undefined) checkGeohash(t.area, MAX_AREA_PRECISION, 'relay token area')
  if (!Array.isArray(t.older)) fail('WRONG_TYPE', 'older tag keys must be an array')
  if (t.older.length > MAX_OLDER_TAG_KEYS) fail('TOO_LARGE', `a relay token carries at most ${MAX_OLDER_TAG_KEYS} older tag keys`)
  for (const [i, o] of t.older.entries()) {
    if (!Number.isSafeInteger(o.epoch) || o.epoch < 0 || o.epoch >= t.epoch) fail('OUT_OF_RANGE', 'an older tag key must be of an epoch before the token\'s')
    if (!(o.tagKey instanceof Uint8Array) || o.tagKey.length !== 32) fail('BAD_LENGTH', 'tag key must be 32 bytes')
    if (i > 0 && compareOlder(t.older[i - 1]!, o) >= 0) fail('MALFORMED', 'older tag keys must be ascending by epoch and key, with no repeats')
  }
  return t
}

export function encodeRelayToken (t: RelayToken): string {
  checkToken(t)
  const o = t.older.length > 0 ? t.older.map(x => ({ e: x.epoch, k: x.tagKey })) : undefined
  const body = toBase64Url(encodeStruct(TOKEN, { f: t.founder, s: t.salt, e: t.epoch, k: t.tagKey, a: t.area, o }))
  return `${RELAY_TOKEN_PREFIX}${body}.${tokenCheck(body)}`
}

/** The CBOR bytes a token carries (its body), unchecked: for tools and tests that look inside. */
export function relayTokenBytes (token: string): Uint8Array {
  return fromBase64Url(token.slice(RELAY_TOKEN_PREFIX.length).split('.')[0]!, MAX_BODY_CHARS)
}

function tokenCheck (body: string): string {
  return toBase64Url(sha256(utf8Bytes(`porchlight/relay-token-check/v1${body}`))).slice(0, CHECK_CHARS)
}

/**
 * Strict: prefix, canonical base64url and CBOR, founder and salt, a 32-byte key, a valid area,
 * older keys (if any: 1..MAX_OLDER_TAG_KEYS, canonical order, each of an earlier epoch).
 */
export function parseRelayToken (str: string): RelayToken {
  if (typeof str !== 'string') fail('WRONG_TYPE', 'relay token must be a string')
  if (str.startsWith('porchlight:')) fail('MALFORMED', 'this is an invite (for a resident to join), not a relay token: make one with `porchlight hood relay-token`')
  if (!str.startsWith(RELAY_TOKEN_PREFIX)) fail('MALFORMED', `relay token must start with "${RELAY_TOKEN_PREFIX}"`)
  if (str.length > MAX_RELAY_TOKEN_CHARS) fail('TOO_LARGE', 'relay token string too long')
  const rest = str.slice(RELAY_TOKEN_PREFIX.length)
  const dot = rest.indexOf('.')
  const body = dot < 0 ? rest : rest.slice(0, dot)
  const damaged = 'this relay token was changed or cut short when it was copied: copy it again, whole'
  if (dot >= 0 && rest.slice(dot + 1) !== tokenCheck(body)) fail('MALFORMED', damaged)
  let f: Fields
  try {
    f = decodeStruct(TOKEN, fromBase64Url(body, MAX_BODY_CHARS))
  } catch (err) {
    if (isPorchlightError(err, 'BAD_VERSION')) {
      fail('BAD_VERSION', `this relay token is in an older format (this relay reads format ${RELAY_TOKEN_VERSION}): ask a member for a new one (\`porchlight hood relay-token\`)`)
    }
    // Without the check part (cut off, or a token from before it) a damaged token fails here.
    if (dot < 0 && isPorchlightError(err)) fail(err.code, `${damaged} (${err.message})`, err)
    throw err
  }
  const area = f.optString('a', MAX_AREA_PRECISION, 1)
  const founder = f.bytes('f', { len: 32 })
  const salt = f.bytes('s', { len: HOOD_SALT_BYTES })
  const older = f.optArray('o', MAX_OLDER_TAG_KEYS, item => {
    const r = item.record(['e', 'k'])
    return { epoch: r.uint('e', MAX_EPOCH), tagKey: r.bytes('k', { len: 32 }) }
  })
  // An empty list is left out, never written: one token, one spelling.
  if (older?.length === 0) fail('MALFORMED', 'relay token: an empty list of older tag keys is left out')
  return checkToken({
    topic: privateTopic(hoodId(founder, salt)),
    founder,
    salt,
    epoch: f.uint('e', MAX_EPOCH),
    tagKey: f.bytes('k', { len: 32 }),
    ...(area !== undefined ? { area } : {}),
    older: older ?? []
  })
}
