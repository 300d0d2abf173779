/**
 * Identities.
 *
 * A person holds an Ed25519 signing key (32-byte seed) and a separate X25519 key (32-byte
 * private key) for messages sealed to them. The public identity binds the two keys and the
 * display name with an Ed25519 signature, so nobody can pair someone's signing key with a
 * box key they control. People compare keys by a short fingerprint.
 *
 * Public posts are signed with a per-area pseudonymous key derived from the seed with HKDF
 * (one key per geohash area), so a public post cannot be linked to the identity key, to the
 * author's private posts, or to the author's public posts in other areas.
 */
import { fail } from './errors.ts'
import { decodeStruct, encodeStruct, type StructSpec, utf8Bytes } from './encoding.ts'
import { getCrypto, hkdf, randomBytes, sha256 } from './crypto.ts'

export const MAX_NAME_BYTES = 64
/** Bound on an encoded public identity ('pl/id'), wherever one is carried. */
export const MAX_PUBLIC_ID_BYTES = 512

export interface PublicIdentity {
  /** Ed25519 public key, 32 bytes. */
  readonly signKey: Uint8Array
  /** X25519 public key, 32 bytes. */
  readonly boxKey: Uint8Array
  readonly name: string
  /** Ed25519 signature (64 bytes) by signKey over the binding structure. */
  readonly binding: Uint8Array
}

export interface Identity {
  /** Ed25519 seed, 32 bytes. Never leaves the device unencrypted. */
  readonly seed: Uint8Array
  /** X25519 private key, 32 bytes. */
  readonly boxSecret: Uint8Array
  readonly public: PublicIdentity
}

const BINDING: StructSpec = { domain: 'pl/id-binding', version: 1, required: ['sk', 'bk', 'n'], maxBytes: 256 }
const PUBLIC_ID: StructSpec = { domain: 'pl/id', version: 1, required: ['sk', 'bk', 'n', 'sig'], maxBytes: MAX_PUBLIC_ID_BYTES }
const SECRET_ID: StructSpec = { domain: 'pl/id-secret', version: 1, required: ['seed', 'box', 'n'], maxBytes: 256 }

export function checkName (name: string): string {
  if (typeof name !== 'string') fail('BAD_ARGUMENT', 'name must be a string')
  const trimmed = name.trim()
  if (trimmed.length === 0) fail('BAD_ARGUMENT', 'name must not be empty')
  if (utf8Bytes(trimmed).length > MAX_NAME_BYTES) fail('TOO_LARGE', `name longer than ${MAX_NAME_BYTES} bytes`)
  // Control characters would let a name spoof other lines in a terminal or log.
  if (/\p{Cc}/u.test(trimmed)) fail('BAD_ARGUMENT', 'name contains control characters')
  // Bidirectional controls reorder what is shown ('Ana\u202Egnp.exe' shows as 'Anaexe.png'),
  // and invisible characters make two names look the same; see names.ts for look-alikes.
  if (INVISIBLE.test(trimmed)) fail('BAD_ARGUMENT', 'name contains bidirectional or invisible formatting characters')
  // No agreed glyph (unassigned, private use) or not a character at all (lone surrogate).
  // 'Unassigned' is as of the engine's Unicode version (ICU's; 17.0 in Node 20.20), so one added
  // in a later version is refused by peers on an older engine or browser until they update.
  if (/[\p{Cn}\p{Co}\p{Cs}]/u.test(trimmed)) fail('BAD_ARGUMENT', 'name contains unassigned, private-use or unpaired surrogate code points')
  return trimmed
}

/**
 * Format characters (\p{Cf}: the bidi controls U+061C, U+200E, U+200F, U+202A-U+202E,
 * U+2066-U+2069, and invisible ones such as U+200B, U+2060, U+FEFF, U+00AD, tag characters),
 * except U+200D ZERO WIDTH JOINER, which emoji sequences need (a family emoji is several
 * emoji joined by it). Also the Hangul fillers U+115F, U+1160, U+3164, U+FFA0: letters by
 * category but drawn as nothing, the usual way to make a name look blank.
 */
const INVISIBLE = /(?!\u200D)\p{Cf}|[\u115F\u1160\u3164\uFFA0]/u

/**
 * A display name read from the wire (identities, attestations, post authors): a signature
 * alone lets control characters or padding in, so it must be exactly what checkName would
 * have produced; else OUT_OF_RANGE, the code of a decoding failure.
 */
export function checkWireName (name: string, what: string): string {
  let canonical = false
  try {
    canonical = checkName(name) === name
  } catch { /* reported below with a decoding code */ }
  if (!canonical) fail('OUT_OF_RANGE', `${what} name is not a valid display name`)
  return name
}

