/**
 * Test vectors for private envelopes (envelope.json) and public posts (public-post.json),
 * from fixed seeds, secrets and nonces, so another implementation can check itself byte for
 * byte. Run `npx tsx test/vectors/generate-posts.ts` to rewrite both files; the tests check
 * that the committed files reproduce exactly.
 *
 * Each vector also spells out the intermediate bytes (AEAD associated data, the message the
 * author signs) with the structures written out here independently of protocol/, so a
 * reader can see the format and the tests can check the signature and tags with node:crypto.
 *
 * Also exports fast-check arbitraries for valid posts, shared by the post tests.
 */
import fc from 'fast-check'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { encodeStruct, fromHex, type StructSpec, toHex } from '../../protocol/encoding.ts'
import { areaKey, createIdentity, type Identity } from '../../protocol/identity.ts'
import { deriveEpochKeys, privateTopic } from '../../protocol/neighborhood.ts'
import { GEOHASH_ALPHABET } from '../../protocol/geohash.ts'
import {
  MAX_CID_BYTES, MAX_MEDIA, MAX_MEDIA_SIZE, MAX_TEXT_BYTES, MAX_TTL_MS, type MediaRef, type Post, POST_KINDS, postFields
} from '../../protocol/post.ts'
import { envelopeTimes, sealPost } from '../../protocol/envelope.ts'
import { sealPublicPost, sealPublicPostAs } from '../../protocol/public-post.ts'
import { createHash } from 'node:crypto'
import { decodeCbor } from '../../protocol/encoding.ts'

// ---- the formats, restated for the vectors (must match protocol/envelope.ts and public-post.ts)
const HEADER: StructSpec = { domain: 'pl/env-header', version: 2, required: ['topic', 'epoch', 'ts', 'exp', 'nonce'], maxBytes: 256 }
const POST_TBS: StructSpec = { domain: 'pl/post', version: 1, required: [], maxBytes: 8192 }
const PUBLIC_TBS: StructSpec = { domain: 'pl/public-post-body', version: 1, required: [], maxBytes: 8192 }

export interface HexMedia { cid: string, key: string, mime: string, size: number, hash: string }
export interface HexPost {
  kind: string
  text: string
  location?: string
  created: number
  expires: number
  media: HexMedia[]
  replyTo?: string
}
export interface HexIdentity { seed: string, boxSecret: string, name: string }

export interface EnvelopeVector {
  name: string
  identity: HexIdentity
  hood: { id: string, epoch: number, secret: string }
  post: HexPost
  nonce: string
  /** A time at which the post is valid, for opening. */
  now: number
  expected: {
    signKey: string
    topic: string
    contentKey: string
    tagKey: string
    /** The clear times: created and expires rounded to whole minutes (envelopeTimes). */
    ts: number
    exp: number
    /** AEAD associated data and the start of the membership-tag input. */
    header: string
    /** The message the author signs (Ed25519). */
    signed: string
    envelope: string
    id: string
  }
}

export interface PublicVector {
  name: string
  identity: HexIdentity
  area: string
  /** 'pseudonym' (sealPublicPost) or 'identity' (sealPublicPostAs with the identity key, as agencies do). */
  signer: 'pseudonym' | 'identity'
  showName: boolean
  post: HexPost
  now: number
  expected: {
    pseudonym: string
    signed: string
    /** SHA-256(signed || sig): what the proof of work pays for. */
    powDigest: string
    /** The first nonce (counting from 0, 8 bytes big-endian) whose work hash has PUBLIC_POST_POW_BITS leading zero bits. */
    pow: string
    /** SHA-256('pl/pub-pow/1' || powDigest || pow). */
    work: string
    bytes: string
    id: string
  }
}

export interface VectorFile<V> { description: string, vectors: V[] }

