/**
 * Posts: what a resident (or an agency) says, before it is signed and sealed.
 *
 * A post has no domain or version of its own: its fields
 *   { kind, text, location?, created, expires, media: [MediaRef], replyTo? }
 * only travel inside a signed structure that has them, spread into it (a private post's
 * signed 'pl/post', see envelope.ts) or nested as a map (public-post.ts, agency.ts).
 * Bounds: text <= 2000 UTF-8 bytes; location a geohash of 1..8 characters (about 38 m x 19 m
 * at most, so a post never pins a front door); at most 4 media references; lifetime
 * 1 ms..30 days; times are integer ms since the Unix epoch. An encoded post is at most
 * MAX_POST_BYTES.
 *
 * The same validation runs when a post is created and when one is decoded, so both sides
 * refuse the same things with the same error codes.
 */
import { fail } from './errors.ts'
import { type CborValue, type Fields, utf8ByteLength } from './encoding.ts'
import { checkGeohash, MAX_POST_PRECISION } from './geohash.ts'
import { checkWireName, MAX_NAME_BYTES } from './identity.ts'
import { checkCurrent, checkLifetime } from './time.ts'

export const POST_KINDS = ['crime', 'safety', 'suspicious', 'pet', 'fire', 'traffic', 'outage', 'info', 'rfa', 'reply'] as const
/** pet = lost or found pet; rfa = request for assistance (agencies); reply = reply to a post or RFA. */
export type PostKind = typeof POST_KINDS[number]

export const MAX_TEXT_BYTES = 2000
export const MAX_MEDIA = 4
/** How far ahead of now a post may be dated: the one clock rule of time.ts. */
export { MAX_CLOCK_SKEW_MS } from './time.ts'
export const DEFAULT_TTL_MS = 7 * 24 * 3600_000
export const MAX_TTL_MS = 30 * 24 * 3600_000
export const MAX_CID_BYTES = 128
export const MAX_MIME_BYTES = 64
/** Largest clip a post may reference: 4 GiB. */
export const MAX_MEDIA_SIZE = 2 ** 32
export const MEDIA_KEY_BYTES = 32
export const MEDIA_HASH_BYTES = 32
/** Post ids (envelope or public-post ids) are SHA-256 hashes. */
export const POST_ID_BYTES = 32
/** Upper bound of an encoded post: text + 4 full media refs + fixed fields, with headroom. */
export const MAX_POST_BYTES = 4096

/** A clip or photo stored (encrypted) in IPFS: the post carries what is needed to fetch and open it. */
export interface MediaRef {
  /** CID of the encrypted clip, 1..128 ASCII alphanumeric characters (CIDv0 base58 or CIDv1 base32). */
  cid: string
  /** Clip content key, 32 bytes. */
  key: Uint8Array
  /** MIME type `type/subtype`, at most 64 bytes. */
  mime: string
  /** Plaintext size in bytes, 0..MAX_MEDIA_SIZE. */
  size: number
  /** SHA-256 of the plaintext clip, 32 bytes. */
  hash: Uint8Array
}

export interface Post {
  kind: PostKind
  text: string
  /** Geohash at the author's precision, 1..MAX_POST_PRECISION characters. */
  location?: string
  created: number
  expires: number
  media: MediaRef[]
  /** Id (32 bytes) of the post this replies to; required for kind 'reply'. */
  replyTo?: Uint8Array
}

export interface PostInput {
  kind: PostKind
  text: string
  location?: string
  /** Lifetime in ms, 1..MAX_TTL_MS. Default DEFAULT_TTL_MS. */
  ttlMs?: number
  media?: MediaRef[]
  replyTo?: Uint8Array
  /** Creation time (ms). Default Date.now(). */
  now?: number
}

/** Decoding reads a location of up to this many bytes, so a wrong one fails as BAD_GEOHASH, as on creation. */
const MAX_LOCATION_FIELD_BYTES = 64
const CID = /^[A-Za-z0-9]+$/
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i
const MEDIA_FIELDS = ['cid', 'key', 'mime', 'size', 'hash'] as const
/** Field names of a post map, for structures that embed or spread a post. */
export const POST_REQUIRED = ['kind', 'text', 'created', 'expires', 'media'] as const
export const POST_OPTIONAL = ['location', 'replyTo'] as const

/** Creates a validated post; created = now, expires = now + ttlMs. */
export function createPost (input: PostInput): Post {
  if (input === null || typeof input !== 'object') fail('BAD_ARGUMENT', 'post input must be an object')
  const now = input.now ?? Date.now()
  const ttl = input.ttlMs ?? DEFAULT_TTL_MS
  checkInt(now, 'now')
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TTL_MS) fail('OUT_OF_RANGE', `ttlMs must be 1..${MAX_TTL_MS}`)
  const post: Post = {
    kind: input.kind,
    text: input.text,
    created: now,
    expires: now + ttl,
    media: (input.media ?? []).map(m => ({ ...m }))
  }
  if (input.location !== undefined) post.location = input.location
  if (input.replyTo !== undefined) post.replyTo = input.replyTo
  return checkPost(post, now)
}

/**
 * Validates every field and the times against `now`:
 * OUT_OF_RANGE if expires <= created or the lifetime exceeds MAX_TTL_MS, FUTURE_DATED if
 * created > now + MAX_CLOCK_SKEW_MS, EXPIRED if expires <= now. Returns the post.
 */
export function checkPost (post: Post, now: number): Post {
  checkPostFields(post)
  checkInt(now, 'now')
  checkCurrent(post.created, post.expires, now, 'post')
  return post
}

