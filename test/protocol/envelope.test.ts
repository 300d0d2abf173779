import { createHash, createHmac, createPublicKey, verify as nodeVerify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import {
  aeadOpen, aeadSeal, type CryptoProvider, getCrypto, nobleProvider, randomBytes, setCrypto, webCryptoProvider
} from '../../protocol/crypto.ts'
import { decodeCbor, decodeStruct, encodeCbor, encodeCborGeneric, encodeStruct, equalBytes, fromHex, type StructSpec, toHex } from '../../protocol/encoding.ts'
import { fail, PorchlightError } from '../../protocol/errors.ts'
import { createIdentity, type Identity } from '../../protocol/identity.ts'
import { areaTopic, deriveEpochKeys, type EpochKeys, isPrivateTopic, MAX_EPOCH, membershipTag, privateTopic } from '../../protocol/neighborhood.ts'
import { createPost, MAX_CLOCK_SKEW_MS, MAX_TTL_MS, type Post, postFields } from '../../protocol/post.ts'
import {
  checkEnvelopeTag, checkEnvelopeTime, decodeEnvelope, DOMAIN_SIGNED_POST, encodeEnvelope, encodeSignedPost, ENVELOPE_BUCKETS,
  ENVELOPE_TIME_UNIT_MS, envelopeHeader, envelopeId, envelopeTimes, innerDomain, MAX_ENVELOPE_BYTES, openEnvelope, openPost, openSignedPost,
  type PrivateEnvelope, sealEnvelope, sealPost
} from '../../protocol/envelope.ts'
import {
  buildEnvelopeVectors, ENVELOPE_VECTORS_PATH, type EnvelopeVector, identityFromHex, postArb, postFromHex, type VectorFile, vectorJson
} from '../vectors/generate-posts.ts'
import { flipBit, flips, rejection, rejectionSync as rejectionSyncCode } from '../helpers/protocol-fixtures.ts'
import { indexOfBytes, widenHead } from '../helpers/cbor-widen.ts'

const NOW = 1_764_000_000_000
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })

let alice: Identity
let bob: Identity
const hoodId = randomBytes(32)
const otherHoodId = randomBytes(32)
const topic = privateTopic(hoodId)
const secret1 = randomBytes(32)
const secret2 = randomBytes(32)
const k1 = deriveEpochKeys(hoodId, 1, secret1)
const k2 = deriveEpochKeys(hoodId, 2, secret2)
const keyring = (...ks: EpochKeys[]) => (epoch: number): EpochKeys | undefined => ks.find(k => k.epoch === epoch)
const both = keyring(k1, k2)
const post = createPost({ kind: 'suspicious', text: 'van circling Elm St', location: 'u4pruyd', now: NOW })

beforeAll(async () => {
  alice = await createIdentity('Alice')
  bob = await createIdentity('Bob')
})


/** Re-encodes a decoded envelope with some fields replaced (no crypto). */
const reencode = (bytes: Uint8Array, change: Partial<PrivateEnvelope>): Uint8Array => encodeEnvelope({ ...decodeEnvelope(bytes), ...change })

// The signed-post format, restated: inner 'pl/signed-post' { post: bytes, author, sig } where
// post = 'pl/post' { ...post fields, topic, author, name } and sig = Ed25519(author, post).
const SIGNED: StructSpec = { domain: 'pl/signed-post', version: 1, required: [], maxBytes: 8192 }
const TBS: StructSpec = { domain: 'pl/post', version: 1, required: [], maxBytes: 8192 }
const body = (p: Post, author: Identity, over: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ ...postFields(p), topic, author: author.public.signKey, name: author.public.name, ...over })

/** An inner signed post with chosen fields, signed by `signer`, naming `outerAuthor` as the key to verify with. */
async function signedInner (signer: Identity, fields: Record<string, unknown>, outerAuthor = signer.public.signKey): Promise<Uint8Array> {
  const bytes = encodeStruct(TBS, fields as never)
  return encodeStruct(SIGNED, { post: bytes, author: outerAuthor, sig: await nobleProvider.ed25519Sign(signer.seed, bytes) })
}

/** Replaces fields of an inner signed post, keeping its signature. */
function editInner (inner: Uint8Array, outer: Record<string, unknown>, signed: Record<string, unknown> = {}): Uint8Array {
  const m = decodeCbor(inner) as Map<string, unknown>
  const toPlain = (v: unknown): unknown => v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, toPlain(x)])) : Array.isArray(v) ? v.map(toPlain) : v
  const tbs = { ...(toPlain(decodeCbor(m.get('post') as Uint8Array)) as Record<string, unknown>), ...signed }
  return encodeCbor({ ...(toPlain(m) as Record<string, unknown>), post: encodeCbor(tbs as never), ...outer } as never)
}
const sealInner = (inner: Uint8Array, p: Post, keys = k2, t = topic): Uint8Array => sealEnvelope(keys, t, inner, { ts: p.created, exp: p.expires })

