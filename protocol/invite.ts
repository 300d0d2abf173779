/**
 * Invites: everything a new member needs to join a neighborhood, in one string that fits a
 * URL fragment and a QR code:
 *
 *   "porchlight:" base64url(CBOR 'pl/invite' v2 {
 *      h:  { n: hood name, a: area geohash (1..6), f: founder sign key (32), s: salt (16),
 *            ac: [admin certificate] (0..15, admins.ts) },
 *      e:  epoch, s: epoch secret (32), r: [relay multiaddr] (0..8, each 1..256 ASCII bytes),
 *      i:  inviter's public identity ('pl/id' bytes, binding signature included),
 *      x:  expiry (ms), adm?: admission (64, only from an admin), ik?: invite key (32, with adm),
 *      sig: 64 })
 *
 * The neighborhood id is not sent: it is hoodId(f, s), so the invite cannot name a
 * neighborhood whose founder it does not also name, and the admin list is the chain of
 * certificates from that founder (verified here). Nothing an inviter writes can make someone
 * an admin.
 *
 * `sig` is the inviter's Ed25519 signature over the same fields without `sig` (domain
 * 'pl/invite-body'). `adm` is an admin's admission: the inviter's signature over
 * 'pl/admission' v2 { h: hood id, e: epoch, x: expiry, by: inviter sign key, k: invite public
 * key }, where `ik` is a fresh Ed25519 seed whose public key is k. A newcomer quotes the
 * admission in the join announcement and signs their own identity with `ik` (membership.ts):
 * so only a holder of the invite can use it, and an admission copied out of someone else's
 * join admits nobody. Only a join with a valid admission
 * for the current epoch (or an admin's later approval) puts the newcomer on the list that the
 * next rekey is sealed to. An invite from a member carries no admission: it lets the
 * newcomer read the current epoch (the member could forward posts anyway) until an admin
 * approves them; the app shows who invited them.
 *
 * An invite CONTAINS THE EPOCH SECRET: whoever holds the string (or a photo of the QR code)
 * can read everything posted in that epoch until the next rekey. Share it only with the
 * person invited, over a channel you trust. After a removal (a rekey) an older invite admits
 * nobody: its epoch is closed to new posts and joins, and its admission names that epoch.
 *
 * Size: about 920 characters with one admin, an 18-character hood name, an admission and 2
 * relay multiaddrs of 95 and 80 characters (tested below 1000: QR version ~25 at level L).
 * Each extra admin adds ~170 characters, each relay ~1.4 x its length. At most MAX_INVITE_CHARS.
 */
import { fail, isPorchlightError } from './errors.ts'
import { decodeStruct, encodeStruct, equalBytes, fromBase64Url, toBase64Url, type Fields, type StructSpec } from './encoding.ts'
import { encodeAdminCerts, readAdminCerts, verifyAdmins } from './admins.ts'
import { checkGeohash, MAX_AREA_PRECISION } from './geohash.ts'
import { getCrypto, randomBytes } from './crypto.ts'
import {
  checkName, decodePublicIdentity, encodePublicIdentity, type Identity, MAX_PUBLIC_ID_BYTES, type PublicIdentity, signStruct, verifyStruct
} from './identity.ts'
import {
  checkNeighborhood, deriveEpochKeys, EPOCH_SECRET_BYTES, type EpochKeys, HOOD_SALT_BYTES, isAdmin,
  MAX_EPOCH, MAX_HOOD_NAME_BYTES, type Neighborhood, neighborhoodOf
} from './neighborhood.ts'
import { checkNotExpired, checkTimeArg, checkTtlArg, MAX_CLOCK_SKEW_MS } from './time.ts'

export const INVITE_PREFIX = 'porchlight:'
export const MAX_RELAYS = 8
export const MAX_RELAY_ADDR_BYTES = 256
export const DEFAULT_INVITE_TTL_MS = 7 * 24 * 3600_000
export const MAX_INVITE_TTL_MS = 30 * 24 * 3600_000
/** Invites made by a peer whose clock runs this far ahead are still accepted. */
export const MAX_INVITE_CLOCK_SKEW_MS = MAX_CLOCK_SKEW_MS
/** Bound on the CBOR bytes: 16 admins, 8 maximal relays and 64-byte names fit (about 4.3 KB). */
export const MAX_INVITE_BYTES = 5120
export const MAX_INVITE_CHARS = INVITE_PREFIX.length + Math.ceil(MAX_INVITE_BYTES * 4 / 3)

