/**
 * The one crypto interface the protocol uses.
 *
 * Asymmetric operations (Ed25519 RFC 8032, X25519 RFC 7748) go through a `CryptoProvider`:
 * WebCrypto (`crypto.subtle`, native code in Node 20+ and current browsers, ~9x faster than
 * pure JS here) when the runtime has the algorithm, `@noble/curves` otherwise. Both give
 * byte-identical results (Ed25519 signatures are deterministic); tests cross-check them.
 *
 * Symmetric operations are small and synchronous: XChaCha20-Poly1305, SHA-256 and
 * HMAC-SHA256 go through a `SymmetricProvider`, the audited `@noble` packages by default
 * (WebCrypto has no XChaCha and only async digests, so browsers keep these); Node entry points
 * inject node:crypto's (node/native-crypto.ts), byte-identical and several times faster.
 * HKDF-SHA256 (RFC 5869) is noble's everywhere (only key derivation uses it).
 *
 * Sizes: Ed25519 seed 32, public key 32, signature 64; X25519 private 32, public 32,
 * shared secret 32; AEAD key 32, nonce 24, tag 16.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js'
import { hmac as nobleHmac } from '@noble/hashes/hmac.js'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { fail } from './errors.ts'
import { fromBase64Url, toHex } from './encoding.ts'

export const KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
export const AEAD_NONCE_BYTES = 24
export const AEAD_TAG_BYTES = 16

export interface CryptoProvider {
  readonly name: string
  ed25519PublicKey (seed: Uint8Array): Promise<Uint8Array>
  ed25519Sign (seed: Uint8Array, message: Uint8Array): Promise<Uint8Array>
  /** False for any invalid key, signature or message; never throws on bad input. */
  ed25519Verify (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>
  x25519PublicKey (privateKey: Uint8Array): Promise<Uint8Array>
  /** Throws PorchlightError('BAD_ARGUMENT') for a low-order public key (all-zero secret). */
  x25519SharedSecret (privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>
}

function checkLen (bytes: Uint8Array, len: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== len) {
    fail('BAD_ARGUMENT', `${what}: expected ${len} bytes`)
  }
  return bytes
}

/**
 * One strict Ed25519 rule for every provider (RFC 8032 section 5.1.7 plus small-order checks):
 * the signature's S is canonical (S < L), and the public key A and the signature's R are
 * canonical encodings of points outside the small-order subgroup. Without it WebCrypto and
 * OpenSSL accept, for any message, the identity key with R = identity and S = 0 (a key anyone
 * can sign for), while noble refuses: browser and Node peers would see different things.
 * Checked on the bytes (the 8 small-order points' canonical encodings, non-canonical y,
 * x = 0 with the sign bit), which costs nothing beside a verify; decoding would cost ~100 µs.
 */
export function strictEd25519Inputs (publicKey: Uint8Array, signature: Uint8Array): boolean {
  return publicKey.length === 32 && signature.length === 64 &&
    strictPoint(publicKey) && strictPoint(signature.subarray(0, 32)) && canonicalScalar(signature.subarray(32))
}

const SMALL_ORDER_POINTS = [
  '0100000000000000000000000000000000000000000000000000000000000000', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000080', '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  // x = 0 with the sign bit set: non-canonical spellings of the identity and of (0, -1).
  '0100000000000000000000000000000000000000000000000000000000000080', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'
].map(h => Uint8Array.from(h.match(/../g)!.map(b => parseInt(b, 16))))

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const ED25519_L = Uint8Array.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010'.match(/../g)!.map(b => parseInt(b, 16)))

function strictPoint (p: Uint8Array): boolean {
  // y (the low 255 bits) must be below 2^255 - 19: reject y in [p, 2^255).
  if ((p[31]! & 0x7f) === 0x7f && p[0]! >= 0xed && p.subarray(1, 31).every(b => b === 0xff)) return false
  return !SMALL_ORDER_POINTS.some(s => constantTimeEqual(s, p))
}

function canonicalScalar (s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) if (s[i] !== ED25519_L[i]) return s[i]! < ED25519_L[i]!
  return false
}

function nonZero (secret: Uint8Array): Uint8Array {
  if (secret.every(b => b === 0)) fail('BAD_ARGUMENT', 'x25519: low-order public key')
  return secret
}