describe('sealPost / openPost', () => {
  it('round trip: post, author, name, topic, epoch, id = SHA-256(envelope bytes)', async () => {
    const { bytes, id } = await sealPost(alice, topic, k2, post)
    expect(toHex(id)).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(toHex(envelopeId(bytes))).toBe(toHex(id))
    const opened = await openPost(bytes, both, NOW)
    expect(opened).toEqual({ id, topic, epoch: 2, post, author: alice.public.signKey, authorName: 'Alice' })
    expect(bytes.length).toBe(1024)
  })

  it('decode(encode(post)) equals the post, for random valid posts', async () => {
    await fc.assert(fc.asyncProperty(postArb, async p => {
      const { bytes, id } = await sealPost(alice, topic, k1, p)
      const opened = await openPost(bytes, both, p.created, { topic })
      expect(opened.post).toEqual(p)
      expect(opened.id).toEqual(id)
    }), { numRuns: runs(20) })
  })

  it('the envelope carries the post times in the clear and nothing else of the post', async () => {
    const { bytes } = await sealPost(alice, topic, k2, post)
    const env = decodeEnvelope(bytes)
    expect({ ts: env.ts, exp: env.exp }).toEqual(envelopeTimes(post.created, post.expires))
    expect(env.topic).toBe(topic)
    expect(env.epoch).toBe(2)
    expect([...(decodeCbor(bytes) as Map<string, unknown>).keys()].sort()).toEqual(['ct', 'epoch', 'exp', 'nonce', 't', 'tag', 'topic', 'ts', 'v'])
  })

  it('uses a fresh random nonce per seal unless a (vector) nonce is given', async () => {
    const a = decodeEnvelope((await sealPost(alice, topic, k2, post)).bytes)
    const b = decodeEnvelope((await sealPost(alice, topic, k2, post)).bytes)
    expect(toHex(a.nonce)).not.toBe(toHex(b.nonce))
    const nonce = randomBytes(24)
    const c = await sealPost(alice, topic, k2, post, { nonce })
    expect(decodeEnvelope(c.bytes).nonce).toEqual(nonce)
    expect((await sealPost(alice, topic, k2, post, { nonce })).bytes).toEqual(c.bytes)
  })

  it('refuses to seal an invalid post, a bad topic or a bad nonce', async () => {
    expect(await rejection(() => sealPost(alice, topic, k1, { ...post, text: 'x'.repeat(2001) }))).toBe('TOO_LARGE')
    expect(await rejection(() => sealPost(alice, topic, k1, { ...post, location: 'a' }))).toBe('BAD_GEOHASH')
    expect(await rejection(() => sealPost(alice, areaTopic('u4pr'), k1, post))).toBe('WRONG_TOPIC')
    expect(await rejection(() => sealPost(alice, 'porchlight', k1, post))).toBe('WRONG_TOPIC')
    expect(await rejection(() => sealPost(alice, topic, k1, post, { nonce: new Uint8Array(12) }))).toBe('BAD_ARGUMENT')
  })

  it('UNKNOWN_EPOCH when the reader has no keys for the epoch', async () => {
    const { bytes } = await sealPost(alice, topic, k2, post)
    expect(await rejection(() => openPost(bytes, keyring(k1), NOW))).toBe('UNKNOWN_EPOCH')
  })

  it('DECRYPT_FAILED with a wrong key, an old-epoch key, or another neighborhood\'s key', async () => {
    const { bytes } = await sealPost(alice, topic, k2, post)
    const wrong = deriveEpochKeys(hoodId, 2, randomBytes(32))
    const oldSecretNewEpoch = deriveEpochKeys(hoodId, 2, secret1)
    const otherHood = deriveEpochKeys(otherHoodId, 2, secret2)
    for (const keys of [wrong, oldSecretNewEpoch, otherHood]) {
      expect(await rejection(() => openPost(bytes, () => keys, NOW))).toBe('DECRYPT_FAILED')
      expect(await rejection(() => openEnvelope(decodeEnvelope(bytes), keys))).toBe('DECRYPT_FAILED')
    }
    // A removed member holding only epoch 1 keys, whatever epoch it claims they are for.
    expect(await rejection(() => openPost(bytes, () => k1, NOW))).toBe('DECRYPT_FAILED')
    expect(await rejection(() => openEnvelope(decodeEnvelope(bytes), k1))).toBe('DECRYPT_FAILED')
  })

  it('the inner signed post has the documented format (written directly: the generic encoder\'s bytes, for random posts)', async () => {
    expect(toHex(await encodeSignedPost(alice, topic, post))).toBe(toHex(await signedInner(alice, body(post, alice))))
    await fc.assert(fc.asyncProperty(postArb, async p => {
      expect(toHex(await encodeSignedPost(bob, topic, p))).toBe(toHex(await signedInner(bob, body(p, bob))))
    }), { numRuns: runs(20) })
  })

  it('the canonical layouts the fast paths read: map heads and key order as documented', async () => {
    const hex = (s: string): string => toHex(new TextEncoder().encode(s))
    const inner = toHex(await encodeSignedPost(alice, topic, post))
    // a5 "t" "pl/signed-post" "v" 1 "sig" bytes(64) ... "post" bytes ... "author" bytes(32)
    expect(inner.startsWith(`a5 61${hex('t')} 6e${hex('pl/signed-post')} 61${hex('v')}01 63${hex('sig')}5840`.replaceAll(' ', ''))).toBe(true)
    expect(inner.slice(-(2 * 41))).toBe(`66${hex('author')}5820${toHex(alice.public.signKey)}`)
    const { bytes } = await sealPost(alice, topic, k1, post)
    // a9 "t" "pl/env" "v" 2 "ct" ... "topic" text(48)
    expect(toHex(bytes).startsWith(`a96174${'66' + hex('pl/env')}61760262${hex('ct')}`)).toBe(true)
    expect(toHex(bytes).endsWith(`65${hex('topic')}7830${hex(topic)}`)).toBe(true)
  })

  it('BAD_SIGNATURE when the inner post names one author but is signed by another', async () => {
    // Bob signs a post that names Alice, and names Alice as the key to check.
    const forged = await signedInner(bob, body(post, alice))
    expect(await rejection(() => openPost(sealInner(forged, post), both, NOW))).toBe('BAD_SIGNATURE')
    // Bob signs a post that names Alice, and names himself as the key to check.
    const mismatched = await signedInner(bob, body(post, alice), bob.public.signKey)
    expect(await rejection(() => openPost(sealInner(mismatched, post), both, NOW))).toBe('BAD_SIGNATURE')
    // Bob's genuine post, relabeled as Alice's.
    const inner = await encodeSignedPost(bob, topic, post)
    expect(await rejection(() => openPost(sealInner(editInner(inner, { author: alice.public.signKey }), post), both, NOW))).toBe('BAD_SIGNATURE')
    expect(await rejection(() => openPost(sealInner(editInner(inner, {}, { author: alice.public.signKey }), post), both, NOW))).toBe('BAD_SIGNATURE')
    // Renaming someone's post, or changing its text, under the original signature.
    expect(await rejection(() => openPost(sealInner(editInner(inner, {}, { name: 'Police' }), post), both, NOW))).toBe('BAD_SIGNATURE')
    expect(await rejection(() => openPost(sealInner(editInner(inner, {}, { text: 'all clear' }), post), both, NOW))).toBe('BAD_SIGNATURE')
    expect(await rejection(() => openPost(sealInner(editInner(inner, { sig: new Uint8Array(64) }), post), both, NOW))).toBe('BAD_SIGNATURE')
    // Sanity: untouched, it opens.
    expect((await openPost(sealInner(inner, post), both, NOW)).authorName).toBe('Bob')
  })

  it('a member of two neighborhoods cannot replay a post from one into the other (the topic is signed)', async () => {
    const inner = await encodeSignedPost(alice, topic, post)
    const otherTopic = privateTopic(otherHoodId)
    const otherKeys = deriveEpochKeys(otherHoodId, 1, randomBytes(32))
    expect(await rejection(() => openPost(sealInner(inner, post, otherKeys, otherTopic), () => otherKeys, NOW))).toBe('WRONG_TOPIC')
    // Re-signing the topic is impossible without Alice's key; relabeling it breaks her signature.
    const relabeled = editInner(inner, {}, { topic: otherTopic })
    expect(await rejection(() => openPost(sealInner(relabeled, post, otherKeys, otherTopic), () => otherKeys, NOW))).toBe('BAD_SIGNATURE')
    // Sanity: the same inner opens where it was signed for.
    expect((await openPost(sealInner(inner, post, k1), both, NOW)).post).toEqual(post)
  })

  it('the inner fast path refuses non-canonical wrappers like the generic decoder (MALFORMED)', async () => {
    const inner = await encodeSignedPost(alice, topic, post)
    // "sig" length 64 written with a two-byte head (59 00 40) instead of 58 40.
    const i = indexOfBytes(inner, [0x63, ...new TextEncoder().encode('sig'), 0x58, 0x40]) + 4
    const loose = new Uint8Array([...inner.subarray(0, i), 0x59, 0x00, 0x40, ...inner.subarray(i + 2)])
    expect(await rejection(() => openPost(sealInner(loose, post), both, NOW))).toBe('MALFORMED')
    expect(await rejection(() => openPost(sealInner(new Uint8Array([...inner, 0]), post), both, NOW))).toBe('MALFORMED')
    const f = Object.fromEntries(decodeCbor(inner) as Map<string, unknown>)
    expect(await rejection(() => openPost(sealInner(encodeCbor({ ...f, extra: 1 } as never), post), both, NOW))).toBe('EXTRA_FIELD')
    expect(await rejection(() => openPost(sealInner(encodeCbor({ ...f, author: new Uint8Array(31) } as never), post), both, NOW))).toBe('BAD_LENGTH')
  })

  it('every bit flip of the inner signed post is refused', async () => {
    const inner = await encodeSignedPost(alice, topic, post)
    await fc.assert(fc.asyncProperty(fc.nat(), fc.integer({ min: 0, max: 7 }), async (pos, bit) => {
      const b = flipBit(inner, pos, bit)
      await rejection(() => openPost(sealInner(b, post), both, NOW))
      await rejection(() => openSignedPost(b, topic, NOW))
    }), { numRuns: runs(125) })
  })

  it('WRONG_TOPIC when the envelope arrived on another topic or names a non-private topic', async () => {
    const { bytes } = await sealPost(alice, topic, k1, post)
    expect(await rejection(() => openPost(bytes, both, NOW, { topic: privateTopic(otherHoodId) }))).toBe('WRONG_TOPIC')
    expect(await rejection(() => openEnvelope(decodeEnvelope(bytes), k1, privateTopic(otherHoodId)))).toBe('WRONG_TOPIC')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { topic: areaTopic('u4pr') })))).toBe('WRONG_TOPIC')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { topic: topic.toUpperCase() })))).toBe('WRONG_TOPIC')
  })

  it('OUT_OF_RANGE when the envelope times are not the post\'s rounded to minutes (relays would keep it longer)', async () => {
    const inner = await encodeSignedPost(alice, topic, post)
    const longer = sealEnvelope(k1, topic, inner, { ts: post.created, exp: post.expires + ENVELOPE_TIME_UNIT_MS })
    expect(await rejection(() => openPost(longer, both, NOW))).toBe('OUT_OF_RANGE')
    const earlier = sealEnvelope(k1, topic, inner, { ts: post.created - 1, exp: post.expires })
    expect(await rejection(() => openPost(earlier, both, NOW))).toBe('OUT_OF_RANGE')
    const shorter = sealEnvelope(k1, topic, inner, { ts: post.created, exp: post.expires - ENVELOPE_TIME_UNIT_MS })
    expect(await rejection(() => openPost(shorter, both, NOW))).toBe('OUT_OF_RANGE')
    // Within the same minute the clear times are the same, so the envelope is the same one.
    const sameMinute = sealEnvelope(k1, topic, inner, { ts: post.created + 1, exp: post.expires + 1 })
    expect((await openPost(sameMinute, both, NOW)).post).toEqual(post)
  })

  it('envelopeTimes: whole minutes, never later than the post\'s expiry unless it lives under a minute, idempotent', () => {
    const U = ENVELOPE_TIME_UNIT_MS
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 1, max: MAX_TTL_MS }), (created, life) => {
      const expires = created + life
      const t = envelopeTimes(created, expires)
      expect(t.ts % U).toBe(0)
      expect(t.exp % U).toBe(0)
      expect(t.ts).toBeLessThanOrEqual(created)
      expect(created - t.ts).toBeLessThan(U)
      expect(t.exp).toBeGreaterThan(t.ts)
      expect(t.exp - t.ts).toBeLessThanOrEqual(MAX_TTL_MS)
      if (t.exp > expires) expect(t.exp).toBe(t.ts + U)
      else expect(expires - t.exp).toBeLessThan(U)
      expect(envelopeTimes(t.ts, t.exp)).toEqual(t)
    }), { numRuns: runs(250) })
  })

  it('applies the clock: EXPIRED, FUTURE_DATED', async () => {
    const { bytes } = await sealPost(alice, topic, k1, post)
    expect(await rejection(() => openPost(bytes, both, post.expires))).toBe('EXPIRED')
    expect(await rejection(() => openPost(bytes, both, post.created - MAX_CLOCK_SKEW_MS - 1))).toBe('FUTURE_DATED')
    expect((await openPost(bytes, both, post.created - MAX_CLOCK_SKEW_MS)).post).toEqual(post)
  })

  it('BAD_DOMAIN for an envelope that holds another inner message; innerDomain dispatches', async () => {
    const join = encodeStruct({ domain: 'pl/join', version: 1, required: ['x'], maxBytes: 100 }, { x: 1 })
    const bytes = sealEnvelope(k1, topic, join, { ts: NOW, exp: NOW + 1000 })
    expect(await rejection(() => openPost(bytes, both, NOW))).toBe('BAD_DOMAIN')
    expect(innerDomain(openEnvelope(decodeEnvelope(bytes), k1))).toBe('pl/join')
    const inner = openEnvelope(decodeEnvelope((await sealPost(alice, topic, k1, post)).bytes), k1)
    expect(innerDomain(inner)).toBe(DOMAIN_SIGNED_POST)
    expect(await openSignedPost(inner, topic, NOW)).toEqual({ post, author: alice.public.signKey, authorName: 'Alice' })
    expect(await rejection(() => openSignedPost(inner, privateTopic(otherHoodId), NOW))).toBe('WRONG_TOPIC')
    expect(await rejection(() => innerDomain(new Uint8Array([0xff])))).toBe('MALFORMED')
  })
})

