import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { nobleProvider, setCrypto, webCryptoProvider } from '../../protocol/crypto.ts'
import { decodeCbor, encodeCbor, encodeStruct, fromHex, type StructSpec, toHex } from '../../protocol/encoding.ts'
import { areaKey, createIdentity, type Identity } from '../../protocol/identity.ts'
import { areaTopic } from '../../protocol/neighborhood.ts'
import { createPost, MAX_CLOCK_SKEW_MS, type Post, postFields } from '../../protocol/post.ts'
import { MAX_PUBLIC_POST_BYTES, openPublicPost, PUBLIC_POST_POW_BITS, sealPublicPost, sealPublicPostAs } from '../../protocol/public-post.ts'
import { leadingZeroBits, mineProofSync, proofBits } from '../../protocol/pow.ts'
import {
  buildPublicPostVectors, geohashArb, identityFromHex, postArb, postFromHex, PUBLIC_POST_VECTORS_PATH, type PublicVector,
  type VectorFile, vectorJson
} from '../vectors/generate-posts.ts'
import { flipBit, flips, rejection } from '../helpers/protocol-fixtures.ts'

const NOW = 1_764_000_000_000
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const PUBLIC_TBS: StructSpec = { domain: 'pl/public-post-body', version: 1, required: [], maxBytes: MAX_PUBLIC_POST_BYTES }
let alice: Identity
const post = createPost({ kind: 'suspicious', text: 'someone trying car doors', location: 'u4pruyd', now: NOW })

beforeAll(async () => { alice = await createIdentity('Alice Example') })

/** Re-encodes a public post with fields replaced, keeping its signature. */
function edit (bytes: Uint8Array, change: Record<string, unknown>): Uint8Array {
  const toPlain = (v: unknown): unknown => v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, toPlain(x)])) : Array.isArray(v) ? v.map(toPlain) : v
  return encodeCbor({ ...(toPlain(decodeCbor(bytes)) as Record<string, unknown>), ...change } as never)
}

/** A correctly signed public post, with a proof of `bits`, whose fields the test chooses (to reach checks behind the signature). */
async function signedRaw (seed: Uint8Array, pk: Uint8Array, p: Post, area: string, name?: string, bits = PUBLIC_POST_POW_BITS): Promise<Uint8Array> {
  const body = encodeStruct(PUBLIC_TBS, { ...postFields(p), area, pk, name })
  const sig = await nobleProvider.ed25519Sign(seed, body)
  const pow = mineProofSync(new Uint8Array(createHash('sha256').update(body).update(sig).digest()), bits)
  return encodeCbor({ t: 'pl/public-post', v: 2, post: postFields(p), area, pk, name, sig, pow } as never)
}

