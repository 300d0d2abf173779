/**
 * Rekey: an admin removes members (or changes the admin list) by starting a new epoch whose
 * secret only the remaining members can recover. Published as its own wire message on the
 * private topic:
 *
 *   'pl/rekey' v2 {
 *     tp:    private topic
 *     pe:    previous epoch,  e: new epoch (= pe + 1)
 *     ts:    creation time (ms, a whole minute), in clear so relays can order, sync and expire it (kept REKEY_TTL_MS)
 *     eph:   ephemeral X25519 public key (32), one per rekey, shared by all slots and relay boxes
 *     kc:    commitment to the new epoch secret (32) = HKDF(secret, "porchlight/rekey-commit/v1|tp|e")
 *     slots: [48-byte boxes] (8..1024, a multiple of 8): the new secret (32) + AEAD tag (16) for each
 *            remaining member, padded with random slots to the next power of two (8, 16, 32 …
 *            1024: REKEY_SLOT_BUCKETS) and shuffled; a random slot is 48 random bytes, which
 *            nobody without the secret can tell from a sealed one
 *     rb:    [48-byte boxes] (0..8): the new TAG key for each relay the admin knows, sealed to the
 *            relay's libp2p Ed25519 key (converted to X25519, RFC 7748 birational map)
 *     in:    AEAD under a key derived from the NEW secret of 'pl/rekey-inner' { rm: [sign keys
 *            of the members this rekey removes] (0..64) }: members learn who is gone
 *     adm:   the signing admin's key (32),  ac: [admin certificates] (admins.ts): the chain that
 *            makes adm an admin, rooted at the founder whose key (with the salt) gives the topic
 *     sig:   adm's signature over 'pl/rekey-body' v2 { every field above }
 *   }
 *
 * Slot for a member with box key B:  key||nonce = HKDF(X25519(eph.secret, B), "porchlight/rekey/v1",
 *   "porchlight/rekey-slot/v1|tp|e|hex(eph)|hex(B)", 56), slot = XChaCha20-Poly1305(key, nonce,
 *   secret, aad = 'pl/rekey-header' {tp, pe, e, ts, eph, kc}). A relay box is the same with
 *   the relay's X25519 key R and the label "porchlight/rekey-relay/v2", holding the new tag key.
 *
 * What each party can check and learn:
 *  - Anyone holding the founder key and salt (every member; every relay, from its token):
 *    that an admin of this neighborhood signed the whole rekey. Relays refuse any other, at
 *    push, gossip and sync, so a member, a removed member or another relay cannot forge one.
 *  - A remaining member: trial-decrypts the slots with one X25519 (no recipient hints), gets
 *    the secret, checks it against kc, and reads who was removed.
 *  - A relay: topic, epochs, time, the slot count (a power of two: the member count within a
 *    factor of two, so a rekey for 3 members looks like one for 8, one for 17 like one for 32), the admin keys
 *    and, from its own box, the next tag key. Not who is in the slots, not the secret.
 *  - A removed member or an outsider: the same header, and nothing else: the new tag key is
 *    sealed to relays, not derived from the old one, so a removed member cannot produce
 *    traffic that relays accept in the new epoch.
 *  - Two admins rekeying from the same epoch: both rekeys are genuine; every peer and relay
 *    keeps the keys of both (nothing posted under either is lost) and seals new posts under
 *    the winner, the one with the lowest message id (SHA-256 of its bytes): pickWinner.
 *
 * Old epochs stay readable to whoever held them; nothing here touches them.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { fail, isPorchlightError } from './errors.ts'
import { decodeStruct, encodeStruct, equalBytes, type StructSpec, toHex, utf8Bytes } from './encoding.ts'
import { aeadOpen, aeadSeal, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, constantTimeEqual, getCrypto, hkdf, KEY_BYTES, randomBytes, sha256 } from './crypto.ts'
import { type Identity, type PublicIdentity, signStruct, verifyPublicIdentity, verifyStruct } from './identity.ts'
import { encodeAdminCerts, readAdminCerts, verifyAdminChain } from './admins.ts'
import {
  type AdminCert, checkNeighborhood, checkPrivateTopic, checkTopicIs, deriveEpochKeys, EPOCH_SECRET_BYTES, type EpochKeys, hoodId, isAdmin,
  MAX_EPOCH, MAX_PRIVATE_TOPIC_BYTES, type Neighborhood, privateTopic
} from './neighborhood.ts'
import { checkNotFuture } from './time.ts'

export const REKEY_SLOT_BYTES = EPOCH_SECRET_BYTES + AEAD_TAG_BYTES
/** Members one rekey is sealed to. */
export const MAX_REKEY_SLOTS = 1000
/** Wire rule (decoders): slot counts are a multiple of this, 8..MAX_REKEY_SLOT_COUNT (rekeys made before the buckets still decode). */
export const REKEY_SLOT_PAD = 8
/** Slot counts createRekey pads to, so a relay learns the group size only within a factor of two. */
export const REKEY_SLOT_BUCKETS: readonly number[] = [8, 16, 32, 64, 128, 256, 512, 1024]
/** The most slots a rekey carries (1,000 members pad to 1,024). */
export const MAX_REKEY_SLOT_COUNT = 1024
/** Relays a rekey can carry the next tag key to (as many as an invite names). */
export const MAX_REKEY_RELAYS = 8
/** Members one rekey can name as removed. */
export const MAX_REKEY_REMOVED = 64
/** 1024 slots take ~51 KB; the bound keeps a rekey inside one 64 KiB message. */
export const MAX_REKEY_BYTES = 64 * 1024
const MAX_INNER_BYTES = MAX_REKEY_REMOVED * 35 + 64
/** createRekey rounds ts down to this (one minute), as envelopes do: ordering and retention need no more. */
export const REKEY_TIME_UNIT_MS = 60_000
/** How long relays keep a rekey: members offline longer than this need a new invite. */
export const REKEY_TTL_MS = 90 * 24 * 3600_000
/** Times are ms since the Unix epoch, bounded (year ~6400) so ts + ttl stays a safe integer. */
const MAX_TIME_MS = 2 ** 47

