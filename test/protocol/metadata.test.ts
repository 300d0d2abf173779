// Issue 10, "metadata kept to what relaying needs": what a relay or an outsider holding a
// private topic's bytes learns from their shape. Every check here looks only at the bytes as
// they travel (decodeEnvelope needs no keys): envelope sizes fall into the stated buckets,
// clear times are whole minutes, a join looks like a short post, and a rekey's slot count
// does not give the member count.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import { createIdentity, type Identity } from '../../protocol/identity.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { createPost, DEFAULT_TTL_MS, MAX_MEDIA, MAX_TEXT_BYTES, type MediaRef } from '../../protocol/post.ts'
import { decodeEnvelope, openPost, sealEnvelope, sealPost } from '../../protocol/envelope.ts'
import { createJoin, createLeave, createRoster } from '../../protocol/membership.ts'
import { createRekey, rekeySlotCount } from '../../protocol/rekey.ts'
import { freshEpochKeys, testHood } from '../helpers/protocol-fixtures.ts'

/** The envelope sizes a relay may see (bytes on the wire), as DESIGN.md and PRIVACY-DRAFT.md state them. */
const BUCKETS = [1024, 4096, 16 * 1024, 64 * 1024]
/** The unit clear times are rounded to. */
const MINUTE = 60_000
/** Not a whole minute: the checks below would pass by chance on one. */
const NOW = 1_764_000_012_345

const author = await createIdentity('Ngozi Adeyemi-Lindqvist')
const hood = testHood(author)
const topic = privateTopic(hood.id)
const keys = freshEpochKeys(hood, 3)
const media = (i: number): MediaRef => ({
  cid: `bafybei${'q'.repeat(52)}${i}`, key: randomBytes(32), mime: 'video/mp4', size: 40_000_000 + i, hash: randomBytes(32)
})

async function postBytes (text: string, opts: { media?: number, now?: number, ttlMs?: number } = {}): Promise<Uint8Array> {
  const post = createPost({
    kind: 'suspicious', text, location: '9q8yykz', now: opts.now ?? NOW, ...(opts.ttlMs !== undefined ? { ttlMs: opts.ttlMs } : {}),
    media: Array.from({ length: opts.media ?? 0 }, (_, i) => media(i))
  })
  return (await sealPost(author, topic, keys, post)).bytes
}

const members = async (n: number): Promise<Identity[]> => Promise.all(Array.from({ length: n }, async (_, i) => createIdentity(`Member ${i}`)))

describe('envelope sizes a relay sees', () => {
  it('a short post, a long post, a post with clips, a join, a leave and rosters fall into the stated buckets only', async () => {
    const joiner = await createIdentity('Dev')
    const sizes: Record<string, number> = {
      short: (await postBytes('Car alarm on Elm')).length,
      medium: (await postBytes('x'.repeat(500))).length,
      long: (await postBytes('é'.repeat(MAX_TEXT_BYTES / 2))).length,
      clips: (await postBytes('Fallen tree', { media: MAX_MEDIA })).length,
      longWithClips: (await postBytes('y'.repeat(MAX_TEXT_BYTES), { media: MAX_MEDIA })).length,
      join: sealEnvelope(keys, topic, await createJoin(joiner, topic, NOW, { via: author.public.signKey })).length,
      leave: sealEnvelope(keys, topic, await createLeave(joiner, topic, NOW)).length
    }
    for (const n of [1, 3, 20, 200]) {
      const [roster] = await createRoster(author, (await members(n)).map(m => m.public), topic, NOW)
      sizes[`roster of ${n}`] = sealEnvelope(keys, topic, roster!).length
    }
    for (const [what, size] of Object.entries(sizes)) expect(BUCKETS, `${what}: ${size} bytes`).toContain(size)
    // A join (or leave) is the size of an everyday short post, so it does not stand out.
    expect(sizes.join).toBe(sizes.short)
    expect(sizes.leave).toBe(sizes.short)
    expect(sizes.short).toBe(BUCKETS[0])
  })

  it('any post of any text and media lands in a bucket', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 500, unit: 'grapheme' }), fc.integer({ min: 0, max: MAX_MEDIA }), async (text, n) => {
      const t = text.length === 0 ? 'a' : text
      if (new TextEncoder().encode(t).length > MAX_TEXT_BYTES) return
      const bytes = await postBytes(t, { media: n })
      expect(BUCKETS).toContain(bytes.length)
    }), { numRuns: runs(20) })
  })
})

describe('clear times a relay sees', () => {
  it('envelope ts and exp are whole minutes; the post keeps its exact times inside, and opens', async () => {
    for (const ttlMs of [DEFAULT_TTL_MS, 12 * 3600_000 + 7, 90_001]) {
      const bytes = await postBytes('Package taken from porch', { ttlMs })
      const env = decodeEnvelope(bytes)
      expect(env.ts % MINUTE).toBe(0)
      expect(env.exp % MINUTE).toBe(0)
      const opened = await openPost(bytes, () => keys, NOW)
      expect(opened.post.created).toBe(NOW)
      expect(opened.post.expires).toBe(NOW + ttlMs)
      // Relays never keep it longer than its author said.
      expect(env.exp).toBeLessThanOrEqual(opened.post.expires)
      expect(env.ts).toBeLessThanOrEqual(opened.post.created)
    }
  })

  it('membership announcements are sealed with whole-minute times too', async () => {
    const joiner = await createIdentity('Dev')
    const env = decodeEnvelope(sealEnvelope(keys, topic, await createJoin(joiner, topic, NOW), { ts: NOW, exp: NOW + DEFAULT_TTL_MS }))
    expect(env.ts % MINUTE).toBe(0)
    expect(env.exp % MINUTE).toBe(0)
  })
})

describe('rekey slot counts a relay sees', () => {
  it('a rekey for 3 members and one for 5 carry the same number of slots; so do 17 and 31', async () => {
    const all = await members(31)
    const slots = async (n: number): Promise<number> =>
      rekeySlotCount((await createRekey(author, hood, keys, all.slice(0, n).map(m => m.public), NOW)).bytes)
    expect(await slots(3)).toBe(await slots(5))
    expect(await slots(17)).toBe(await slots(31))
  })
})