describe('sealPublicPost / openPublicPost', () => {
  it('round trip: post, area, topic, pseudonym = areaKey(author, area), id = SHA-256(bytes), no name', async () => {
    const { bytes, id } = await sealPublicPost(alice, 'u4pru', post)
    const opened = await openPublicPost(bytes, NOW)
    expect(opened).toEqual({ id, area: 'u4pru', topic: areaTopic('u4pru'), post, pseudonym: (await areaKey(alice, 'u4pru')).publicKey })
    expect('name' in opened).toBe(false)
    expect(toHex(id)).toBe(createHash('sha256').update(bytes).digest('hex'))
  })

  it('carries the name only when the author opts in', async () => {
    const shown = await openPublicPost((await sealPublicPost(alice, 'u4pru', post, { showName: true })).bytes, NOW)
    expect(shown.name).toBe('Alice Example')
    const hidden = await openPublicPost((await sealPublicPost(alice, 'u4pru', post, { showName: false })).bytes, NOW)
    expect(hidden.name).toBeUndefined()
  })

  it('decode(encode(x)) equals x, for random valid posts, areas and name choices', async () => {
    await fc.assert(fc.asyncProperty(postArb, fc.boolean(), geohashArb(1, 6), async (p, showName, someArea) => {
      const area = p.location?.slice(0, Math.min(6, p.location.length)) ?? someArea
      const { bytes, id } = await sealPublicPost(alice, area, p, { showName })
      const opened = await openPublicPost(bytes, p.created)
      expect(opened.post).toEqual(p)
      expect(opened.area).toBe(area)
      expect(opened.id).toEqual(id)
      expect(opened.name).toBe(showName ? 'Alice Example' : undefined)
    }), { numRuns: runs(20) })
  })

  it('sealPublicPostAs signs with the given key (agencies sign RFAs with their identity key)', async () => {
    const agency = await createIdentity('Fire Dept')
    const rfa = createPost({ kind: 'rfa', text: 'footage of Pine St wanted', now: NOW })
    const { bytes } = await sealPublicPostAs({ seed: agency.seed, publicKey: agency.public.signKey }, '9q8y', rfa, 'Fire Dept')
    const opened = await openPublicPost(bytes, NOW)
    expect(opened.pseudonym).toEqual(agency.public.signKey)
    expect(opened.name).toBe('Fire Dept')
    expect(await rejection(() => sealPublicPostAs({ seed: agency.seed, publicKey: agency.public.signKey }, '9q8y', rfa, ' padded '))).toBe('BAD_ARGUMENT')
  })

  it('BAD_GEOHASH for a bad area or a location outside the area, when sealing and when opening', async () => {
    for (const area of ['', 'a', 'u4pruyd', 'U4PR']) expect(await rejection(() => sealPublicPost(alice, area, post))).toBe('BAD_GEOHASH')
    expect(await rejection(() => sealPublicPost(alice, 'dr5r', post))).toBe('BAD_GEOHASH')
    expect(await rejection(() => sealPublicPost(alice, 'u4pruy', { ...post, location: 'u4pr' }))).toBe('BAD_GEOHASH')
    const key = await areaKey(alice, 'dr5r')
    expect(await rejection(async () => openPublicPost(await signedRaw(key.seed, key.publicKey, post, 'dr5r'), NOW))).toBe('BAD_GEOHASH')
    expect(await rejection(async () => openPublicPost(await signedRaw(key.seed, key.publicKey, post, 'u4pruyd'), NOW))).toBe('BAD_GEOHASH')
    const { bytes } = await sealPublicPost(alice, 'u4pru', post)
    expect(await rejection(() => openPublicPost(edit(bytes, { area: 'dr5r' }), NOW))).toBe('BAD_GEOHASH')
  })

  it('a pseudonym made for another area is refused (the area is signed)', async () => {
    // Alice's post in u4pr relabeled as belonging to u4 (its location still inside).
    const { bytes } = await sealPublicPost(alice, 'u4pr', post)
    // The proof pays for the signed body: an edit spoils it (checked first, one hash) ...
    expect(['WEAK_PROOF', 'BAD_SIGNATURE']).toContain(await rejection(() => openPublicPost(edit(bytes, { area: 'u4' }), NOW)))
    // ... and without the proof check the signature still refuses it.
    expect(await rejection(() => openPublicPost(edit(bytes, { area: 'u4' }), NOW, 0))).toBe('BAD_SIGNATURE')
    await fc.assert(fc.asyncProperty(bytes32, geohashArb(1, 6), geohashArb(1, 6), async (seed, a, b) => {
      fc.pre(a !== b)
      const id = await createIdentity('X', { seed, boxSecret: seed })
      const p = createPost({ kind: 'info', text: 'hello', now: NOW })
      const inB = await sealPublicPost(id, b, p)
      expect(await rejection(() => openPublicPost(edit(inB.bytes, { area: a }), NOW, 0))).toBe('BAD_SIGNATURE')
      const pseudonymB = (await openPublicPost(inB.bytes, NOW)).pseudonym
      expect(toHex(pseudonymB)).not.toBe(toHex((await areaKey(id, a)).publicKey))
    }), { numRuns: runs(20) })
  })

  it('BAD_SIGNATURE for any change to the signed content, name or key', async () => {
    const { bytes } = await sealPublicPost(alice, 'u4pru', post)
    const shown = (await sealPublicPost(alice, 'u4pru', post, { showName: true })).bytes
    const other = await createIdentity('Mallory')
    const changes: Array<[Uint8Array, Record<string, unknown>]> = [
      [bytes, { post: { ...postFields(post), text: 'all clear' } }],
      [bytes, { post: { ...postFields(post), kind: 'crime' } }],
      [bytes, { post: { ...postFields(post), expires: post.expires + 1 } }],
      [bytes, { name: 'Alice Example' }],
      [shown, { name: 'Officer Alice' }],
      [shown, { name: undefined }],
      [bytes, { pk: other.public.signKey }],
      [bytes, { pk: alice.public.signKey }]
    ]
    // minPowBits 0: what is tested here is the signature (the proof, paid for the original, fails first otherwise).
    for (const [b, change] of changes) expect(await rejection(() => openPublicPost(edit(b, change), NOW, 0))).toBe('BAD_SIGNATURE')
  })

  it('a signature by another key never verifies', async () => {
    await fc.assert(fc.asyncProperty(bytes32, bytes32, postArb, async (seedA, seedB, p) => {
      fc.pre(toHex(seedA) !== toHex(seedB))
      const a = await nobleProvider.ed25519PublicKey(seedA)
      const raw = await signedRaw(seedB, a, p, p.location?.slice(0, 1) ?? 'u', undefined, 0)
      expect(await rejection(() => openPublicPost(raw, p.created, 0))).toBe('BAD_SIGNATURE')
    }), { numRuns: runs(20) })
  })

  it('applies the clock: EXPIRED, FUTURE_DATED', async () => {
    const { bytes } = await sealPublicPost(alice, 'u4pru', post)
    expect(await rejection(() => openPublicPost(bytes, post.expires))).toBe('EXPIRED')
    expect(await rejection(() => openPublicPost(bytes, post.created - MAX_CLOCK_SKEW_MS - 1))).toBe('FUTURE_DATED')
  })

  it('refuses invalid posts when sealing, and structural faults when opening', async () => {
    expect(await rejection(() => sealPublicPost(alice, 'u4pru', { ...post, text: 'x'.repeat(2001) }))).toBe('TOO_LARGE')
    expect(await rejection(() => sealPublicPost(alice, 'u4pru', { ...post, media: Array(5).fill(undefined) }))).toBe('TOO_LARGE')
    const { bytes } = await sealPublicPost(alice, 'u4pru', post)
    expect(await rejection(() => openPublicPost(edit(bytes, { extra: 1 }), NOW))).toBe('EXTRA_FIELD')
    expect(await rejection(() => openPublicPost(edit(bytes, { sig: undefined }), NOW))).toBe('MISSING_FIELD')
    expect(await rejection(() => openPublicPost(edit(bytes, { pk: new Uint8Array(31) }), NOW))).toBe('BAD_LENGTH')
    expect(await rejection(() => openPublicPost(edit(bytes, { t: 'pl/signed-post' }), NOW))).toBe('BAD_DOMAIN')
    expect(await rejection(() => openPublicPost(edit(bytes, { name: 'bad\nname' }), NOW))).toBe('OUT_OF_RANGE')
    expect(await rejection(() => openPublicPost(edit(bytes, { name: ' Alice' }), NOW))).toBe('OUT_OF_RANGE')
    expect(await rejection(() => openPublicPost(new Uint8Array(MAX_PUBLIC_POST_BYTES + 1), NOW))).toBe('TOO_LARGE')
  })

  it('every mutation of the bytes is refused with PorchlightError', async () => {
    const { bytes } = await sealPublicPost(alice, 'u4pru', post, { showName: true })
    await fc.assert(fc.asyncProperty(fc.nat(), fc.integer({ min: 0, max: 7 }), async (pos, bit) => {
      const b = flipBit(bytes, pos, bit)
      await rejection(() => openPublicPost(b, NOW))
    }), { numRuns: runs(125) })
    await fc.assert(fc.asyncProperty(fc.nat(), fc.uint8Array({ maxLength: 32 }), async (n, extra) => {
      await rejection(() => openPublicPost(new Uint8Array([...bytes.subarray(0, n % bytes.length), ...extra]), NOW))
    }), { numRuns: runs(75) })
  })
})