const SLOT_SALT = utf8Bytes('porchlight/rekey/v1')
const SIGNED = ['tp', 'pe', 'e', 'ts', 'eph', 'kc', 'slots', 'rb', 'in', 'adm', 'ac']
const REKEY: StructSpec = { domain: 'pl/rekey', version: 2, required: [...SIGNED, 'sig'], maxBytes: MAX_REKEY_BYTES }
const HEADER: StructSpec = { domain: 'pl/rekey-header', version: 1, required: ['tp', 'pe', 'e', 'ts', 'eph', 'kc'], maxBytes: 256 }
const BODY: StructSpec = { domain: 'pl/rekey-body', version: 2, required: SIGNED, maxBytes: MAX_REKEY_BYTES }
const INNER: StructSpec = { domain: 'pl/rekey-inner', version: 1, required: ['rm'], maxBytes: MAX_INNER_BYTES }

export interface RekeyOptions {
  /** Ed25519 public keys (libp2p peer keys) of the relays that should learn the next tag key. */
  relays?: readonly Uint8Array[]
  /** Sign keys of the members this rekey removes (told to the remaining members). */
  removed?: readonly Uint8Array[]
  /** Fixed values for test vectors only. */
  secret?: Uint8Array
  ephemeralSecret?: Uint8Array
  /** Randomness for padding slots and the shuffle. */
  random?: (n: number) => Uint8Array
}

/** The decoded wire form (see the header comment for each field). */
export interface RekeyWire {
  tp: string
  pe: number
  e: number
  ts: number
  eph: Uint8Array
  kc: Uint8Array
  slots: Uint8Array[]
  rb: Uint8Array[]
  in: Uint8Array
  adm: Uint8Array
  ac: AdminCert[]
  sig: Uint8Array
}

export interface OpenedRekey {
  /** The new epoch's keys. */
  keys: EpochKeys
  prevEpoch: number
  ts: number
  /** The signing admin's key. */
  by: Uint8Array
  /** The admin chain the rekey carries (verified, rooted at the hood's founder). */
  adminCerts: AdminCert[]
  /** Sign keys of members this rekey removed. */
  removed: Uint8Array[]
}