describe('envelope structure', () => {
  const U = ENVELOPE_TIME_UNIT_MS
  /** Valid envelopes: whole-minute times, and a ciphertext that makes the envelope exactly one bucket long. */
  const bucketedArb = (buckets: readonly number[]): fc.Arbitrary<PrivateEnvelope> => fc.record({
    topic: bytes32.map(privateTopic),
    epoch: fc.integer({ min: 0, max: MAX_EPOCH }),
    ts: fc.integer({ min: 0, max: Math.floor(2 ** 45 / U) }).map(m => m * U),
    life: fc.integer({ min: 1, max: MAX_TTL_MS / U }).map(m => m * U),
    nonce: fc.uint8Array({ minLength: 24, maxLength: 24 }),
    bucket: fc.constantFrom(...buckets),
    fill: fc.integer({ min: 0, max: 255 }),
    tag: fc.uint8Array({ minLength: 16, maxLength: 16 })
  }).map(({ life, bucket, fill, ...e }) => {
    const head = { ...e, exp: e.ts + life }
    const fixed = encodeEnvelope({ ...head, ct: new Uint8Array(0) }).length - 1
    return { ...head, ct: new Uint8Array(bucket - fixed - 3).fill(fill) }
  })
  const envArb = bucketedArb(ENVELOPE_BUCKETS)
  /** Envelopes of any size up to ~2 KB (all but the 1 KiB ones refused as BAD_LENGTH): for comparing the two decoders. */
  const unbucketedArb: fc.Arbitrary<PrivateEnvelope> = fc.record({
    topic: bytes32.map(privateTopic),
    epoch: fc.integer({ min: 0, max: MAX_EPOCH }),
    ts: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 0, max: Math.floor(2 ** 45 / U) }).map(m => m * U)),
    life: fc.oneof(fc.integer({ min: 1, max: MAX_TTL_MS }), fc.integer({ min: 1, max: MAX_TTL_MS / U }).map(m => m * U)),
    nonce: fc.uint8Array({ minLength: 24, maxLength: 24 }),
    ct: fc.uint8Array({ minLength: 16, maxLength: 2000 }),
    tag: fc.uint8Array({ minLength: 16, maxLength: 16 })
  }).map(({ life, ...e }) => ({ ...e, exp: e.ts + life }))

  it('decode(encode(envelope)) equals the envelope, and encode(decode(bytes)) the bytes', () => {
    fc.assert(fc.property(envArb, env => {
      const bytes = encodeEnvelope(env)
      expect(ENVELOPE_BUCKETS).toContain(bytes.length)
      const decoded = decodeEnvelope(bytes)
      expect({ ...decoded, ct: toHex(decoded.ct) }).toEqual({ ...env, ct: toHex(env.ct) })
      expect(equalBytes(encodeEnvelope(decoded), bytes)).toBe(true)
    }), { numRuns: runs(25) })
  })

  it('the fast decoder agrees with the generic strict decoder on valid, mutated and non-canonical bytes', () => {
    const spec: StructSpec = { domain: 'pl/env', version: 2, required: ['topic', 'epoch', 'ts', 'exp', 'nonce', 'ct', 'tag'], maxBytes: MAX_ENVELOPE_BYTES }
    const reference = (b: Uint8Array): PrivateEnvelope => {
      const f = decodeStruct(spec, b)
      const env = {
        topic: f.string('topic', 128), epoch: f.uint('epoch', MAX_EPOCH), ts: f.uint('ts'), exp: f.uint('exp'),
        nonce: f.bytes('nonce', { len: 24 }), ct: f.bytes('ct', { min: 16 }), tag: f.bytes('tag', { len: 16 })
      }
      if (!isPrivateTopic(env.topic)) fail('WRONG_TOPIC', 'topic')
      if (env.exp <= env.ts || env.exp - env.ts > MAX_TTL_MS) fail('OUT_OF_RANGE', 'lifetime')
      if (env.ts % U !== 0 || env.exp % U !== 0) fail('OUT_OF_RANGE', 'minutes')
      if (!ENVELOPE_BUCKETS.includes(b.length)) fail('BAD_LENGTH', 'bucket')
      return env
    }
    const outcome = (fn: () => PrivateEnvelope): string => {
      try {
        return JSON.stringify(fn(), (_, v: unknown) => v instanceof Uint8Array ? toHex(v) : v)
      } catch (err) {
        if (err instanceof PorchlightError) return err.code
        throw err
      }
    }
    // Mutations aimed at the heads: small deltas on single bytes, inserted and deleted bytes.
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('xor' as const), pos: fc.nat(), v: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('add' as const), pos: fc.nat(), v: fc.integer({ min: -2, max: 2 }) }),
      fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), v: fc.constant(0) })
    )
    // A valid envelope with one field just inside or beyond its bounds (encodeEnvelope encodes whatever it is given).
    const bytesOf = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max })
    const offField: fc.Arbitrary<Partial<PrivateEnvelope>> = fc.oneof(
      fc.constantFrom(areaTopic('u4pr'), '', 'x'.repeat(200), privateTopic(hoodId).replace('/n/', '/N/'), privateTopic(hoodId) + '0').map(topic => ({ topic })),
      fc.integer({ min: MAX_EPOCH - 1, max: 2 ** 40 }).map(epoch => ({ epoch })),
      fc.integer({ min: 0, max: 2 ** 53 - 1 }).map(exp => ({ exp })),
      fc.integer({ min: 0, max: 2 ** 53 - 1 }).map(ts => ({ ts })),
      bytesOf(0, 30).map(nonce => ({ nonce })),
      bytesOf(0, 20).map(ct => ({ ct })),
      bytesOf(0, 40).map(tag => ({ tag }))
    )
    const smallArb = fc.oneof(bucketedArb([ENVELOPE_BUCKETS[0]!]), unbucketedArb)
    const looseArb: fc.Arbitrary<PrivateEnvelope> = fc.tuple(smallArb, offField).map(([e, off]) => ({ ...e, ...off }))
    const widening = fc.record({ key: fc.constantFrom('t', 'v', 'ct', 'ts', 'exp', 'tag', 'epoch', 'nonce', 'topic'), extra: fc.integer({ min: 1, max: 4 }) })
    fc.assert(fc.property(fc.oneof(smallArb, looseArb), fc.array(mutation, { maxLength: 3 }), fc.option(widening), (env, ms, w) => {
      let b = encodeEnvelope(env)
      if (w !== null) b = widenHead(b, w.key, w.extra)
      for (const m of ms) {
        const p = m.pos % b.length
        if (m.kind === 'xor') { b = b.slice(); b[p]! ^= m.v } else if (m.kind === 'add') { b = b.slice(); b[p] = (b[p]! + m.v) & 0xff } else if (m.kind === 'insert') b = new Uint8Array([...b.subarray(0, p), m.v, ...b.subarray(p)])
        else b = new Uint8Array([...b.subarray(0, p), ...b.subarray(p + 1)])
      }
      expect(outcome(() => decodeEnvelope(b))).toBe(outcome(() => reference(b)))
    }), { numRuns: runs(750) })
  })

  it('decoded byte fields are copies, not views of the input', async () => {
    const { bytes } = await sealPost(alice, topic, k1, post)
    const env = decodeEnvelope(bytes)
    const before = toHex(encodeEnvelope(env))
    bytes.fill(0)
    expect(toHex(encodeEnvelope(env))).toBe(before)
  })

  it('envelopeHeader is exactly encodeStruct(\'pl/env-header\' v2, { topic, epoch, ts, exp, nonce })', () => {
    const spec = { domain: 'pl/env-header', version: 2, required: ['topic', 'epoch', 'ts', 'exp', 'nonce'], maxBytes: 256 }
    const int = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 2 ** 33 }),
      fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER))
    fc.assert(fc.property(bytes32, int, int, int, fc.uint8Array({ minLength: 24, maxLength: 24 }), (id, epoch, ts, exp, nonce) => {
      const fields = { topic: privateTopic(id), epoch, ts, exp, nonce }
      expect(toHex(envelopeHeader(fields))).toBe(toHex(encodeStruct(spec, fields)))
    }), { numRuns: runs(125) })
    const ok = { topic, epoch: 1, ts: 1, exp: 2, nonce: new Uint8Array(24) }
    for (const bad of [{ topic: 'x' }, { ts: -1 }, { exp: 1.5 }, { epoch: NaN }, { nonce: new Uint8Array(23) }]) {
      expect(() => envelopeHeader({ ...ok, ...bad })).toThrow(PorchlightError)
    }
  })

  it('refuses bad lifetimes, lengths, sizes and encodings with their codes', async () => {
    const { bytes } = await sealPost(alice, topic, k1, post)
    const env = decodeEnvelope(bytes)
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { exp: env.ts })))).toBe('OUT_OF_RANGE')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { exp: env.ts + MAX_TTL_MS + ENVELOPE_TIME_UNIT_MS })))).toBe('OUT_OF_RANGE')
    // Times that are not whole minutes, sizes that are not buckets.
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { exp: env.exp + 1 })))).toBe('OUT_OF_RANGE')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { ts: env.ts + 1000 })))).toBe('OUT_OF_RANGE')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { ct: env.ct.subarray(1) })))).toBe('BAD_LENGTH')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { ct: new Uint8Array([...env.ct, 0]) })))).toBe('BAD_LENGTH')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { ts: env.exp, exp: env.ts })))).toBe('OUT_OF_RANGE')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { nonce: new Uint8Array(12) })))).toBe('BAD_LENGTH')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { tag: new Uint8Array(32) })))).toBe('BAD_LENGTH')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { ct: new Uint8Array(15) })))).toBe('BAD_LENGTH')
    expect(await rejection(() => decodeEnvelope(reencode(bytes, { epoch: MAX_EPOCH + 1 })))).toBe('OUT_OF_RANGE')
    expect(await rejection(() => encodeEnvelope({ ...env, ct: new Uint8Array(MAX_ENVELOPE_BYTES) }))).toBe('TOO_LARGE')
    expect(await rejection(() => decodeEnvelope(new Uint8Array(MAX_ENVELOPE_BYTES + 1)))).toBe('TOO_LARGE')
    const fields = Object.fromEntries(decodeCbor(bytes) as Map<string, unknown>)
    expect(await rejection(() => decodeEnvelope(encodeCbor({ ...fields, extra: 1 } as never)))).toBe('EXTRA_FIELD')
    expect(await rejection(() => decodeEnvelope(encodeCbor({ ...fields, tag: undefined } as never)))).toBe('MISSING_FIELD')
    expect(await rejection(() => decodeEnvelope(encodeCbor({ ...fields, t: 'pl/env2' } as never)))).toBe('BAD_DOMAIN')
    expect(await rejection(() => decodeEnvelope(encodeCbor({ ...fields, v: 3 } as never)))).toBe('BAD_VERSION')
    // An envelope from before padding and whole minutes (v1) is refused by its version, with a message that says so.
    const v1 = encodeCbor({ ...fields, v: 1 } as never)
    expect(await rejection(() => decodeEnvelope(v1))).toBe('BAD_VERSION')
    expect(() => decodeEnvelope(v1)).toThrow(/older Porchlight/)
    // Epoch 1 (one byte, 0x01) written in the two-byte form 0x18 0x01: same value, non-canonical bytes.
    const i = indexOfBytes(bytes, [0x65, ...new TextEncoder().encode('epoch')]) + 6
    expect(bytes[i]).toBe(0x01)
    expect(await rejection(() => decodeEnvelope(new Uint8Array([...bytes.subarray(0, i), 0x18, 0x01, ...bytes.subarray(i + 1)])))).toBe('MALFORMED')
  })

  it('swapping fields within an envelope is refused', async () => {
    const { bytes } = await sealPost(alice, topic, k1, post)
    const env = decodeEnvelope(bytes)
    const swaps: Array<Partial<PrivateEnvelope>> = [
      { ts: env.exp, exp: env.ts },
      { ct: env.tag, tag: env.ct },
      { nonce: env.tag, tag: env.nonce },
      { nonce: env.ct.subarray(0, 24), ct: new Uint8Array([...env.nonce, ...env.ct.subarray(24)]) },
      { tag: env.ct.subarray(env.ct.length - 16), ct: new Uint8Array([...env.ct.subarray(0, env.ct.length - 16), ...env.tag]) }
    ]
    for (const change of swaps) {
      let mutated: Uint8Array
      try {
        mutated = reencode(bytes, change)
      } catch (err) {
        expect(err).toBeInstanceOf(PorchlightError)
        continue
      }
      expect(await rejection(() => openPost(mutated, both, NOW))).toMatch(/^[A-Z_]+$/)
    }
  })
})

