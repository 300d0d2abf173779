/**
 * Streaming chunked encryption of clips: the STREAM construction (Hoang, Reyhanitabar,
 * Rogaway, Vizár, "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
 * CRYPTO 2015) over AES-256-GCM (NIST SP 800-38D).
 *
 * Format, version 1:
 *   header  = version (1 byte, 0x01) || nonce prefix (7 random bytes)        8 bytes
 *   chunk i = AES-256-GCM(key, nonce_i, aad = header, plaintext_i)  len(plaintext_i) + 16
 *   nonce_i = nonce prefix (7) || i as 4-byte big-endian || last flag (1: 0x01 on the final
 *             chunk, else 0x00)                                                 12 bytes
 * Every plaintext chunk is exactly CLIP_CHUNK_SIZE bytes except the last, which holds
 * 0..CLIP_CHUNK_SIZE bytes (an empty clip is one empty final chunk: header + 16-byte tag).
 * The counter in the nonce catches dropped, repeated or reordered chunks, the last flag
 * catches truncation at a chunk boundary and appended chunks, and the header as AAD binds
 * every chunk to this stream. At most 2^32 chunks (256 TiB) per key.
 *
 * The key is fresh for every clip (`generateClipKey`) and travels inside the encrypted post;
 * the random prefix is defence in depth should a key ever be reused.
 *
 * Why AES-256-GCM and not XChaCha20-Poly1305 as for posts: clips are large and throughput
 * matters. WebCrypto runs AES-GCM natively (~0.7-1.2 GB/s here) in Node 20+ and browsers;
 * `@noble/ciphers` XChaCha20-Poly1305 does ~120 MB/s. Where `crypto.subtle` is missing
 * (insecure browser context), `@noble/ciphers` `gcm` gives byte-identical output (~60 MB/s).
 *
 * Memory stays bounded: one chunk being filled plus at most CLIP_PIPELINE_DEPTH chunks in
 * flight, whatever the clip size. Decryption releases a chunk's plaintext only after its tag
 * verified, but a stream that fails part-way has already released the verified chunks
 * before the failure: consumers must discard partial output on error.
 */
import { gcm } from '@noble/ciphers/aes.js'
import { randomBytes } from '../crypto.ts'
import { fail, isPorchlightError } from '../errors.ts'

/** Plaintext bytes per chunk: 64 KiB. Ciphertext chunks are 64 KiB + 16. */
export const CLIP_CHUNK_SIZE = 65536
export const CLIP_KEY_BYTES = 32
export const CLIP_TAG_BYTES = 16
export const CLIP_FORMAT_VERSION = 1
const NONCE_PREFIX_BYTES = 7
/** version byte + nonce prefix. */
export const CLIP_HEADER_BYTES = 1 + NONCE_PREFIX_BYTES
const NONCE_BYTES = 12
const MAX_CHUNKS = 0x1_0000_0000
/**
 * Chunks sealed or opened concurrently: 16 x 64 KiB, one UnixFS leaf. WebCrypto runs them off
 * the page's thread and hands each result back as a task: with few in flight its thread idles
 * whenever the page's is busy or descheduled (a throttled phone-class CPU, a busy machine),
 * which made a 20 MiB attach slow down more than the CPU did. Encrypt and decrypt keep order.
 */
export const CLIP_PIPELINE_DEPTH = 16

export type ClipCipherBackend = 'webcrypto' | 'noble'

export interface ClipCipherOptions {
  /** Force an implementation; default WebCrypto when `crypto.subtle` exists, else noble. */
  readonly backend?: ClipCipherBackend
  /**
   * A host's own AES-256-GCM, used instead of both (as `hashTap` takes a native hash): in Node,
   * `node:crypto` ciphers run on the calling thread without WebCrypto's per-call job
   * overhead. It must give byte-identical output (the tests cross-check).
   */
  readonly aesGcm?: AesGcmFactory
}

/**
 * One AES-256-GCM key with fixed associated data: `seal` returns ciphertext || 16-byte tag;
 * `open` takes that and returns the plaintext, or throws on a bad tag. Nonces are 12 bytes.
 */
export interface ChunkCipher {
  seal (nonce: Uint8Array<ArrayBuffer>, plaintext: Uint8Array<ArrayBuffer>): Promise<Uint8Array> | Uint8Array
  open (nonce: Uint8Array<ArrayBuffer>, ciphertext: Uint8Array<ArrayBuffer>): Promise<Uint8Array> | Uint8Array
}

/** Makes a ChunkCipher for a 32-byte key and the stream's associated data (its header). */
export type AesGcmFactory = (key: Uint8Array, aad: Uint8Array) => ChunkCipher

type Source = AsyncIterable<Uint8Array> | Iterable<Uint8Array>


/** A fresh random 32-byte AES-256 key for one clip. */
export function generateClipKey (): Uint8Array {
  return randomBytes(CLIP_KEY_BYTES)
}

