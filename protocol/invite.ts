/**
 * Invites: everything a new member needs to join a neighborhood, in one string that fits a
 * URL fragment and a QR code:
 *
 *   "porchlight:" base64url(CBOR 'pl/invite' v1 {
 *      h:  { id: bytes32, n: hood name, a: area geohash (1..6), ad: [admin sign key 32] (1..16) },
 *      e:  epoch, s: epoch secret (32), r: [relay multiaddr] (0..8, each 1..256 ASCII bytes),
 *      i:  inviter's public identity ('pl/id' bytes, binding signature included),
 *      ia: true when the inviter states it is an admin, x: expiry (ms), sig: 64 })
 *
 * The signature is the inviter's Ed25519 signature over the same fields without `sig`, under
 * the domain 'pl/invite-body'.
 *
 * An invite CONTAINS THE EPOCH SECRET: whoever holds the string (or a photo of the QR code)
 * can read everything posted in that epoch until the next rekey, and can post as a member.
 * Share it only with the person invited, over a channel you trust; the expiry limits how long
 * a leaked invite can be used to join, not how long a leaked secret reads (only a rekey does).
 *
 * What the signature proves: that the inviter wrote this invite (accountability). An admin
 * claim (`ia`) is checked against the admin list in the invite; a member's invite is taken
 * "as stated": possession of the epoch secret is what makes a member, and the admin list in a
 * member's invite is the one that member holds (neighborhood ids are random, not
 * self-certifying), so clients should show who invited and in which role.
 *
 * Size: 809 characters with one admin, an 18-character hood name and 2 relay multiaddrs of 95
 * and 80 characters (test/vectors/membership.json; tested below 1000: QR version ~25 at level
 * L); 567 with no relays. Each extra admin adds ~46 characters, each relay ~1.4 x its length.
 * At most MAX_INVITE_CHARS.
 */
import { fail, isPorchlightError } from './errors.ts'
import { decodeStruct, encodeStruct, equalBytes, fromBase64Url, toBase64Url, type Fields, type StructSpec } from './encoding.ts'
import { checkGeohash, MAX_AREA_PRECISION } from './geohash.ts'
import {
  checkName, decodePublicIdentity, encodePublicIdentity, type Identity, MAX_PUBLIC_ID_BYTES, type PublicIdentity, signStruct, verifyStruct
} from './identity.ts'
import {
  checkNeighborhood, deriveEpochKeys, EPOCH_SECRET_BYTES, type EpochKeys, HOOD_ID_BYTES, isAdmin, MAX_ADMINS,
  MAX_EPOCH, MAX_HOOD_NAME_BYTES, type Neighborhood
} from './neighborhood.ts'
import { checkNotExpired, checkTimeArg, checkTtlArg, MAX_CLOCK_SKEW_MS } from './time.ts'

export const INVITE_PREFIX = 'porchlight:'
export const MAX_RELAYS = 8
export const MAX_RELAY_ADDR_BYTES = 256
export const DEFAULT_INVITE_TTL_MS = 7 * 24 * 3600_000
export const MAX_INVITE_TTL_MS = 30 * 24 * 3600_000
/** Invites made by a peer whose clock runs this far ahead are still accepted. */
export const MAX_INVITE_CLOCK_SKEW_MS = MAX_CLOCK_SKEW_MS
/** Bound on the CBOR bytes: 16 admins and 8 maximal relays fit (about 3.2 KB). */
export const MAX_INVITE_BYTES = 4096
export const MAX_INVITE_CHARS = INVITE_PREFIX.length + Math.ceil(MAX_INVITE_BYTES * 4 / 3)

const FIELDS = ['h', 'e', 's', 'r', 'i', 'ia', 'x']
const INVITE: StructSpec = { domain: 'pl/invite', version: 1, required: [...FIELDS, 'sig'], maxBytes: MAX_INVITE_BYTES }
const INVITE_BODY: StructSpec = { domain: 'pl/invite-body', version: 1, required: FIELDS, maxBytes: MAX_INVITE_BYTES }

/** Multiaddr text form: starts with '/', printable ASCII, no spaces. */
const RELAY_RE = /^\/[\x21-\x7e]{1,255}$/

export interface Invite {
  readonly hood: Neighborhood
  readonly epoch: number
  /** The epoch secret (32 bytes): holding it means reading the epoch. */
  readonly secret: Uint8Array
  readonly relays: readonly string[]
  readonly inviter: PublicIdentity
  /** Role the inviter states; 'admin' is verified against hood.admins, 'member' is as stated. */
  readonly inviterRole: 'admin' | 'member'
  readonly expires: number
  readonly sig: Uint8Array
}

export function checkRelayAddrs (relays: readonly string[]): readonly string[] {
  if (!Array.isArray(relays)) fail('BAD_ARGUMENT', 'relays must be an array')
  if (relays.length > MAX_RELAYS) fail('TOO_LARGE', `at most ${MAX_RELAYS} relays`)
  for (const r of relays) {
    if (typeof r !== 'string' || !RELAY_RE.test(r)) fail('BAD_ARGUMENT', 'relay must be a multiaddr of 2..256 printable ASCII characters')
  }
  if (new Set(relays).size !== relays.length) fail('BAD_ARGUMENT', 'duplicate relay address')
  return relays
}

function bodyFields (inv: Omit<Invite, 'sig'>): Record<string, unknown> {
  return {
    h: { id: inv.hood.id, n: inv.hood.name, a: inv.hood.area, ad: [...inv.hood.admins] },
    e: inv.epoch,
    s: inv.secret,
    r: [...inv.relays],
    i: encodePublicIdentity(inv.inviter),
    ia: inv.inviterRole === 'admin',
    x: inv.expires
  }
}