describe('padding (inside the AEAD, so a relay sees only the bucket)', () => {
  const U = ENVELOPE_TIME_UNIT_MS
  /** A member's envelope around any plaintext it likes: the right keys, a valid tag, no padding rules applied. */
  function sealRaw (plaintext: Uint8Array, keys = k1): Uint8Array {
    const head = { topic, epoch: keys.epoch, ts: NOW, exp: NOW + U, nonce: randomBytes(24) }
    const header = envelopeHeader(head)
    const ct = aeadSeal(keys.contentKey, head.nonce, plaintext, header)
    const tag = membershipTag(keys.tagKey, new Uint8Array([...header, ...ct]))
    return encodeEnvelope({ ...head, ct, tag })
  }
  /** How many plaintext bytes a bucket holds (same header fields as sealRaw's). */
  const capacity = (bucket: number): number => {
    const probe = sealRaw(new Uint8Array(1000)) // any length with the same 3-byte ciphertext head
    return bucket - (probe.length - 1000)
  }
  const join = encodeStruct({ domain: 'pl/join', version: 1, required: ['x'], maxBytes: 100 }, { x: 1 })
  const padded = (inner: Uint8Array, length: number, edit?: (p: Uint8Array) => void): Uint8Array => {
    const p = new Uint8Array(length)
    p.set(inner)
    p[inner.length] = 0x80
    edit?.(p)
    return p
  }

  it('inner || 0x80 || zeros to the smallest bucket opens to the inner message; anything else is MALFORMED', async () => {
    const c1 = capacity(1024)
    const c2 = capacity(4096)
    expect(toHex(openEnvelope(decodeEnvelope(sealRaw(padded(join, c1))), k1))).toBe(toHex(join))
    const malformed = [
      padded(join, c1, p => { p[c1 - 1] = 1 }), // a non-zero byte in the padding
      padded(join, c1, p => { p[join.length] = 0x81 }), // another marker
      padded(join, c1, p => { p[join.length] = 0 }), // no marker: zeros only
      padded(new Uint8Array(0), c1), // nothing before the marker
      padded(join, c2) // a short message padded to 4 KiB: the 1 KiB bucket holds it
    ]
    for (const p of malformed) {
      const bytes = sealRaw(p)
      expect(ENVELOPE_BUCKETS).toContain(bytes.length) // relays take it: only members can tell
      expect(await rejection(() => openEnvelope(decodeEnvelope(bytes), k1))).toBe('MALFORMED')
    }
    // Just too big for 1 KiB: 4 KiB is the smallest bucket, so it opens.
    const big = new Uint8Array(c1).fill(7)
    expect(toHex(openEnvelope(decodeEnvelope(sealRaw(padded(big, c2))), k1))).toBe(toHex(big))
    // A post's padding is checked by openPost as well.
    const inner = await encodeSignedPost(alice, topic, post)
    const head = { topic, epoch: k1.epoch, ...envelopeTimes(post.created, post.expires), nonce: randomBytes(24) }
    const header = envelopeHeader(head)
    const ct = aeadSeal(k1.contentKey, head.nonce, padded(inner, c2), header)
    const overPadded = encodeEnvelope({ ...head, ct, tag: membershipTag(k1.tagKey, new Uint8Array([...header, ...ct])) })
    expect(await rejection(() => openPost(overPadded, both, NOW))).toBe('MALFORMED')
  })

  it('sealEnvelope writes the envelope directly: exactly the generic (cborg) encoding of its fields, with and without rc', () => {
    const spec = { t: 'pl/env', v: 2 }
    fc.assert(fc.property(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 0, max: MAX_EPOCH }), fc.integer({ min: 0, max: 2 ** 45 }),
      fc.option(bytes32, { nil: undefined }), (n, epoch, ts, rc) => {
        const keys = deriveEpochKeys(hoodId, epoch, secret1)
        const bytes = sealEnvelope(keys, topic, new Uint8Array(n).fill(n & 0xff), { ts, exp: ts + U, rc })
        const env = decodeEnvelope(bytes)
        expect(equalBytes(encodeCborGeneric({ ...spec, ...env }), bytes)).toBe(true)
        expect(equalBytes(encodeEnvelope(env), bytes)).toBe(true)
        expect(checkEnvelopeTag(env, keys.tagKey)).toBe(true)
        expect(toHex(env.tag)).toBe(toHex(membershipTag(keys.tagKey, new Uint8Array([...envelopeHeader(env), ...env.ct]))))
      }), { numRuns: runs(40) })
  })

  it('sealEnvelope picks the smallest bucket that holds the message, and openEnvelope gives it back', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 0, max: 255 }), (n, fill) => {
      const inner = new Uint8Array(n).fill(fill)
      const bytes = sealEnvelope(k1, topic, inner, { ts: NOW, exp: NOW + U })
      expect(ENVELOPE_BUCKETS).toContain(bytes.length)
      const i = ENVELOPE_BUCKETS.indexOf(bytes.length)
      if (i > 0) expect(n + 1).toBeGreaterThan(capacity(ENVELOPE_BUCKETS[i - 1]!))
      expect(equalBytes(openEnvelope(decodeEnvelope(bytes), k1), inner)).toBe(true)
    }), { numRuns: runs(20) })
    const largest = capacity(MAX_ENVELOPE_BYTES) - 1
    expect(sealEnvelope(k1, topic, new Uint8Array(largest).fill(1)).length).toBe(MAX_ENVELOPE_BYTES)
    expect(rejectionSyncCode(() => sealEnvelope(k1, topic, new Uint8Array(largest + 1).fill(1)))).toBe('TOO_LARGE')
  })
})

