// What a relay checks before it stores or forwards a message (protocol/peer/intake.ts), through
// its public API: the served topics and their epochs, the arrival rule for closed epochs, the
// verdict of each refusal code, and validateMessage's answer for each kind of message.
import { describe, it, expect, beforeAll } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  ServedTopics, validateMessage, checkEpochOpen, notSendersFault, EPOCH_GRACE_MS, MAX_TAG_KEYS_PER_EPOCH
} from '../../protocol/peer/intake.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { areaTopic, privateTopic } from '../../protocol/neighborhood.ts'
import { sealEnvelope } from '../../protocol/envelope.ts'
import { createRekey, relayBoxSecret } from '../../protocol/rekey.ts'
import { createPost } from '../../protocol/post.ts'
import { sealPublicPost } from '../../protocol/public-post.ts'
import { randomBytes, sha256 } from '../../protocol/crypto.ts'
import { concatBytes, toHex } from '../../protocol/encoding.ts'
import { openRfa, sealRfa } from '../../protocol/agency.ts'
import { sealReply } from '../../protocol/sealed-reply.ts'
import { MAX_MESSAGE_BYTES } from '../../protocol/wire.ts'
import { freshEpochKeys, rejection, testHood } from '../helpers/protocol-fixtures.ts'

const NOW = 1_764_000_000_000
const MINUTE = 60_000

const admin = await createIdentity('Ada Quartermaine')
const ben = await createIdentity('Ben')
const hood = testHood(admin)
const topic = privateTopic(hood.id)
const otherHood = testHood(ben)
const otherTopic = privateTopic(otherHood.id)
const epoch0 = freshEpochKeys(hood, 0)
const AREA = 'u4pruy'
const area = areaTopic(AREA)

const relaySeed = randomBytes(32)
const relay = { publicKey: ed25519.getPublicKey(relaySeed), boxSecret: relayBoxSecret(relaySeed) }

function served (): ServedTopics {
  const s = new ServedTopics()
  s.addHood(topic, hood.founder, hood.salt)
  s.addPrivate(topic, 0, epoch0.tagKey, NOW - 60 * MINUTE)
  s.addHood(otherTopic, otherHood.founder, otherHood.salt)
  s.addArea(AREA)
  return s
}

const envelope = (opts: { keys?: typeof epoch0, on?: string, ts?: number, exp?: number } = {}): Uint8Array =>
  sealEnvelope(opts.keys ?? epoch0, opts.on ?? topic, new TextEncoder().encode('sealed post'), { ts: opts.ts ?? NOW, exp: opts.exp ?? NOW + 3600_000 })

