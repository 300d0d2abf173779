// Retractions (protocol/retract.ts, issue 11): the commitment, the 'pl/retract' codec (strict,
// canonical, bounded), what verifies a reveal, the commitment carried by envelopes and public
// posts (authenticated there, optional so older messages stay valid), the message store's
// tombstone index and bound, and what a relay's intake does with retractions and retracted posts.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { applyEdits, byteEdits, flips, freshEpochKeys, rejection, rejectionSync, testHood } from '../helpers/protocol-fixtures.ts'
import { MemoryBackend } from '../helpers/memory-runtime.ts'
import {
  commitmentOf, decodeRetraction, encodeRetraction, MAX_RETRACTION_BYTES, openRetraction, retractCommitment, retractedBy, retractSecret,
  type Retraction, verifyRetraction
} from '../../protocol/retract.ts'
import { concatBytes, decodeCbor, decodeStruct, encodeCbor, encodeStruct, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { randomBytes, sha256 } from '../../protocol/crypto.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { areaTopic, privateTopic } from '../../protocol/neighborhood.ts'
import { createPost, MAX_TTL_MS } from '../../protocol/post.ts'
import { decodeEnvelope, encodeEnvelope, envelopeHeader, openPost, sealPost } from '../../protocol/envelope.ts'
import { openPublicPost, sealPublicPostAs } from '../../protocol/public-post.ts'
import { checkTombstone, ServedTopics, validateMessage } from '../../protocol/peer/intake.ts'
import { MessageStore } from '../../protocol/peer/message-store.ts'
import { PorchlightError } from '../../protocol/errors.ts'

const NOW = 1_764_000_000_000
const MINUTE = 60_000
const admin = await createIdentity('Ada')
const hood = testHood(admin)
const topic = privateTopic(hood.id)
const keys = freshEpochKeys(hood, 0)
const AREA = 'u4pruy'
const area = areaTopic(AREA)
const post = createPost({ kind: 'safety', text: 'Gas smell on Oak', location: 'u4pruyd', now: NOW })
const signer = { seed: randomBytes(32), publicKey: new Uint8Array(32) }
signer.publicKey = (await import('@noble/curves/ed25519.js')).ed25519.getPublicKey(signer.seed)

const RETRACT_SPEC = { domain: 'pl/retract', version: 1, required: ['topic', 'post', 'ts', 'exp', 'secret'], maxBytes: 320 }
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const retractionArb: fc.Arbitrary<Retraction> = fc.record({
  topic: fc.oneof(bytes32.map(privateTopic), fc.constantFrom('u', 'u4', 'u4pruy', 'ezs42').map(areaTopic)),
  post: bytes32,
  ts: fc.integer({ min: 0, max: 2 ** 45 }),
  life: fc.integer({ min: 1, max: MAX_TTL_MS }),
  secret: bytes32
}).map(({ life, ...r }) => ({ ...r, exp: r.ts + life }))

describe('the commitment', () => {
  it('is SHA-256 of a NUL-terminated domain and the secret, fresh per secret', () => {
    const s = retractSecret()
    expect(s.length).toBe(32)
    expect(retractCommitment(s)).toEqual(sha256(concatBytes(utf8Bytes('porchlight/retract/v1\u0000'), s)))
    expect(retractCommitment(s)).not.toEqual(sha256(s))
    expect(retractSecret()).not.toEqual(s)
    for (const bad of [new Uint8Array(31), new Uint8Array(33), 'x' as unknown as Uint8Array]) {
      expect(rejectionSync(() => retractCommitment(bad))).toBe('BAD_ARGUMENT')
    }
  })
})

describe("'pl/retract' v1", () => {
  it('round trips, is exactly encodeStruct of its fields, and is small', () => {
    fc.assert(fc.property(retractionArb, r => {
      const bytes = encodeRetraction(r)
      expect(bytes).toEqual(encodeStruct(RETRACT_SPEC, { ...r }))
      expect(bytes.length).toBeLessThanOrEqual(MAX_RETRACTION_BYTES)
      expect(decodeRetraction(bytes)).toEqual(r)
      expect(retractedBy(bytes)).toEqual(r.post)
    }), { numRuns: runs(200) })
  })

  it('decodes strictly: any edit either refuses with a PorchlightError or is another canonical retraction', () => {
    fc.assert(fc.property(retractionArb, byteEdits(), (r, edits) => {
      const edited = applyEdits(encodeRetraction(r), edits)
      let d: Retraction
      try { d = decodeRetraction(edited) } catch (err) { expect(err).toBeInstanceOf(PorchlightError); expect(retractedBy(edited)).toBeUndefined(); return }
      expect(encodeRetraction(d)).toEqual(edited)
    }), { numRuns: runs(300) })
  })

  it('refuses extra and missing fields, wrong sizes, other topics, bad lifetimes, other versions', () => {
    const ok = { topic, post: randomBytes(32), ts: NOW, exp: NOW + MINUTE, secret: randomBytes(32) }
    const enc = (f: Record<string, unknown>, spec = RETRACT_SPEC): Uint8Array => encodeStruct({ ...spec, required: [], optional: Object.keys(f) }, f as never)
    expect(rejectionSync(() => decodeRetraction(enc({ ...ok, extra: 1 })))).toBe('EXTRA_FIELD')
    expect(rejectionSync(() => decodeRetraction(enc({ ...ok, secret: undefined })))).toBe('MISSING_FIELD')
    expect(rejectionSync(() => decodeRetraction(enc({ ...ok, secret: randomBytes(31) })))).toBe('BAD_LENGTH')
    expect(rejectionSync(() => decodeRetraction(enc({ ...ok, post: randomBytes(33) })))).toBe('BAD_LENGTH')
    expect(rejectionSync(() => decodeRetraction(enc({ ...ok, topic: '/porchlight/1/other' })))).toBe('WRONG_TOPIC')
    expect(rejectionSync(() => decodeRetraction(enc({ ...ok, exp: ok.ts })))).toBe('OUT_OF_RANGE')
    expect(rejectionSync(() => decodeRetraction(enc({ ...ok, exp: ok.ts + MAX_TTL_MS + 1 })))).toBe('OUT_OF_RANGE')
    expect(rejectionSync(() => decodeRetraction(enc(ok, { ...RETRACT_SPEC, version: 2 })))).toBe('BAD_VERSION')
    expect(rejectionSync(() => decodeRetraction(enc(ok, { ...RETRACT_SPEC, domain: 'pl/env' })))).toBe('BAD_DOMAIN')
    expect(rejectionSync(() => decodeRetraction(new Uint8Array(MAX_RETRACTION_BYTES + 1)))).toBe('TOO_LARGE')
    expect(rejectionSync(() => openRetraction(encodeRetraction(ok), ok.exp))).toBe('EXPIRED')
    expect(rejectionSync(() => openRetraction(encodeRetraction({ ...ok, ts: NOW + 10 * MINUTE, exp: NOW + 20 * MINUTE }), NOW))).toBe('FUTURE_DATED')
  })

  it('verifies only the right secret for the right post, times and topic', () => {
    const secret = retractSecret()
    const target = { topic, id: randomBytes(32), ts: NOW, exp: NOW + MINUTE, commitment: retractCommitment(secret) }
    const r = { topic, post: target.id, ts: target.ts, exp: target.exp, secret }
    expect(() => { verifyRetraction(r, target) }).not.toThrow()
    expect(rejectionSync(() => { verifyRetraction({ ...r, secret: retractSecret() }, target) })).toBe('BAD_SECRET')
    expect(rejectionSync(() => { verifyRetraction({ ...r, secret: target.commitment }, target) })).toBe('BAD_SECRET') // the commitment is no secret
    expect(rejectionSync(() => { verifyRetraction({ ...r, topic: area }, target) })).toBe('WRONG_TOPIC')
    expect(rejectionSync(() => { verifyRetraction({ ...r, post: randomBytes(32) }, target) })).toBe('NOT_FOUND')
    expect(rejectionSync(() => { verifyRetraction({ ...r, exp: r.exp + MINUTE }, target) })).toBe('OUT_OF_RANGE')
    expect(rejectionSync(() => { verifyRetraction(r, { ...target, commitment: undefined }) })).toBe('UNSUPPORTED')
  })
})

describe('the commitment in an envelope', () => {
  it('is carried in the clear, authenticated, and read back by the fast and the generic decoders alike', async () => {
    const rc = retractCommitment(retractSecret())
    const { bytes } = await sealPost(admin, topic, keys, post, { rc })
    const env = decodeEnvelope(bytes)
    expect(env.rc).toEqual(rc)
    expect(commitmentOf(bytes)).toEqual(rc)
    expect(encodeEnvelope(env)).toEqual(bytes)
    const generic = decodeStruct({ domain: 'pl/env', version: 2, required: ['topic', 'epoch', 'ts', 'exp', 'nonce', 'ct', 'tag'], optional: ['rc'], maxBytes: 65536 }, bytes)
    expect(generic.bytes('rc', { len: 32 })).toEqual(rc)
    expect(envelopeHeader(env)).toEqual(encodeStruct({ domain: 'pl/env-header', version: 2, required: ['topic', 'epoch', 'ts', 'exp', 'nonce', 'rc'], maxBytes: 512 },
      { topic: env.topic, epoch: env.epoch, ts: env.ts, exp: env.exp, nonce: env.nonce, rc }))
    expect((await openPost(bytes, () => keys, NOW)).post).toEqual(post)
    // Nobody can swap or strip it: the AEAD (and the membership tag) cover it.
    expect(await rejection(() => openPost(encodeEnvelope({ ...env, rc: retractCommitment(retractSecret()) }), () => keys, NOW))).toBe('DECRYPT_FAILED')
    // Stripped, the envelope is no bucket's size any more; were it padded back, the AEAD would refuse it.
    expect(await rejection(() => openPost(encodeEnvelope({ ...env, rc: undefined }), () => keys, NOW))).toBe('BAD_LENGTH')
    // Without one the envelope is as before (and cannot be retracted).
    const plain = await sealPost(admin, topic, keys, post)
    expect(decodeEnvelope(plain.bytes).rc).toBeUndefined()
    expect(commitmentOf(plain.bytes)).toBeUndefined()
  })

  it('every bit flip of an envelope with a commitment is refused or decodes to the same canonical bytes', async () => {
    const { bytes } = await sealPost(admin, topic, keys, post, { rc: retractCommitment(retractSecret()) })
    const head = bytes.subarray(0, 160)
    for (const [, flipped] of flips(head)) {
      const b = concatBytes(flipped, bytes.subarray(160))
      try { expect(encodeEnvelope(decodeEnvelope(b))).toEqual(b) } catch (err) { expect(err).toBeInstanceOf(PorchlightError) }
    }
  })
})

describe('the commitment in a public post', () => {
  it('is signed and under the proof of work; read without the clock', async () => {
    const rc = retractCommitment(retractSecret())
    const { bytes } = await sealPublicPostAs(signer, AREA, post, undefined, { powBits: 0, rc })
    expect((await openPublicPost(bytes, NOW, 0)).rc).toEqual(rc)
    expect(commitmentOf(bytes)).toEqual(rc)
    // Someone re-issuing the post with a commitment of their own (or none): the signature covers it.
    const toPlain = (v: unknown): unknown => v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, toPlain(x)])) : v
    const fields = toPlain(decodeCbor(bytes)) as Record<string, unknown>
    for (const rc of [retractCommitment(retractSecret()), undefined]) {
      expect(await rejection(() => openPublicPost(encodeCbor({ ...fields, rc } as never), NOW, 0))).toBe('BAD_SIGNATURE')
    }
    const without = await sealPublicPostAs(signer, AREA, post, undefined, { powBits: 0 })
    expect((await openPublicPost(without.bytes, NOW, 0)).rc).toBeUndefined()
    expect(commitmentOf(without.bytes)).toBeUndefined()
  })
})