describe('membership tag (what relays check)', () => {
  it('checkEnvelopeTag: true under the epoch\'s tag key, false under any other', async () => {
    const { bytes } = await sealPost(alice, topic, k2, post)
    const env = decodeEnvelope(bytes)
    expect(checkEnvelopeTag(env, k2.tagKey)).toBe(true)
    expect(checkEnvelopeTag(env, k1.tagKey)).toBe(false)
    expect(checkEnvelopeTag(env, k2.contentKey)).toBe(false)
    expect(checkEnvelopeTag(env, deriveEpochKeys(otherHoodId, 2, secret2).tagKey)).toBe(false)
    fc.assert(fc.property(bytes32, key => { expect(checkEnvelopeTag(env, key)).toBe(false) }), { numRuns: runs(25) })
  })

  it('tag = HMAC-SHA256(tagKey, header || ct) truncated to 16 bytes', async () => {
    const { bytes } = await sealPost(alice, topic, k2, post)
    const env = decodeEnvelope(bytes)
    const header = encodeStruct({ domain: 'pl/env-header', version: 2, required: [], maxBytes: 256 },
      { topic: env.topic, epoch: env.epoch, ts: env.ts, exp: env.exp, nonce: env.nonce })
    const ref = createHmac('sha256', k2.tagKey).update(header).update(env.ct).digest().subarray(0, 16)
    expect(toHex(env.tag)).toBe(ref.toString('hex'))
  })

  it('BAD_TAG when a genuine ciphertext carries a wrong tag (a member cannot bypass relays)', async () => {
    const { bytes } = await sealPost(alice, topic, k2, post)
    const badTag = reencode(bytes, { tag: randomBytes(16) })
    expect(await rejection(() => openPost(badTag, both, NOW))).toBe('BAD_TAG')
    expect(await rejection(() => openEnvelope(decodeEnvelope(badTag), k2))).toBe('BAD_TAG')
    expect(checkEnvelopeTag(decodeEnvelope(badTag), k2.tagKey)).toBe(false)
  })

  it('checkEnvelopeTime: FUTURE_DATED beyond the skew, EXPIRED at exp', async () => {
    const env = decodeEnvelope((await sealPost(alice, topic, k2, post)).bytes)
    expect(() => { checkEnvelopeTime(env, NOW) }).not.toThrow()
    expect(await rejection(() => { checkEnvelopeTime(env, env.ts - MAX_CLOCK_SKEW_MS - 1) })).toBe('FUTURE_DATED')
    expect(await rejection(() => { checkEnvelopeTime(env, env.exp) })).toBe('EXPIRED')
  })
})

