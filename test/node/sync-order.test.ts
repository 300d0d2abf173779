// A sync page's rekeys are applied in the order of the epochs they start, whatever order their
// (whole-minute) times and ids put them in; other messages keep their places.
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { rekeysInEpochOrder } from '../../protocol/peer/sync.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { createRekey, decodeRekey } from '../../protocol/rekey.ts'
import { peekDomain } from '../../protocol/encoding.ts'
import { freshEpochKeys, testHood } from '../helpers/protocol-fixtures.ts'

const admin = await createIdentity('Ada')
const hood = testHood(admin)
const NOW = Date.UTC(2026, 10, 30, 12, 0)
const rekeys = await Promise.all([0, 1, 1, 2, 3].map(async e => (await createRekey(admin, hood, freshEpochKeys(hood, e), [admin.public], NOW)).bytes))
const others = [new Uint8Array([0xa0]), new Uint8Array([0xa1, 0x61, 0x74, 0x61, 0x78])] // not rekeys (not even CBOR structures)

describe('rekeysInEpochOrder', () => {
  it('sorts the rekeys by epoch in the places rekeys hold, and leaves the rest where it was', () => {
    fc.assert(fc.property(fc.shuffledSubarray([...rekeys, ...others], { minLength: rekeys.length + others.length }), (page) => {
      const out = rekeysInEpochOrder(page)
      expect(out).toHaveLength(page.length)
      const isRekey = (m: Uint8Array): boolean => { try { return peekDomain(m) === 'pl/rekey' } catch { return false } }
      for (const [i, m] of page.entries()) if (!isRekey(m)) expect(out[i]).toBe(m)
      const epochs = out.filter(isRekey).map(m => decodeRekey(m).e)
      expect(epochs).toEqual([...epochs].sort((a, b) => a - b))
      expect(new Set(out)).toEqual(new Set(page))
    }), { numRuns: runs(25) })
  })
})