describe('ServedTopics', () => {
  it('serves what it was given, and nothing else', () => {
    const s = served()
    expect(s.serves(topic)).toBe(true)
    expect(s.serves(area)).toBe(true)
    expect(s.serves(areaTopic('gcpvj'))).toBe(false)
    expect(s.all().sort()).toEqual([topic, otherTopic, area].sort())
  })

  it('adds a tag key once, up to MAX_TAG_KEYS_PER_EPOCH per epoch, and only to a served hood', () => {
    const s = served()
    expect(s.addPrivate(topic, 0, epoch0.tagKey, NOW)).toBe(false)
    expect(s.addPrivate(privateTopic(randomBytes(32)), 0, epoch0.tagKey, NOW)).toBe(false)
    for (let i = 1; i < MAX_TAG_KEYS_PER_EPOCH; i++) expect(s.addPrivate(topic, 0, randomBytes(32), NOW)).toBe(true)
    expect(s.addPrivate(topic, 0, randomBytes(32), NOW)).toBe(false)
    expect(s.syncKeys(topic, 0, NOW)?.tagKeys).toHaveLength(MAX_TAG_KEYS_PER_EPOCH)
  })

  it('an epoch learned without a tag key still closes the one before, but earns no sync', () => {
    const s = served()
    expect(s.addPrivate(topic, 1, undefined, NOW)).toBe(true)
    expect(s.addPrivate(topic, 1, undefined, NOW)).toBe(false)
    expect(s.supersededAt(topic, 0)).toBe(NOW)
    expect(s.supersededAt(topic, 1)).toBeUndefined()
    expect(s.syncKeys(topic, 1, NOW)).toBeUndefined()
    // The epoch keeps the time it was first learned when its key comes later.
    expect(s.addPrivate(topic, 1, randomBytes(32), NOW + 5 * MINUTE)).toBe(true)
    expect(s.supersededAt(topic, 0)).toBe(NOW)
  })

  it('a closed epoch\'s key earns everything during the grace, only rekeys after it', () => {
    const s = served()
    s.addPrivate(topic, 1, randomBytes(32), NOW)
    expect(s.syncKeys(topic, 0, NOW + EPOCH_GRACE_MS)?.scope).toBe('all')
    expect(s.syncKeys(topic, 0, NOW + EPOCH_GRACE_MS + 1)?.scope).toBe('rekeys')
    expect(s.syncKeys(topic, 1, NOW + 10 * EPOCH_GRACE_MS)?.scope).toBe('all')
    expect(s.syncKeys(topic, 7, NOW)).toBeUndefined()
  })

  it('newestTagKey: the highest epoch with a key, optionally below one', () => {
    const s = served()
    const k2 = randomBytes(32)
    s.addPrivate(topic, 2, k2, NOW)
    s.addPrivate(topic, 3, undefined, NOW)
    expect(s.newestTagKey(topic)?.epoch).toBe(2)
    expect(toHex(s.newestTagKey(topic)!.tagKey)).toBe(toHex(k2))
    expect(s.newestTagKey(topic, 2)?.epoch).toBe(0)
    expect(s.newestTagKey(topic, 0)).toBeUndefined()
    expect(s.newestTagKey(area)).toBeUndefined()
  })
})

describe('the arrival rule and verdicts', () => {
  it('checkEpochOpen: open until the grace after the next epoch was learned', () => {
    expect(() => { checkEpochOpen(0, undefined, NOW) }).not.toThrow()
    expect(() => { checkEpochOpen(0, NOW, NOW + EPOCH_GRACE_MS) }).not.toThrow()
    expect(() => { checkEpochOpen(0, NOW, NOW + EPOCH_GRACE_MS + 1) }).toThrow(/re-seal/)
    expect(() => { checkEpochOpen(0, NOW, NOW + 50, 10) }).toThrow(/closed by a rekey/)
  })

  it('refusals that are not the sender\'s fault are ignored, the rest rejected', () => {
    for (const code of ['REFUSED', 'RATE_LIMITED', 'OVER_QUOTA', 'IO', 'UNAVAILABLE', 'NOT_FOUND', 'UNKNOWN_EPOCH', 'STALE_EPOCH']) {
      expect(notSendersFault(code), code).toBe(true)
    }
    for (const code of ['MALFORMED', 'BAD_TAG', 'BAD_SIGNATURE', 'WRONG_TOPIC', 'FUTURE_DATED', 'EXPIRED', 'TOO_LARGE', 'BAD_DOMAIN', 'NOT_ADMIN', 'WEAK_PROOF']) {
      expect(notSendersFault(code), code).toBe(false)
    }
  })
})

