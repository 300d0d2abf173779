/**
 * peekDomain reads a canonical start ("t" first) without decoding the rest, and otherwise
 * decodes as before: it never contradicts a full decode.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decode as cborDecode } from 'cborg'
import { runs } from '../helpers/fc.ts'
import { encodeCbor, encodeStruct, peekDomain } from '../../protocol/encoding.ts'
import { PorchlightError } from '../../protocol/errors.ts'

/** What peekDomain did before its fast path: decode everything, then read `t`. */
function reference (b: Uint8Array): string {
  let value: unknown
  try {
    value = cborDecode(b, { strict: true, allowIndefinite: false, allowUndefined: false, allowInfinity: false, allowNaN: false, allowBigInt: false, rejectDuplicateMapKeys: true, useMaps: true })
  } catch {
    return 'MALFORMED'
  }
  const t = value instanceof Map ? value.get('t') : undefined
  return typeof t === 'string' ? t : 'MALFORMED'
}

function outcome (b: Uint8Array): string {
  try {
    return peekDomain(b)
  } catch (err) {
    if (err instanceof PorchlightError) return err.code
    throw err
  }
}

describe('peekDomain', () => {
  const domainArb = fc.oneof(fc.constantFrom('pl/env', 'pl/rekey', 'pl/public-post', 'pl/sealed-reply', 'pl/retract', 'x'.repeat(23), 'x'.repeat(24), 'é'), fc.string({ maxLength: 30 }))
  const fieldsArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 })), { maxKeys: 6 })

  it('agrees with a full decode wherever that decode succeeds, on valid and mutated structures', () => {
    fc.assert(fc.property(domainArb, fieldsArb, fc.array(fc.record({ pos: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }), { maxLength: 2 }), (domain, fields, flips) => {
      let b = encodeCbor({ ...fields, t: domain, v: 1 })
      for (const f of flips) { b = b.slice(); b[f.pos % b.length] = f.v }
      const full = reference(b)
      const got = outcome(b)
      if (full !== 'MALFORMED') expect(got).toBe(full)
      // Where a full decode fails, the fast path may still name the domain of a canonical start.
      else if (got !== 'MALFORMED') expect(b[1] === 0x61 && b[2] === 0x74 && new TextDecoder().decode(b.subarray(4, 4 + b[3]! - 0x60))).toBe(got)
    }), { numRuns: runs(2000) })
  })

  it('names the domain of a canonical structure without decoding the rest (its strict decoder does)', () => {
    const b = encodeStruct({ domain: 'pl/env', version: 2, required: ['ct'], maxBytes: 1 << 16 }, { ct: new Uint8Array(1000) })
    expect(peekDomain(b)).toBe('pl/env')
    // The rest cut short: not CBOR any more, but the domain is all a caller dispatches on.
    expect(peekDomain(b.subarray(0, 40))).toBe('pl/env')
    expect(() => peekDomain(new Uint8Array([0xa2, 0x61, 0x75, 0x61, 0x78]))).toThrow(PorchlightError)
    expect(() => peekDomain(new Uint8Array(0))).toThrow(PorchlightError)
  })
})