/**
 * Creates an invite to `hood` for the epoch of `keys`, valid for `ttlMs` (at most 30 days).
 * The inviter's role is 'admin' when its signing key is in hood.admins, else 'member'.
 */
export async function createInvite (
  inviter: Identity, hood: Neighborhood, keys: EpochKeys, relays: readonly string[], now: number, ttlMs = DEFAULT_INVITE_TTL_MS
): Promise<Invite> {
  checkNeighborhood(hood)
  checkRelayAddrs(relays)
  checkTimeArg(now, 'now')
  checkTtlArg(ttlMs, MAX_INVITE_TTL_MS)
  if (keys.secret?.length !== EPOCH_SECRET_BYTES) fail('BAD_ARGUMENT', 'epoch secret must be 32 bytes')
  // Catches keys of another neighborhood or epoch handed in by mistake.
  if (!equalBytes(deriveEpochKeys(hood.id, keys.epoch, keys.secret).contentKey, keys.contentKey)) {
    fail('BAD_ARGUMENT', 'epoch keys do not belong to this neighborhood')
  }
  const body: Omit<Invite, 'sig'> = {
    hood: { id: hood.id, name: hood.name, area: hood.area, admins: [...hood.admins] },
    epoch: keys.epoch,
    secret: keys.secret,
    relays: [...relays],
    inviter: inviter.public,
    inviterRole: isAdmin(hood, inviter.public.signKey) ? 'admin' : 'member',
    expires: now + ttlMs
  }
  const sig = await signStruct(inviter.seed, INVITE_BODY, bodyFields(body))
  return { ...body, sig }
}

/** The invite string: 'porchlight:' + base64url of the canonical CBOR. */
export function encodeInvite (inv: Invite): string {
  return INVITE_PREFIX + toBase64Url(encodeStruct(INVITE, { ...bodyFields(inv), sig: inv.sig }))
}

/** Validation failures of the neighborhood inside an invite are BAD_INVITE (not caller errors). */
function readHood (f: Fields): Neighborhood {
  const h = f.record('h', ['id', 'n', 'a', 'ad'])
  const name = h.string('n', MAX_HOOD_NAME_BYTES, 1)
  const hood: Neighborhood = {
    id: h.bytes('id', { len: HOOD_ID_BYTES }),
    name,
    area: checkGeohash(h.string('a', MAX_AREA_PRECISION, 1), MAX_AREA_PRECISION, 'invite area'),
    admins: h.array('ad', MAX_ADMINS, item => item.bytes({ len: 32 }))
  }
  try {
    if (checkName(name) !== name) fail('BAD_INVITE', 'hood name is not trimmed')
    checkNeighborhood(hood)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_ARGUMENT')) fail('BAD_INVITE', `invite neighborhood: ${err.message}`)
    throw err
  }
  if (new Set(hood.admins.map(a => a.join(','))).size !== hood.admins.length) fail('BAD_INVITE', 'duplicate admin key')
  return hood
}

/**
 * Parses and verifies an invite string: strict decoding, the inviter's identity binding and
 * invite signature (BAD_SIGNATURE), an admin claim (NOT_ADMIN), expiry (EXPIRED when
 * expires <= now; OUT_OF_RANGE when further ahead than the longest ttl plus clock skew).
 * Throws only PorchlightError.
 */
export async function parseInvite (str: string, now: number): Promise<Invite> {
  if (typeof str !== 'string') fail('WRONG_TYPE', 'invite must be a string')
  if (str.length > MAX_INVITE_CHARS) fail('TOO_LARGE', 'invite string too long')
  if (!str.startsWith(INVITE_PREFIX)) fail('BAD_INVITE', `invite must start with "${INVITE_PREFIX}"`)
  const f = decodeStruct(INVITE, fromBase64Url(str.slice(INVITE_PREFIX.length), MAX_INVITE_CHARS))
  const hood = readHood(f)
  const relays = f.array('r', MAX_RELAYS, item => item.string(MAX_RELAY_ADDR_BYTES, 1))
  try {
    checkRelayAddrs(relays)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_ARGUMENT')) fail('BAD_INVITE', `invite relays: ${err.message}`)
    throw err
  }
  // Verifies the inviter's binding signature (its box key and name belong to its signing key).
  const inviter = await decodePublicIdentity(f.bytes('i', { max: MAX_PUBLIC_ID_BYTES }))
  const inv: Invite = {
    hood,
    epoch: f.uint('e', MAX_EPOCH),
    secret: f.bytes('s', { len: EPOCH_SECRET_BYTES }),
    relays,
    inviter,
    inviterRole: f.bool('ia') ? 'admin' : 'member',
    expires: f.uint('x'),
    sig: f.bytes('sig', { len: 64 })
  }
  await verifyStruct(inviter.signKey, INVITE_BODY, bodyFields(inv), inv.sig, 'invite')
  if (inv.inviterRole === 'admin' && !isAdmin(hood, inviter.signKey)) fail('NOT_ADMIN', 'inviter claims to be an admin but is not in the admin list')
  checkNotExpired(inv.expires, now, 'invite')
  if (inv.expires > now + MAX_INVITE_TTL_MS + MAX_INVITE_CLOCK_SKEW_MS) fail('OUT_OF_RANGE', 'invite expiry too far in the future')
  return inv
}

/** The epoch keys an invite grants. */
export function inviteKeys (inv: Invite): EpochKeys {
  return deriveEpochKeys(inv.hood.id, inv.epoch, inv.secret)
}
