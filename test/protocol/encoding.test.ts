import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import {
  concatBytes, containsBytes, decodeCbor, decodeStruct, encodeCbor, encodeStruct, equalBytes, type CborValue,
  type Fields, fromBase64Url, fromHex, MAX_STRUCT_BYTES, type StructSpec, toBase64Url, toHex, utf8Bytes, utf8String
} from '../../protocol/encoding.ts'
import { PorchlightError } from '../../protocol/errors.ts'
import { rejectionSync as codeOf } from '../helpers/protocol-fixtures.ts'

const SPEC: StructSpec = { domain: 'pl/test', version: 1, required: ['a', 'b'], optional: ['c'], maxBytes: 300 }

// --- a tiny raw CBOR writer, so tests can build exactly the bytes they mean to reject ---
function head (major: number, n: number, width?: 0 | 1 | 2 | 4): number[] {
  const w = width ?? (n < 24 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : 4)
  const m = major << 5
  if (w === 0) return [m | n]
  if (w === 1) return [m | 24, n]
  if (w === 2) return [m | 25, n >> 8, n & 0xff]
  return [m | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]
}
const uint = (n: number, width?: 0 | 1 | 2 | 4): number[] => head(0, n, width)
const tstr = (s: string): number[] => { const b = utf8Bytes(s); return [...head(3, b.length), ...b] }
const bstr = (b: number[]): number[] => [...head(2, b.length), ...b]
const map = (entries: Array<[number[], number[]]>): number[] => [...head(5, entries.length), ...entries.flatMap(([k, v]) => [...k, ...v])]
const raw = (bytes: number[]): Uint8Array => Uint8Array.from(bytes)

/** A valid 'pl/test' struct built by hand: keys in canonical (bytewise) order a, b, t, v. */
function validEntries (): Array<[number[], number[]]> {
  return [[tstr('a'), uint(7)], [tstr('b'), bstr([1, 2, 3])], [tstr('t'), tstr('pl/test')], [tstr('v'), uint(1)]]
}

/** Reads every field of a decoded 'pl/test' struct the way a real decoder would. */
function readTest (f: Fields): { a: number, b: Uint8Array, c: string[] | undefined } {
  return { a: f.uint('a', 1000), b: f.bytes('b', { max: 8 }), c: f.optArray('c', 3, x => x.string(10)) }
}

// --- arbitrary CBOR values in Porchlight's subset ---
const key = fc.oneof(fc.string({ maxLength: 30, unit: 'binary' }), fc.constantFrom('__proto__', 'constructor', 't', 'v', ''))
const leaf: fc.Arbitrary<CborValue> = fc.oneof(
  fc.integer(), fc.maxSafeInteger(), fc.constantFrom(0, -1, 23, 24, 255, 256, 65535, 65536, 2 ** 32, -(2 ** 32) - 1),
  fc.string({ maxLength: 40, unit: 'binary' }), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 40 })
)
const { value: cborValue } = fc.letrec<{ value: CborValue, arr: CborValue[], obj: Record<string, CborValue> }>(tie => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('arr'), tie('obj')),
  arr: fc.array(tie('value'), { maxLength: 5 }),
  obj: fc.dictionary(key, tie('value'), { maxKeys: 5 })
}))

/** Canonical description of a value (Maps and objects alike), for structural comparison. */
function show (v: unknown): string {
  if (v instanceof Uint8Array) return `h'${toHex(v)}'`
  if (Array.isArray(v)) return `[${v.map(show).join(',')}]`
  const entries = v instanceof Map ? [...v] : v !== null && typeof v === 'object' ? Object.entries(v) : undefined
  if (entries !== undefined) {
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${show(x)}`).sort().join(',')}}`
  }
  return JSON.stringify(v)
}

