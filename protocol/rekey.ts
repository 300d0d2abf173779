/**
 * Rekey: an admin removes members by starting a new epoch whose secret only the remaining
 * members can recover. Published as its own wire message on the private topic:
 *
 *   'pl/rekey' v1 {
 *     tp:    private topic
 *     pe:    previous epoch,  e: new epoch (= pe + 1)
 *     ts:    creation time (ms), in clear so relays can order, sync and expire it (kept REKEY_TTL_MS)
 *     eph:   ephemeral X25519 public key (32), one per rekey, shared by all slots
 *     kc:    commitment to the new epoch secret (32) = HKDF(secret, "porchlight/rekey-commit/v1|tp|e")
 *     slots: [48-byte boxes] (8..1000, a multiple of 8): the new secret (32) + AEAD tag (16) for each
 *            remaining member, padded with random slots and shuffled
 *     rt:    new tag key (32) + tag (16), encrypted under a key derived from the OLD tag key
 *     auth:  AEAD under a key derived from the NEW secret of 'pl/rekey-auth' { adm: admin sign key,
 *            sig: 64 } where sig = admin's signature over 'pl/rekey-body'
 *            { tp, pe, e, ts, eph, kc, slots, adm }
 *   }
 *
 * Slot for a member with box key B:  key||nonce = HKDF(X25519(eph.secret, B), "porchlight/rekey/v1",
 *   "porchlight/rekey-slot/v1|tp|e|hex(eph)|hex(B)", 56), slot = XChaCha20-Poly1305(key, nonce,
 *   secret, aad = 'pl/rekey-header' {tp, pe, e, ts, eph, kc}). One shared ephemeral key keeps a
 *   1000-member rekey at ~50 KB (one sealed box per member would need 1000 ephemeral keys).
 * Relay box: key||nonce = HKDF(old tag key, salt = eph, "porchlight/rekey-relay/v1|tp|e", 56),
 *   rt = XChaCha20-Poly1305(key, nonce, new tag key, aad = 'pl/rekey-relay-aad' {tp, pe, e, ts, eph, kc, slots, auth}).
 *   The relay box covers every other byte, so a relay accepts only an unaltered rekey made
 *   by a holder of the old tag key. The admin signature does not cover rt (rt is made last);
 *   members instead check that rt opens to the new tag key.
 *
 * What each party learns:
 *  - A remaining member: trial-decrypts the slots with one X25519 (no recipient hints), gets the
 *    secret, checks it against kc (so every member who accepts holds the same secret), opens
 *    auth, verifies the signature and that the signer is in hood.admins, and checks that rt
 *    carries the new tag key (so relays and members agree).
 *  - A relay: topic, epoch numbers, time, the slot count (padded to a multiple of 8) and the next
 *    tag key (relayNextTagKey). Not who is in the slots, not who the admin is (auth is
 *    encrypted), not the secret.
 *  - A removed member: the same as a relay. It holds the old tag key, so it ALSO learns the
 *    next tag key: it cannot read anything, but its traffic can still pass relay tag checks.
 *    That is inherent in "relays follow the tag-key chain from the old key"; members drop what
 *    they cannot decrypt, and relays rate-limit per peer.
 *  - Relays cannot verify the admin (they know neither the admin list nor the new secret); any
 *    holder of the old tag key could feed them a different next tag key. Relays should keep
 *    every tag key they learn for an epoch (bounded), not just the first.
 *
 * Old epochs stay readable to whoever held them; nothing here touches them.
 */
import { fail, isPorchlightError } from './errors.ts'
import { decodeStruct, encodeStruct, type StructSpec, toHex, utf8Bytes } from './encoding.ts'
import { aeadOpen, aeadSeal, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, constantTimeEqual, getCrypto, hkdf, KEY_BYTES, randomBytes } from './crypto.ts'
import { type Identity, type PublicIdentity, signStruct, verifyPublicIdentity, verifyStruct } from './identity.ts'
import {
  checkNeighborhood, checkPrivateTopic, checkTopicIs, deriveEpochKeys, EPOCH_SECRET_BYTES, type EpochKeys, isAdmin, MAX_EPOCH,
  MAX_PRIVATE_TOPIC_BYTES, type Neighborhood, privateTopic
} from './neighborhood.ts'
import { checkNotFuture, MAX_CLOCK_SKEW_MS } from './time.ts'