/** Pure JavaScript provider (`@noble/curves`): runs everywhere. */
export const nobleProvider: CryptoProvider = {
  name: 'noble',
  async ed25519PublicKey (seed) { return ed25519.getPublicKey(checkLen(seed, 32, 'ed25519 seed')) },
  async ed25519Sign (seed, message) { return ed25519.sign(message, checkLen(seed, 32, 'ed25519 seed')) },
  async ed25519Verify (publicKey, message, signature) {
    if (publicKey?.length !== 32 || signature?.length !== 64 || !strictEd25519Inputs(publicKey, signature)) return false
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false })
    } catch {
      return false
    }
  },
  async x25519PublicKey (priv) { return x25519.getPublicKey(checkLen(priv, 32, 'x25519 private key')) },
  async x25519SharedSecret (priv, pub) {
    checkLen(priv, 32, 'x25519 private key')
    checkLen(pub, 32, 'x25519 public key')
    try {
      return nonZero(x25519.getSharedSecret(priv, pub))
    } catch (err) {
      fail('BAD_ARGUMENT', 'x25519: invalid public key', err)
    }
  }
}

// PKCS#8 wrappers for raw 32-byte private keys (RFC 8410), so WebCrypto can import them
// without the public key.
const PKCS8_ED25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])
const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])
const VERIFY_KEY_CACHE = 4096

function pkcs8 (prefix: Uint8Array, key: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(prefix.length + 32)
  out.set(prefix)
  out.set(key, prefix.length)
  return out
}

function buf (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? bytes as Uint8Array<ArrayBuffer> : new Uint8Array(bytes)
}

/** WebCrypto provider. Imported keys are cached: key import costs as much as a verify. */
export function webCryptoProvider (subtle: SubtleCrypto): CryptoProvider {
  const signKeys = new WeakMap<Uint8Array, CryptoKey>()
  const xKeys = new WeakMap<Uint8Array, CryptoKey>()
  const verifyKeys = new Map<string, CryptoKey>()
  // Public keys derived (cached by identity of the array) natively, through the private key's
  // JWK: noble's first multiplication sets up tables for about a third of a second in a page.
  const publicKeys = new WeakMap<Uint8Array, Uint8Array>()

  async function publicKey (prefix: Uint8Array, priv: Uint8Array, algorithm: 'Ed25519' | 'X25519', usages: KeyUsage[]): Promise<Uint8Array> {
    let pub = publicKeys.get(priv)
    if (pub === undefined) {
      const key = await subtle.importKey('pkcs8', pkcs8(prefix, priv), { name: algorithm }, true, usages)
      const { x } = await subtle.exportKey('jwk', key)
      pub = fromBase64Url(x ?? fail('UNAVAILABLE', `${algorithm}: no public key in the JWK`))
      if (pub.length !== 32) fail('UNAVAILABLE', `${algorithm}: public key of ${pub.length} bytes`)
      publicKeys.set(priv, pub)
    }
    return pub
  }

  async function signKey (seed: Uint8Array): Promise<CryptoKey> {
    let key = signKeys.get(seed)
    if (key === undefined) {
      key = await subtle.importKey('pkcs8', pkcs8(PKCS8_ED25519, checkLen(seed, 32, 'ed25519 seed')), { name: 'Ed25519' }, false, ['sign'])
      signKeys.set(seed, key)
    }
    return key
  }

  async function verifyKey (pub: Uint8Array): Promise<CryptoKey> {
    const id = toHex(pub)
    let key = verifyKeys.get(id)
    if (key === undefined) {
      key = await subtle.importKey('raw', buf(pub), { name: 'Ed25519' }, false, ['verify'])
      if (verifyKeys.size >= VERIFY_KEY_CACHE) verifyKeys.delete(verifyKeys.keys().next().value!)
      verifyKeys.set(id, key)
    }
    return key
  }

  return {
    name: 'webcrypto',
    async ed25519PublicKey (seed) {
      return await publicKey(PKCS8_ED25519, checkLen(seed, 32, 'ed25519 seed'), 'Ed25519', ['sign'])
    },
    async ed25519Sign (seed, message) {
      return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, await signKey(seed), buf(message)))
    },
    async ed25519Verify (publicKey, message, signature) {
      if (publicKey?.length !== 32 || signature?.length !== 64 || !strictEd25519Inputs(publicKey, signature)) return false
      try {
        return await subtle.verify({ name: 'Ed25519' }, await verifyKey(publicKey), buf(signature), buf(message))
      } catch {
        return false
      }
    },
    async x25519PublicKey (priv) {
      return await publicKey(PKCS8_X25519, checkLen(priv, 32, 'x25519 private key'), 'X25519', ['deriveBits'])
    },
    async x25519SharedSecret (priv, pub) {
      checkLen(priv, 32, 'x25519 private key')
      checkLen(pub, 32, 'x25519 public key')
      let key = xKeys.get(priv)
      if (key === undefined) {
        key = await subtle.importKey('pkcs8', pkcs8(PKCS8_X25519, priv), { name: 'X25519' }, false, ['deriveBits'])
        xKeys.set(priv, key)
      }
      let bits: ArrayBuffer
      try {
        const peer = await subtle.importKey('raw', buf(pub), { name: 'X25519' }, false, [])
        bits = await subtle.deriveBits({ name: 'X25519', public: peer }, key, 256)
      } catch (err) {
        fail('BAD_ARGUMENT', 'x25519: invalid public key', err)
      }
      return nonZero(new Uint8Array(bits))
    }
  }
}