/** Ciphertext length for a plaintext of `size` bytes (header + data + one tag per chunk). */
export function encryptedClipSize (size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) fail('BAD_ARGUMENT', 'clip size: expected a non-negative integer')
  return CLIP_HEADER_BYTES + size + CLIP_TAG_BYTES * Math.max(1, Math.ceil(size / CLIP_CHUNK_SIZE))
}

/** Encrypts a plaintext stream of any piece sizes; yields the header, then one array per chunk. */
export async function * encryptClip (key: Uint8Array, source: Source, options: ClipCipherOptions = {}): AsyncGenerator<Uint8Array> {
  checkKey(key)
  const header = new Uint8Array(CLIP_HEADER_BYTES)
  header[0] = CLIP_FORMAT_VERSION
  header.set(randomBytes(NONCE_PREFIX_BYTES), 1)
  const cipher = await makeCipher(key, header, options)
  yield new Uint8Array(header)

  const pending: Array<Promise<Uint8Array>> = []
  let counter = 0
  const submit = (plaintext: Uint8Array<ArrayBuffer>, last: boolean): void => {
    if (counter >= MAX_CHUNKS) fail('TOO_LARGE', 'clip: more than 2^32 chunks')
    pending.push(settled(sealChunk(cipher, nonceFor(header, counter++, last), plaintext)))
  }

  let buf = new Uint8Array(CLIP_CHUNK_SIZE)
  let fill = 0
  for await (const piece of source) {
    checkPiece(piece)
    let off = 0
    while (off < piece.length) {
      if (fill === CLIP_CHUNK_SIZE) { // full, and more follows: not the last chunk
        submit(buf, false)
        buf = new Uint8Array(CLIP_CHUNK_SIZE)
        fill = 0
        while (pending.length >= CLIP_PIPELINE_DEPTH) yield await pending.shift()!
      }
      if (fill === 0 && piece.length - off > CLIP_CHUNK_SIZE) {
        // A whole chunk with more after it, straight from the input: no copy. Both backends
        // read the bytes during the call (WebCrypto copies them before returning its promise).
        submit(bytesOf(piece.subarray(off, off + CLIP_CHUNK_SIZE)), false)
        off += CLIP_CHUNK_SIZE
        while (pending.length >= CLIP_PIPELINE_DEPTH) yield await pending.shift()!
        continue
      }
      const n = Math.min(CLIP_CHUNK_SIZE - fill, piece.length - off)
      buf.set(piece.subarray(off, off + n), fill)
      fill += n
      off += n
    }
  }
  submit(buf.subarray(0, fill), true)
  while (pending.length > 0) yield await pending.shift()!
}

/**
 * Decrypts a stream made by `encryptClip`, in pieces of any size. Yields verified plaintext
 * chunk by chunk. Tampering, reordering, dropped or appended chunks and truncation are
 * PorchlightError 'DECRYPT_FAILED' (tag) or 'MALFORMED' (too short to hold a chunk);
 * an unknown format version is 'BAD_VERSION'.
 */
export async function * decryptClip (key: Uint8Array, source: Source, options: ClipCipherOptions = {}): AsyncGenerator<Uint8Array> {
  checkKey(key)
  const sealed = CLIP_CHUNK_SIZE + CLIP_TAG_BYTES
  const header = new Uint8Array(CLIP_HEADER_BYTES)
  let headerFill = 0
  let cipher: ChunkCipher | undefined
  const pending: Array<Promise<Uint8Array>> = []
  let counter = 0
  const submit = (ciphertext: Uint8Array<ArrayBuffer>, last: boolean): void => {
    if (counter >= MAX_CHUNKS) fail('TOO_LARGE', 'clip: more than 2^32 chunks')
    pending.push(settled(openChunk(cipher!, nonceFor(header, counter++, last), ciphertext)))
  }

  let buf = new Uint8Array(sealed)
  let fill = 0
  for await (const piece of source) {
    checkPiece(piece)
    let off = 0
    if (headerFill < CLIP_HEADER_BYTES) {
      const n = Math.min(CLIP_HEADER_BYTES - headerFill, piece.length)
      header.set(piece.subarray(0, n), headerFill)
      headerFill += n
      off = n
      if (headerFill < CLIP_HEADER_BYTES) continue
      if (header[0] !== CLIP_FORMAT_VERSION) fail('BAD_VERSION', `clip: unknown format version ${header[0]}`)
      cipher = await makeCipher(key, header, options)
    }
    while (off < piece.length) {
      if (fill === sealed) { // full, and more follows: not the last chunk
        submit(buf, false)
        buf = new Uint8Array(sealed)
        fill = 0
        while (pending.length >= CLIP_PIPELINE_DEPTH) yield await pending.shift()!
      }
      if (fill === 0 && piece.length - off > sealed) {
        // A whole chunk with more after it, straight from the input: no copy (as encryptClip).
        submit(bytesOf(piece.subarray(off, off + sealed)), false)
        off += sealed
        while (pending.length >= CLIP_PIPELINE_DEPTH) yield await pending.shift()!
        continue
      }
      const n = Math.min(sealed - fill, piece.length - off)
      buf.set(piece.subarray(off, off + n), fill)
      fill += n
      off += n
    }
  }
  if (headerFill < CLIP_HEADER_BYTES) fail('MALFORMED', 'clip: truncated header')
  if (fill < CLIP_TAG_BYTES) fail('MALFORMED', 'clip: truncated final chunk')
  submit(buf.subarray(0, fill), true)
  while (pending.length > 0) yield await pending.shift()!
}