export const REKEY_SLOT_BYTES = EPOCH_SECRET_BYTES + AEAD_TAG_BYTES
export const MAX_REKEY_SLOTS = 1000
/** Slot counts are padded up to a multiple of this, so a relay learns the group size only roughly. */
export const REKEY_SLOT_PAD = 8
/** 1000 slots take ~50 KB; the bound keeps a rekey inside one 64 KiB message. */
export const MAX_REKEY_BYTES = 64 * 1024
const MAX_AUTH_BYTES = 256
/** How long relays keep a rekey: members offline longer than this need a new invite. */
export const REKEY_TTL_MS = 90 * 24 * 3600_000
export const MAX_REKEY_CLOCK_SKEW_MS = MAX_CLOCK_SKEW_MS
/** Times are ms since the Unix epoch, bounded (year ~6400) so ts + ttl stays a safe integer. */
const MAX_TIME_MS = 2 ** 47

const SLOT_SALT = utf8Bytes('porchlight/rekey/v1')
const OUTER = ['tp', 'pe', 'e', 'ts', 'eph', 'kc', 'slots', 'rt', 'auth']
const REKEY: StructSpec = { domain: 'pl/rekey', version: 1, required: OUTER, maxBytes: MAX_REKEY_BYTES }
const HEADER: StructSpec = { domain: 'pl/rekey-header', version: 1, required: ['tp', 'pe', 'e', 'ts', 'eph', 'kc'], maxBytes: 256 }
const RELAY_AAD: StructSpec = { domain: 'pl/rekey-relay-aad', version: 1, required: ['tp', 'pe', 'e', 'ts', 'eph', 'kc', 'slots', 'auth'], maxBytes: MAX_REKEY_BYTES }
const BODY: StructSpec = { domain: 'pl/rekey-body', version: 1, required: ['tp', 'pe', 'e', 'ts', 'eph', 'kc', 'slots', 'adm'], maxBytes: MAX_REKEY_BYTES }
const AUTH: StructSpec = { domain: 'pl/rekey-auth', version: 1, required: ['adm', 'sig'], maxBytes: MAX_AUTH_BYTES }

export interface RekeyOptions {
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
  rt: Uint8Array
  auth: Uint8Array
}

function keyNonce (okm: Uint8Array): { key: Uint8Array, nonce: Uint8Array } {
  return { key: okm.subarray(0, KEY_BYTES), nonce: okm.subarray(KEY_BYTES) }
}

const OKM_BYTES = KEY_BYTES + AEAD_NONCE_BYTES

function slotKey (shared: Uint8Array, tp: string, e: number, eph: Uint8Array, boxKey: Uint8Array): { key: Uint8Array, nonce: Uint8Array } {
  return keyNonce(hkdf(shared, SLOT_SALT, `porchlight/rekey-slot/v1|${tp}|${e}|${toHex(eph)}|${toHex(boxKey)}`, OKM_BYTES))
}

function relayKey (oldTagKey: Uint8Array, tp: string, e: number, eph: Uint8Array): { key: Uint8Array, nonce: Uint8Array } {
  return keyNonce(hkdf(oldTagKey, eph, `porchlight/rekey-relay/v1|${tp}|${e}`, OKM_BYTES))
}

function authKey (secret: Uint8Array, eph: Uint8Array): { key: Uint8Array, nonce: Uint8Array } {
  return keyNonce(hkdf(secret, eph, 'porchlight/rekey-auth/v1', OKM_BYTES))
}

function commitment (secret: Uint8Array, tp: string, e: number): Uint8Array {
  return hkdf(secret, SLOT_SALT, `porchlight/rekey-commit/v1|${tp}|${e}`, 32)
}

const header = (w: Omit<RekeyWire, 'slots' | 'rt' | 'auth'>): Uint8Array =>
  encodeStruct(HEADER, { tp: w.tp, pe: w.pe, e: w.e, ts: w.ts, eph: w.eph, kc: w.kc })
const relayAad = (w: Omit<RekeyWire, 'rt'>): Uint8Array =>
  encodeStruct(RELAY_AAD, { tp: w.tp, pe: w.pe, e: w.e, ts: w.ts, eph: w.eph, kc: w.kc, slots: w.slots, auth: w.auth })
const bodyFields = (w: Omit<RekeyWire, 'rt' | 'auth'>, adm: Uint8Array): Record<string, unknown> =>
  ({ tp: w.tp, pe: w.pe, e: w.e, ts: w.ts, eph: w.eph, kc: w.kc, slots: w.slots, adm })

