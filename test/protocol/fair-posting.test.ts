// The fair-posting check (protocol/fair-posting.ts) against its corpus of sample posts, both
// ways: posts it must hold, for exactly the reasons listed, and near misses it must let
// through ("black hoodie", "white van", "a man walking a dog").
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { CORPUS, HELD, PASSED } from '../helpers/fair-corpus.ts'
import { checkFairPosting, FAIR_POSTING_KINDS, FAIR_POSTING_LIMITS, MIN_DESCRIPTORS, missingWords, readPost } from '../../protocol/fair-posting.ts'
import { MAX_TEXT_BYTES, POST_KINDS } from '../../protocol/post.ts'

describe('fair posting: the corpus', () => {
  it('has enough posts both ways', () => {
    expect(HELD.length).toBeGreaterThanOrEqual(20)
    expect(PASSED.length).toBeGreaterThanOrEqual(20)
    for (const p of CORPUS) expect(p.expect === 'hold', p.text).toBe(p.missing !== undefined)
  })

  for (const p of CORPUS) {
    it(`${p.expect}s [${p.kind}] ${p.text}`, () => {
      const v = checkFairPosting(p)
      const why = JSON.stringify(readPost(p.text, p.kind === 'suspicious'))
      if (p.expect === 'pass') {
        expect(v, why).toEqual({ ok: true })
        return
      }
      if (v.ok) expect.fail(`not held: ${why}`)
      expect(v.missing, why).toEqual(p.missing)
      expect(v.explanation.length).toBeLessThan(400)
      if (p.missing!.includes('action')) expect(v.explanation).toMatch(/what the person did/)
      if (p.missing!.includes('descriptors')) {
        expect(v.explanation).toMatch(/race or ethnicity.*at least 2 other details \(clothing, hair, height, build, vehicle\)/)
        expect(v.explanation).toMatch(/puts every neighbor who looks alike under suspicion/)
        expect(v.descriptorsFound.length).toBeLessThan(MIN_DESCRIPTORS)
      }
    })
  }
})

describe('fair posting: the check', () => {
  it('applies to crime, safety and suspicious-activity posts only', () => {
    const text = 'Suspicious black man on Elm St'
    for (const kind of POST_KINDS) expect(checkFairPosting({ kind, text }).ok, kind).toBe(!FAIR_POSTING_KINDS.includes(kind))
  })

  it('passes once the action and two details are added', () => {
    const held = checkFairPosting({ kind: 'suspicious', text: 'Black man on Elm' })
    expect(held).toMatchObject({ ok: false, missing: ['action', 'descriptors'], descriptorsFound: [] })
    expect(missingWords(held)).toBe('what the person did; 2 more details (clothing, hair, height, build, vehicle)')
    const oneMore = checkFairPosting({ kind: 'suspicious', text: 'Black man in a red cap tried the gate on Elm' })
    expect(oneMore).toMatchObject({ ok: false, missing: ['descriptors'], descriptorsFound: ['cap'] })
    expect(missingWords(oneMore)).toBe('1 more detail (clothing, hair, height, build, vehicle)')
    expect(oneMore.ok || oneMore.explanation).toMatch(/so far: cap\./)
    expect(checkFairPosting({ kind: 'suspicious', text: 'Black man in a red cap and a long grey coat tried the gate on Elm' })).toEqual({ ok: true })
    expect(missingWords({ ok: true })).toBe('')
  })

  it('reads heights, curly quotes, capitals and phrases', () => {
    expect(readPost('White male, 5\u201910\u201d, took a bike').descriptors).toEqual([{ term: '5\'10"', category: 'height' }])
    expect(readPost('a man about six foot, 180 cm').descriptors.map(d => d.category)).toEqual(['height', 'height'])
    expect(readPost('AFRICAN AMERICAN MALE').race).toEqual(['african-american'])
    expect(readPost('man dressed in all black').descriptors).toEqual([{ term: 'in black', category: 'clothing' }])
  })

  it('states its limits, a word list first among them', () => {
    expect(FAIR_POSTING_LIMITS).toMatch(/word list/)
    expect(FAIR_POSTING_LIMITS).toMatch(/cannot judge intent/)
  })

  it('never throws, reads at most a post\'s text, and gives the same verdict for the same input', () => {
    const words = ['black', 'white', 'man', 'hoodie', 'van', 'tried', 'suspicious', 'he', 'was', ',', 'in', 'a', '5\'10', 'asian', 'walking', 'dog', 'of', 'color']
    const text = fc.oneof(fc.string({ maxLength: 300 }), fc.array(fc.constantFrom(...words), { maxLength: 60 }).map(w => w.join(' ')))
    fc.assert(fc.property(fc.constantFrom(...POST_KINDS, 'nonsense'), text, (kind, t) => {
      const v = checkFairPosting({ kind, text: t })
      expect(checkFairPosting({ kind, text: t })).toEqual(v)
      if (!v.ok) {
        expect(v.missing.length).toBeGreaterThan(0)
        expect(v.explanation.length).toBeLessThan(400)
      }
    }), { numRuns: runs(300) })
    // Past MAX_TEXT_BYTES code units nothing is read: a longer text is no valid post anyway.
    const long = `${'Someone walked a dog. '.repeat(100).slice(0, MAX_TEXT_BYTES)}Suspicious black man`
    expect(checkFairPosting({ kind: 'suspicious', text: long })).toEqual({ ok: true })
    expect(checkFairPosting({ kind: 'crime', text: 'x'.repeat(1_000_000) })).toEqual({ ok: true })
    expect(checkFairPosting({ kind: 'crime', text: undefined as unknown as string })).toEqual({ ok: true })
  })
})
