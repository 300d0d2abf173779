import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { decodeStruct, encodeCbor, encodeStruct, type StructSpec } from '../../protocol/encoding.ts'
import type { ErrorCode } from '../../protocol/errors.ts'
import {
  checkPost, checkPostFields, createPost, DEFAULT_TTL_MS, MAX_CLOCK_SKEW_MS, MAX_MEDIA, MAX_MEDIA_SIZE, MAX_POST_BYTES,
  MAX_TEXT_BYTES, MAX_TTL_MS, type MediaRef, type Post, POST_KINDS, postFields, readPost
} from '../../protocol/post.ts'
import { mediaArb, postArb } from '../vectors/generate-posts.ts'
import { outcomeSync, rejectionSync as codeOf } from '../helpers/protocol-fixtures.ts'

const NOW = 1_764_000_000_000
const media = (i = 0): MediaRef => ({
  cid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
  key: new Uint8Array(32).fill(i),
  mime: 'image/jpeg',
  size: 1000 + i,
  hash: new Uint8Array(32).fill(200 + i)
})
const base = (over: Partial<Post> = {}): Post => ({ kind: 'info', text: 'hello', created: NOW, expires: NOW + 1000, media: [], ...over })

// A post travels nested inside signed structures; wrap it the same way to test its decoding.
const WRAP: StructSpec = { domain: 'test/post', version: 1, required: ['post'], maxBytes: MAX_POST_BYTES + 64 }
const encodeWrapped = (post: Post): Uint8Array => encodeStruct(WRAP, { post: postFields(post) })
const decodeWrapped = (bytes: Uint8Array, now: number): Post => readPost(decodeStruct(WRAP, bytes), 'post', now)
const rawWrapped = (post: Record<string, unknown>): Uint8Array => encodeCbor({ t: 'test/post', v: 1, post: post as never })

