// Sealed replies in transit (protocol/sealed-reply.ts): a reply sealed to the agency that
// signed the request, padded to 1 or 4 KiB, with a proof of work; relays check its shape
// without keys, only that agency opens it, and every decoder refuses junk with a PorchlightError.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { containsBytes, decodeStruct, encodeStruct, equalBytes, type StructSpec, utf8Bytes } from '../../protocol/encoding.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { createPost, MAX_TEXT_BYTES } from '../../protocol/post.ts'
import { openRfa, sealRfa } from '../../protocol/agency.ts'
import { decodeSealedReply, openSealedReply, SEALED_REPLY_BUCKETS, SEALED_REPLY_POW_BITS, sealReply } from '../../protocol/sealed-reply.ts'
import { checkProof } from '../../protocol/pow.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { codeOrAccepted as codeOf, rejection } from '../helpers/protocol-fixtures.ts'

const NOW = 1_750_000_000_000
const DAY = 86_400_000
/** Tests mine less: 4 bits is ~16 hashes; the full-strength path is checked once below. */
const BITS = 4
const agency = await createIdentity('Springfield PD')
const other = await createIdentity('Shelbyville PD')
const ben = await createIdentity('Ben')
const rfa = await openRfa((await sealRfa(agency, '9q8yyk', 'Seen this bike?', NOW, DAY)).bytes, NOW)
const media = { cid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', key: new Uint8Array(32).fill(7), mime: 'image/jpeg', size: 123_456, hash: new Uint8Array(32).fill(9) }

function reply (text: string, extra: { media?: typeof media[] } = {}): ReturnType<typeof createPost> {
  return createPost({ kind: 'reply', text, replyTo: rfa.id, now: NOW + 1234, ttlMs: 7 * DAY, ...extra })
}

const BOX: StructSpec = { domain: 'pl/sealed-reply', version: 1, required: ['box', 'ts', 'exp', 'pow'], maxBytes: 4096 }

describe('sealed replies', () => {
  it('only the request\'s agency opens it; it names nobody and pads to a bucket', async () => {
    const post = reply('White van, partial plate 7ABC')
    const { bytes, id } = await sealReply(rfa, post, { powBits: BITS })
    expect(bytes.length).toBe(1024)
    expect(equalBytes(id, sha256(bytes))).toBe(true)
    const r = await openSealedReply(agency, bytes, NOW, BITS)
    expect(r.post.text).toBe(post.text)
    expect(r.author).toBeUndefined()
    expect(equalBytes(r.rfaId, rfa.id)).toBe(true)
    expect(await codeOf(() => openSealedReply(other, bytes, NOW, BITS))).toBe('DECRYPT_FAILED')
    for (const b of [agency.public.boxKey, agency.public.signKey, rfa.id, utf8Bytes(post.text), utf8Bytes('Springfield')]) {
      expect(containsBytes(bytes, b)).toBe(false)
    }
    // Clear times are whole minutes: the exact ones stay inside.
    const w = decodeSealedReply(bytes, NOW, BITS)
    expect(w.ts % 60_000).toBe(0)
    expect(w.exp % 60_000).toBe(0)
  })

  it('the size says only "short" or "long": every reply is 1 or 4 KiB', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ minLength: 1, maxLength: 700 }), fc.integer({ min: 0, max: 4 }), async (text, clips) => {
      const post = reply(text.slice(0, MAX_TEXT_BYTES / 3) || 'x', { media: Array(clips).fill(media) })
      const { bytes } = await sealReply(rfa, post, { powBits: BITS })
      expect(SEALED_REPLY_BUCKETS).toContain(bytes.length)
      expect((await openSealedReply(agency, bytes, NOW, BITS)).post.text).toBe(post.text)
    }), { numRuns: runs(15) })
    const longest = reply('é'.repeat(MAX_TEXT_BYTES / 2), { media: [media, media, media, media] })
    expect((await sealReply(rfa, longest, { powBits: BITS, author: ben })).bytes.length).toBe(4096)
    const named = await openSealedReply(agency, (await sealReply(rfa, reply('from Ben'), { powBits: BITS, author: ben })).bytes, NOW, BITS)
    expect(named.author?.name).toBe('Ben')
  })

  it('carries the full proof of work by default, and relays refuse a weaker one', async () => {
    const { bytes } = await sealReply(rfa, reply('real strength'))
    expect(decodeSealedReply(bytes, NOW).ts).toBeGreaterThan(0)
    const weak = await sealReply(rfa, reply('weak'), { powBits: 0 })
    // Mined to 0 bits, it is below 16 bits nearly always (1 in 65,536 is strong by luck).
    const f = decodeStruct(BOX, weak.bytes)
    const body = encodeStruct({ domain: 'pl/sealed-reply-body', version: 1, required: ['box', 'ts', 'exp'], maxBytes: 4096 }, { box: f.bytes('box', {}), ts: f.uint('ts'), exp: f.uint('exp') })
    const strong = await codeOf(() => { checkProof(sha256(body), f.bytes('pow', { len: 8 }), SEALED_REPLY_POW_BITS) })
    expect(await codeOf(() => decodeSealedReply(weak.bytes, NOW))).toBe(strong === 'accepted' ? 'accepted' : 'WEAK_PROOF')
  })

  it('refuses wrong times, sizes and re-dated boxes', async () => {
    const post = reply('at 9pm')
    const { bytes } = await sealReply(rfa, post, { powBits: BITS })
    const f = decodeStruct(BOX, bytes)
    const fields = { box: f.bytes('box', {}), ts: f.uint('ts'), exp: f.uint('exp'), pow: f.bytes('pow', { len: 8 }) }
    expect(await rejection(() => decodeSealedReply(bytes, post.expires + 60_000, BITS))).toBe('EXPIRED')
    expect(await rejection(() => decodeSealedReply(bytes, NOW - DAY, BITS))).toBe('FUTURE_DATED')
    expect(await rejection(() => decodeSealedReply(encodeStruct(BOX, { ...fields, ts: fields.ts + 1 }), NOW, 0))).toBe('OUT_OF_RANGE')
    expect(await rejection(() => decodeSealedReply(encodeStruct(BOX, { ...fields, box: fields.box.subarray(0, 900) }), NOW, 0))).toBe('BAD_LENGTH')
    expect(await rejection(() => decodeSealedReply(encodeStruct(BOX, { ...fields, extra: 1 }), NOW, 0))).toBe('EXTRA_FIELD')
    expect(await rejection(() => decodeSealedReply(new Uint8Array(4097), NOW, 0))).toBe('TOO_LARGE')
    // Re-dated by a minute (same length): the proof no longer holds, and without one the agency
    // still refuses it, since the times inside differ.
    const redated = encodeStruct(BOX, { ...fields, exp: fields.exp + 60_000 })
    expect(redated.length).toBe(1024)
    expect(await rejection(() => openSealedReply(agency, redated, NOW, 0))).toBe('OUT_OF_RANGE')
  })

  it('every mutation of the bytes is refused with a PorchlightError, before or after the key', async () => {
    const { bytes } = await sealReply(rfa, reply('mutate me'), { powBits: BITS })
    const pow = decodeSealedReply(bytes, NOW, BITS).pow
    const powAt = bytes.findIndex((_, i) => equalBytes(bytes.subarray(i, i + 8), pow))
    await fc.assert(fc.asyncProperty(fc.nat(), fc.integer({ min: 0, max: 7 }), async (pos, bit) => {
      const b = Uint8Array.from(bytes)
      const at = pos % b.length
      b[at]! ^= 1 << bit
      // With no proof asked, only the nonce itself may change (another nonce, the same reply:
      // finding one that passes costs the proof again); anything else the shape or AEAD refuses.
      if (at >= powAt && at < powAt + 8) expect((await openSealedReply(agency, b, NOW, 0)).post.text).toBe('mutate me')
      else await rejection(() => openSealedReply(agency, b, NOW, 0))
    }), { numRuns: runs(100) })
    await fc.assert(fc.asyncProperty(fc.nat(), fc.uint8Array({ maxLength: 32 }), async (n, extra) => {
      const cut = new Uint8Array([...bytes.subarray(0, n % bytes.length), ...extra])
      // Cutting off the last bytes and appending the same ones again is no change, and other bytes
      // in place of the nonce's are another nonce (with no proof asked, as above): neither is a mutation.
      const onlyNonce = cut.length === bytes.length && cut.every((x, i) => x === bytes[i] || (i >= powAt && i < powAt + 8))
      fc.pre(!onlyNonce)
      await rejection(() => decodeSealedReply(cut, NOW, 0))
    }), { numRuns: runs(75) })
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), async (junk) => {
      await rejection(() => decodeSealedReply(junk, NOW, 0))
    }), { numRuns: runs(100) })
  })

  it('the reply names the request it was sealed for: a box for one request of an agency is not another\'s', async () => {
    const { bytes } = await sealReply(rfa, reply('for the bike'), { powBits: BITS })
    const opened = await openSealedReply(agency, bytes, NOW, BITS)
    expect(equalBytes(opened.rfaId, rfa.id)).toBe(true)
    // A post naming another request is refused when sealing.
    const stray = createPost({ kind: 'reply', text: 'x', replyTo: new Uint8Array(32).fill(1), now: NOW, ttlMs: DAY })
    expect(await rejection(() => sealReply(rfa, stray, { powBits: BITS }))).toBe('BAD_ARGUMENT')
  })
})