/**
 * Known answers (RFC 8032 section 7.1 test 1; RFC 7748 section 6.1) a WebCrypto provider must
 * give before it is used. Constants, not noble's results: computing those cost a page about a
 * third of a second of noble's table set-up before its first paint.
 */
const KNOWN = {
  edSeed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  edPublic: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  edSignature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  xSecret: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  xPublic: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  xPeer: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  xShared: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
} as const

const fromHexString = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map(b => parseInt(b, 16)))

/** Checks a provider against the known answers; false if it differs or lacks an algorithm. */
export async function providerWorks (provider: CryptoProvider): Promise<boolean> {
  try {
    const seed = fromHexString(KNOWN.edSeed)
    const xSecret = fromHexString(KNOWN.xSecret)
    const [pub, sig, xPub, shared] = await Promise.all([
      provider.ed25519PublicKey(seed),
      provider.ed25519Sign(seed, new Uint8Array(0)),
      provider.x25519PublicKey(xSecret),
      provider.x25519SharedSecret(xSecret, fromHexString(KNOWN.xPeer))
    ])
    return toHex(pub) === KNOWN.edPublic && toHex(sig) === KNOWN.edSignature &&
      toHex(xPub) === KNOWN.xPublic && toHex(shared) === KNOWN.xShared
  } catch {
    return false
  }
}

let chosen: Promise<CryptoProvider> | undefined

/** The provider in use: set explicitly, else WebCrypto when it works here, else noble. */
export async function getCrypto (): Promise<CryptoProvider> {
  chosen ??= (async () => {
    const subtle = globalThis.crypto?.subtle
    if (subtle !== undefined) {
      const web = webCryptoProvider(subtle)
      if (await providerWorks(web)) return web
    }
    return nobleProvider
  })()
  return chosen
}

/** Replaces the provider (e.g. tests forcing noble, or a host with a faster native one). */
export function setCrypto (provider: CryptoProvider): void {
  chosen = Promise.resolve(provider)
}

/** getRandomValues fills at most 65,536 bytes per call (a WebCrypto rule). */
const MAX_RANDOM_PER_CALL = 65_536
/**
 * Requests up to POOLED_MAX bytes (nonces, keys) are served from a pool filled POOL_BYTES at
 * a time: in Node 20 a getRandomValues call costs ~20 µs whatever its size (a 24-byte nonce
 * was a tenth of a seal), 4 KiB ~35 µs. Node's own randomUUID keeps such a cache. Each byte
 * is handed out once and zeroed in the pool as it goes.
 */
const POOL_BYTES = 4096
const POOLED_MAX = 256
const pool = new Uint8Array(POOL_BYTES)
let poolUsed = POOL_BYTES

