// Rekeys (protocol/rekey.ts): remaining members recover identical keys; removed members,
// relays and non-admins get nothing more than the design allows; tampering and bounds.
import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { randomBytes } from '../../protocol/crypto.ts'
import { containsBytes, decodeStruct, encodeStruct, equalBytes, type StructSpec, toHex } from '../../protocol/encoding.ts'
import { createIdentity, type Identity } from '../../protocol/identity.ts'
import { deriveEpochKeys, type EpochKeys, privateTopic } from '../../protocol/neighborhood.ts'
import { decodeEnvelope, openEnvelope, sealEnvelope } from '../../protocol/envelope.ts'
import {
  createRekey, decodeRekey, MAX_REKEY_BYTES, MAX_REKEY_SLOTS, openRekey, paddedSlotCount, REKEY_SLOT_BYTES, REKEY_TTL_MS,
  rekeySlotCount, rekeyTimes, relayNextTagKey
} from '../../protocol/rekey.ts'
import { applyEdits, byteEdits, codeOrAccepted as codeOf, flips, freshEpochKeys, testHood } from '../helpers/protocol-fixtures.ts'

function sameKeys (a: EpochKeys, b: EpochKeys): boolean {
  return a.epoch === b.epoch && equalBytes(a.secret, b.secret) && equalBytes(a.contentKey, b.contentKey) && equalBytes(a.tagKey, b.tagKey)
}

const NOW = 1_750_000_000_000
const REKEY: StructSpec = {
  domain: 'pl/rekey', version: 1, required: ['tp', 'pe', 'e', 'ts', 'eph', 'kc', 'slots', 'rt', 'auth'], maxBytes: 70_000
}

// A name long enough that random bytes next to a CBOR header cannot spell it by chance
// ('Ada' alone did: a random 'A', the 0x64 header of "auth", then its 'a').
const admin = await createIdentity('Ada Quartermaine')
const ben = await createIdentity('Ben')
const cleo = await createIdentity('Cleo')
const dev = await createIdentity('Dev')
const hood = testHood(admin)
const old = freshEpochKeys(hood, 4)
const remaining = [admin, ben, cleo]

let bytes: Uint8Array
let newKeys: EpochKeys
beforeAll(async () => {
  ({ bytes, newKeys } = await createRekey(admin, hood, old, remaining.map(m => m.public), NOW))
})