const FIELDS = ['h', 'e', 's', 'r', 'i', 'x']
const INVITE: StructSpec = { domain: 'pl/invite', version: 2, required: [...FIELDS, 'sig'], optional: ['adm', 'ik'], maxBytes: MAX_INVITE_BYTES }
const INVITE_BODY: StructSpec = { domain: 'pl/invite-body', version: 2, required: FIELDS, optional: ['adm', 'ik'], maxBytes: MAX_INVITE_BYTES }
const ADMISSION: StructSpec = { domain: 'pl/admission', version: 2, required: ['h', 'e', 'x', 'by', 'k'], maxBytes: 192 }

/** An admin's word that whoever holds this invite (its invite key) may join in `epoch` until `expires`. */
export interface Admission {
  /** The admitting admin's sign key (32). */
  readonly by: Uint8Array
  readonly epoch: number
  readonly expires: number
  /** The invite's one-time Ed25519 public key (32): a join proves it holds the seed. */
  readonly key: Uint8Array
  readonly sig: Uint8Array
}

/** Multiaddr text form: starts with '/', printable ASCII, no spaces. */
const RELAY_RE = /^\/[\x21-\x7e]{1,255}$/

export interface Invite {
  readonly hood: Neighborhood
  readonly epoch: number
  /** The epoch secret (32 bytes): holding it means reading the epoch. */
  readonly secret: Uint8Array
  readonly relays: readonly string[]
  readonly inviter: PublicIdentity
  /** 'admin' when the inviter is a verified admin (and so the invite carries an admission). */
  readonly inviterRole: 'admin' | 'member'
  readonly expires: number
  /** Present exactly when the inviter is an admin. */
  readonly admission?: Admission
  /** The invite key's Ed25519 seed (32), with `admission`: a bearer secret, like the epoch secret. */
  readonly inviteKey?: Uint8Array
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
    h: { n: inv.hood.name, a: inv.hood.area, f: inv.hood.founder, s: inv.hood.salt, ac: encodeAdminCerts(inv.hood.adminCerts) },
    e: inv.epoch,
    s: inv.secret,
    r: [...inv.relays],
    i: encodePublicIdentity(inv.inviter),
    x: inv.expires,
    adm: inv.admission?.sig,
    ik: inv.inviteKey
  }
}

const admissionFields = (hoodIdBytes: Uint8Array, a: Omit<Admission, 'sig'>): Record<string, unknown> =>
  ({ h: hoodIdBytes, e: a.epoch, x: a.expires, by: a.by, k: a.key })

/**
 * An admission signed by `admin` (NOT_ADMIN unless it is one of hood's admins) for a fresh
 * invite key; `inviteKey` (the seed) goes into the invite, and only its holders can use it.
 */
export async function createAdmission (
  admin: Identity, hood: Neighborhood, epoch: number, expires: number, inviteKey = randomBytes(32)
): Promise<{ admission: Admission, inviteKey: Uint8Array }> {
  if (!isAdmin(hood, admin.public.signKey)) fail('NOT_ADMIN', 'only an admin can admit a newcomer')
  if (inviteKey.length !== 32) fail('BAD_ARGUMENT', 'invite key must be a 32-byte seed')
  const a = { by: admin.public.signKey, epoch, expires, key: await (await getCrypto()).ed25519PublicKey(inviteKey) }
  return { admission: { ...a, sig: await signStruct(admin.seed, ADMISSION, admissionFields(hood.id, a)) }, inviteKey }
}

/** NOT_ADMIN unless signed by one of hood's (verified) admins; BAD_SIGNATURE if it does not verify. */
export async function verifyAdmission (hood: Neighborhood, a: Admission): Promise<Admission> {
  if (!isAdmin(hood, a.by)) fail('NOT_ADMIN', 'admission signed by someone who is not an admin')
  await verifyStruct(a.by, ADMISSION, admissionFields(hood.id, a), a.sig, 'admission')
  return a
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
  const admin = isAdmin(hood, inviter.public.signKey)
  const expires = now + ttlMs
  const body: Omit<Invite, 'sig'> = {
    hood,
    epoch: keys.epoch,
    secret: keys.secret,
    relays: [...relays],
    inviter: inviter.public,
    inviterRole: admin ? 'admin' : 'member',
    expires,
    ...(admin ? await createAdmission(inviter, hood, keys.epoch, expires) : {})
  }
  const sig = await signStruct(inviter.seed, INVITE_BODY, bodyFields(body))
  return { ...body, sig }
}