describe('every mutation is refused with PorchlightError', () => {
  const sealed: Uint8Array[] = []
  beforeAll(async () => {
    const posts = fc.sample(postArb, { numRuns: 4, seed: 42 }).map(p => ({ ...p, created: NOW, expires: NOW + (p.expires - p.created) }))
    for (const [i, p] of posts.entries()) sealed.push((await sealPost(i % 2 === 0 ? alice : bob, topic, i < 2 ? k1 : k2, p)).bytes)
    for (const b of sealed) expect((await openPost(b, both, NOW)).topic).toBe(topic)
  })
  const which = fc.integer({ min: 0, max: 3 })

  it('bit flips at random positions', async () => {
    await fc.assert(fc.asyncProperty(which, fc.nat(), fc.integer({ min: 0, max: 7 }), async (w, pos, bit) => {
      const b = flipBit(sealed[w]!, pos, bit)
      await rejection(() => openPost(b, both, NOW))
    }), { numRuns: runs(250) })
  })

  it('truncation', async () => {
    await fc.assert(fc.asyncProperty(which, fc.nat(), async (w, n) => {
      const b = sealed[w]!
      await rejection(() => openPost(b.subarray(0, n % b.length), both, NOW))
    }), { numRuns: runs(75) })
  })

  it('extension with random bytes', async () => {
    await fc.assert(fc.asyncProperty(which, fc.uint8Array({ minLength: 1, maxLength: 64 }), async (w, extra) => {
      await rejection(() => openPost(new Uint8Array([...sealed[w]!, ...extra]), both, NOW))
    }), { numRuns: runs(75) })
  })

  it('swapping the ciphertext with another envelope\'s', async () => {
    for (const a of sealed) {
      for (const b of sealed) {
        if (a === b) continue
        const code = await rejection(() => openPost(reencode(a, { ct: decodeEnvelope(b).ct }), both, NOW))
        expect(['BAD_TAG', 'DECRYPT_FAILED']).toContain(code)
      }
    }
  })

  it('swapping any set of fields with another envelope\'s', async () => {
    const names = ['topic', 'epoch', 'ts', 'exp', 'nonce', 'ct', 'tag'] as const
    await fc.assert(fc.asyncProperty(which, which, fc.subarray([...names], { minLength: 1 }), async (wa, wb, take) => {
      const a = sealed[wa]!
      const b = sealed[wb]!
      const from = decodeEnvelope(b)
      const change = Object.fromEntries(take.map(n => [n, from[n]])) as Partial<PrivateEnvelope>
      let mutated: Uint8Array
      try {
        mutated = reencode(a, change)
      } catch (err) {
        expect(err).toBeInstanceOf(PorchlightError)
        return
      }
      fc.pre(toHex(mutated) !== toHex(a) && toHex(mutated) !== toHex(b))
      await rejection(() => openPost(mutated, both, NOW))
    }), { numRuns: runs(75) })
  })

  it('random bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 1000 }), async b => {
      await rejection(() => openPost(b, both, NOW))
    }), { numRuns: runs(75) })
  })
})