describe('createRekey / openRekey', () => {
  it('every remaining member recovers identical new keys for epoch + 1', async () => {
    expect(newKeys.epoch).toBe(5)
    expect(equalBytes(newKeys.secret, old.secret)).toBe(false)
    for (const m of remaining) {
      const k = await openRekey(bytes, m, hood, old)
      expect(sameKeys(k, newKeys)).toBe(true)
    }
    // And the new keys really work: a post sealed by one member opens for another.
    const env = sealEnvelope(newKeys, privateTopic(hood.id), new Uint8Array([1, 2, 3]))
    const cleoKeys = await openRekey(bytes, cleo, hood, old)
    expect(openEnvelope(decodeEnvelope(env), cleoKeys)).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('the removed member cannot recover the new keys', async () => {
    expect(await codeOf(() => openRekey(bytes, dev, hood, old))).toBe('DECRYPT_FAILED')
    // Not even by claiming a remaining member's public box key as its own.
    const impostor: Identity = { ...dev, public: { ...dev.public, boxKey: ben.public.boxKey } }
    expect(await codeOf(() => openRekey(bytes, impostor, hood, old))).toBe('DECRYPT_FAILED')
  })

  it('a relay and the removed member see only topic, epochs, time and the slot count', async () => {
    const w = decodeRekey(bytes)
    expect(w.slots.length).toBe(8)
    expect(rekeySlotCount(bytes)).toBe(8)
    for (const secretOrId of [
      newKeys.secret, newKeys.contentKey, newKeys.tagKey, old.secret, old.contentKey, old.tagKey, hood.id,
      admin.public.signKey, ...remaining.flatMap(m => [m.public.boxKey, m.public.signKey]), dev.public.signKey
    ]) {
      expect(containsBytes(bytes, secretOrId)).toBe(false)
    }
    expect(new TextDecoder().decode(bytes).includes('Maple')).toBe(false)
    expect(new TextDecoder().decode(bytes).includes('Ada Quartermaine')).toBe(false)
  })

  it('slots are anonymous and shuffled: same slots, different order under different randomness', async () => {
    const eight = await Promise.all(Array.from({ length: 8 }, async (_, i) => createIdentity(`M${i}`)))
    const fixed = { secret: randomBytes(32), ephemeralSecret: randomBytes(32) }
    const a = decodeRekey((await createRekey(admin, hood, old, eight.map(m => m.public), NOW, fixed)).bytes)
    const b = decodeRekey((await createRekey(admin, hood, old, eight.map(m => m.public), NOW, fixed)).bytes)
    expect(a.slots.map(toHex).sort()).toEqual(b.slots.map(toHex).sort())
    expect(a.slots.map(toHex)).not.toEqual(b.slots.map(toHex))
  })

  it('a non-admin cannot rekey: NOT_ADMIN on creation, and NOT_ADMIN for a forged one', async () => {
    expect(await codeOf(() => createRekey(ben, hood, old, [cleo.public], NOW))).toBe('NOT_ADMIN')
    // Ben makes a rekey against a copy of the hood that lists him as admin; Cleo checks it against the real list.
    const fake = { ...hood, admins: [ben.public.signKey] }
    const forged = await createRekey(ben, fake, old, [ben.public, cleo.public], NOW)
    expect(await codeOf(() => openRekey(forged.bytes, cleo, hood, old))).toBe('NOT_ADMIN')
  })

  it('tampering anywhere is refused by members and by relays', async () => {
    // Every single-byte change, everywhere.
    for (const [i, copy] of flips(bytes)) {
      expect(await codeOf(() => openRekey(copy, ben, hood, old)), `member, byte ${i}`).not.toBe('accepted')
      expect(await codeOf(() => relayNextTagKey(copy, old.tagKey)), `relay, byte ${i}`).not.toBe('accepted')
    }
    // Re-encoded with one other member's slot replaced: Ben's slot still opens, the signature does not verify.
    const w = decodeRekey(bytes)
    const mine = await findSlot(w.slots, ben)
    const slots = w.slots.map((s, i) => i === (mine + 1) % w.slots.length ? randomBytes(REKEY_SLOT_BYTES) : s)
    const swapped = encodeStruct(REKEY, { ...w, slots })
    expect(await codeOf(() => openRekey(swapped, ben, hood, old))).toBe('BAD_SIGNATURE')
    expect(await codeOf(() => relayNextTagKey(swapped, old.tagKey))).toBe('DECRYPT_FAILED')
  })

  it('a valid-looking relay box for another tag key (made by a former member) is refused by members: BAD_TAG', async () => {
    // Shows why members check rt: a holder of the old tag key can re-make rt, relays cannot tell.
    const w = decodeRekey(bytes)
    const other = await createRekey(admin, hood, old, remaining.map(m => m.public), NOW)
    const mixed = encodeStruct(REKEY, { ...w, rt: decodeRekey(other.bytes).rt })
    expect(await codeOf(() => openRekey(mixed, ben, hood, old))).toBe('BAD_TAG')
  })

  it('wrong neighborhood, wrong epoch, non-consecutive epochs', async () => {
    const otherHood = { ...hood, id: randomBytes(32) }
    expect(await codeOf(() => openRekey(bytes, ben, otherHood, old))).toBe('WRONG_TOPIC')
    expect(await codeOf(() => openRekey(bytes, ben, hood, newKeys))).toBe('UNKNOWN_EPOCH')
    const w = decodeRekey(bytes)
    expect(await codeOf(() => decodeRekey(encodeStruct(REKEY, { ...w, e: w.e + 1 })))).toBe('OUT_OF_RANGE')
    expect(await codeOf(() => decodeRekey(encodeStruct(REKEY, { ...w, tp: '/porchlight/1/area/9q8yy' })))).toBe('WRONG_TOPIC')
    expect(await codeOf(() => createRekey(admin, hood, deriveEpochKeys(hood.id, 0xffff_ffff, old.secret), [ben.public], NOW))).toBe('OUT_OF_RANGE')
  })

  it('argument checks: empty, duplicate, forged identity', async () => {
    expect(await codeOf(() => createRekey(admin, hood, old, [], NOW))).toBe('BAD_ARGUMENT')
    expect(await codeOf(() => createRekey(admin, hood, old, [ben.public, ben.public], NOW))).toBe('BAD_ARGUMENT')
    // Someone pairs Ben's signing key with their own box key: the binding does not verify.
    expect(await codeOf(() => createRekey(admin, hood, old, [{ ...ben.public, boxKey: dev.public.boxKey }], NOW))).toBe('BAD_SIGNATURE')
  })
})

describe('relay side', () => {
  it('learns the next tag key from the old one (key or lookup), nothing else', async () => {
    const next = relayNextTagKey(bytes, old.tagKey)
    expect(next).toMatchObject({ topic: privateTopic(hood.id), prevEpoch: 4, epoch: 5 })
    expect(equalBytes(next.tagKey, newKeys.tagKey)).toBe(true)
    const viaLookup = relayNextTagKey(bytes, e => (e === 4 ? old.tagKey : undefined), privateTopic(hood.id))
    expect(equalBytes(viaLookup.tagKey, newKeys.tagKey)).toBe(true)
    expect(await codeOf(() => relayNextTagKey(bytes, () => undefined))).toBe('UNKNOWN_EPOCH')
    expect(await codeOf(() => relayNextTagKey(bytes, old.tagKey, privateTopic(randomBytes(32))))).toBe('WRONG_TOPIC')
    expect(await codeOf(() => relayNextTagKey(bytes, old.contentKey))).toBe('DECRYPT_FAILED')
    expect(await codeOf(() => relayNextTagKey(bytes, randomBytes(32)))).toBe('DECRYPT_FAILED')
  })

  it('the next tag key checks envelopes of the new epoch', async () => {
    const next = relayNextTagKey(bytes, old.tagKey)
    const env = sealEnvelope(newKeys, privateTopic(hood.id), new Uint8Array([9]))
    const { checkEnvelopeTag } = await import('../../protocol/envelope.ts')
    expect(checkEnvelopeTag(decodeEnvelope(env), next.tagKey)).toBe(true)
    expect(checkEnvelopeTag(decodeEnvelope(env), old.tagKey)).toBe(false)
  })

  it('rekeyTimes: retention window and future dating', async () => {
    expect(rekeyTimes(bytes, NOW)).toEqual({ ts: NOW, exp: NOW + REKEY_TTL_MS })
    expect(await codeOf(() => rekeyTimes(bytes, NOW + REKEY_TTL_MS))).toBe('EXPIRED')
    expect(await codeOf(() => rekeyTimes(bytes, NOW - 3_600_000))).toBe('FUTURE_DATED')
  })
})

describe('bounds', () => {
  it('padding: slot counts are multiples of 8', () => {
    expect([1, 7, 8, 9, 16, 17, 999, 1000].map(paddedSlotCount)).toEqual([8, 8, 8, 16, 16, 24, 1000, 1000])
  })

  it('1000 members fit in one message; 1001 are TOO_LARGE; decoders refuse more slots or odd counts', async () => {
    const members: Identity[] = []
    for (let i = 0; i < MAX_REKEY_SLOTS; i++) members.push(await createIdentity(`m${i}`))
    const big = await createRekey(admin, hood, old, members.map(m => m.public), NOW)
    expect(big.bytes.length).toBeLessThanOrEqual(MAX_REKEY_BYTES)
    console.log(`rekey for 1000 members: ${big.bytes.length} bytes`)
    expect(rekeySlotCount(big.bytes)).toBe(1000)
    expect(sameKeys(await openRekey(big.bytes, members[617]!, hood, old), big.newKeys)).toBe(true)
    expect(await codeOf(() => openRekey(big.bytes, dev, hood, old))).toBe('DECRYPT_FAILED')

    const extra = await createIdentity('one too many')
    expect(await codeOf(() => createRekey(admin, hood, old, [...members, extra].map(m => m.public), NOW))).toBe('TOO_LARGE')

    const w = decodeRekey(bytes)
    const tooMany = encodeStruct(REKEY, { ...w, slots: Array.from({ length: 1008 }, () => randomBytes(REKEY_SLOT_BYTES)) })
    expect(await codeOf(() => decodeRekey(tooMany))).toBe('TOO_LARGE')
    const odd = encodeStruct(REKEY, { ...w, slots: w.slots.slice(0, 7) })
    expect(await codeOf(() => decodeRekey(odd))).toBe('OUT_OF_RANGE')
    const short = encodeStruct(REKEY, { ...w, slots: [...w.slots.slice(0, 7), randomBytes(47)] })
    expect(await codeOf(() => decodeRekey(short))).toBe('BAD_LENGTH')
  })
})

describe('properties', () => {
  it('any group of 1..20 members each recovers the same keys; an outsider does not', async () => {
    const pool = await Promise.all(Array.from({ length: 20 }, async (_, i) => createIdentity(`p${i}`)))
    await fc.assert(fc.asyncProperty(fc.subarray(pool, { minLength: 1 }), async (group) => {
      const r = await createRekey(admin, hood, old, group.map(m => m.public), NOW)
      expect(rekeySlotCount(r.bytes)).toBe(paddedSlotCount(group.length))
      for (const m of group) expect(sameKeys(await openRekey(r.bytes, m, hood, old), r.newKeys)).toBe(true)
      const outsider = pool.find(p => !group.includes(p))
      if (outsider !== undefined) expect(await codeOf(() => openRekey(r.bytes, outsider, hood, old))).toBe('DECRYPT_FAILED')
    }), { numRuns: 15 })
  })

  it('random mutations give only PorchlightError, for members and relays', async () => {
    await fc.assert(fc.asyncProperty(
      byteEdits(),
      async (edits) => {
        const m = applyEdits(bytes, edits)
        const unchanged = equalBytes(m, bytes)
        const member = await codeOf(() => openRekey(m, cleo, hood, old))
        const relay = await codeOf(() => relayNextTagKey(m, old.tagKey))
        if (unchanged) expect([member, relay]).toEqual(['accepted', 'accepted'])
        else expect([member === 'accepted', relay === 'accepted']).toEqual([false, false])
      }
    ), { numRuns: 300 })
  })
})

/** Index of the slot `m` opens (test-side re-derivation through the public API). */
async function findSlot (slots: Uint8Array[], m: Identity): Promise<number> {
  const w = decodeRekey(bytes)
  for (let i = 0; i < slots.length; i++) {
    // Put slot i alone in every position; Ben's key opens it only if it is his.
    const only = encodeStruct(REKEY, { ...w, slots: Array.from({ length: 8 }, () => slots[i]!) })
    const code = await codeOf(() => openRekey(only, m, hood, old))
    if (code !== 'DECRYPT_FAILED') return i
  }
  throw new Error('no slot for member')
}

it('decodeStruct sees the declared field set (guards the test-side spec above)', () => {
  expect(() => decodeStruct(REKEY, bytes)).not.toThrow()
})
