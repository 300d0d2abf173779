import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { type StructSpec } from '../../protocol/encoding.ts'
import {
  checkName, checkWireName, createIdentity, decodePublicIdentity, encodePublicIdentity, type PublicIdentity, signStruct
} from '../../protocol/identity.ts'
import { lookAlikeKeys, nameSkeleton, namesLookAlike } from '../../protocol/names.ts'
import { rejection as codeOf, rejectionSync } from '../helpers/protocol-fixtures.ts'

/** The binding structure as identity.ts signs it, to forge an identity whose owner signed a bad name. */
const BINDING: StructSpec = { domain: 'pl/id-binding', version: 1, required: ['sk', 'bk', 'n'], maxBytes: 256 }

const FAMILY = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}' // 👨‍👩‍👧‍👦
const BIDI = ['\u061C', '\u200E', '\u200F', '\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069']
const INVISIBLE = ['\u200B', '\u200C', '\u2060', '\uFEFF', '\u00AD', '\u180E', '\u{E0041}', '\u3164', '\u115F', '\uFFA0']

describe('checkName: bidirectional, invisible, unassigned', () => {
  it('refuses a bidi override that disguises the name (Ana\\u202Egnp.exe shows as Anaexe.png)', () => {
    expect(() => checkName('Ana\u202Egnp.exe')).toThrow(/bidirectional or invisible formatting/)
    expect(rejectionSync(() => checkName('Ana\u202Egnp.exe'))).toBe('BAD_ARGUMENT')
  })

  it('refuses every bidi control and invisible format character, anywhere inside the name', () => {
    for (const c of [...BIDI, ...INVISIBLE]) {
      // A leading U+FEFF is trimmed as whitespace instead (see below).
      for (const n of [`A${c}na`, `Ana${c}x`, ...(c === '\uFEFF' ? [] : [`${c}Ana`])]) {
        expect(rejectionSync(() => checkName(n)), `U+${c.codePointAt(0)!.toString(16)} in ${JSON.stringify(n)}`).toBe('BAD_ARGUMENT')
      }
    }
  })

  it('refuses unassigned, private-use and lone surrogate code points', () => {
    for (const n of ['A\u0378na', 'Ana\u{E000}', 'Ana\u{F0000}', 'Ana\u{10FFFF}', 'A\uD800na', 'Ana\uDC00', 'Ana\uFFFF']) {
      expect(() => checkName(n)).toThrow(/unassigned, private-use or unpaired surrogate/)
      expect(rejectionSync(() => checkName(n))).toBe('BAD_ARGUMENT')
    }
  })

  it('accepts emoji joined by ZERO WIDTH JOINER, emoji with modifiers and ordinary names', () => {
    for (const n of [FAMILY, `Ana ${FAMILY}`, 'Zoë \u{1F3E1} Ng', '\u{1F469}\u{1F3FD}\u200D\u{1F692} Ana', '\u2764\uFE0F Ben', 'Ἀθηνᾶ', 'Олена', '李小龍', 'محمد', 'Ana-María O’Neil']) {
      expect(checkName(n)).toBe(n)
    }
  })

  it('still trims surrounding whitespace (U+FEFF included) and keeps the other rules', () => {
    expect(checkName('\uFEFF Ana ')).toBe('Ana')
    expect(rejectionSync(() => checkName('a\nb'))).toBe('BAD_ARGUMENT')
    expect(rejectionSync(() => checkName(' '))).toBe('BAD_ARGUMENT')
    expect(rejectionSync(() => checkName('a'.repeat(65)))).toBe('TOO_LARGE')
  })

  it('wire names with such characters fail with OUT_OF_RANGE, even when their owner signed them', async () => {
    for (const n of ['Ana\u202Egnp.exe', 'A\u200Bna', 'Ana\u{E000}']) {
      expect(rejectionSync(() => checkWireName(n, 'author'))).toBe('OUT_OF_RANGE')
    }
    expect(checkWireName(FAMILY, 'author')).toBe(FAMILY)
    const ana = await createIdentity('Ana')
    const name = 'Ana\u202Egnp.exe'
    const binding = await signStruct(ana.seed, BINDING, { sk: ana.public.signKey, bk: ana.public.boxKey, n: name })
    const forged: PublicIdentity = { ...ana.public, name, binding }
    expect(await codeOf(() => decodePublicIdentity(encodePublicIdentity(forged)))).toBe('OUT_OF_RANGE')
  })

  it('never throws anything but a PorchlightError, on any string (lone surrogates included)', () => {
    const utf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xFFFF }).map((u) => String.fromCharCode(u)), maxLength: 40 })
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), utf16), (s) => {
      try {
        const out = checkName(s)
        expect(checkName(out)).toBe(out)
      } catch (err) {
        expect(isPorchlightError(err), String(err)).toBe(true)
      }
    }), { numRuns: runs(500) })
  })
})

