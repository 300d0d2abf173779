// /porchlight/pin/1 frames: strict, bounded, and the membership tag covers every field.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { encodeCbor, encodeStruct } from '../../protocol/encoding.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import {
  checkPinTag, decodeBlocksRequest, decodeCredit, decodePinProgress, decodePinRequest, encodeBlocksRequest, encodeCredit, encodePinProgress,
  encodePinRequest, MAX_CREDIT_BYTES, MAX_PIN_BYTES, type PinFields
} from '../../protocol/wire.ts'

const CID = 'bafybeibn3r5gxwosn7wu5xsjhwcwfui7olnb342yeb445hoxzrwwzx2mry'
const FIELDS: PinFields = { topic: '/porchlight/1/n/0123456789abcdef0123456789abcdef', epoch: 3, cid: CID, size: 20_971_840, ts: 1_760_000_000_000, exp: 1_760_600_000_000 }

function codeOf (fn: () => unknown): string {
  try { fn() } catch (err) { return isPorchlightError(err) ? err.code : 'THROW' }
  return 'OK'
}

describe('pin request', () => {
  const key = randomBytes(32)

  it('round-trips and verifies only under its own tag key', () => {
    const bytes = encodePinRequest(FIELDS, key)
    expect(bytes.length).toBeLessThanOrEqual(512)
    const req = decodePinRequest(bytes)
    expect({ ...req, tag: undefined }).toEqual({ ...FIELDS, tag: undefined })
    expect(checkPinTag(req, key)).toBe(true)
    expect(checkPinTag(req, randomBytes(32))).toBe(false)
  })

  it('the tag covers every field', () => {
    const req = decodePinRequest(encodePinRequest(FIELDS, key))
    const changed: PinFields[] = [
      { ...FIELDS, topic: FIELDS.topic.replace('0123', '3210') },
      { ...FIELDS, epoch: 4 },
      { ...FIELDS, cid: CID.replace('b', 'c') },
      { ...FIELDS, size: FIELDS.size - 1 },
      { ...FIELDS, ts: FIELDS.ts + 1 },
      { ...FIELDS, exp: FIELDS.exp + 1 }
    ]
    for (const f of changed) expect(checkPinTag({ ...f, tag: req.tag }, key)).toBe(false)
  })

  it('any flipped bit is refused by the decoder or the tag', () => {
    const bytes = encodePinRequest(FIELDS, key)
    fc.assert(fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
      const b = Uint8Array.from(bytes) // a copy: cborg returns a Buffer, whose slice() is a view, so flips would pile up
      b[bit >> 3]! ^= 1 << (bit & 7)
      let ok = false
      try { ok = checkPinTag(decodePinRequest(b), key) } catch (err) { expect(isPorchlightError(err)).toBe(true) }
      expect(ok).toBe(false)
    }), { numRuns: runs(75) })
  })

  it('refuses bad fields with stable codes, when encoding and when decoding', () => {
    expect(codeOf(() => encodePinRequest({ ...FIELDS, size: 0 }, key))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => encodePinRequest({ ...FIELDS, size: MAX_PIN_BYTES + 1 }, key))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => encodePinRequest({ ...FIELDS, cid: 'not a cid!' }, key))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => encodePinRequest({ ...FIELDS, cid: 'b'.repeat(129) }, key))).toBe('OUT_OF_RANGE')
    const raw = (fields: Record<string, unknown>): Uint8Array => encodeCbor({ t: 'pl/pin', v: 1, ...FIELDS, tag: new Uint8Array(16), ...fields } as never)
    expect(codeOf(() => decodePinRequest(raw({})))).toBe('OK')
    expect(codeOf(() => decodePinRequest(raw({ extra: 1 })))).toBe('EXTRA_FIELD')
    expect(codeOf(() => decodePinRequest(raw({ tag: new Uint8Array(15) })))).toBe('BAD_LENGTH')
    expect(codeOf(() => decodePinRequest(raw({ v: 2 })))).toBe('BAD_VERSION')
    expect(codeOf(() => decodePinRequest(raw({ t: 'pl/push' })))).toBe('BAD_DOMAIN')
    expect(codeOf(() => decodePinRequest(raw({ size: 0 })))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => decodePinRequest(raw({ cid: 'has space' })))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => decodePinRequest(raw({ epoch: -1 })))).not.toBe('OK')
    expect(codeOf(() => decodePinRequest(raw({ size: '1' })))).toBe('WRONG_TYPE')
    const { tag: _, ...noTag } = { ...FIELDS, tag: 0 }
    expect(codeOf(() => decodePinRequest(encodeCbor({ t: 'pl/pin', v: 1, ...noTag } as never)))).toBe('MISSING_FIELD')
    expect(codeOf(() => decodePinRequest(new Uint8Array(600)))).not.toBe('OK')
  })
})

describe('pin progress', () => {
  it('round-trips and is bounded', () => {
    expect(decodePinProgress(encodePinProgress(12345))).toBe(12345)
    expect(codeOf(() => decodePinProgress(encodeStruct({ domain: 'pl/pin-progress', version: 1, required: ['n'], maxBytes: 64 }, { n: MAX_PIN_BYTES + 1 })))).toBe('OUT_OF_RANGE')
  })
})

describe('block stream request and credit', () => {
  it('round-trip, strict and bounded', () => {
    const req = { cid: CID, size: 1234, credit: 4 * 1024 * 1024 }
    expect(decodeBlocksRequest(encodeBlocksRequest(req))).toEqual(req)
    expect(decodeCredit(encodeCredit(1 << 20))).toBe(1 << 20)
    expect(codeOf(() => encodeBlocksRequest({ ...req, credit: 0 }))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => encodeBlocksRequest({ ...req, credit: MAX_CREDIT_BYTES + 1 }))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => encodeBlocksRequest({ ...req, cid: 'no spaces please' }))).toBe('OUT_OF_RANGE')
    const raw = (fields: Record<string, unknown>): Uint8Array => encodeCbor({ t: 'pl/blocks', v: 1, ...req, ...fields } as never)
    expect(codeOf(() => decodeBlocksRequest(raw({ size: 0 })))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => decodeBlocksRequest(raw({ credit: MAX_CREDIT_BYTES + 1 })))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => decodeBlocksRequest(raw({ extra: true })))).toBe('EXTRA_FIELD')
    expect(codeOf(() => decodeCredit(encodeCbor({ t: 'pl/credit', v: 1, n: 0 } as never)))).toBe('OUT_OF_RANGE')
  })
})