describe('tombstones in a message store', () => {
  const tombstone = (t: string, id: Uint8Array): { topic: string, id: Uint8Array, ts: number, exp: number, bytes: Uint8Array } => {
    const bytes = encodeRetraction({ topic: t, post: id, ts: NOW, exp: NOW + MINUTE, secret: retractSecret() })
    return { topic: t, id: sha256(bytes), ts: NOW, exp: NOW + MINUTE, bytes }
  }

  it('are indexed by the post they name, bounded per topic, and found again after a reopen', async () => {
    const backend = new MemoryBackend()
    const store = await MessageStore.open(backend, { maxTombstonesPerTopic: 2 })
    const posts = [randomBytes(32), randomBytes(32), randomBytes(32)]
    const [a, b, c] = posts.map(p => tombstone(topic, p))
    expect(await store.put(a!)).toBe(true)
    expect(await store.put(b!)).toBe(true)
    expect(await rejection(() => store.put(c!))).toBe('OVER_QUOTA')
    expect(await store.put(tombstone(area, posts[2]!))).toBe(true) // another topic has its own bound
    expect(store.tombstones(topic)).toBe(2)
    expect(toHex(store.tombstoneFor(posts[0]!)!)).toBe(toHex(a!.id))
    expect(store.tombstoneFor(randomBytes(32))).toBeUndefined()
    await store.delete(a!.id)
    expect(store.tombstoneFor(posts[0]!)).toBeUndefined()
    expect(store.tombstones(topic)).toBe(1)
    const reopened = await MessageStore.open(backend, { maxTombstonesPerTopic: 2 })
    expect(reopened.tombstones(topic)).toBe(1)
    expect(toHex(reopened.tombstoneFor(posts[1]!)!)).toBe(toHex(b!.id))
    expect(await reopened.sweep(NOW + MINUTE)).toHaveLength(2)
    expect(reopened.tombstones(topic)).toBe(0)
  })
})