describe('createPost', () => {
  it('fills created, expires (default 7 days) and media', () => {
    const p = createPost({ kind: 'fire', text: 'smoke on Birch', now: NOW })
    expect(p).toEqual({ kind: 'fire', text: 'smoke on Birch', created: NOW, expires: NOW + DEFAULT_TTL_MS, media: [] })
    expect(DEFAULT_TTL_MS).toBe(7 * 24 * 3600_000)
    const q = createPost({ kind: 'reply', text: 'same here', location: 'u4pruyd', ttlMs: 60_000, media: [media()], replyTo: new Uint8Array(32), now: NOW })
    expect(q.expires).toBe(NOW + 60_000)
    expect(q.location).toBe('u4pruyd')
    expect(q.media).toEqual([media()])
    expect(q.replyTo).toEqual(new Uint8Array(32))
  })

  it('uses the clock when no time is given', () => {
    const before = Date.now()
    const p = createPost({ kind: 'info', text: 'x' })
    expect(p.created).toBeGreaterThanOrEqual(before)
    expect(p.created).toBeLessThanOrEqual(Date.now())
  })

  it('accepts every kind; refuses unknown kinds with OUT_OF_RANGE', () => {
    for (const kind of POST_KINDS) {
      expect(createPost({ kind, text: 'x', now: NOW, ...(kind === 'reply' ? { replyTo: new Uint8Array(32) } : {}) }).kind).toBe(kind)
    }
    expect(codeOf(() => createPost({ kind: 'gossip' as never, text: 'x', now: NOW }))).toBe('OUT_OF_RANGE')
  })

  it('bounds text at MAX_TEXT_BYTES UTF-8 bytes (TOO_LARGE), counting bytes not characters', () => {
    expect(createPost({ kind: 'info', text: 'a'.repeat(MAX_TEXT_BYTES), now: NOW }).text.length).toBe(MAX_TEXT_BYTES)
    expect(codeOf(() => createPost({ kind: 'info', text: 'a'.repeat(MAX_TEXT_BYTES + 1), now: NOW }))).toBe('TOO_LARGE')
    // 666 x 3-byte euro signs = 1998 bytes fits; 667 = 2001 bytes does not, though only 667 characters.
    expect(createPost({ kind: 'info', text: '€'.repeat(666), now: NOW }).text.length).toBe(666)
    expect(codeOf(() => createPost({ kind: 'info', text: '€'.repeat(667), now: NOW }))).toBe('TOO_LARGE')
  })

  it('refuses an empty post but accepts a photo without caption', () => {
    expect(codeOf(() => createPost({ kind: 'info', text: '', now: NOW }))).toBe('OUT_OF_RANGE')
    expect(createPost({ kind: 'info', text: '', media: [media()], now: NOW }).text).toBe('')
  })

  it('refuses bad geohashes with BAD_GEOHASH (alphabet, empty, longer than 8)', () => {
    for (const location of ['', 'u4pa', 'U4PR', 'u4pruydqq', 'u4 pr', 'ü']) {
      expect(codeOf(() => createPost({ kind: 'info', text: 'x', location, now: NOW }))).toBe('BAD_GEOHASH')
    }
    expect(createPost({ kind: 'info', text: 'x', location: 'u4pruydq', now: NOW }).location).toBe('u4pruydq')
  })

  it('allows at most MAX_MEDIA media (TOO_LARGE)', () => {
    const four = Array.from({ length: MAX_MEDIA }, (_, i) => media(i))
    expect(createPost({ kind: 'info', text: 'x', media: four, now: NOW }).media).toHaveLength(MAX_MEDIA)
    expect(codeOf(() => createPost({ kind: 'info', text: 'x', media: [...four, media(9)], now: NOW }))).toBe('TOO_LARGE')
  })

  it('checks every media field', () => {
    const bad = (m: Partial<MediaRef>): ErrorCode => codeOf(() => createPost({ kind: 'info', text: 'x', media: [{ ...media(), ...m }], now: NOW }))
    expect(bad({ key: new Uint8Array(31) })).toBe('BAD_LENGTH')
    expect(bad({ hash: new Uint8Array(33) })).toBe('BAD_LENGTH')
    expect(bad({ key: 'k' as never })).toBe('WRONG_TYPE')
    expect(bad({ cid: '' })).toBe('OUT_OF_RANGE')
    expect(bad({ cid: 'bafy/../etc' })).toBe('OUT_OF_RANGE')
    expect(bad({ cid: 'b'.repeat(129) })).toBe('TOO_LARGE')
    expect(bad({ mime: 'jpeg' })).toBe('OUT_OF_RANGE')
    expect(bad({ mime: 'image/' + 'x'.repeat(60) })).toBe('TOO_LARGE')
    expect(bad({ size: -1 })).toBe('OUT_OF_RANGE')
    expect(bad({ size: 1.5 })).toBe('WRONG_TYPE')
    expect(bad({ size: MAX_MEDIA_SIZE + 1 })).toBe('OUT_OF_RANGE')
    expect(codeOrOk(() => createPost({ kind: 'info', text: 'x', media: [{ ...media(), size: MAX_MEDIA_SIZE }], now: NOW }))).toBe('ok')
  })

  it('requires replyTo (32 bytes) on replies', () => {
    expect(codeOf(() => createPost({ kind: 'reply', text: 'x', now: NOW }))).toBe('MISSING_FIELD')
    expect(codeOf(() => createPost({ kind: 'reply', text: 'x', replyTo: new Uint8Array(16), now: NOW }))).toBe('BAD_LENGTH')
    expect(createPost({ kind: 'pet', text: 'found!', replyTo: new Uint8Array(32), now: NOW }).replyTo).toHaveLength(32)
  })

  it('bounds the lifetime: ttlMs in 1..MAX_TTL_MS (OUT_OF_RANGE)', () => {
    expect(createPost({ kind: 'info', text: 'x', ttlMs: MAX_TTL_MS, now: NOW }).expires).toBe(NOW + MAX_TTL_MS)
    for (const ttlMs of [0, -1, MAX_TTL_MS + 1, 1.5, NaN]) {
      expect(codeOf(() => createPost({ kind: 'info', text: 'x', ttlMs, now: NOW }))).toBe('OUT_OF_RANGE')
    }
  })
})

const codeOrOk = (fn: () => unknown): ErrorCode | 'ok' => outcomeSync(fn, 'ok')