export function postFromHex (p: HexPost): Post {
  const post: Post = {
    kind: p.kind as Post['kind'],
    text: p.text,
    created: p.created,
    expires: p.expires,
    media: p.media.map(m => ({ cid: m.cid, key: fromHex(m.key), mime: m.mime, size: m.size, hash: fromHex(m.hash) }))
  }
  if (p.location !== undefined) post.location = p.location
  if (p.replyTo !== undefined) post.replyTo = fromHex(p.replyTo)
  return post
}

export function postToHex (post: Post): HexPost {
  const p: HexPost = {
    kind: post.kind,
    text: post.text,
    created: post.created,
    expires: post.expires,
    media: post.media.map(m => ({ cid: m.cid, key: toHex(m.key), mime: m.mime, size: m.size, hash: toHex(m.hash) }))
  }
  if (post.location !== undefined) p.location = post.location
  if (post.replyTo !== undefined) p.replyTo = toHex(post.replyTo)
  return p
}

/** 32 bytes counting up from `start`: readable fixed secrets. */
function counting (start: number, n = 32): string {
  return toHex(Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff))
}

export function identityFromHex (h: HexIdentity): Promise<Identity> {
  return createIdentity(h.name, { seed: fromHex(h.seed), boxSecret: fromHex(h.boxSecret) })
}

const T0 = 1_764_000_000_000 // 2025-11-24T16:00:00Z
const DAY = 24 * 3600_000

const ALICE: HexIdentity = { seed: counting(0x00), boxSecret: counting(0x20), name: 'Alice Example' }
const BOB: HexIdentity = { seed: counting(0x40), boxSecret: counting(0x60), name: 'Bob Ñandú' }
const AGENCY: HexIdentity = { seed: counting(0x80), boxSecret: counting(0xa0), name: 'Springfield Fire Dept' }