describe('proof of work (format 2, protocol/pow.ts)', () => {
  const pk = new Uint8Array(32)

  it('sealed posts carry a proof of at least PUBLIC_POST_POW_BITS over SHA-256(body || sig)', async () => {
    const { bytes } = await sealPublicPost(alice, 'u4pru', post)
    const f = decodeCbor(bytes) as Map<string, unknown>
    const pow = f.get('pow') as Uint8Array
    expect(pow.length).toBe(8)
    const key = await areaKey(alice, 'u4pru')
    const body = encodeStruct(PUBLIC_TBS, { ...postFields(post), area: 'u4pru', pk: key.publicKey })
    const digest = new Uint8Array(createHash('sha256').update(body).update(f.get('sig') as Uint8Array).digest())
    expect(proofBits(digest, pow)).toBeGreaterThanOrEqual(PUBLIC_POST_POW_BITS)
  })

  it('WEAK_PROOF for any nonce below the difficulty; opens for any nonce at or above it', async () => {
    const { bytes } = await sealPublicPost(alice, 'u4pru', post)
    const key = await areaKey(alice, 'u4pru')
    const sig = (decodeCbor(bytes) as Map<string, unknown>).get('sig') as Uint8Array
    const digest = new Uint8Array(createHash('sha256').update(encodeStruct(PUBLIC_TBS, { ...postFields(post), area: 'u4pru', pk: key.publicKey })).update(sig).digest())
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 8, maxLength: 8 }), async (nonce) => {
      const b = edit(bytes, { pow: nonce })
      if (proofBits(digest, nonce) >= PUBLIC_POST_POW_BITS) expect((await openPublicPost(b, NOW)).post).toEqual(post)
      else expect(await rejection(() => openPublicPost(b, NOW))).toBe('WEAK_PROOF')
    }), { numRuns: runs(50) })
    // A weaker proof passes a weaker opener: the difficulty is the reader's, not the post's.
    const weak = await sealPublicPost(alice, 'u4pru', post, { powBits: 4 })
    const bits = proofBits(digest, (decodeCbor(weak.bytes) as Map<string, unknown>).get('pow') as Uint8Array)
    expect((await openPublicPost(weak.bytes, NOW, bits)).post).toEqual(post)
    if (bits < PUBLIC_POST_POW_BITS) expect(await rejection(() => openPublicPost(weak.bytes, NOW))).toBe('WEAK_PROOF')
  })

  it('the pow field is decoded strictly: 8 bytes, present, a byte string', async () => {
    const raw = await signedRaw(alice.seed, pk, post, 'u4pru', undefined, 0)
    expect(await rejection(() => openPublicPost(edit(raw, { pow: undefined }), NOW))).toBe('MISSING_FIELD')
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 64 }).filter(b => b.length !== 8), async (nonce) => {
      expect(await rejection(() => openPublicPost(edit(raw, { pow: nonce }), NOW))).toBe('BAD_LENGTH')
    }), { numRuns: runs(25) })
    const notBytes = fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 8 }))
    await fc.assert(fc.asyncProperty(notBytes, async (value) => {
      expect(await rejection(() => openPublicPost(edit(raw, { pow: value }), NOW))).toBe('WRONG_TYPE')
    }), { numRuns: runs(25) })
  })

  it('format 1 (no proof) is refused with BAD_VERSION saying why', async () => {
    const raw = await signedRaw(alice.seed, pk, post, 'u4pru', undefined, 0)
    const v1 = edit(raw, { v: 1, pow: undefined })
    const err = await openPublicPost(v1, NOW).then(() => undefined, (e: unknown) => e as Error & { code: string })
    expect(err?.code).toBe('BAD_VERSION')
    expect(err?.message).toMatch(/older format .* proof of work/)
    expect(await rejection(() => openPublicPost(edit(raw, { v: 3 }), NOW))).toBe('BAD_VERSION')
  })

  it('the work hash of the vectors has the leading zeros claimed', () => {
    const committed = JSON.parse(readFileSync(PUBLIC_POST_VECTORS_PATH, 'utf8')) as VectorFile<PublicVector>
    for (const v of committed.vectors) expect(leadingZeroBits(fromHex(v.expected.work))).toBeGreaterThanOrEqual(PUBLIC_POST_POW_BITS)
  })
})