const OKM_BYTES = KEY_BYTES + AEAD_NONCE_BYTES

function keyNonce (okm: Uint8Array): { key: Uint8Array, nonce: Uint8Array } {
  return { key: okm.subarray(0, KEY_BYTES), nonce: okm.subarray(KEY_BYTES) }
}

function boxKey (label: string, shared: Uint8Array, tp: string, e: number, eph: Uint8Array, recipient: Uint8Array): { key: Uint8Array, nonce: Uint8Array } {
  return keyNonce(hkdf(shared, SLOT_SALT, `${label}|${tp}|${e}|${toHex(eph)}|${toHex(recipient)}`, OKM_BYTES))
}

const SLOT_LABEL = 'porchlight/rekey-slot/v1'
const RELAY_LABEL = 'porchlight/rekey-relay/v2'

function innerKey (secret: Uint8Array, eph: Uint8Array): { key: Uint8Array, nonce: Uint8Array } {
  return keyNonce(hkdf(secret, eph, 'porchlight/rekey-inner/v1', OKM_BYTES))
}

function commitment (secret: Uint8Array, tp: string, e: number): Uint8Array {
  return hkdf(secret, SLOT_SALT, `porchlight/rekey-commit/v1|${tp}|${e}`, 32)
}

const header = (w: Pick<RekeyWire, 'tp' | 'pe' | 'e' | 'ts' | 'eph' | 'kc'>): Uint8Array =>
  encodeStruct(HEADER, { tp: w.tp, pe: w.pe, e: w.e, ts: w.ts, eph: w.eph, kc: w.kc })
const signedFields = (w: Omit<RekeyWire, 'sig'>): Record<string, unknown> =>
  ({ tp: w.tp, pe: w.pe, e: w.e, ts: w.ts, eph: w.eph, kc: w.kc, slots: w.slots, rb: w.rb, in: w.in, adm: w.adm, ac: encodeAdminCerts(w.ac) })

/** X25519 public key a rekey seals a relay's box to, from the relay's Ed25519 libp2p key (32). */
export function relayBoxPublicKey (ed25519PublicKey: Uint8Array): Uint8Array {
  if (ed25519PublicKey?.length !== 32) fail('BAD_ARGUMENT', 'relay key must be a 32-byte Ed25519 public key')
  try {
    return ed25519.utils.toMontgomery(ed25519PublicKey)
  } catch (err) {
    fail('BAD_ARGUMENT', 'relay key is not a valid Ed25519 public key', err)
  }
}

/** The relay's X25519 secret for opening its boxes, from its Ed25519 seed (32). */
export function relayBoxSecret (ed25519Seed: Uint8Array): Uint8Array {
  if (ed25519Seed?.length !== 32) fail('BAD_ARGUMENT', 'relay seed must be 32 bytes')
  return ed25519.utils.toMontgomerySecret(ed25519Seed)
}

/** Unbiased integer in [0, n) from 4-byte draws (rejection sampling). */
function randomIndex (n: number, random: (n: number) => Uint8Array): number {
  const limit = Math.floor(0x1_0000_0000 / n) * n
  for (;;) {
    const b = random(4)
    const v = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!
    if (v < limit) return v % n
  }
}

/** The slot count of a rekey for `members` members: the smallest bucket that holds them. */
export function paddedSlotCount (members: number): number {
  const bucket = REKEY_SLOT_BUCKETS.find(b => b >= members)
  if (bucket === undefined) fail('TOO_LARGE', `at most ${MAX_REKEY_SLOTS} members per rekey`)
  return bucket
}

/**
 * Starts epoch oldKeys.epoch + 1 for `remaining` (1..1000 members, each with a verified
 * identity binding). `admin` must be in hood.admins (NOT_ADMIN). Returns the wire bytes to
 * publish on the private topic and the new keys (the admin need not be in `remaining`).
 */