describe('nameSkeleton and namesLookAlike', () => {
  it('finds the look-alikes', () => {
    const alike: Array<[string, string]> = [
      ['Ana', '\u0410na'], // Cyrillic capital A
      ['Ana', '\u0410n\u0430'], // Cyrillic А and а
      ['ana', 'ANA'],
      ['Ana', '\uFF21\uFF4E\uFF41'], // fullwidth Ａｎａ
      ['m', 'rn'], // confusables.txt maps m to rn
      ['Tom', 'Torn'],
      ['o', '\u03BF'], // Greek small omicron
      ['Bob', 'B\u03BFb'],
      ['Bill', 'BiII'], // capital I looks like l
      ['Ana', 'A\u200Dna'], // a joiner between letters is ignorable
      ['Zoë', 'Zoe\u0308'], // precomposed and combining diaeresis
      ['Straße', 'STRASSE'] // full case folding
    ]
    for (const [a, b] of alike) {
      expect(namesLookAlike(a, b), `${a} / ${b}`).toBe(true)
      expect(nameSkeleton(a)).toBe(nameSkeleton(b))
    }
  })

  it('a zero-width space is refused by checkName, and the skeleton ignores it anyway', () => {
    expect(rejectionSync(() => checkName('A\u200Bna'))).toBe('BAD_ARGUMENT')
    expect(nameSkeleton('A\u200Bna')).toBe(nameSkeleton('Ana'))
    expect(namesLookAlike('Ana', 'A\u200Bna')).toBe(true)
  })

  it('keeps different names apart', () => {
    const differ: Array<[string, string]> = [['Ben', 'Ana'], ['Ana', 'Anna'], ['Ana', 'Ana B'], ['Olena', 'Elena'], ['李', '季'], [FAMILY, '\u{1F468}']]
    for (const [a, b] of differ) expect(namesLookAlike(a, b), `${a} / ${b}`).toBe(false)
  })

  it('uses the real confusables data, not a handful of letters', () => {
    // Mathematical bold, Cherokee, Armenian and digit look-alikes from confusables.txt.
    expect(namesLookAlike('Ana', '\u{1D400}\u{1D427}\u{1D41A}')).toBe(true)
    expect(namesLookAlike('Sam', '\u13DAam')).toBe(true)
    expect(namesLookAlike('Ono', '\u0555n\u0585')).toBe(true)
    expect(namesLookAlike('O0', 'oo')).toBe(true)
    expect(namesLookAlike('l1I|', 'llll')).toBe(true)
    expect(namesLookAlike('Ian', 'lan')).toBe(true)
  })

  const names = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 24 }),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    // Letters with known look-alikes, so that equal skeletons come up often.
    fc.string({ unit: fc.constantFrom('a', 'A', '\u0410', '\u0430', 'o', '0', '\u03BF', 'O', 'l', 'I', '1', 'r', 'n', 'm', 'ß', 'ẞ', '\u200D', '\uFF41', '\u0308', 'e', 'ë', '%', '\uFDFA', 'ﬃ', 'İ', 'ı', 'ς'), maxLength: 12 })
  )

  it('the skeleton is idempotent', () => {
    fc.assert(fc.property(names, (s) => {
      const k = nameSkeleton(s)
      expect(nameSkeleton(k)).toBe(k)
    }), { numRuns: runs(750) })
  })

  it('namesLookAlike is reflexive and symmetric', () => {
    fc.assert(fc.property(names, names, (a, b) => {
      expect(namesLookAlike(a, a)).toBe(true)
      expect(namesLookAlike(a, b)).toBe(namesLookAlike(b, a))
      expect(namesLookAlike(a, b)).toBe(nameSkeleton(a) === nameSkeleton(b))
    }), { numRuns: runs(500) })
  })
})

describe('lookAlikeKeys', () => {
  it('marks the keys whose name looks like a different key\'s name', () => {
    const keys = lookAlikeKeys([
      { key: 'aa01', name: 'Ana' },
      { key: 'bb02', name: '\u0410na' },
      { key: 'cc03', name: 'Ben' },
      { key: 'dd04', name: 'Tom' },
      { key: 'ee05', name: 'Torn' },
      { key: 'ff06', name: 'Olena' }
    ])
    expect([...keys].sort()).toEqual(['aa01', 'bb02', 'dd04', 'ee05'])
  })

  it('does not confuse a key with itself, and handles no or one identity', () => {
    expect(lookAlikeKeys([{ key: 'aa01', name: 'Ana' }, { key: 'aa01', name: 'ANA' }, { key: 'bb02', name: 'Ben' }]).size).toBe(0)
    expect(lookAlikeKeys([]).size).toBe(0)
    expect(lookAlikeKeys([{ key: 'aa01', name: 'Ana' }]).size).toBe(0)
  })

  it('agrees with comparing every pair', () => {
    const entry = fc.record({ key: fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5'), name: fc.constantFrom('Ana', 'ANA', '\u0410na', 'Ben', 'Tom', 'Torn', 'Bob', 'B\u03BFb', 'Zoë') })
    fc.assert(fc.property(fc.array(entry, { maxLength: 8 }), (list) => {
      const expected = new Set<string>()
      for (const a of list) {
        for (const b of list) if (a.key !== b.key && namesLookAlike(a.name, b.name)) expected.add(a.key)
      }
      expect(lookAlikeKeys(list)).toEqual(expected)
    }), { numRuns: runs(75) })
  })
})