/** A view WebCrypto accepts (ArrayBuffer-backed); copies only a SharedArrayBuffer-backed view. */
function bytesOf (view: Uint8Array): Uint8Array<ArrayBuffer> {
  return view.buffer instanceof ArrayBuffer ? view as Uint8Array<ArrayBuffer> : new Uint8Array(view)
}

function checkKey (key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== CLIP_KEY_BYTES) fail('BAD_ARGUMENT', `clip key: expected ${CLIP_KEY_BYTES} bytes`)
}

function checkPiece (piece: unknown): asserts piece is Uint8Array {
  if (!(piece instanceof Uint8Array)) fail('BAD_ARGUMENT', 'clip stream: expected Uint8Array pieces')
}

function nonceFor (header: Uint8Array, counter: number, last: boolean): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(NONCE_BYTES)
  nonce.set(header.subarray(1, CLIP_HEADER_BYTES))
  new DataView(nonce.buffer).setUint32(NONCE_PREFIX_BYTES, counter)
  nonce[NONCE_BYTES - 1] = last ? 1 : 0
  return nonce
}

/** Marks a pipelined promise as handled, so an abandoned stream leaves no unhandled rejection. */
function settled<T> (p: Promise<T>): Promise<T> {
  p.catch(() => {})
  return p
}

function invalidTag (err: unknown): never {
  if (isPorchlightError(err)) throw err
  fail('DECRYPT_FAILED', 'clip: invalid tag')
}

function sealChunk (cipher: ChunkCipher, nonce: Uint8Array<ArrayBuffer>, plaintext: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  try {
    return Promise.resolve(cipher.seal(nonce, plaintext))
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)))
  }
}

/** Any failure to open a chunk is a bad tag, whatever the implementation threw. */
async function openChunk (cipher: ChunkCipher, nonce: Uint8Array<ArrayBuffer>, ciphertext: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  try {
    return await cipher.open(nonce, ciphertext)
  } catch (err) {
    invalidTag(err)
  }
}

async function makeCipher (key: Uint8Array, header: Uint8Array, options: ClipCipherOptions): Promise<ChunkCipher> {
  const aad = new Uint8Array(header)
  const backend = options.backend
  if (options.aesGcm !== undefined) return options.aesGcm(new Uint8Array(key), aad)
  const subtle = globalThis.crypto?.subtle
  if (backend !== 'noble' && subtle !== undefined) {
    try {
      return await webCryptoCipher(subtle, key, aad)
    } catch (err) {
      if (backend === 'webcrypto') fail('UNSUPPORTED', 'clip: WebCrypto AES-GCM unavailable', err)
    }
  } else if (backend === 'webcrypto') {
    fail('UNSUPPORTED', 'clip: WebCrypto unavailable')
  }
  return nobleCipher(key, aad)
}

async function webCryptoCipher (subtle: SubtleCrypto, key: Uint8Array, aad: Uint8Array<ArrayBuffer>): Promise<ChunkCipher> {
  const k = await subtle.importKey('raw', new Uint8Array(key), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt'])
  const params = (iv: Uint8Array<ArrayBuffer>): AesGcmParams => ({ name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 })
  return {
    // One promise per chunk (the encrypt's own), no async wrapper around it.
    seal: (nonce, plaintext) => subtle.encrypt(params(nonce), k, plaintext).then(toBytes),
    async open (nonce, ciphertext) {
      try {
        return new Uint8Array(await subtle.decrypt(params(nonce), k, ciphertext))
      } catch (err) {
        invalidTag(err)
      }
    }
  }
}

const toBytes = (b: ArrayBuffer): Uint8Array => new Uint8Array(b)

function nobleCipher (key: Uint8Array, aad: Uint8Array): ChunkCipher {
  const k = new Uint8Array(key)
  return {
    async seal (nonce, plaintext) { return gcm(k, nonce, aad).encrypt(plaintext) },
    async open (nonce, ciphertext) {
      try {
        return gcm(k, nonce, aad).decrypt(ciphertext)
      } catch (err) {
        invalidTag(err)
      }
    }
  }
}