export async function createRekey (
  admin: Identity, hood: Neighborhood, oldKeys: EpochKeys, remaining: readonly PublicIdentity[], now: number, opts: RekeyOptions = {}
): Promise<{ bytes: Uint8Array, newKeys: EpochKeys }> {
  checkNeighborhood(hood)
  if (!isAdmin(hood, admin.public.signKey)) fail('NOT_ADMIN', 'only an admin of this neighborhood can rekey')
  if (!Number.isSafeInteger(now) || now < 0 || now > MAX_TIME_MS) fail('BAD_ARGUMENT', 'now must be a time in ms')
  if (!Number.isSafeInteger(oldKeys.epoch) || oldKeys.epoch < 0 || oldKeys.epoch >= MAX_EPOCH) fail('OUT_OF_RANGE', 'no epoch after this one')
  if (!Array.isArray(remaining) || remaining.length === 0) fail('BAD_ARGUMENT', 'a rekey needs at least one remaining member')
  if (remaining.length > MAX_REKEY_SLOTS) fail('TOO_LARGE', `at most ${MAX_REKEY_SLOTS} members per rekey`)
  const relays = opts.relays ?? []
  const removed = opts.removed ?? []
  if (relays.length > MAX_REKEY_RELAYS) fail('TOO_LARGE', `at most ${MAX_REKEY_RELAYS} relays per rekey`)
  if (removed.length > MAX_REKEY_REMOVED) fail('TOO_LARGE', `at most ${MAX_REKEY_REMOVED} removals per rekey`)
  for (const r of removed) if (r?.length !== 32) fail('BAD_ARGUMENT', 'removed members are named by 32-byte sign keys')
  const seen = new Set<string>()
  for (const m of remaining) {
    await verifyPublicIdentity(m)
    const k = toHex(m.boxKey)
    if (seen.has(k)) fail('BAD_ARGUMENT', 'a member is listed twice')
    seen.add(k)
  }
  const random = opts.random ?? randomBytes
  const crypto = await getCrypto()
  const tp = privateTopic(hood.id)
  const pe = oldKeys.epoch
  const e = pe + 1
  // Whole minutes, like envelope times: the clear ts is for ordering and retention only.
  const ts = now - (now % REKEY_TIME_UNIT_MS)
  const secret = opts.secret ?? random(EPOCH_SECRET_BYTES)
  const ephSecret = opts.ephemeralSecret ?? random(KEY_BYTES)
  if (secret.length !== EPOCH_SECRET_BYTES || ephSecret.length !== KEY_BYTES) fail('BAD_ARGUMENT', 'secrets must be 32 bytes')
  const eph = await crypto.x25519PublicKey(ephSecret)
  const kc = commitment(secret, tp, e)
  const aad = header({ tp, pe, e, ts, eph, kc })
  const newKeys = deriveEpochKeys(hood.id, e, secret)

  const seal = async (label: string, recipient: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> => {
    const shared = await crypto.x25519SharedSecret(ephSecret, recipient)
    const { key, nonce } = boxKey(label, shared, tp, e, eph, recipient)
    const box = aeadSeal(key, nonce, plaintext, aad)
    shared.fill(0)
    key.fill(0)
    return box
  }
  const slots: Uint8Array[] = []
  for (const m of remaining) slots.push(await seal(SLOT_LABEL, m.boxKey, secret))
  while (slots.length < paddedSlotCount(remaining.length)) slots.push(random(REKEY_SLOT_BYTES))
  shuffle(slots, random)
  const rb: Uint8Array[] = []
  for (const r of relays) rb.push(await seal(RELAY_LABEL, relayBoxPublicKey(r), newKeys.tagKey))
  shuffle(rb, random)
  if (opts.ephemeralSecret === undefined) ephSecret.fill(0)

  const ik = innerKey(secret, eph)
  const inner = aeadSeal(ik.key, ik.nonce, encodeStruct(INNER, { rm: [...removed] }))
  const unsigned: Omit<RekeyWire, 'sig'> = { tp, pe, e, ts, eph, kc, slots, rb, in: inner, adm: admin.public.signKey, ac: [...hood.adminCerts] }
  const sig = await signStruct(admin.seed, BODY, signedFields(unsigned))
  const bytes = encodeStruct(REKEY, { ...signedFields(unsigned), sig })
  return { bytes, newKeys }
}

function shuffle (items: Uint8Array[], random: (n: number) => Uint8Array): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomIndex(i + 1, random)
    const t = items[i]!
    items[i] = items[j]!
    items[j] = t
  }
}