describe('validateMessage', () => {
  it('an envelope under a known tag key: stored with its id and clear times', async () => {
    const bytes = envelope()
    const v = await validateMessage(topic, bytes, served(), NOW)
    expect(v.rekey).toBeUndefined()
    expect(v.message.topic).toBe(topic)
    expect(toHex(v.message.id)).toBe(toHex(sha256(bytes)))
    expect(v.message.ts).toBe(NOW - (NOW % MINUTE))
    expect(v.message.exp).toBeGreaterThan(v.message.ts)
    expect(v.message.bytes).toBe(bytes)
  })

  it('refuses before decoding: oversize, then a topic not served', async () => {
    expect(await rejection(async () => await validateMessage(topic, new Uint8Array(MAX_MESSAGE_BYTES + 1), served(), NOW))).toBe('TOO_LARGE')
    expect(await rejection(async () => await validateMessage(areaTopic('gcpvj'), envelope(), served(), NOW))).toBe('NOT_FOUND')
    expect(await rejection(async () => await validateMessage('/elsewhere/1', envelope(), served(), NOW))).toBe('NOT_FOUND')
  })

  it('an envelope: WRONG_TOPIC, UNKNOWN_EPOCH, BAD_TAG, EXPIRED, FUTURE_DATED', async () => {
    const s = served()
    expect(await rejection(async () => await validateMessage(otherTopic, envelope(), s, NOW))).toBe('WRONG_TOPIC')
    expect(await rejection(async () => await validateMessage(topic, envelope({ keys: freshEpochKeys(hood, 5) }), s, NOW))).toBe('UNKNOWN_EPOCH')
    s.addPrivate(topic, 1, undefined, NOW) // the epoch is known, but no key for it
    expect(await rejection(async () => await validateMessage(topic, envelope({ keys: freshEpochKeys(hood, 1) }), s, NOW))).toBe('UNKNOWN_EPOCH')
    expect(await rejection(async () => await validateMessage(topic, envelope({ keys: freshEpochKeys(hood, 0) }), served(), NOW))).toBe('BAD_TAG')
    expect(await rejection(async () => await validateMessage(topic, envelope({ ts: NOW - 2 * 3600_000, exp: NOW - 3600_000 }), served(), NOW))).toBe('EXPIRED')
    expect(await rejection(async () => await validateMessage(topic, envelope({ ts: NOW + 3600_000, exp: NOW + 7200_000 }), served(), NOW))).toBe('FUTURE_DATED')
  })

  it('an envelope of a closed epoch: taken during the grace, STALE_EPOCH after, taken as history', async () => {
    const s = served()
    s.addPrivate(topic, 1, randomBytes(32), NOW)
    expect((await validateMessage(topic, envelope(), s, NOW + EPOCH_GRACE_MS)).message.topic).toBe(topic)
    expect(await rejection(async () => await validateMessage(topic, envelope(), s, NOW + EPOCH_GRACE_MS + 1))).toBe('STALE_EPOCH')
    expect(await rejection(async () => await validateMessage(topic, envelope(), s, NOW + 2 * MINUTE, undefined, { epochGraceMs: MINUTE }))).toBe('STALE_EPOCH')
    expect((await validateMessage(topic, envelope(), s, NOW + EPOCH_GRACE_MS + 1, undefined, { history: true })).message.topic).toBe(topic)
  })

  describe('rekeys', () => {
    let rekey: Uint8Array
    let nextTagKey: Uint8Array
    beforeAll(async () => {
      const made = await createRekey(admin, hood, epoch0, [admin.public, ben.public], NOW, { relays: [relay.publicKey] })
      rekey = made.bytes
      nextTagKey = made.newKeys.tagKey
    })

    it('an admin\'s rekey: its epoch, and the tag key sealed to this relay', async () => {
      const v = await validateMessage(topic, rekey, served(), NOW, undefined, { boxSecret: relay.boxSecret })
      expect(v.rekey?.topic).toBe(topic)
      expect(v.rekey?.epoch).toBe(1)
      expect(toHex(v.rekey!.tagKey!)).toBe(toHex(nextTagKey))
      expect(v.message.ts).toBe(NOW - (NOW % MINUTE))
    })

    it('without this relay\'s box secret (or sealed to another relay) it carries no tag key', async () => {
      expect((await validateMessage(topic, rekey, served(), NOW)).rekey).toEqual({ topic, epoch: 1 })
      const other = relayBoxSecret(randomBytes(32))
      expect((await validateMessage(topic, rekey, served(), NOW, undefined, { boxSecret: other })).rekey).toEqual({ topic, epoch: 1 })
    })

    it('a rekey of another hood, or signed by someone who is no admin here, is refused', async () => {
      expect(await rejection(async () => await validateMessage(otherTopic, rekey, served(), NOW))).toBe('WRONG_TOPIC')
      // Ben's genuine rekey of his own hood, at a relay whose token names Ada as that topic's
      // founder: the topic does not follow from that founder.
      const bens = await createRekey(ben, otherHood, freshEpochKeys(otherHood, 0), [ben.public], NOW)
      const s = new ServedTopics()
      s.addHood(otherTopic, hood.founder, hood.salt)
      expect(await rejection(async () => await validateMessage(otherTopic, bens.bytes, s, NOW))).toBe('WRONG_TOPIC')
      // Ben claims an admin certificate from Ada that she never signed.
      const forgedHood = { ...hood, adminCerts: [{ key: ben.public.signKey, by: 0, sig: randomBytes(64) }], admins: [hood.founder, ben.public.signKey] }
      const forged = await createRekey(ben, forgedHood, epoch0, [ben.public], NOW)
      expect(['NOT_ADMIN', 'BAD_SIGNATURE']).toContain(await rejection(async () => await validateMessage(topic, forged.bytes, served(), NOW)))
      // At a relay with the right founder, the same rekey is taken.
      const right = new ServedTopics()
      right.addHood(otherTopic, otherHood.founder, otherHood.salt)
      expect((await validateMessage(otherTopic, bens.bytes, right, NOW)).rekey?.epoch).toBe(1)
    })
  })

  describe('area topics', () => {
    let post: Uint8Array
    beforeAll(async () => {
      post = (await sealPublicPost(admin, AREA, createPost({ kind: 'suspicious', text: 'someone trying car doors', location: 'u4pruyd', now: NOW }))).bytes
    })

    it('a signed public post with its proof of work: stored with its own times', async () => {
      const v = await validateMessage(area, post, served(), NOW)
      expect(v.message.ts).toBe(NOW)
      expect(v.message.exp).toBeGreaterThan(NOW)
    })

    it('a public post for another area is WRONG_TOPIC; an envelope there is BAD_DOMAIN, and a public post on a private topic too', async () => {
      const s = served()
      s.addArea('u4pruz')
      expect(await rejection(async () => await validateMessage(areaTopic('u4pruz'), post, s, NOW))).toBe('WRONG_TOPIC')
      expect(await rejection(async () => await validateMessage(area, envelope(), s, NOW))).toBe('BAD_DOMAIN')
      expect(await rejection(async () => await validateMessage(topic, post, s, NOW))).toBe('BAD_DOMAIN')
    })

    it('a sealed reply: stored with its clear times, opaque; weak, re-sized or private-topic copies refused', async () => {
      const pd = await createIdentity('City PD')
      const rfa = await openRfa((await sealRfa(pd, AREA, 'Seen this bike?', NOW, 3600_000)).bytes, NOW)
      const reply = await sealReply(rfa, createPost({ kind: 'reply', text: 'on Elm', replyTo: rfa.id, now: NOW }))
      const v = await validateMessage(area, reply.bytes, served(), NOW)
      expect(v.message.ts).toBe(NOW - NOW % MINUTE)
      expect(toHex(v.message.id)).toBe(toHex(reply.id))
      expect(await rejection(async () => await validateMessage(topic, reply.bytes, served(), NOW))).toBe('BAD_DOMAIN')
      const weak = await sealReply(rfa, createPost({ kind: 'reply', text: 'cheap', replyTo: rfa.id, now: NOW }), { powBits: 0 })
      expect(['WEAK_PROOF', undefined]).toContain(await rejection(async () => await validateMessage(area, weak.bytes, served(), NOW)).catch(() => undefined))
      expect(await rejection(async () => await validateMessage(area, concatBytes(reply.bytes, new Uint8Array(1)), served(), NOW))).not.toBe('accepted')
    })

    it('garbage is refused with a PorchlightError, never anything else', async () => {
      for (const bytes of [new Uint8Array(0), new Uint8Array([0xff]), new Uint8Array(100).fill(0xa5), post.subarray(0, post.length - 1)]) {
        await rejection(async () => await validateMessage(area, bytes, served(), NOW))
        await rejection(async () => await validateMessage(topic, bytes, served(), NOW))
      }
    })
  })
})