describe('test vectors (test/vectors/public-post.json)', () => {
  const file = readFileSync(PUBLIC_POST_VECTORS_PATH, 'utf8')
  const committed = JSON.parse(file) as VectorFile<PublicVector>

  it('reproduce exactly from their fixed seeds', async () => {
    expect(committed.vectors.length).toBeGreaterThanOrEqual(3)
    expect(vectorJson(await buildPublicPostVectors())).toBe(file)
  })

  for (const v of committed.vectors) {
    describe(v.name, () => {
      const bytes = fromHex(v.expected.bytes)

      it('open to the vector post under both providers; pseudonym as derived', async () => {
        for (const provider of [nobleProvider, webCryptoProvider(globalThis.crypto.subtle)]) {
          setCrypto(provider)
          const id = await identityFromHex(v.identity)
          const opened = await openPublicPost(bytes, v.now)
          expect(opened.post).toEqual(postFromHex(v.post))
          expect(opened.area).toBe(v.area)
          expect(opened.name).toBe(v.showName ? v.identity.name : undefined)
          expect(toHex(opened.pseudonym)).toBe(v.expected.pseudonym)
          const expectedKey = v.signer === 'pseudonym' ? (await areaKey(id, v.area)).publicKey : id.public.signKey
          expect(toHex(expectedKey)).toBe(v.expected.pseudonym)
          expect(toHex(opened.id)).toBe(v.expected.id)
        }
      })

      it('check independently: signature (node:crypto Ed25519) over the signed message, proof of work (node:crypto SHA-256), id', () => {
        const fields = decodeCbor(bytes) as Map<string, unknown>
        const sig = fields.get('sig') as Uint8Array
        expect(fields.get('v')).toBe(2)
        expect(toHex(fields.get('pow') as Uint8Array)).toBe(v.expected.pow)
        expect(createHash('sha256').update(fromHex(v.expected.signed)).update(sig).digest('hex')).toBe(v.expected.powDigest)
        const work = createHash('sha256').update('pl/pub-pow/1').update(fromHex(v.expected.powDigest)).update(fromHex(v.expected.pow)).digest()
        expect(work.toString('hex')).toBe(v.expected.work)
        expect(leadingZeroBits(work)).toBeGreaterThanOrEqual(PUBLIC_POST_POW_BITS)
        const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(v.expected.pseudonym, 'hex')])
        const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' })
        expect(nodeVerify(null, fromHex(v.expected.signed), pub, sig)).toBe(true)
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(v.expected.id)
      })

      it('fail with every single byte flipped', async () => {
        setCrypto(webCryptoProvider(globalThis.crypto.subtle))
        for (const [, b] of flips(bytes)) {
          await rejection(() => openPublicPost(b, v.now))
        }
      })
    })
  }
})

it('random bytes are refused with PorchlightError', async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async b => {
    await rejection(() => openPublicPost(b, NOW))
  }), { numRuns: runs(75) })
})