/** The invite string: 'porchlight:' + base64url of the canonical CBOR. */
export function encodeInvite (inv: Invite): string {
  return INVITE_PREFIX + toBase64Url(encodeStruct(INVITE, { ...bodyFields(inv), sig: inv.sig }))
}

/** Validation failures of the neighborhood inside an invite are BAD_INVITE (not caller errors). */
async function readHood (f: Fields): Promise<Neighborhood> {
  const h = f.record('h', ['n', 'a', 'f', 's', 'ac'])
  const name = h.string('n', MAX_HOOD_NAME_BYTES, 1)
  const area = checkGeohash(h.string('a', MAX_AREA_PRECISION, 1), MAX_AREA_PRECISION, 'invite area')
  const founder = h.bytes('f', { len: 32 })
  const salt = h.bytes('s', { len: HOOD_SALT_BYTES })
  const adminCerts = readAdminCerts(h, 'ac')
  try {
    if (checkName(name) !== name) fail('BAD_INVITE', 'hood name is not trimmed')
    return await verifyAdmins(neighborhoodOf({ name, area, founder, salt, adminCerts }))
  } catch (err) {
    if (isPorchlightError(err, 'BAD_ARGUMENT')) fail('BAD_INVITE', `invite neighborhood: ${err.message}`)
    throw err
  }
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
  const bytes = fromBase64Url(str.slice(INVITE_PREFIX.length), MAX_INVITE_CHARS)
  let f: Fields
  try {
    f = decodeStruct(INVITE, bytes)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_VERSION')) {
      fail('BAD_VERSION', 'this invite is from an older version of Porchlight, whose admins could be faked: ask for a new invite')
    }
    throw err
  }
  const hood = await readHood(f)
  const relays = f.array('r', MAX_RELAYS, item => item.string(MAX_RELAY_ADDR_BYTES, 1))
  try {
    checkRelayAddrs(relays)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_ARGUMENT')) fail('BAD_INVITE', `invite relays: ${err.message}`)
    throw err
  }
  // Verifies the inviter's binding signature (its box key and name belong to its signing key).
  const inviter = await decodePublicIdentity(f.bytes('i', { max: MAX_PUBLIC_ID_BYTES }))
  const epoch = f.uint('e', MAX_EPOCH)
  const expires = f.uint('x')
  const admSig = f.optBytes('adm', { len: 64 })
  const inviteKey = f.optBytes('ik', { len: 32 })
  if ((admSig === undefined) !== (inviteKey === undefined)) fail('BAD_INVITE', 'an admission and its invite key come together')
  const admission = admSig === undefined || inviteKey === undefined
    ? undefined
    : { by: inviter.signKey, epoch, expires, key: await (await getCrypto()).ed25519PublicKey(inviteKey), sig: admSig }
  const inv: Invite = {
    hood,
    epoch,
    secret: f.bytes('s', { len: EPOCH_SECRET_BYTES }),
    relays,
    inviter,
    inviterRole: admission !== undefined ? 'admin' : 'member',
    expires,
    ...(admission !== undefined ? { admission, inviteKey } : {}),
    sig: f.bytes('sig', { len: 64 })
  }
  await verifyStruct(inviter.signKey, INVITE_BODY, bodyFields(inv), inv.sig, 'invite')
  // The role is never what the inviter says: an admission must come from the founder's chain.
  if (admission !== undefined) await verifyAdmission(hood, admission)
  checkNotExpired(inv.expires, now, 'invite')
  if (inv.expires > now + MAX_INVITE_TTL_MS + MAX_INVITE_CLOCK_SKEW_MS) fail('OUT_OF_RANGE', 'invite expiry too far in the future')
  return inv
}

/** The epoch keys an invite grants. */
export function inviteKeys (inv: Invite): EpochKeys {
  return deriveEpochKeys(inv.hood.id, inv.epoch, inv.secret)
}