/** Strict decoding of the wire form; checks only what needs no keys. */
export function decodeRekey (bytes: Uint8Array): RekeyWire {
  let f
  try {
    f = decodeStruct(REKEY, bytes)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_VERSION')) fail('BAD_VERSION', 'rekey from an older Porchlight (unsigned for relays): not accepted')
    throw err
  }
  const tp = checkPrivateTopic(f.string('tp', MAX_PRIVATE_TOPIC_BYTES, 1), 'WRONG_TOPIC', 'rekey topic must be a private topic')
  const pe = f.uint('pe', MAX_EPOCH - 1)
  const e = f.uint('e', MAX_EPOCH)
  if (e !== pe + 1) fail('OUT_OF_RANGE', 'a rekey advances the epoch by exactly one')
  const slots = f.array('slots', MAX_REKEY_SLOT_COUNT, item => item.bytes({ len: REKEY_SLOT_BYTES }))
  if (slots.length < REKEY_SLOT_PAD || slots.length % REKEY_SLOT_PAD !== 0) {
    fail('OUT_OF_RANGE', `slot count must be a multiple of ${REKEY_SLOT_PAD}`)
  }
  return {
    tp,
    pe,
    e,
    ts: f.uint('ts', MAX_TIME_MS),
    eph: f.bytes('eph', { len: KEY_BYTES }),
    kc: f.bytes('kc', { len: 32 }),
    slots,
    rb: f.array('rb', MAX_REKEY_RELAYS, item => item.bytes({ len: KEY_BYTES + AEAD_TAG_BYTES })),
    in: f.bytes('in', { max: MAX_INNER_BYTES + AEAD_TAG_BYTES, min: AEAD_TAG_BYTES }),
    adm: f.bytes('adm', { len: 32 }),
    ac: readAdminCerts(f, 'ac'),
    sig: f.bytes('sig', { len: 64 })
  }
}

/**
 * Checks that an admin of the neighborhood hoodId(founder, salt) signed the rekey: WRONG_TOPIC
 * (another neighborhood), BAD_ARGUMENT / BAD_SIGNATURE (a broken admin chain), NOT_ADMIN (the
 * signer is not on it), BAD_SIGNATURE (the rekey's own signature). Returns the admin keys.
 */
export async function verifyRekeySigner (w: RekeyWire, root: { founder: Uint8Array, salt: Uint8Array }): Promise<Uint8Array[]> {
  if (w.tp !== privateTopic(hoodId(root.founder, root.salt))) fail('WRONG_TOPIC', 'rekey is for another neighborhood')
  let admins: Uint8Array[]
  try {
    admins = await verifyAdminChain(root.founder, root.salt, w.ac)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_ARGUMENT')) fail('NOT_ADMIN', `rekey carries a broken admin chain: ${err.message}`)
    throw err
  }
  if (!admins.some(a => equalBytes(a, w.adm))) fail('NOT_ADMIN', 'rekey signed by someone who is not an admin')
  await verifyStruct(w.adm, BODY, signedFields(w), w.sig, 'rekey')
  return admins
}

/** Opens the box sealed to `recipient` (X25519 public key) with its secret; undefined when none opens. */
async function openBox (w: RekeyWire, boxes: readonly Uint8Array[], label: string, secret: Uint8Array, recipient: Uint8Array): Promise<Uint8Array | undefined> {
  const crypto = await getCrypto()
  let shared: Uint8Array
  try {
    shared = await crypto.x25519SharedSecret(secret, w.eph)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_ARGUMENT')) return undefined
    throw err
  }
  const { key, nonce } = boxKey(label, shared, w.tp, w.e, w.eph, recipient)
  shared.fill(0)
  const aad = header(w)
  try {
    for (const box of boxes) {
      try {
        return aeadOpen(key, nonce, box, aad)
      } catch (err) {
        if (!isPorchlightError(err, 'DECRYPT_FAILED')) throw err
      }
    }
  } finally {
    key.fill(0)
  }
  return undefined
}