const MEDIA: HexMedia[] = [
  { cid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', key: counting(0xc0), mime: 'image/jpeg', size: 482_113, hash: counting(0xe0) },
  { cid: 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', key: counting(0x10), mime: 'video/mp4', size: 12_582_912, hash: counting(0x30) }
]

const ENVELOPE_CASES: Array<Omit<EnvelopeVector, 'expected' | 'now'>> = [
  {
    name: 'minimal: text only, epoch 0',
    identity: ALICE,
    hood: { id: counting(0x50), epoch: 0, secret: counting(0x70) },
    post: { kind: 'info', text: 'Water main on Elm St repaired; pressure back to normal.', created: T0, expires: T0 + 7 * DAY, media: [] },
    nonce: counting(0x90, 24)
  },
  {
    name: 'full: location, two clips, reply, non-ASCII text and name, epoch 7',
    identity: BOB,
    hood: { id: counting(0x50), epoch: 7, secret: counting(0xb0) },
    post: {
      kind: 'reply',
      text: 'Found him! Grey tabby, answers to «Mochi» — at the café on 3rd. 🐈',
      location: 'u4pruyd',
      created: T0 + 1234,
      expires: T0 + 1234 + 30 * DAY,
      media: MEDIA,
      replyTo: counting(0xf0)
    },
    nonce: counting(0x01, 24)
  },
  {
    name: 'longest text (2000 bytes)',
    identity: ALICE,
    hood: { id: counting(0x55), epoch: 4_294_967_295, secret: counting(0x99) },
    post: { kind: 'outage', text: 'power out on Maple Ave. '.repeat(84).slice(0, MAX_TEXT_BYTES), location: 'dr5r', created: T0, expires: T0 + 1, media: [] },
    nonce: counting(0xff, 24)
  }
]

const PUBLIC_CASES: Array<Omit<PublicVector, 'expected' | 'now'>> = [
  {
    name: 'pseudonymous, no name, location inside the area',
    identity: ALICE,
    area: 'u4pru',
    signer: 'pseudonym',
    showName: false,
    post: { kind: 'suspicious', text: 'Someone trying car doors on Oak St around 2am.', location: 'u4pruyd', created: T0, expires: T0 + 2 * DAY, media: [MEDIA[0]!] }
  },
  {
    name: 'author chose to show the name, no location',
    identity: BOB,
    area: 'dr5r',
    signer: 'pseudonym',
    showName: true,
    post: { kind: 'pet', text: 'Lost: grey tabby «Mochi», blue collar.', created: T0 + 5, expires: T0 + 5 + DAY, media: [] }
  },
  {
    name: 'agency request for assistance, signed with the agency identity key',
    identity: AGENCY,
    area: '9q8y',
    signer: 'identity',
    showName: true,
    post: { kind: 'rfa', text: 'Looking for doorbell footage of Pine St, Nov 23, 21:00–22:00.', location: '9q8yy', created: T0, expires: T0 + 14 * DAY, media: [] }
  }
]

export async function buildEnvelopeVectors (): Promise<VectorFile<EnvelopeVector>> {
  const vectors: EnvelopeVector[] = []
  for (const c of ENVELOPE_CASES) {
    const id = await identityFromHex(c.identity)
    const hoodId = fromHex(c.hood.id)
    const keys = deriveEpochKeys(hoodId, c.hood.epoch, fromHex(c.hood.secret))
    const topic = privateTopic(hoodId)
    const post = postFromHex(c.post)
    const nonce = fromHex(c.nonce)
    const sealed = await sealPost(id, topic, keys, post, { nonce })
    const { ts, exp } = envelopeTimes(post.created, post.expires)
    const header = encodeStruct(HEADER, { topic, epoch: keys.epoch, ts, exp, nonce })
    const signed = encodeStruct(POST_TBS, { ...postFields(post), topic, author: id.public.signKey, name: id.public.name })
    vectors.push({
      ...c,
      now: post.created,
      expected: {
        signKey: toHex(id.public.signKey),
        topic,
        contentKey: toHex(keys.contentKey),
        tagKey: toHex(keys.tagKey),
        ts,
        exp,
        header: toHex(header),
        signed: toHex(signed),
        envelope: toHex(sealed.bytes),
        id: toHex(sealed.id)
      }
    })
  }
  return {
    description: 'Porchlight private post envelopes v2 (protocol/envelope.ts): sealPost(identity, privateTopic(hood.id), deriveEpochKeys(hood.id, hood.epoch, hood.secret), post, { nonce }). ' +
      'ts/exp are the post\'s created/expires rounded to whole minutes (envelopeTimes); the AEAD plaintext is the signed post, 0x80, then zeros up to the envelope\'s bucket (1024, 4096, 16384 or 65536 bytes). All byte fields hex.',
    vectors
  }
}

export async function buildPublicPostVectors (): Promise<VectorFile<PublicVector>> {
  const vectors: PublicVector[] = []
  for (const c of PUBLIC_CASES) {
    const id = await identityFromHex(c.identity)
    const post = postFromHex(c.post)
    const sealed = c.signer === 'pseudonym'
      ? await sealPublicPost(id, c.area, post, { showName: c.showName })
      : await sealPublicPostAs({ seed: id.seed, publicKey: id.public.signKey }, c.area, post, c.showName ? id.public.name : undefined)
    const pseudonym = c.signer === 'pseudonym' ? (await areaKey(id, c.area)).publicKey : id.public.signKey
    const signed = encodeStruct(PUBLIC_TBS, { ...postFields(post), area: c.area, pk: pseudonym, name: c.showName ? id.public.name : undefined })
    // The proof of work restated with node:crypto, independently of protocol/pow.ts.
    const fields = decodeCbor(sealed.bytes) as Map<string, Uint8Array>
    const powDigest = createHash('sha256').update(signed).update(fields.get('sig')!).digest()
    const pow = fields.get('pow')!
    const work = createHash('sha256').update('pl/pub-pow/1').update(powDigest).update(pow).digest()
    vectors.push({
      ...c,
      now: post.created,
      expected: {
        pseudonym: toHex(pseudonym),
        signed: toHex(signed),
        powDigest: toHex(powDigest),
        pow: toHex(pow),
        work: toHex(work),
        bytes: toHex(sealed.bytes),
        id: toHex(sealed.id)
      }
    })
  }
  return {
    description: 'Porchlight public posts, format 2 (protocol/public-post.ts): sealPublicPost(identity, area, post, { showName }) with the area pseudonym, or sealPublicPostAs with the identity key. Ed25519 is deterministic; the proof-of-work nonce (protocol/pow.ts, 16 bits) is the first from 0 that meets the difficulty, so the bytes are too. All byte fields hex.',
    vectors
  }
}

export function vectorJson (value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n'
}

export const ENVELOPE_VECTORS_PATH = fileURLToPath(new URL('./envelope.json', import.meta.url))
export const PUBLIC_POST_VECTORS_PATH = fileURLToPath(new URL('./public-post.json', import.meta.url))

// ---- fast-check arbitraries for valid posts (shared by the post, envelope and public-post tests)

const geohashChar = fc.constantFrom(...GEOHASH_ALPHABET.split(''))
export const geohashArb = (min: number, max: number): fc.Arbitrary<string> =>
  fc.array(geohashChar, { minLength: min, maxLength: max }).map(a => a.join(''))
const bytesArb = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n })
const alnum = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'.split(''))
const token = fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.+-'.split('')), { minLength: 0, maxLength: 20 })

