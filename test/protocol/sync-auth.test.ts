// Sync session frames (hello, open, ready) and the tag-key proof: strict, bounded decoders;
// a proof binds every field of its session and the role, and only its own key matches.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { encodeStruct } from '../../protocol/encoding.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import { matchSyncProof, syncProof, type SyncSession } from '../../protocol/sync-auth.ts'
import {
  decodeSyncHello, decodeSyncOpen, decodeSyncReady, encodeSyncHello, encodeSyncOpen, encodeSyncReady
} from '../../protocol/wire.ts'

const TOPIC = '/porchlight/1/n/0123456789abcdef0123456789abcdef'

function codeOf (fn: () => unknown): string {
  try { fn() } catch (err) { return isPorchlightError(err) ? err.code : 'THROW' }
  return 'OK'
}

function session (): SyncSession {
  return { topic: TOPIC, epoch: 4, challenge: randomBytes(32), nonce: randomBytes(32), initiator: randomBytes(38), responder: randomBytes(38) }
}

describe('sync proof', () => {
  it('matches only its key, role and session', () => {
    const key = randomBytes(32)
    const other = randomBytes(32)
    const s = session()
    const proof = syncProof(key, 'initiator', s)
    expect(matchSyncProof([other, key], 'initiator', s, proof)).toEqual(key)
    expect(matchSyncProof([other], 'initiator', s, proof)).toBeUndefined()
    expect(matchSyncProof([key], 'responder', s, proof)).toBeUndefined()
    const changed: SyncSession[] = [
      { ...s, topic: TOPIC.replace('0123', '3210') }, { ...s, epoch: 5 }, { ...s, challenge: randomBytes(32) },
      { ...s, nonce: randomBytes(32) }, { ...s, initiator: randomBytes(38) }, { ...s, responder: randomBytes(38) },
      { ...s, initiator: s.responder, responder: s.initiator }
    ]
    for (const c of changed) expect(matchSyncProof([key], 'initiator', c, proof)).toBeUndefined()
    expect(matchSyncProof([key], 'initiator', s, proof.subarray(0, 16))).toBeUndefined()
  })

  it('is not the membership tag of the same key', () => {
    const key = randomBytes(32)
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (challenge) => {
      const s = { ...session(), challenge }
      expect(syncProof(key, 'initiator', s)).not.toEqual(syncProof(randomBytes(32), 'initiator', s))
    }), { numRuns: runs(20) })
  })
})

describe('sync frames', () => {
  it('round-trip', () => {
    const nonce = randomBytes(32)
    expect(decodeSyncHello(encodeSyncHello(nonce))).toEqual(nonce)
    const open = { topic: TOPIC, nonce, epoch: 3, proof: randomBytes(32) }
    expect(decodeSyncOpen(encodeSyncOpen(open))).toEqual(open)
    expect(decodeSyncOpen(encodeSyncOpen({ topic: '/porchlight/1/area/u4pruy', nonce }))).toEqual({ topic: '/porchlight/1/area/u4pruy', nonce })
    expect(decodeSyncReady(encodeSyncReady({ scope: 'rekeys', proof: nonce }))).toEqual({ scope: 'rekeys', proof: nonce })
  })

  it('refuses bad fields with stable codes', () => {
    expect(codeOf(() => decodeSyncHello(encodeSyncHello(randomBytes(31))))).toBe('BAD_LENGTH')
    expect(codeOf(() => decodeSyncOpen(encodeSyncOpen({ topic: TOPIC, nonce: randomBytes(32), epoch: 1 })))).toBe('MISSING_FIELD')
    expect(codeOf(() => decodeSyncOpen(encodeSyncOpen({ topic: TOPIC, nonce: randomBytes(32), proof: randomBytes(32) })))).toBe('MISSING_FIELD')
    expect(codeOf(() => decodeSyncOpen(encodeSyncOpen({ topic: TOPIC, nonce: randomBytes(32), epoch: 1, proof: randomBytes(33) })))).toBe('BAD_LENGTH')
    expect(codeOf(() => decodeSyncReady(encodeStruct({ domain: 'pl/sync-ready', version: 1, required: ['scope'], maxBytes: 256 }, { scope: 'everything' })))).toBe('OUT_OF_RANGE')
    // The first release's open (topic + rec) is another version of the structure.
    const v1 = encodeStruct({ domain: 'pl/sync-open', version: 1, required: ['topic', 'rec'], maxBytes: 1024 }, { topic: TOPIC, rec: new Uint8Array(4) })
    expect(codeOf(() => decodeSyncOpen(v1))).toBe('BAD_VERSION')
  })

  it('any bytes: a value or a typed error, never a crash', () => {
    const open = encodeSyncOpen({ topic: TOPIC, nonce: randomBytes(32), epoch: 3, proof: randomBytes(32) })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), fc.integer({ min: 0, max: open.length * 8 - 1 }), (junk, bit) => {
      for (const decode of [decodeSyncHello, decodeSyncOpen, decodeSyncReady]) {
        const code = codeOf(() => decode(junk))
        expect(code).not.toBe('THROW')
      }
      const flipped = Uint8Array.from(open)
      flipped[bit >> 3]! ^= 1 << (bit & 7)
      expect(codeOf(() => decodeSyncOpen(flipped))).not.toBe('THROW')
    }), { numRuns: runs(75) })
  })
})