/** Creates a fresh identity from secure randomness (or from given secrets, for vectors). */
export async function createIdentity (name: string, secrets?: { seed: Uint8Array, boxSecret: Uint8Array }): Promise<Identity> {
  const seed = secrets?.seed ?? randomBytes(32)
  const boxSecret = secrets?.boxSecret ?? randomBytes(32)
  const crypto = await getCrypto()
  const n = checkName(name)
  const signKey = await crypto.ed25519PublicKey(seed)
  const boxKey = await crypto.x25519PublicKey(boxSecret)
  const binding = await signStruct(seed, BINDING, { sk: signKey, bk: boxKey, n })
  return { seed, boxSecret, public: { signKey, boxKey, name: n, binding } }
}

export function encodePublicIdentity (id: PublicIdentity): Uint8Array {
  return encodeStruct(PUBLIC_ID, { sk: id.signKey, bk: id.boxKey, n: id.name, sig: id.binding })
}

/** Decodes and verifies the binding signature. */
export async function decodePublicIdentity (bytes: Uint8Array): Promise<PublicIdentity> {
  const f = decodeStruct(PUBLIC_ID, bytes)
  const id: PublicIdentity = {
    signKey: f.bytes('sk', { len: 32 }),
    boxKey: f.bytes('bk', { len: 32 }),
    name: f.string('n', MAX_NAME_BYTES, 1),
    binding: f.bytes('sig', { len: 64 })
  }
  await verifyPublicIdentity(id)
  return id
}

export async function verifyPublicIdentity (id: PublicIdentity): Promise<void> {
  // A peer signs its own name, so the signature does not make the name valid.
  checkWireName(id.name, 'identity')
  await verifyStruct(id.signKey, BINDING, { sk: id.signKey, bk: id.boxKey, n: id.name }, id.binding, 'identity binding')
}

/** Local storage form of an identity (the caller encrypts it at rest where it can). */
export function encodeIdentitySecret (id: Identity): Uint8Array {
  return encodeStruct(SECRET_ID, { seed: id.seed, box: id.boxSecret, n: id.public.name })
}

export async function decodeIdentitySecret (bytes: Uint8Array): Promise<Identity> {
  const f = decodeStruct(SECRET_ID, bytes)
  return createIdentity(f.string('n', MAX_NAME_BYTES, 1), {
    seed: f.bytes('seed', { len: 32 }),
    boxSecret: f.bytes('box', { len: 32 })
  })
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/**
 * 80-bit fingerprint of a signing key for people to compare, e.g. "K7QF-3MZA-9XHC-2PLD".
 * Crockford base32 avoids look-alike letters.
 */
export function fingerprint (signKey: Uint8Array): string {
  const h = sha256(signKey)
  let bits = 0
  let acc = 0
  let out = ''
  for (let i = 0; out.length < 16; ) {
    if (bits < 5) { acc = (acc << 8) | h[i++]!; bits += 8 }
    bits -= 5
    out += CROCKFORD[(acc >> bits) & 31]
  }
  return out.match(/.{4}/g)!.join('-')
}

export interface AreaKey {
  readonly area: string
  readonly seed: Uint8Array
  readonly publicKey: Uint8Array
}

/** The author's pseudonymous signing key for public posts in one area (geohash prefix). */
export async function areaKey (id: Identity, area: string): Promise<AreaKey> {
  const seed = hkdf(id.seed, utf8Bytes('porchlight/area-key/v1'), `area:${area}`)
  const publicKey = await (await getCrypto()).ed25519PublicKey(seed)
  return { area, seed, publicKey }
}

/** Signs `encodeStruct(spec, fields)` with an Ed25519 seed. */
export async function signStruct (seed: Uint8Array, spec: StructSpec, fields: Record<string, unknown>): Promise<Uint8Array> {
  return (await getCrypto()).ed25519Sign(seed, encodeStruct(spec, fields as never))
}

/** Verifies a signature over `encodeStruct(spec, fields)`; throws BAD_SIGNATURE. */
export async function verifyStruct (signKey: Uint8Array, spec: StructSpec, fields: Record<string, unknown>, signature: Uint8Array, what: string): Promise<void> {
  if (!await (await getCrypto()).ed25519Verify(signKey, encodeStruct(spec, fields as never), signature)) {
    fail('BAD_SIGNATURE', `${what}: signature does not verify`)
  }
}

/** An already-resolved promise: awaiting it yields one microtask turn. */
const YIELD = Promise.resolve()

/**
 * Starts verifying a 64-byte Ed25519 signature over `message` and lets an async provider reach
 * its native call (WebCrypto runs it on a worker thread) before the caller's main-thread
 * checks, which then overlap it. A provider must not reject; if one does, that is a failed
 * verification (false), never an unhandled rejection.
 */
export async function startVerify (signKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<{ valid: Promise<boolean> }> {
  const crypto = await getCrypto()
  const valid = crypto.ed25519Verify(signKey, message, signature).catch(() => false)
  await YIELD
  await YIELD
  // Wrapped: an async function returning the promise itself would wait for it.
  return { valid }
}