describe('canonical CBOR', () => {
  it('round-trips any value, and the bytes are what decode re-encodes', () => {
    fc.assert(fc.property(cborValue, v => {
      const bytes = encodeCbor(v)
      const back = decodeCbor(bytes)
      expect(show(back)).toBe(show(v))
    }), { numRuns: runs(125) })
  })

  it('encoding does not depend on key insertion order', () => {
    fc.assert(fc.property(fc.dictionary(key, leaf, { maxKeys: 8 }), fc.integer(), (obj, seed) => {
      const entries = Object.entries(obj)
      const shuffled = entries.map((e, i) => [((i + 1) * (seed | 1)) >>> 0, e] as const).sort(([a], [b]) => a - b).map(([, e]) => e)
      const other: Record<string, CborValue> = Object.create(null)
      for (const [k, v] of shuffled) other[k] = v
      expect(toHex(encodeCbor(other))).toBe(toHex(encodeCbor(obj)))
    }), { numRuns: runs(25) })
  })

  it('sorts map keys bytewise by their encoding (RFC 8949 §4.2.1)', () => {
    expect(toHex(encodeCbor({ b: 1, aa: 2, a: 3 }))).toBe(toHex(raw(map([[tstr('a'), uint(3)], [tstr('b'), uint(1)], [tstr('aa'), uint(2)]]))))
  })

  it('keeps a "__proto__" key as a key (regression: it was silently dropped)', () => {
    const obj: Record<string, CborValue> = Object.create(null)
    obj['__proto__'] = 1
    obj.a = 2
    const back = decodeCbor(encodeCbor(obj)) as Map<string, unknown>
    expect([...back.keys()].sort()).toEqual(['__proto__', 'a'])
  })

  it('leaves out fields set to undefined', () => {
    expect(toHex(encodeCbor({ a: 1, b: undefined }))).toBe(toHex(encodeCbor({ a: 1 })))
  })

  it('refuses to encode floats and unsafe integers (BAD_ARGUMENT), since decode would reject them', () => {
    for (const n of [1.5, -0.25, NaN, Infinity, 2 ** 53]) {
      expect(codeOf(() => encodeCbor({ x: n }))).toBe('BAD_ARGUMENT')
    }
  })

  describe('rejects non-canonical or foreign CBOR with MALFORMED', () => {
    const cases: Record<string, number[]> = {
      'empty input': [],
      'trailing bytes': [...uint(1), 0x00],
      'truncated': [0x43, 1, 2],
      'indefinite-length array': [0x9f, 0x01, 0xff],
      'indefinite-length map': [0xbf, ...tstr('a'), 0x01, 0xff],
      'indefinite-length text': [0x7f, ...tstr('a'), 0xff],
      'indefinite-length bytes': [0x5f, ...bstr([1]), 0xff],
      'non-minimal int (1 byte for 23)': uint(23, 1),
      'non-minimal int (2 bytes for 1)': uint(1, 2),
      'non-minimal int (4 bytes for 255)': uint(255, 4),
      'non-minimal negative int': [0x38, 0x00],
      'non-minimal string length': [...head(3, 1, 1), 0x61],
      'non-minimal map length': [...head(5, 1, 1), ...tstr('a'), 0x01],
      'duplicate keys': map([[tstr('a'), uint(1)], [tstr('a'), uint(2)]]),
      'unsorted keys (same length)': map([[tstr('b'), uint(1)], [tstr('a'), uint(2)]]),
      'unsorted keys (longer first)': map([[tstr('aa'), uint(1)], [tstr('b'), uint(2)]]),
      'half float 1.5': [0xf9, 0x3e, 0x00],
      'half float 1.0 (integral)': [0xf9, 0x3c, 0x00],
      'half float -0': [0xf9, 0x80, 0x00],
      'single float': [0xfa, 0x3f, 0xc0, 0x00, 0x00],
      'double float': [0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
      'NaN': [0xf9, 0x7e, 0x00],
      'Infinity': [0xf9, 0x7c, 0x00],
      'tag 1 (epoch time)': [0xc1, ...uint(0)],
      'tag 42 (CID)': [0xd8, 0x2a, ...bstr([0])],
      'bignum tag 2': [0xc2, ...bstr([1])],
      'undefined': [0xf7],
      'simple value 16': [0xf0],
      'break outside indefinite': [0xff],
      'uint64 beyond 2^53': [0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0],
      'invalid UTF-8 text': [0x62, 0xc3, 0x28],
      'overlong UTF-8 text': [0x62, 0xc0, 0xaf],
      'length past the end': [0x5a, 0x00, 0x10, 0x00, 0x00]
    }
    for (const [name, bytes] of Object.entries(cases)) {
      it(name, () => {
        expect(codeOf(() => decodeCbor(raw(bytes)))).toBe('MALFORMED')
      })
    }

    it('deep nesting is MALFORMED, not a stack overflow escaping', () => {
      const deep = new Uint8Array(300_001).fill(0x81)
      deep[300_000] = 0
      expect(codeOf(() => decodeCbor(deep))).toBe('MALFORMED')
    })
  })

  it('non-text map keys are refused', () => {
    expect(codeOf(() => decodeCbor(raw(map([[uint(1), uint(1)]]))))).toBe('WRONG_TYPE')
    expect(codeOf(() => decodeCbor(raw(map([[bstr([1]), uint(1)]]))))).toBe('WRONG_TYPE')
  })

  it('bounds the whole message (TOO_LARGE) before parsing', () => {
    expect(codeOf(() => decodeCbor(new Uint8Array(101), 100))).toBe('TOO_LARGE')
    expect(codeOf(() => decodeCbor(new Uint8Array(MAX_STRUCT_BYTES + 1)))).toBe('TOO_LARGE')
  })

  it('non-bytes input is WRONG_TYPE', () => {
    expect(codeOf(() => decodeCbor('a1' as never))).toBe('WRONG_TYPE')
  })
})

describe('structures', () => {
  const good = { a: 7, b: Uint8Array.from([1, 2, 3]) }

  it('the hand-built struct matches encodeStruct byte for byte', () => {
    expect(toHex(raw(map(validEntries())))).toBe(toHex(encodeStruct(SPEC, good)))
  })

  it('round-trips with optional fields present and absent', () => {
    expect(readTest(decodeStruct(SPEC, encodeStruct(SPEC, good)))).toEqual({ ...good, c: undefined })
    const withC = { ...good, c: ['x', 'yz'] }
    expect(readTest(decodeStruct(SPEC, encodeStruct(SPEC, withC)))).toEqual(withC)
  })

  it('the encoding carries domain and version; fields cannot override them', () => {
    const f = decodeStruct(SPEC, encodeStruct(SPEC, { ...good, t: 'pl/evil', v: 9 }))
    expect(f.string('t', 20)).toBe('pl/test')
    expect(f.uint('v')).toBe(1)
  })

  it('MALFORMED for trailing bytes and non-canonical structs', () => {
    expect(codeOf(() => decodeStruct(SPEC, concatBytes(encodeStruct(SPEC, good), Uint8Array.of(0))))).toBe('MALFORMED')
    const e = validEntries()
    expect(codeOf(() => decodeStruct(SPEC, raw(map([e[1]!, e[0]!, e[2]!, e[3]!]))))).toBe('MALFORMED')
    expect(codeOf(() => decodeStruct(SPEC, raw(map([[tstr('a'), uint(7, 1)], e[1]!, e[2]!, e[3]!]))))).toBe('MALFORMED')
    expect(codeOf(() => decodeStruct(SPEC, raw(map([e[0]!, e[0]!, e[1]!, e[2]!, e[3]!]))))).toBe('MALFORMED')
    expect(codeOf(() => decodeStruct(SPEC, raw([0xbf, ...e.flatMap(([k, v]) => [...k, ...v]), 0xff])))).toBe('MALFORMED')
    expect(codeOf(() => decodeStruct(SPEC, raw(map([[tstr('a'), [0xf9, 0x47, 0x00]], e[1]!, e[2]!, e[3]!]))))).toBe('MALFORMED')
    expect(codeOf(() => decodeStruct(SPEC, raw(map([[tstr('a'), [0xc1, 0x07]], e[1]!, e[2]!, e[3]!]))))).toBe('MALFORMED')
    expect(codeOf(() => decodeStruct(SPEC, raw(map([[tstr('a'), [0xf7]], e[1]!, e[2]!, e[3]!]))))).toBe('MALFORMED')
  })

  it('BAD_DOMAIN for another structure type, or none', () => {
    expect(codeOf(() => decodeStruct(SPEC, encodeStruct({ ...SPEC, domain: 'pl/other' }, good)))).toBe('BAD_DOMAIN')
    expect(codeOf(() => decodeStruct(SPEC, encodeCbor({ ...good, v: 1 })))).toBe('BAD_DOMAIN')
    expect(codeOf(() => decodeStruct(SPEC, encodeCbor({ ...good, t: 7, v: 1 })))).toBe('BAD_DOMAIN')
  })

  it('BAD_VERSION for another or missing version', () => {
    expect(codeOf(() => decodeStruct(SPEC, encodeStruct({ ...SPEC, version: 2 }, good)))).toBe('BAD_VERSION')
    expect(codeOf(() => decodeStruct(SPEC, encodeCbor({ ...good, t: 'pl/test' })))).toBe('BAD_VERSION')
    expect(codeOf(() => decodeStruct(SPEC, encodeCbor({ ...good, t: 'pl/test', v: '1' })))).toBe('BAD_VERSION')
  })

  it('MISSING_FIELD and EXTRA_FIELD', () => {
    expect(codeOf(() => decodeStruct(SPEC, encodeStruct(SPEC, { a: 7 })))).toBe('MISSING_FIELD')
    expect(codeOf(() => decodeStruct(SPEC, encodeStruct(SPEC, { ...good, d: 1 })))).toBe('EXTRA_FIELD')
    expect(codeOf(() => decodeStruct(SPEC, encodeStruct(SPEC, { ...good, __proto__x: 1 })))).toBe('EXTRA_FIELD')
  })

  it('WRONG_TYPE for a non-map, and for fields of the wrong type', () => {
    expect(codeOf(() => decodeStruct(SPEC, encodeCbor([1, 2])))).toBe('WRONG_TYPE')
    expect(codeOf(() => decodeStruct(SPEC, encodeCbor('pl/test')))).toBe('WRONG_TYPE')
    expect(codeOf(() => readTest(decodeStruct(SPEC, encodeStruct(SPEC, { ...good, a: 'seven' }))))).toBe('WRONG_TYPE')
    expect(codeOf(() => readTest(decodeStruct(SPEC, encodeStruct(SPEC, { ...good, a: -1 }))))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => readTest(decodeStruct(SPEC, encodeStruct(SPEC, { ...good, b: 'bytes' }))))).toBe('WRONG_TYPE')
    expect(codeOf(() => readTest(decodeStruct(SPEC, encodeStruct(SPEC, { ...good, c: 'x' }))))).toBe('WRONG_TYPE')
    expect(codeOf(() => readTest(decodeStruct(SPEC, encodeStruct(SPEC, { ...good, c: [1] }))))).toBe('WRONG_TYPE')
    const f = decodeStruct(SPEC, encodeStruct(SPEC, { ...good, c: [] }))
    expect(codeOf(() => f.bool('a'))).toBe('WRONG_TYPE')
    expect(codeOf(() => f.record('b', []))).toBe('WRONG_TYPE')
  })

  it('TOO_LARGE for strings, bytes and arrays over their bound, and for the whole message', () => {
    expect(codeOf(() => readTest(decodeStruct(SPEC, encodeStruct(SPEC, { ...good, b: new Uint8Array(9) }))))).toBe('TOO_LARGE')
    expect(codeOf(() => readTest(decodeStruct(SPEC, encodeStruct(SPEC, { ...good, c: ['a', 'b', 'c', 'd'] }))))).toBe('TOO_LARGE')
    expect(codeOf(() => readTest(decodeStruct(SPEC, encodeStruct(SPEC, { ...good, c: ['x'.repeat(11)] }))))).toBe('TOO_LARGE')
    // Bounds are in UTF-8 bytes, not UTF-16 code units: 4 x "€" is 12 bytes.
    expect(codeOf(() => readTest(decodeStruct(SPEC, encodeStruct(SPEC, { ...good, c: ['€€€€'] }))))).toBe('TOO_LARGE')
    expect(readTest(decodeStruct(SPEC, encodeStruct(SPEC, { ...good, c: ['€€€'] }))).c).toEqual(['€€€'])
    // The whole message: refused by the encoder and, built with a looser spec, by the decoder.
    const big = { ...good, c: ['x'.repeat(400)] }
    expect(codeOf(() => encodeStruct(SPEC, big))).toBe('TOO_LARGE')
    expect(codeOf(() => decodeStruct(SPEC, encodeStruct({ ...SPEC, maxBytes: 1000 }, big)))).toBe('TOO_LARGE')
  })

  it('BAD_LENGTH for fixed-size byte fields of the wrong size', () => {
    const f = decodeStruct(SPEC, encodeStruct(SPEC, good))
    expect(f.bytes('b', { len: 3 })).toEqual(good.b)
    expect(codeOf(() => f.bytes('b', { len: 4 }))).toBe('BAD_LENGTH')
    expect(codeOf(() => f.bytes('b', { len: 2 }))).toBe('BAD_LENGTH')
    expect(codeOf(() => f.bytes('b', { min: 4 }))).toBe('BAD_LENGTH')
  })

  it('OUT_OF_RANGE for integers and enum values outside their bounds', () => {
    const f = decodeStruct(SPEC, encodeStruct(SPEC, { ...good, c: ['red'] }))
    expect(codeOf(() => f.uint('a', 6))).toBe('OUT_OF_RANGE')
    expect(codeOf(() => f.uint('a', 100, 8))).toBe('OUT_OF_RANGE')
    const g = decodeStruct({ ...SPEC, optional: ['c'] }, encodeStruct(SPEC, { a: 7, b: good.b, c: 'blue' }))
    expect(g.oneOf('c', ['blue', 'red'])).toBe('blue')
    expect(codeOf(() => g.oneOf('c', ['red']))).toBe('OUT_OF_RANGE')
  })

  it('nested records check their own field sets', () => {
    const spec: StructSpec = { domain: 'pl/nest', version: 1, required: ['r'], maxBytes: 100 }
    const f = decodeStruct(spec, encodeStruct(spec, { r: { x: 1, y: 2 } }))
    expect(f.record('r', ['x'], ['y']).uint('y')).toBe(2)
    expect(codeOf(() => f.record('r', ['x', 'y', 'z']))).toBe('MISSING_FIELD')
    expect(codeOf(() => f.record('r', ['x']))).toBe('EXTRA_FIELD')
  })

  it('random bytes never throw anything but PorchlightError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), bytes => {
      try {
        readTest(decodeStruct(SPEC, bytes))
      } catch (err) {
        if (!(err instanceof PorchlightError)) throw err
      }
    }), { numRuns: runs(500) })
  })

  it('mutated valid structs never throw anything but PorchlightError, and any change is caught', () => {
    const valid = encodeStruct(SPEC, { ...good, c: ['ab', 'c'] })
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.nat(valid.length),
      (flips, cut) => {
        const bytes = Uint8Array.from(valid)
        for (const [i, x] of flips) bytes[i]! ^= x
        for (const input of [bytes, bytes.subarray(0, cut)]) {
          try {
            const decoded = readTest(decodeStruct(SPEC, input))
            // Whatever still decodes must be the canonical encoding of what it decoded to.
            expect(toHex(encodeStruct(SPEC, decoded))).toBe(toHex(input))
          } catch (err) {
            if (!(err instanceof PorchlightError)) throw err
          }
        }
      }), { numRuns: runs(500) })
  })
})