/** Every check of checkPost that does not depend on the clock (used when sealing). */
export function checkPostFields (post: Post): Post {
  if (post === null || typeof post !== 'object') fail('WRONG_TYPE', 'post must be an object')
  if (!(POST_KINDS as readonly string[]).includes(post.kind)) fail('OUT_OF_RANGE', `unknown post kind "${String(post.kind).slice(0, 20)}"`)
  if (typeof post.text !== 'string') fail('WRONG_TYPE', 'post text must be a string')
  if (utf8ByteLength(post.text) > MAX_TEXT_BYTES) fail('TOO_LARGE', `post text exceeds ${MAX_TEXT_BYTES} bytes`)
  if (!Array.isArray(post.media)) fail('WRONG_TYPE', 'post media must be an array')
  if (post.media.length > MAX_MEDIA) fail('TOO_LARGE', `more than ${MAX_MEDIA} media`)
  post.media.forEach(checkMedia)
  // An empty post says nothing; a photo with no caption still says something.
  if (post.text.length === 0 && post.media.length === 0) fail('OUT_OF_RANGE', 'post has neither text nor media')
  if (post.location !== undefined) checkGeohash(post.location, MAX_POST_PRECISION, 'post location')
  checkInt(post.created, 'post created')
  checkInt(post.expires, 'post expires')
  if (post.replyTo !== undefined) checkBytes(post.replyTo, POST_ID_BYTES, 'post replyTo')
  if (post.kind === 'reply' && post.replyTo === undefined) fail('MISSING_FIELD', 'a reply needs replyTo')
  checkLifetime(post.created, post.expires, MAX_TTL_MS, 'post')
  return post
}

function checkMedia (m: MediaRef, i: number): void {
  const where = `post media[${i}]`
  if (m === null || typeof m !== 'object') fail('WRONG_TYPE', `${where} must be an object`)
  if (typeof m.cid !== 'string' || typeof m.mime !== 'string') fail('WRONG_TYPE', `${where}: cid and mime must be strings`)
  if (m.cid.length > MAX_CID_BYTES) fail('TOO_LARGE', `${where}.cid exceeds ${MAX_CID_BYTES} bytes`)
  if (!CID.test(m.cid)) fail('OUT_OF_RANGE', `${where}.cid is not a CID string`)
  if (m.mime.length > MAX_MIME_BYTES) fail('TOO_LARGE', `${where}.mime exceeds ${MAX_MIME_BYTES} bytes`)
  if (!MIME.test(m.mime)) fail('OUT_OF_RANGE', `${where}.mime is not type/subtype`)
  checkBytes(m.key, MEDIA_KEY_BYTES, `${where}.key`)
  checkBytes(m.hash, MEDIA_HASH_BYTES, `${where}.hash`)
  checkInt(m.size, `${where}.size`)
  if (m.size > MAX_MEDIA_SIZE) fail('OUT_OF_RANGE', `${where}.size exceeds ${MAX_MEDIA_SIZE}`)
}

function checkInt (n: unknown, where: string): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) fail('WRONG_TYPE', `${where} must be an integer`)
  if (n < 0) fail('OUT_OF_RANGE', `${where} must not be negative`)
}

function checkBytes (b: unknown, len: number, where: string): void {
  if (!(b instanceof Uint8Array)) fail('WRONG_TYPE', `${where} must be bytes`)
  if (b.length !== len) fail('BAD_LENGTH', `${where} must be ${len} bytes`)
}

/** The post's fields as CBOR, to embed in a signed structure (nested) or spread into a signed message. */
export function postFields (post: Post): Record<string, CborValue | undefined> {
  return {
    kind: post.kind,
    text: post.text,
    location: post.location,
    created: post.created,
    expires: post.expires,
    media: post.media.map(m => ({ cid: m.cid, key: m.key, mime: m.mime, size: m.size, hash: m.hash })),
    replyTo: post.replyTo
  }
}

/**
 * Reads the post map at `key` of a decoded structure with strict field-set checks, then
 * validates it against `now` (see checkPost).
 */
export function readPost (f: Fields, key: string, now: number): Post {
  return readPostFields(f.record(key, POST_REQUIRED, POST_OPTIONAL), now)
}

/**
 * Reads post fields spread into a structure (whose spec lists POST_REQUIRED and
 * POST_OPTIONAL among its fields), then validates them against `now`.
 */
export function readPostFields (p: Fields, now: number): Post {
  const post: Post = {
    kind: p.oneOf('kind', POST_KINDS),
    text: p.string('text', MAX_TEXT_BYTES),
    created: p.uint('created'),
    expires: p.uint('expires'),
    media: p.array('media', MAX_MEDIA, item => {
      const m = item.record(MEDIA_FIELDS)
      return {
        cid: m.string('cid', MAX_CID_BYTES, 1),
        key: m.bytes('key', { len: MEDIA_KEY_BYTES }),
        mime: m.string('mime', MAX_MIME_BYTES, 1),
        size: m.uint('size', MAX_MEDIA_SIZE),
        hash: m.bytes('hash', { len: MEDIA_HASH_BYTES })
      }
    })
  }
  const location = p.optString('location', MAX_LOCATION_FIELD_BYTES)
  if (location !== undefined) post.location = location
  const replyTo = p.optBytes('replyTo', { len: POST_ID_BYTES })
  if (replyTo !== undefined) post.replyTo = replyTo
  return checkPost(post, now)
}

/**
 * Reads an author display name from a decoded structure: 1..64 bytes, trimmed, no control
 * characters (the rules of identity names), else OUT_OF_RANGE.
 */
export function readAuthorName (f: Fields, key: string): string {
  return checkWireName(f.string(key, MAX_NAME_BYTES, 1), 'author')
}

export function readOptAuthorName (f: Fields, key: string): string | undefined {
  return f.has(key) ? readAuthorName(f, key) : undefined
}