/**
 * Member side: verifies the signer (see verifyRekeySigner, against hood's founder), then
 * recovers the new epoch's keys. DECRYPT_FAILED when the rekey is genuine but has no slot for
 * me (removed, or admitted after it was made) or the slot does not match the commitment.
 */
export async function openRekey (bytes: Uint8Array, me: Identity, hood: Neighborhood): Promise<OpenedRekey> {
  const w = decodeRekey(bytes)
  await verifyRekeySigner(w, hood)
  const secret = await openBox(w, w.slots, SLOT_LABEL, me.boxSecret, me.public.boxKey)
  if (secret === undefined) fail('DECRYPT_FAILED', 'no slot opens with this key: not a remaining member')
  if (!constantTimeEqual(commitment(secret, w.tp, w.e), w.kc)) fail('DECRYPT_FAILED', 'slot does not match the committed secret')
  const ik = innerKey(secret, w.eph)
  const inner = decodeStruct(INNER, aeadOpen(ik.key, ik.nonce, w.in))
  const removed = inner.array('rm', MAX_REKEY_REMOVED, item => item.bytes({ len: 32 }))
  return { keys: deriveEpochKeys(hood.id, w.e, secret), prevEpoch: w.pe, ts: w.ts, by: w.adm, adminCerts: w.ac, removed }
}

/**
 * Relay side: checks the signer against the neighborhood's founder (from the relay token) and,
 * with the relay's X25519 box secret, reads the next epoch's tag key from its box (tagKey is
 * undefined when the admin sealed none to this relay: it then needs a new token for the epoch).
 * With `topic`, a rekey naming another topic is WRONG_TOPIC.
 */
export async function relayOpenRekey (
  bytes: Uint8Array, root: { founder: Uint8Array, salt: Uint8Array }, boxSecret?: Uint8Array, topic?: string
): Promise<{ topic: string, prevEpoch: number, epoch: number, ts: number, tagKey?: Uint8Array }> {
  const w = decodeRekey(bytes)
  checkTopicIs(w.tp, topic, 'rekey')
  await verifyRekeySigner(w, root)
  const out = { topic: w.tp, prevEpoch: w.pe, epoch: w.e, ts: w.ts }
  if (boxSecret === undefined) return out
  const crypto = await getCrypto()
  const tagKey = await openBox(w, w.rb, RELAY_LABEL, boxSecret, await crypto.x25519PublicKey(boxSecret))
  return tagKey === undefined || tagKey.length !== 32 ? out : { ...out, tagKey }
}

/**
 * Of several genuine rekeys to the same epoch (two admins at once), the one every peer and relay
 * seals new posts under: the lowest message id (SHA-256 of the bytes), compared as bytes.
 */
export function rekeyWins (a: Uint8Array, b: Uint8Array): boolean {
  return rekeyIdWins(sha256(a), sha256(b))
}

/** rekeyWins on message ids already computed: the lower id, compared as bytes. */
export function rekeyIdWins (a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]!
  return false
}

/**
 * Storage times of a rekey, for relays: ts as stated, exp = ts + REKEY_TTL_MS.
 * FUTURE_DATED beyond the clock skew, EXPIRED once exp <= now.
 */
export function rekeyTimes (bytes: Uint8Array, now: number): { ts: number, exp: number } {
  const { ts } = decodeRekey(bytes)
  checkNotFuture(ts, now, 'rekey')
  const exp = ts + REKEY_TTL_MS
  if (exp <= now) fail('EXPIRED', 'rekey is past its retention time')
  return { ts, exp }
}

/** Exposed for tests and relays: how many slots (members + padding) a rekey carries. */
export function rekeySlotCount (bytes: Uint8Array): number {
  return decodeRekey(bytes).slots.length
}