describe('keys and signatures (properties)', () => {
  it('a non-member key never decrypts', async () => {
    const { bytes } = await sealPost(alice, topic, k2, post)
    await fc.assert(fc.asyncProperty(bytes32, bytes32, async (id, s) => {
      const keys = deriveEpochKeys(id, 2, s)
      expect(await rejection(() => openPost(bytes, () => keys, NOW))).toBe('DECRYPT_FAILED')
    }), { numRuns: runs(25) })
  })

  it('an old-epoch key never decrypts a later epoch\'s post', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: MAX_EPOCH - 1 }), bytes32, bytes32, async (e, oldSecret, newSecret) => {
      const older = deriveEpochKeys(hoodId, e, oldSecret)
      const newer = deriveEpochKeys(hoodId, e + 1, newSecret)
      const { bytes } = await sealPost(alice, topic, newer, post)
      expect(await rejection(() => openPost(bytes, keyring(older), NOW))).toBe('UNKNOWN_EPOCH')
      expect(await rejection(() => openPost(bytes, () => older, NOW))).toBe('DECRYPT_FAILED')
      const relabeled = deriveEpochKeys(hoodId, e + 1, oldSecret)
      expect(await rejection(() => openPost(bytes, () => relabeled, NOW))).toBe('DECRYPT_FAILED')
    }), { numRuns: runs(20) })
  })

  it('a signature by another key never verifies', async () => {
    await fc.assert(fc.asyncProperty(bytes32, bytes32, postArb, async (seedA, seedB, p) => {
      fc.pre(toHex(seedA) !== toHex(seedB))
      const claimed = await createIdentity('Claimed', { seed: seedA, boxSecret: seedA })
      const signer = await createIdentity('Claimed', { seed: seedB, boxSecret: seedB })
      const forged = await signedInner(signer, body(p, claimed))
      expect(await rejection(() => openPost(sealInner(forged, p, k1), both, p.created))).toBe('BAD_SIGNATURE')
      const relabeled = editInner(await encodeSignedPost(signer, topic, p), { author: claimed.public.signKey }, { author: claimed.public.signKey })
      expect(await rejection(() => openPost(sealInner(relabeled, p, k1), both, p.created))).toBe('BAD_SIGNATURE')
    }), { numRuns: runs(20) })
  })
})

