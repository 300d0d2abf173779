/**
 * Anonymous sealed box: encrypts to one X25519 public key so that only the holder of the
 * matching private key can open it, and the bytes name neither the sender nor the recipient.
 *
 *   eph        = fresh X25519 key pair (per message)
 *   shared     = X25519(eph.secret, recipient)
 *   key||nonce = HKDF-SHA256(ikm = shared, salt = "porchlight/seal/v1",
 *                            info = "porchlight/seal/v1|" context "|" hex(eph.pub) "|" hex(recipient), 56 bytes)
 *   sealed     = eph.pub (32) || XChaCha20-Poly1305(key, nonce, plaintext) (len + 16)
 *
 * Overhead is 48 bytes. The key and nonce are unique per message (fresh ephemeral key), so a
 * derived nonce is safe. Both public keys are in `info` so a box cannot be re-targeted
 * (the same ciphertext opened under another recipient key fails), and `context` separates
 * the jobs a box is used for (a box sealed as an agency reply never opens as anything else).
 * The ephemeral public key is a fresh random point: it links to no one. (It is not
 * Elligator-encoded, so an observer can tell it is a curve point, nothing more.)
 *
 * There is no sender authentication: whoever needs it signs the plaintext (sign, then seal).
 */
import { fail, isPorchlightError } from './errors.ts'
import { concatBytes, toHex, utf8Bytes } from './encoding.ts'
import { aeadOpen, aeadSeal, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, getCrypto, hkdf, KEY_BYTES, randomBytes } from './crypto.ts'

/** Bytes added to the plaintext: ephemeral public key (32) + AEAD tag (16). */
export const SEAL_OVERHEAD_BYTES = KEY_BYTES + AEAD_TAG_BYTES
/** Largest plaintext a box carries: 64 KiB, the size of the largest Porchlight message. */
export const MAX_SEAL_PLAINTEXT_BYTES = 64 * 1024
export const MAX_SEALED_BYTES = MAX_SEAL_PLAINTEXT_BYTES + SEAL_OVERHEAD_BYTES
/** Context strings are short printable ASCII labels, e.g. "pl/agency-reply". */
export const MAX_CONTEXT_BYTES = 64

const SALT = utf8Bytes('porchlight/seal/v1')
const CONTEXT_RE = /^[\x21-\x7e]{1,64}$/

export interface SealOptions {
  /** Fixed ephemeral X25519 secret (32 bytes), for test vectors only. */
  ephemeralSecret?: Uint8Array
}

function checkContext (context: string): string {
  if (typeof context !== 'string' || !CONTEXT_RE.test(context)) {
    fail('BAD_ARGUMENT', `seal context must be 1..${MAX_CONTEXT_BYTES} printable ASCII characters`)
  }
  return context
}

function boxKeyAndNonce (shared: Uint8Array, context: string, eph: Uint8Array, recipient: Uint8Array): { key: Uint8Array, nonce: Uint8Array } {
  const okm = hkdf(shared, SALT, `porchlight/seal/v1|${context}|${toHex(eph)}|${toHex(recipient)}`, KEY_BYTES + AEAD_NONCE_BYTES)
  return { key: okm.subarray(0, KEY_BYTES), nonce: okm.subarray(KEY_BYTES) }
}

/** Seals `plaintext` (at most 64 KiB) to a 32-byte X25519 public key. Returns 48 + len bytes. */
export async function sealTo (recipientBoxKey: Uint8Array, plaintext: Uint8Array, context: string, opts: SealOptions = {}): Promise<Uint8Array> {
  checkContext(context)
  if (!(recipientBoxKey instanceof Uint8Array) || recipientBoxKey.length !== KEY_BYTES) {
    fail('BAD_ARGUMENT', 'recipient box key must be 32 bytes')
  }
  if (!(plaintext instanceof Uint8Array)) fail('BAD_ARGUMENT', 'plaintext must be bytes')
  if (plaintext.length > MAX_SEAL_PLAINTEXT_BYTES) fail('TOO_LARGE', `sealed plaintext over ${MAX_SEAL_PLAINTEXT_BYTES} bytes`)
  const crypto = await getCrypto()
  const ephSecret = opts.ephemeralSecret ?? randomBytes(KEY_BYTES)
  const eph = await crypto.x25519PublicKey(ephSecret)
  // Throws BAD_ARGUMENT for a low-order recipient key.
  const shared = await crypto.x25519SharedSecret(ephSecret, recipientBoxKey)
  const { key, nonce } = boxKeyAndNonce(shared, context, eph, recipientBoxKey)
  const sealed = concatBytes(eph, aeadSeal(key, nonce, plaintext))
  shared.fill(0)
  key.fill(0)
  if (opts.ephemeralSecret === undefined) ephSecret.fill(0)
  return sealed
}

/**
 * Opens a box sealed to the public key of `boxSecret` under the same `context`.
 * Any mismatch (wrong key, wrong context, truncated, tampered, invalid ephemeral key) is
 * DECRYPT_FAILED; over MAX_SEALED_BYTES is TOO_LARGE, checked before any crypto.
 */
export async function openSealed (boxSecret: Uint8Array, sealed: Uint8Array, context: string): Promise<Uint8Array> {
  checkContext(context)
  if (!(boxSecret instanceof Uint8Array) || boxSecret.length !== KEY_BYTES) fail('BAD_ARGUMENT', 'box secret must be 32 bytes')
  if (!(sealed instanceof Uint8Array)) fail('WRONG_TYPE', 'sealed box must be bytes')
  if (sealed.length > MAX_SEALED_BYTES) fail('TOO_LARGE', `sealed box over ${MAX_SEALED_BYTES} bytes`)
  if (sealed.length < SEAL_OVERHEAD_BYTES) fail('DECRYPT_FAILED', 'invalid tag')
  const crypto = await getCrypto()
  const eph = sealed.subarray(0, KEY_BYTES)
  const recipient = await crypto.x25519PublicKey(boxSecret)
  let shared: Uint8Array
  try {
    shared = await crypto.x25519SharedSecret(boxSecret, eph)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_ARGUMENT')) fail('DECRYPT_FAILED', 'invalid tag')
    throw err
  }
  const { key, nonce } = boxKeyAndNonce(shared, context, eph, recipient)
  try {
    return aeadOpen(key, nonce, sealed.subarray(KEY_BYTES))
  } finally {
    shared.fill(0)
    key.fill(0)
  }
}