export function randomBytes (n: number): Uint8Array {
  if (n <= POOLED_MAX && n >= 0) {
    if (poolUsed + n > POOL_BYTES) {
      globalThis.crypto.getRandomValues(pool)
      poolUsed = 0
    }
    const out = pool.slice(poolUsed, poolUsed + n)
    pool.fill(0, poolUsed, poolUsed + n)
    poolUsed += n
    return out
  }
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += MAX_RANDOM_PER_CALL) {
    globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + MAX_RANDOM_PER_CALL)))
  }
  return out
}

/**
 * The synchronous symmetric primitives, injectable like CryptoProvider: noble's by default
 * (every runtime); a Node entry point installs node:crypto's (`useNativeCrypto`), about 3x
 * faster on the hashes a relay computes for every message and 2.4x on the AEAD of a post.
 * Byte-identical either way (tests cross-check them on random inputs and known answers).
 * Arguments reach a provider already checked (lengths) by the functions below.
 */
export interface SymmetricProvider {
  readonly name: string
  sha256 (data: Uint8Array): Uint8Array
  /** HMAC-SHA256 of `data`, or of its parts joined (so callers need not copy them together). */
  hmacSha256 (key: Uint8Array, data: Uint8Array | readonly Uint8Array[]): Uint8Array
  /**
   * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03): 32-byte key, 24-byte nonce; ciphertext ||
   * 16-byte tag, written into `into` (exactly plaintext.length + 16 bytes, not overlapping the
   * plaintext) when given, so a caller can seal straight into its message.
   */
  xchachaSeal (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, into?: Uint8Array): Uint8Array
  /** The plaintext, or a throw (of anything) when the tag does not verify; never unauthenticated bytes. */
  xchachaOpen (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array
}

export const nobleSymmetric: SymmetricProvider = {
  name: 'noble',
  sha256: (data) => nobleSha256(data),
  hmacSha256: (key, data) => {
    if (data instanceof Uint8Array) return nobleHmac(nobleSha256, key, data)
    const mac = nobleHmac.create(nobleSha256, key)
    for (const part of data) mac.update(part)
    return mac.digest()
  },
  xchachaSeal: (key, nonce, plaintext, aad, into) => xchacha20poly1305(key, nonce, aad).encrypt(plaintext, into),
  xchachaOpen: (key, nonce, sealed, aad) => xchacha20poly1305(key, nonce, aad).decrypt(sealed)
}

let symmetric: SymmetricProvider = nobleSymmetric

export function setSymmetric (provider: SymmetricProvider): void { symmetric = provider }

export function getSymmetric (): SymmetricProvider { return symmetric }

export function sha256 (data: Uint8Array): Uint8Array {
  return symmetric.sha256(data)
}

export function hmacSha256 (key: Uint8Array, data: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return symmetric.hmacSha256(key, data)
}

/** HKDF-SHA256 (RFC 5869). `info` names the purpose, so keys for different jobs never collide. */
export function hkdf (ikm: Uint8Array, salt: Uint8Array, info: string, length = 32): Uint8Array {
  return nobleHkdf(nobleSha256, ikm, salt, new TextEncoder().encode(info), length)
}

/**
 * XChaCha20-Poly1305 seal: 32-byte key, 24-byte nonce; returns ciphertext || 16-byte tag,
 * written into `into` if given (plaintext.length + 16 bytes, not overlapping the plaintext).
 */
export function aeadSeal (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, into?: Uint8Array): Uint8Array {
  checkLen(key, KEY_BYTES, 'aead key')
  checkLen(nonce, AEAD_NONCE_BYTES, 'aead nonce')
  if (into !== undefined) checkLen(into, plaintext.length + AEAD_TAG_BYTES, 'aead output')
  return symmetric.xchachaSeal(key, nonce, plaintext, aad, into)
}

/** XChaCha20-Poly1305 open; any mismatch is PorchlightError('DECRYPT_FAILED'), nothing else. */
export function aeadOpen (key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array {
  checkLen(key, KEY_BYTES, 'aead key')
  checkLen(nonce, AEAD_NONCE_BYTES, 'aead nonce')
  if (ciphertext.length < AEAD_TAG_BYTES) fail('DECRYPT_FAILED', 'invalid tag')
  try {
    return symmetric.xchachaOpen(key, nonce, ciphertext, aad)
  } catch {
    fail('DECRYPT_FAILED', 'invalid tag')
  }
}

/** Constant-time comparison for MACs and tags. */
export function constantTimeEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}