describe('crypto providers: noble and WebCrypto agree byte for byte', () => {
  const web = webCryptoProvider(globalThis.crypto.subtle)
  let original: CryptoProvider
  beforeAll(async () => { original = await getCrypto() })
  afterAll(() => { setCrypto(original) })

  async function sealWith (provider: CryptoProvider, seed: Uint8Array, p: Post, nonce: Uint8Array): Promise<Uint8Array> {
    setCrypto(provider)
    const id = await createIdentity('Dana', { seed, boxSecret: seed })
    return (await sealPost(id, topic, k1, p, { nonce })).bytes
  }

  async function openWith (provider: CryptoProvider, bytes: Uint8Array, now: number): Promise<Post> {
    setCrypto(provider)
    return (await openPost(bytes, both, now)).post
  }

  it('identical envelopes for the same inputs and nonce; each opens the other\'s', async () => {
    await fc.assert(fc.asyncProperty(bytes32, postArb, fc.uint8Array({ minLength: 24, maxLength: 24 }), async (seed, p, nonce) => {
      const a = await sealWith(nobleProvider, seed, p, nonce)
      const b = await sealWith(web, seed, p, nonce)
      expect(toHex(b)).toBe(toHex(a))
      expect(await openWith(web, a, p.created)).toEqual(p)
      expect(await openWith(nobleProvider, b, p.created)).toEqual(p)
    }), { numRuns: runs(20) })
  })

  it('both refuse a forged signature', async () => {
    const bytes = sealInner(await signedInner(bob, body(post, alice)), post, k1)
    for (const provider of [nobleProvider, web]) {
      setCrypto(provider)
      expect(await rejection(() => openPost(bytes, both, NOW))).toBe('BAD_SIGNATURE')
    }
  })
})

describe('test vectors (test/vectors/envelope.json)', () => {
  const file = readFileSync(ENVELOPE_VECTORS_PATH, 'utf8')
  const committed = JSON.parse(file) as VectorFile<EnvelopeVector>

  it('reproduce exactly from their fixed seeds, secrets and nonces', async () => {
    expect(committed.vectors.length).toBeGreaterThanOrEqual(3)
    expect(vectorJson(await buildEnvelopeVectors())).toBe(file)
  })

  for (const v of committed.vectors) {
    describe(v.name, () => {
      const keys = deriveEpochKeys(fromHex(v.hood.id), v.hood.epoch, fromHex(v.hood.secret))
      const bytes = fromHex(v.expected.envelope)

      it('open to the vector post, under both providers', async () => {
        for (const provider of [nobleProvider, webCryptoProvider(globalThis.crypto.subtle)]) {
          setCrypto(provider)
          const id = await identityFromHex(v.identity)
          const opened = await openPost(bytes, e => e === v.hood.epoch ? keys : undefined, v.now)
          expect(opened.post).toEqual(postFromHex(v.post))
          expect(toHex(opened.author)).toBe(v.expected.signKey)
          expect(toHex(id.public.signKey)).toBe(v.expected.signKey)
          expect(opened.authorName).toBe(v.identity.name)
          expect(toHex(opened.id)).toBe(v.expected.id)
          expect(opened.topic).toBe(v.expected.topic)
        }
      })

      it('check independently: keys, tag (HMAC), signature (node:crypto Ed25519), AEAD, id', () => {
        expect(privateTopic(fromHex(v.hood.id))).toBe(v.expected.topic)
        expect(toHex(keys.contentKey)).toBe(v.expected.contentKey)
        expect(toHex(keys.tagKey)).toBe(v.expected.tagKey)
        const env = decodeEnvelope(bytes)
        expect(toHex(env.nonce)).toBe(v.nonce)
        const header = fromHex(v.expected.header)
        const tag = createHmac('sha256', fromHex(v.expected.tagKey)).update(header).update(env.ct).digest().subarray(0, 16)
        expect(toHex(env.tag)).toBe(tag.toString('hex'))
        expect(ENVELOPE_BUCKETS).toContain(bytes.length)
        expect([env.ts, env.exp]).toEqual([v.expected.ts, v.expected.exp])
        expect([env.ts % ENVELOPE_TIME_UNIT_MS, env.exp % ENVELOPE_TIME_UNIT_MS]).toEqual([0, 0])
        const padded = aeadOpen(fromHex(v.expected.contentKey), env.nonce, env.ct, header)
        // The signed post, 0x80, then zeros to the end of the bucket.
        let end = padded.length - 1
        while (padded[end] === 0) end--
        expect(padded[end]).toBe(0x80)
        const inner = padded.subarray(0, end)
        const signedPost = decodeCbor(inner) as Map<string, unknown>
        expect(toHex(signedPost.get('post') as Uint8Array)).toBe(v.expected.signed)
        expect(toHex(signedPost.get('author') as Uint8Array)).toBe(v.expected.signKey)
        const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(v.expected.signKey, 'hex')])
        const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' })
        expect(nodeVerify(null, fromHex(v.expected.signed), pub, signedPost.get('sig') as Uint8Array)).toBe(true)
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(v.expected.id)
      })

      it('fail with every single byte flipped', async () => {
        setCrypto(nobleProvider)
        for (const [, b] of flips(bytes)) {
          await rejection(() => openPost(b, () => keys, v.now))
        }
      })
    })
  }
})