describe("a relay's intake", () => {
  const served = (): ServedTopics => {
    const s = new ServedTopics()
    s.addHood(topic, hood.founder, hood.salt)
    s.addPrivate(topic, 0, keys.tagKey, NOW - 60 * MINUTE)
    s.addArea(AREA)
    return s
  }

  it('retracts a stored post only with its secret; refuses unknown posts unless history; refuses a retracted post again', async () => {
    const store = await MessageStore.open(new MemoryBackend())
    const secret = retractSecret()
    const sealed = await sealPost(admin, topic, keys, post, { rc: retractCommitment(secret) })
    const v = await validateMessage(topic, sealed.bytes, served(), NOW, sealed.id, { store })
    await store.put(v.message)
    const env = decodeEnvelope(sealed.bytes)
    const retraction = (s: Uint8Array): Uint8Array => encodeRetraction({ topic, post: sealed.id, ts: env.ts, exp: env.exp, secret: s })

    expect(await rejection(() => validateMessage(topic, retraction(retractSecret()), served(), NOW, undefined, { store }))).toBe('BAD_SECRET')
    expect(await rejection(() => validateMessage(topic, retraction(secret), served(), NOW))).toBe('NOT_FOUND') // no store: nothing to check against
    expect(await rejection(() => validateMessage(area, retraction(secret), served(), NOW, undefined, { store }))).toBe('WRONG_TOPIC')
    const ok = await validateMessage(topic, retraction(secret), served(), NOW, undefined, { store })
    expect(ok.retracts).toEqual(sealed.id)
    expect(ok.message).toMatchObject({ topic, ts: env.ts, exp: env.exp })

    const unknown = encodeRetraction({ topic, post: randomBytes(32), ts: env.ts, exp: env.exp, secret })
    expect(await rejection(() => validateMessage(topic, unknown, served(), NOW, undefined, { store }))).toBe('NOT_FOUND')
    expect((await validateMessage(topic, unknown, served(), NOW, undefined, { store, history: true })).retracts).toBeUndefined()

    await store.put(ok.message)
    await store.delete(sealed.id)
    expect(await rejection(() => validateMessage(topic, sealed.bytes, served(), NOW, sealed.id, { store }))).toBe('RETRACTED')
  })

  it('a tombstone that does not match the post arriving is junk: the post is taken and the tombstone named for deletion', async () => {
    const store = await MessageStore.open(new MemoryBackend())
    const rc = retractCommitment(retractSecret())
    const pub = await sealPublicPostAs(signer, AREA, post, undefined, { powBits: 0, rc })
    const junk = encodeRetraction({ topic: area, post: pub.id, ts: post.created, exp: post.expires, secret: retractSecret() })
    await store.put({ topic: area, id: sha256(junk), ts: post.created, exp: post.expires, bytes: junk })
    const msg = { topic: area, id: pub.id, ts: post.created, exp: post.expires, bytes: pub.bytes }
    expect(await checkTombstone(store, msg)).toEqual(sha256(junk))
  })
})