/** Unbiased integer in [0, n) from 4-byte draws (rejection sampling). */
function randomIndex (n: number, random: (n: number) => Uint8Array): number {
  const limit = Math.floor(0x1_0000_0000 / n) * n
  for (;;) {
    const b = random(4)
    const v = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!
    if (v < limit) return v % n
  }
}

export function paddedSlotCount (members: number): number {
  return Math.max(REKEY_SLOT_PAD, Math.ceil(members / REKEY_SLOT_PAD) * REKEY_SLOT_PAD)
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
  if (oldKeys.tagKey?.length !== 32) fail('BAD_ARGUMENT', 'old tag key must be 32 bytes')
  if (!Array.isArray(remaining) || remaining.length === 0) fail('BAD_ARGUMENT', 'a rekey needs at least one remaining member')
  if (remaining.length > MAX_REKEY_SLOTS) fail('TOO_LARGE', `at most ${MAX_REKEY_SLOTS} members per rekey`)
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
  const ts = now
  const secret = opts.secret ?? random(EPOCH_SECRET_BYTES)
  const ephSecret = opts.ephemeralSecret ?? random(KEY_BYTES)
  if (secret.length !== EPOCH_SECRET_BYTES || ephSecret.length !== KEY_BYTES) fail('BAD_ARGUMENT', 'secrets must be 32 bytes')
  const eph = await crypto.x25519PublicKey(ephSecret)
  const kc = commitment(secret, tp, e)
  const aad = header({ tp, pe, e, ts, eph, kc })

  const slots: Uint8Array[] = []
  for (const m of remaining) {
    const shared = await crypto.x25519SharedSecret(ephSecret, m.boxKey)
    const { key, nonce } = slotKey(shared, tp, e, eph, m.boxKey)
    slots.push(aeadSeal(key, nonce, secret, aad))
    shared.fill(0)
    key.fill(0)
  }
  while (slots.length < paddedSlotCount(remaining.length)) slots.push(random(REKEY_SLOT_BYTES))
  for (let i = slots.length - 1; i > 0; i--) {
    const j = randomIndex(i + 1, random)
    const t = slots[i]!
    slots[i] = slots[j]!
    slots[j] = t
  }
  if (opts.ephemeralSecret === undefined) ephSecret.fill(0)

  const adm = admin.public.signKey
  const sig = await signStruct(admin.seed, BODY, bodyFields({ tp, pe, e, ts, eph, kc, slots }, adm))
  const ak = authKey(secret, eph)
  const auth = aeadSeal(ak.key, ak.nonce, encodeStruct(AUTH, { adm, sig }))
  const newKeys = deriveEpochKeys(hood.id, e, secret)
  const rk = relayKey(oldKeys.tagKey, tp, e, eph)
  const rt = aeadSeal(rk.key, rk.nonce, newKeys.tagKey, relayAad({ tp, pe, e, ts, eph, kc, slots, auth }))
  const bytes = encodeStruct(REKEY, { tp, pe, e, ts, eph, kc, slots, rt, auth })
  return { bytes, newKeys }
}

/** Strict decoding of the wire form; checks only what needs no keys. */
export function decodeRekey (bytes: Uint8Array): RekeyWire {
  const f = decodeStruct(REKEY, bytes)
  const tp = checkPrivateTopic(f.string('tp', MAX_PRIVATE_TOPIC_BYTES, 1), 'WRONG_TOPIC', 'rekey topic must be a private topic')
  const pe = f.uint('pe', MAX_EPOCH - 1)
  const e = f.uint('e', MAX_EPOCH)
  if (e !== pe + 1) fail('OUT_OF_RANGE', 'a rekey advances the epoch by exactly one')
  const slots = f.array('slots', MAX_REKEY_SLOTS, item => item.bytes({ len: REKEY_SLOT_BYTES }))
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
    rt: f.bytes('rt', { len: KEY_BYTES + AEAD_TAG_BYTES }),
    auth: f.bytes('auth', { max: MAX_AUTH_BYTES, min: AEAD_TAG_BYTES })
  }
}