describe('checkPost', () => {
  it('FUTURE_DATED only beyond MAX_CLOCK_SKEW_MS ahead of now', () => {
    expect(checkPost(base({ created: NOW + MAX_CLOCK_SKEW_MS, expires: NOW + MAX_CLOCK_SKEW_MS + 1 }), NOW)).toBeDefined()
    expect(codeOf(() => checkPost(base({ created: NOW + MAX_CLOCK_SKEW_MS + 1, expires: NOW + DEFAULT_TTL_MS }), NOW))).toBe('FUTURE_DATED')
  })

  it('EXPIRED once expires <= now', () => {
    expect(checkPost(base({ created: NOW - 10, expires: NOW + 1 }), NOW)).toBeDefined()
    expect(codeOf(() => checkPost(base({ created: NOW - 10, expires: NOW }), NOW))).toBe('EXPIRED')
    expect(codeOf(() => checkPost(base({ created: NOW - 10, expires: NOW - 1 }), NOW))).toBe('EXPIRED')
  })

  it('OUT_OF_RANGE when expires <= created or the lifetime exceeds MAX_TTL_MS, whatever the clock', () => {
    expect(codeOf(() => checkPost(base({ created: NOW, expires: NOW }), NOW - 1))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => checkPost(base({ created: NOW, expires: NOW - 5 }), NOW - 10))).toBe('OUT_OF_RANGE')
    expect(checkPost(base({ created: NOW, expires: NOW + MAX_TTL_MS }), NOW)).toBeDefined()
    expect(codeOf(() => checkPost(base({ created: NOW, expires: NOW + MAX_TTL_MS + 1 }), NOW))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => checkPostFields(base({ created: NOW, expires: NOW + MAX_TTL_MS + 1 })))).toBe('OUT_OF_RANGE')
  })

  it('refuses non-integer and negative times', () => {
    expect(codeOf(() => checkPost(base({ created: NOW + 0.5 }), NOW))).toBe('WRONG_TYPE')
    expect(codeOf(() => checkPost(base({ created: -1, expires: 5 }), 0))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => checkPost(base(), NaN))).toBe('WRONG_TYPE')
  })

  it('accepts every generated post at its creation time and up to just before expiry', () => {
    fc.assert(fc.property(postArb, p => {
      expect(checkPost(p, p.created)).toBe(p)
      expect(checkPost(p, p.expires - 1)).toBe(p)
      expect(codeOf(() => checkPost(p, p.expires))).toBe('EXPIRED')
    }), { numRuns: runs(50) })
  })
})

describe('post encoding', () => {
  it('decode(encode(post)) equals the post, for random valid posts', () => {
    fc.assert(fc.property(postArb, p => {
      expect(decodeWrapped(encodeWrapped(p), p.created)).toEqual(p)
    }), { numRuns: runs(75) })
  })

  it('uses the documented field names', () => {
    const p = base({ location: 'u4pr', media: [media()], replyTo: new Uint8Array(32) })
    expect(Object.keys(postFields(p)).sort()).toEqual(['created', 'expires', 'kind', 'location', 'media', 'replyTo', 'text'])
    expect(encodeWrapped(base()).length).toBeLessThan(100)
  })

  it('the largest post fits MAX_POST_BYTES', () => {
    const big = base({
      text: '€'.repeat(666) + 'xx', location: 'u4pruydq', replyTo: new Uint8Array(32),
      media: Array.from({ length: MAX_MEDIA }, () => ({ ...media(), cid: 'b'.repeat(128), mime: 'a/' + 'b'.repeat(62), size: MAX_MEDIA_SIZE }))
    })
    expect(encodeWrapped(big).length).toBeLessThanOrEqual(MAX_POST_BYTES)
  })

  it('refuses extra, missing and mistyped fields with their codes', () => {
    const ok = { kind: 'info', text: 'x', created: NOW, expires: NOW + 1, media: [] }
    expect(decodeWrapped(rawWrapped(ok), NOW)).toEqual(ok)
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, author: 'me' }), NOW))).toBe('EXTRA_FIELD')
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, media: undefined }), NOW))).toBe('MISSING_FIELD')
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, created: 'now' }), NOW))).toBe('WRONG_TYPE')
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, kind: 'gossip' }), NOW))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, text: 'a'.repeat(MAX_TEXT_BYTES + 1) }), NOW))).toBe('TOO_LARGE')
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, location: 'u4pa' }), NOW))).toBe('BAD_GEOHASH')
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, location: 'u4pruydqq' }), NOW))).toBe('BAD_GEOHASH')
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, replyTo: new Uint8Array(31) }), NOW))).toBe('BAD_LENGTH')
    const m = postFields(base({ media: [media()] })).media as Array<Record<string, unknown>>
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, media: [{ ...m[0], extra: 1 }] }), NOW))).toBe('EXTRA_FIELD')
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, media: Array(MAX_MEDIA + 1).fill(m[0]) }), NOW))).toBe('TOO_LARGE')
    expect(codeOf(() => decodeWrapped(rawWrapped({ ...ok, kind: 'reply' }), NOW))).toBe('MISSING_FIELD')
  })

  it('applies the clock on decode: FUTURE_DATED, EXPIRED', () => {
    const bytes = encodeWrapped(base())
    expect(codeOf(() => decodeWrapped(bytes, NOW - MAX_CLOCK_SKEW_MS - 1))).toBe('FUTURE_DATED')
    expect(codeOf(() => decodeWrapped(bytes, NOW + 1000))).toBe('EXPIRED')
  })

  it('media round trip keeps every field', () => {
    fc.assert(fc.property(fc.array(mediaArb, { minLength: 1, maxLength: MAX_MEDIA }), ms => {
      const p = base({ media: ms })
      expect(decodeWrapped(encodeWrapped(p), NOW).media).toEqual(ms)
    }), { numRuns: runs(25) })
  })
})