describe('base64url', () => {
  it('round-trips and matches Node\'s unpadded base64url', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => {
      const s = toBase64Url(bytes)
      expect(s).toBe(Buffer.from(bytes).toString('base64url'))
      expect(toHex(fromBase64Url(s))).toBe(toHex(bytes))
    }), { numRuns: runs(25) })
  })

  it('every accepted string is the one canonical spelling of its bytes', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), maxLength: 40 }), s => {
      let bytes: Uint8Array
      try {
        bytes = fromBase64Url(s)
      } catch (err) {
        expect(err).toBeInstanceOf(PorchlightError)
        return
      }
      expect(toBase64Url(bytes)).toBe(s)
    }), { numRuns: runs(250) })
  })

  it('rejects padding, standard-alphabet characters, impossible lengths and non-canonical tails', () => {
    for (const s of ['AA==', 'AA=', 'a+b/', 'ab/c', 'A', 'AAAAA', 'AB', 'AAB', 'ab c', 'abc\n', 'Zm9v!']) {
      expect(codeOf(() => fromBase64Url(s))).toBe('MALFORMED')
    }
    expect(fromBase64Url('')).toEqual(new Uint8Array(0))
    expect(toHex(fromBase64Url('AA'))).toBe('00')
    expect(toHex(fromBase64Url('AAE'))).toBe('0001')
  })

  it('bounds the input length and type', () => {
    expect(codeOf(() => fromBase64Url('AAAA'.repeat(11), 40))).toBe('TOO_LARGE')
    expect(fromBase64Url('AAAA'.repeat(10), 40).length).toBe(30)
    expect(codeOf(() => fromBase64Url(42 as never))).toBe('WRONG_TYPE')
  })
})