export const mediaArb: fc.Arbitrary<MediaRef> = fc.record({
  cid: fc.array(alnum, { minLength: 1, maxLength: MAX_CID_BYTES }).map(a => a.join('')),
  key: bytesArb(32),
  mime: fc.tuple(fc.constantFrom('image', 'video', 'audio', 'application'), fc.constantFrom('a', 'b', 'x'), token)
    .map(([t, s, rest]) => `${t}/${s}${rest.join('')}`),
  size: fc.integer({ min: 0, max: MAX_MEDIA_SIZE }),
  hash: bytesArb(32)
})

/** Text of at most MAX_TEXT_BYTES UTF-8 bytes (any Unicode, including newlines and emoji). */
export const textArb: fc.Arbitrary<string> = fc.string({ unit: 'grapheme', maxLength: 400 })
  .filter(s => new TextEncoder().encode(s).length <= MAX_TEXT_BYTES)

/** A valid post created at a time in [T0, T0 + 1 year); `now` = created is always valid for it. */
export const postArb: fc.Arbitrary<Post> = fc.record({
  kind: fc.constantFrom(...POST_KINDS),
  text: textArb,
  location: fc.option(geohashArb(1, 8), { nil: undefined }),
  created: fc.integer({ min: T0, max: T0 + 365 * DAY }),
  ttl: fc.integer({ min: 1, max: MAX_TTL_MS }),
  media: fc.array(mediaArb, { maxLength: MAX_MEDIA }),
  replyTo: fc.option(bytesArb(32), { nil: undefined })
}).map(r => {
  const post: Post = { kind: r.kind, text: r.text, created: r.created, expires: r.created + r.ttl, media: r.media }
  if (post.text === '' && post.media.length === 0) post.text = '.'
  if (r.location !== undefined) post.location = r.location
  if (r.replyTo !== undefined) post.replyTo = r.replyTo
  else if (r.kind === 'reply') post.replyTo = new Uint8Array(32).fill(1)
  return post
})

async function main (): Promise<void> {
  writeFileSync(ENVELOPE_VECTORS_PATH, vectorJson(await buildEnvelopeVectors()))
  writeFileSync(PUBLIC_POST_VECTORS_PATH, vectorJson(await buildPublicPostVectors()))
  console.log(`wrote ${ENVELOPE_VECTORS_PATH} and ${PUBLIC_POST_VECTORS_PATH}`)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main()
}