/** Finds and opens my slot by trial decryption; DECRYPT_FAILED when none opens. */
async function openSlot (w: RekeyWire, me: Identity): Promise<Uint8Array> {
  const crypto = await getCrypto()
  let shared: Uint8Array
  try {
    shared = await crypto.x25519SharedSecret(me.boxSecret, w.eph)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_ARGUMENT')) fail('DECRYPT_FAILED', 'invalid ephemeral key')
    throw err
  }
  const { key, nonce } = slotKey(shared, w.tp, w.e, w.eph, me.public.boxKey)
  shared.fill(0)
  const aad = header(w)
  try {
    for (const slot of w.slots) {
      try {
        return aeadOpen(key, nonce, slot, aad)
      } catch (err) {
        if (!isPorchlightError(err, 'DECRYPT_FAILED')) throw err
      }
    }
  } finally {
    key.fill(0)
  }
  fail('DECRYPT_FAILED', 'no slot opens with this key: not a remaining member, or the rekey was altered')
}

/**
 * Member side: recovers the new epoch's keys. Throws WRONG_TOPIC (not this neighborhood),
 * UNKNOWN_EPOCH (not a rekey of oldKeys' epoch), DECRYPT_FAILED (no slot for me: removed, or
 * altered), BAD_SIGNATURE, NOT_ADMIN (signer not in hood.admins), BAD_TAG (relay box does
 * not carry the new tag key).
 */
export async function openRekey (bytes: Uint8Array, me: Identity, hood: Neighborhood, oldKeys: EpochKeys): Promise<EpochKeys> {
  const w = decodeRekey(bytes)
  if (w.tp !== privateTopic(hood.id)) fail('WRONG_TOPIC', 'rekey is for another neighborhood')
  if (w.pe !== oldKeys.epoch) fail('UNKNOWN_EPOCH', `rekey follows epoch ${w.pe}, we hold ${oldKeys.epoch}`)
  const secret = await openSlot(w, me)
  if (!constantTimeEqual(commitment(secret, w.tp, w.e), w.kc)) fail('DECRYPT_FAILED', 'slot does not match the committed secret')
  const ak = authKey(secret, w.eph)
  const f = decodeStruct(AUTH, aeadOpen(ak.key, ak.nonce, w.auth))
  const adm = f.bytes('adm', { len: 32 })
  const sig = f.bytes('sig', { len: 64 })
  await verifyStruct(adm, BODY, bodyFields(w, adm), sig, 'rekey')
  if (!isAdmin(hood, adm)) fail('NOT_ADMIN', 'rekey signed by someone who is not an admin')
  const newKeys = deriveEpochKeys(hood.id, w.e, secret)
  const rk = relayKey(oldKeys.tagKey, w.tp, w.e, w.eph)
  let relayTag: Uint8Array
  try {
    relayTag = aeadOpen(rk.key, rk.nonce, w.rt, relayAad(w))
  } catch (err) {
    if (isPorchlightError(err, 'DECRYPT_FAILED')) fail('BAD_TAG', 'relay box does not open under the old tag key')
    throw err
  }
  if (!constantTimeEqual(relayTag, newKeys.tagKey)) fail('BAD_TAG', 'relay box carries a different tag key')
  return newKeys
}

/**
 * Relay side: the next epoch's tag key from the current one. `oldTagKey` is the key itself or
 * a lookup by epoch (UNKNOWN_EPOCH when it has none for the rekey's previous epoch); with
 * `topic`, a rekey naming another topic is WRONG_TOPIC. DECRYPT_FAILED unless the rekey was
 * made (unaltered) by someone holding the old tag key.
 */
export function relayNextTagKey (
  bytes: Uint8Array, oldTagKey: Uint8Array | ((epoch: number) => Uint8Array | undefined), topic?: string
): { topic: string, prevEpoch: number, epoch: number, tagKey: Uint8Array } {
  const w = decodeRekey(bytes)
  checkTopicIs(w.tp, topic, 'rekey')
  const key = typeof oldTagKey === 'function' ? oldTagKey(w.pe) : oldTagKey
  if (key === undefined) fail('UNKNOWN_EPOCH', `no tag key for epoch ${w.pe}`)
  if (!(key instanceof Uint8Array) || key.length !== 32) fail('BAD_ARGUMENT', 'tag key must be 32 bytes')
  const rk = relayKey(key, w.tp, w.e, w.eph)
  const tagKey = aeadOpen(rk.key, rk.nonce, w.rt, relayAad(w))
  return { topic: w.tp, prevEpoch: w.pe, epoch: w.e, tagKey }
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