describe('hex and bytes helpers', () => {
  it('hex round-trips and matches Node', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), bytes => {
      const h = toHex(bytes)
      expect(h).toBe(Buffer.from(bytes).toString('hex'))
      expect(fromHex(h)).toEqual(bytes)
    }), { numRuns: runs(25) })
  })

  it('rejects odd lengths and non-hex characters', () => {
    for (const s of ['a', 'abc', 'zz', '0x00', ' 00', '0g']) expect(codeOf(() => fromHex(s))).toBe('MALFORMED')
    expect(codeOf(() => fromHex(7 as never))).toBe('MALFORMED')
  })

  it('utf8String is strict', () => {
    expect(utf8String(utf8Bytes('héllo €'))).toBe('héllo €')
    expect(codeOf(() => utf8String(Uint8Array.of(0xc3, 0x28)))).toBe('MALFORMED')
    expect(codeOf(() => utf8String(Uint8Array.of(0xed, 0xa0, 0x80)))).toBe('MALFORMED')
  })

  it('equalBytes, concatBytes, containsBytes', () => {
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true)
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false)
    expect(equalBytes(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false)
    expect(concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3))).toEqual(Uint8Array.of(1, 2, 3))
    expect(containsBytes(Uint8Array.of(1, 2, 3, 4), Uint8Array.of(3, 4))).toBe(true)
    expect(containsBytes(Uint8Array.of(1, 2, 3, 4), Uint8Array.of(4, 5))).toBe(false)
    expect(containsBytes(Uint8Array.of(1), new Uint8Array(0))).toBe(true)
  })
})
